//===- Limits.h - The bounds sparta puts on a pattern and its derived work --===//
//
// A pattern file is untrusted input: a few bytes can ask for unbounded work
// (a huge random-block count, a table of (T/tile)^2 tiles, a shared sub-mask
// copied at every level). Each bound below is enforced once, where the value
// is first known, and reported as an error at the offending place in the
// file. docs/pattern-language.md ("Limits") lists them for users; change both
// together.
//
//===----------------------------------------------------------------------===//
#pragma once

#include <cstdint>

namespace sparta::limits {

/// Longest sequence: the kernels index positions and tile offsets in 32-bit
/// arithmetic with headroom (tiling.h), and tables hold (T/tile)^2 entries.
/// Checked by the sparta.pattern verifier once T is bound.
inline constexpr int64_t kMaxSequenceLength = int64_t(1) << 28;

/// Most blocks one random_blocks op draws per query block (`count`): every
/// membership test replays the draws, so the work is linear in it.
inline constexpr int64_t kMaxRandomBlockCount = 1024;

/// Largest pattern file the front end reads, in bytes.
inline constexpr uint64_t kMaxPatternFileBytes = uint64_t(4) << 20;

/// Deepest bracket nesting ((, [, {, <) in a pattern file, checked before
/// MLIR's recursive-descent parser sees the text.
inline constexpr int kMaxNestingDepth = 64;

/// Most nodes of one head's mask expression once sub-masks used more than
/// once are copied (the planner and the reference semantics work on trees):
/// it bounds expression depth, the plan's component lists and its size.
inline constexpr int64_t kMaxMaskNodes = 256;

/// Most nodes of all head masks of a pattern together.
inline constexpr int64_t kMaxPatternMaskNodes = 1024;

/// Most tile pairs of the domain a tile table may classify: n * (n + 1) / 2
/// (causal) or n * n (bidirectional) for n = ceil(T / tile). 2^24 is n = 5792
/// causal (T = 370688 at tile 64), n = 4096 bidirectional (T = 262144).
inline constexpr int64_t kMaxTableTilePairs = int64_t(1) << 24;

} // namespace sparta::limits
