//===- MaskRows.h - Mask rows as bitsets, filled from the mask's structure -===//
//
// The analyses (validity, cost, show) need every row of a mask at T up to
// 16384 and beyond, so they cannot afford MaskSemantics.h's per-pair evaluation.
// fillMaskRow() sets the same bits from the mask's structure (ranges for
// bands, chunks and summaries, steps for strides, the drawn blocks for random
// blocks). tests/unit/MaskSemanticsTest.cpp checks it against allowed() for every
// pair of many masks.
//
//===----------------------------------------------------------------------===//
#pragma once

#include "sparta/Pattern.h"

#include <cstddef>
#include <cstdint>
#include <vector>

namespace sparta {

/// Number of 64-bit words that hold n bits.
inline int64_t wordsFor(int64_t n) { return (n + 63) / 64; }

inline bool testBit(const uint64_t *words, int64_t bit) {
  return (words[bit >> 6] >> (bit & 63)) & 1;
}

/// Sets bits [begin, end) (nothing when begin >= end).
void setBits(uint64_t *words, int64_t begin, int64_t end);

/// Number of set bits in [begin, end) (0 when begin >= end).
int64_t countBits(const uint64_t *words, int64_t begin, int64_t end);

/// Index of the first clear bit in [begin, end), or `end` if all are set.
int64_t firstClearBit(const uint64_t *words, int64_t begin, int64_t end);

/// Keys of row i that the domain holds: [0, rowEnd) (j <= i when causal).
inline int64_t rowEnd(int64_t T, int64_t i, bool causal) { return causal ? i + 1 : T; }

/// Writes row i (0 <= i < T) of `mask` into words[0 .. (rowEnd - 1)/64]: bit j
/// is set iff allowed(mask, T, i, j, causal). Later words are not touched
/// (they would be 0).
void fillMaskRow(const Mask &mask, int64_t T, int64_t i, uint64_t *words, bool causal);
/// The same for a causal pattern.
inline void fillMaskRow(const Mask &mask, int64_t T, int64_t i, uint64_t *words) {
  fillMaskRow(mask, T, i, words, /*causal=*/true);
}

/// All rows of a mask as a bit matrix: row i occupies wordsPerRow() words, of
/// which the first (rowEnd - 1)/64 + 1 are meaningful (lower-triangular when
/// causal).
class MaskMatrix {
public:
  MaskMatrix(const Mask &mask, int64_t T, bool causal = true);
  int64_t size() const { return T; }
  int64_t wordsPerRow() const { return words; }
  bool isCausal() const { return causal; }
  const uint64_t *row(int64_t i) const { return bits.data() + i * words; }

private:
  int64_t T;
  bool causal;
  int64_t words;
  std::vector<uint64_t> bits;
};

} // namespace sparta
