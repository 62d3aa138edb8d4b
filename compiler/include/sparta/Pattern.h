//===- Pattern.h - An instantiated attention pattern, free of MLIR ---------===//
//
// The concrete form of a sparta pattern once every parameter has a value:
// one mask expression per head. The front end produces it from the dialect
// (Frontend.h); the reference semantics, the validity analysis, the cost
// report and the planner consume it. It deliberately holds plain integers so
// that everything downstream of the front end can be tested without MLIR.
//
// Semantics (docs/pattern-language.md): query i may attend to key j only if
// 0 <= i, j < T, in a causal pattern (the default) also j <= i, and then iff
// the mask expression holds for (i, j).
//
//===----------------------------------------------------------------------===//
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

namespace sparta {

enum class MaskKind {
  Dense,         // every j <= i
  Band,          // lo <= i - j <= hi
  Stride,        // (i - j) mod period == offset (floor mod)
  Chunk,         // floor(i / size) == floor(j / size)
  Summary,       // j mod period >= period - width
  GlobalKeys,    // j < count: the first `count` keys are seen by every query
  GlobalQueries, // i < count: the first `count` queries see every key
  RandomBlocks,  // key block j/block is one of `count` blocks drawn for query block i/block
  Union,         // any operand holds
  Intersect,     // every operand holds
  Empty,         // nothing (what canonicalisation leaves of an impossible mask)
  GridWindow,    // on a row-major grid of rows of `period` positions:
                 // |i / period - j / period| <= dh and |i mod period - j mod period| <= dw
};

/// One node of a mask expression. Only the fields of its kind are meaningful.
struct Mask {
  MaskKind kind = MaskKind::Empty;
  int64_t lo = 0, hi = 0; // Band
  int64_t period = 0;     // Stride, Summary, GridWindow (the grid's width W)
  int64_t offset = 0;     // Stride: 0 <= offset < period
  int64_t size = 0;       // Chunk
  int64_t width = 0;      // Summary
  int64_t count = 0;      // GlobalKeys, GlobalQueries, RandomBlocks (blocks per query block)
  int64_t block = 0;      // RandomBlocks: block edge
  uint64_t seed = 0;      // RandomBlocks
  int64_t dh = 0, dw = 0; // GridWindow: rows and columns either side
  std::vector<Mask> operands; // Union, Intersect

  bool operator==(const Mask &other) const;
  bool operator!=(const Mask &other) const { return !(*this == other); }
};

/// An instantiated pattern: head h of a model uses heads[h % heads.size()].
struct ConcretePattern {
  std::string name;                        // the pattern's symbol, e.g. "strided"
  int64_t T = 0;                           // sequence length, the parameter T
  std::map<std::string, int64_t> params;   // every other parameter's value, L included
  bool causal = true;                      // false: a bidirectional pattern (no j <= i)
  std::vector<Mask> heads;                 // at least one
  /// Whether a mask op's operand derives from T (written with T, or with a
  /// parameter left to a default that uses T): the masks then mean something
  /// else for a shorter sequence, so documents cannot be packed (Packing.h).
  bool masksUseT = false;
};

/// Human-readable one-line form of a mask, e.g. "union(band(0, 8), stride(8))";
/// a stride with an offset prints as "stride(8, 3)".
std::string toString(const Mask &mask);

} // namespace sparta
