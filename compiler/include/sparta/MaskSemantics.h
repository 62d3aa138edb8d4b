//===- MaskSemantics.h - The reference semantics of sparta masks --------------===//
//
// The oracle every later stage (validity, cost, planner, generated kernels) is
// tested against. It evaluates a mask expression for one (query, key) pair by
// following its definition literally; it is deliberately slow and simple.
//
// Query i may attend to key j only if 0 <= i, j < T and, in a causal pattern
// (the default), j <= i; then iff the mask's predicate holds:
//
//   dense                 true
//   band(lo, hi)          lo <= i - j <= hi
//   stride(period, k)     (i - j) mod period == k (floor mod; k = 0 when omitted)
//   chunk(size)           floor(i / size) == floor(j / size)
//   summary(period, w)    j mod period >= period - w
//   global_keys(count)    j < count
//   global_queries(count) i < count
//   random_blocks(block, count, seed)
//                         randomBlockChosen(seed, i / block, j / block, count)
//   grid_window(W, dh, dw) |i / W - j / W| <= dh and |i mod W - j mod W| <= dw
//                         (positions of a row-major grid with rows of W)
//   union(a, b, ...)      any operand holds (an empty union holds nowhere)
//   intersect(a, b, ...)  every operand holds (an empty intersection holds
//                         everywhere, within the domain)
//   empty                 false
//
// Degenerate parameters are not errors here (the front end rejects most of
// them); they read as: a period, size or block <= 0 holds nowhere; a summary
// width <= 0 holds nowhere and a width >= period everywhere; a count <= 0
// holds nowhere.
//
//===----------------------------------------------------------------------===//
#pragma once

#include "sparta/Pattern.h"

#include <cstdint>
#include <vector>

namespace sparta {

/// Whether key block `kblock` is among the blocks drawn for query block
/// `qblock`, i.e. kblock == draw(r) for some r in [0, count), where the r-th
/// draw is a key block in [0, qblock]:
///   draw(r) = splitmix64(splitmix64(seed ^ uint64_t(qblock)) ^ uint64_t(r))
///             mod (qblock + 1)
/// and splitmix64 is the finalizer of Steele, Lea and Flood (2014), exactly:
///   z = x + 0x9E3779B97F4A7C15
///   z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9
///   z = (z ^ (z >> 27)) * 0x94D049BB133111EB
///   return z ^ (z >> 31)
/// (all arithmetic modulo 2^64; sparta::blocks in sparta/random_blocks.h is
/// the one implementation, shared with the kernels). Draws may repeat, so a query block has between 1 and `count`
/// distinct key blocks (none when count <= 0), all <= qblock. False for
/// negative blocks. The compiler builds its lookup tables from this function.
bool randomBlockChosen(uint64_t seed, int64_t qblock, int64_t kblock, int64_t count);

/// The distinct key blocks drawn for `qblock`, ascending.
std::vector<int64_t> randomBlocksOf(uint64_t seed, int64_t qblock, int64_t count);

/// Whether query i may attend to key j under `mask` for sequence length T:
/// false outside the domain (0 <= i, j < T, and j <= i when `causal`),
/// otherwise the mask's predicate.
bool allowed(const Mask &mask, int64_t T, int64_t i, int64_t j, bool causal);

/// The same for a mask of a causal pattern.
inline bool allowed(const Mask &mask, int64_t T, int64_t i, int64_t j) {
  return allowed(mask, T, i, j, /*causal=*/true);
}

/// Whether (i, j) lies in the domain: 0 <= i, j < T, and j <= i when causal.
inline bool inDomain(int64_t T, int64_t i, int64_t j, bool causal) {
  return 0 <= i && i < T && 0 <= j && j < T && (!causal || j <= i);
}

/// Whether query i of head `head` may attend to key j: head h uses
/// pattern.heads[h % pattern.heads.size()], in the pattern's domain (causal
/// or bidirectional). Throws sparta::Error when `head` is negative or the
/// pattern has no heads.
bool allowed(const ConcretePattern &pattern, int64_t head, int64_t i, int64_t j);

} // namespace sparta
