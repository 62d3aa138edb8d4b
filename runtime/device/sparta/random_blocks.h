//===- random_blocks.h - The deterministic draw behind random_blocks ------===//
//
// BigBird-style random blocks (docs/pattern-language.md): query block qb sees
// the key blocks draw(seed, qb, r) for r in [0, count). The one
// definition, used by the reference semantics on the host and by generated
// kernels on the device, so both always agree on the draw.
//
//===----------------------------------------------------------------------===//
#ifndef SPARTA_RANDOM_BLOCKS_H
#define SPARTA_RANDOM_BLOCKS_H

#if defined(__CUDACC__) || defined(__CUDACC_RTC__)
#define SPARTA_RANDOM_FN __host__ __device__ inline
#else
#define SPARTA_RANDOM_FN inline
#endif

namespace sparta {
namespace blocks {

typedef unsigned long long u64;
typedef long long i64;

/// The splitmix64 finalizer (Steele, Lea, Flood 2014).
SPARTA_RANDOM_FN u64 splitmix64(u64 x) {
  u64 z = x + 0x9E3779B97F4A7C15ULL;
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
  return z ^ (z >> 31);
}

/// The r-th draw for query block qblock: a key block in [0, qblock].
SPARTA_RANDOM_FN i64 draw(u64 seed, i64 qblock, i64 r) {
  return i64(splitmix64(splitmix64(seed ^ u64(qblock)) ^ u64(r)) % u64(qblock + 1));
}

/// Whether key block kblock is among the `count` draws of query block qblock.
SPARTA_RANDOM_FN bool chosen(u64 seed, i64 qblock, i64 kblock, i64 count) {
  if (qblock < 0 || kblock < 0 || kblock > qblock)
    return false;
  for (i64 r = 0; r < count; ++r)
    if (draw(seed, qblock, r) == kblock)
      return true;
  return false;
}

} // namespace blocks
} // namespace sparta

#endif // SPARTA_RANDOM_BLOCKS_H
