//===- MaskRows.cpp - Mask rows as bitsets --------------------------------===//
#include "sparta/MaskRows.h"

#include "sparta/MaskSemantics.h"

#include <algorithm>

namespace sparta {

static int popcount64(uint64_t x) { return __builtin_popcountll(x); }

static uint64_t maskFrom(int64_t bit) { return ~0ULL << (bit & 63); } // bits >= bit in its word
static uint64_t maskBelow(int64_t bit) {                             // bits < bit in its word
  return (bit & 63) ? ~0ULL >> (64 - (bit & 63)) : 0;
}

void setBits(uint64_t *words, int64_t begin, int64_t end) {
  if (begin >= end)
    return;
  int64_t first = begin >> 6, last = (end - 1) >> 6;
  uint64_t head = maskFrom(begin);
  uint64_t tail = (end & 63) ? maskBelow(end) : ~0ULL;
  if (first == last) {
    words[first] |= head & tail;
    return;
  }
  words[first] |= head;
  for (int64_t w = first + 1; w < last; ++w)
    words[w] = ~0ULL;
  words[last] |= tail;
}

int64_t countBits(const uint64_t *words, int64_t begin, int64_t end) {
  if (begin >= end)
    return 0;
  int64_t first = begin >> 6, last = (end - 1) >> 6;
  uint64_t head = maskFrom(begin);
  uint64_t tail = (end & 63) ? maskBelow(end) : ~0ULL;
  if (first == last)
    return popcount64(words[first] & head & tail);
  int64_t n = popcount64(words[first] & head) + popcount64(words[last] & tail);
  for (int64_t w = first + 1; w < last; ++w)
    n += popcount64(words[w]);
  return n;
}

int64_t firstClearBit(const uint64_t *words, int64_t begin, int64_t end) {
  for (int64_t bit = begin; bit < end;) {
    uint64_t clear = ~words[bit >> 6] & maskFrom(bit);
    if (clear) {
      int64_t found = (bit & ~63LL) + __builtin_ctzll(clear);
      return std::min(found, end);
    }
    bit = (bit & ~63LL) + 64;
  }
  return end;
}

/// Sets the mask's bits of row i among keys [0, end) into words[0 .. (end-1)/64],
/// which the caller cleared.
static void orRow(const Mask &mask, int64_t i, int64_t end, uint64_t *words) {
  const int64_t n = ((end - 1) >> 6) + 1;
  switch (mask.kind) {
  case MaskKind::Empty:
    return;
  case MaskKind::Dense:
    setBits(words, 0, end);
    return;
  case MaskKind::Band:
    // lo <= i - j <= hi  <=>  i - hi <= j <= i - lo
    // (written so that extreme lo/hi cannot overflow)
    setBits(words, mask.hi >= i ? 0 : mask.hi <= i - end ? end : i - mask.hi,
            mask.lo <= i - end ? end : std::min(end, i - mask.lo + 1));
    return;
  case MaskKind::Stride:
    if (mask.period > 0) // j == i - offset (mod period), the first at or above 0
      for (int64_t j = ((i - mask.offset) % mask.period + mask.period) % mask.period; j < end;
           j += mask.period)
        words[j >> 6] |= 1ULL << (j & 63);
    return;
  case MaskKind::Chunk:
    if (mask.size > 0)
      setBits(words, i / mask.size * mask.size, std::min(end, (i / mask.size + 1) * mask.size));
    return;
  case MaskKind::Summary: {
    const int64_t p = mask.period, w = mask.width;
    if (p <= 0 || w <= 0)
      return;
    if (w >= p) {
      setBits(words, 0, end);
      return;
    }
    for (int64_t start = 0; start < end; start += p)
      setBits(words, start + p - w, std::min(start + p, end));
    return;
  }
  case MaskKind::GlobalKeys:
    setBits(words, 0, std::min(mask.count, end));
    return;
  case MaskKind::GlobalQueries:
    if (i < mask.count)
      setBits(words, 0, end);
    return;
  case MaskKind::RandomBlocks: {
    const int64_t b = mask.block;
    if (b <= 0)
      return;
    for (int64_t kb : randomBlocksOf(mask.seed, i / b, mask.count))
      setBits(words, kb * b, std::min(kb * b + b, end));
    return;
  }
  case MaskKind::GridWindow: {
    const int64_t W = mask.period;
    if (W <= 0)
      return;
    const int64_t row = i / W, col = i % W;
    const int64_t first = std::max<int64_t>(0, col - mask.dw);
    const int64_t last = std::min<int64_t>(W - 1, col + mask.dw);
    for (int64_t r = std::max<int64_t>(0, row - mask.dh); r <= row + mask.dh && r * W < end; ++r)
      setBits(words, r * W + first, std::min(end, r * W + last + 1));
    return;
  }
  case MaskKind::Union: {
    for (const Mask &operand : mask.operands)
      orRow(operand, i, end, words);
    return;
  }
  case MaskKind::Intersect: {
    std::vector<uint64_t> acc(n, 0), tmp(n);
    setBits(acc.data(), 0, end);
    for (const Mask &operand : mask.operands) {
      std::fill(tmp.begin(), tmp.end(), 0);
      orRow(operand, i, end, tmp.data());
      for (int64_t w = 0; w < n; ++w)
        acc[w] &= tmp[w];
    }
    for (int64_t w = 0; w < n; ++w)
      words[w] |= acc[w];
    return;
  }
  }
}

void fillMaskRow(const Mask &mask, int64_t T, int64_t i, uint64_t *words, bool causal) {
  if (i < 0)
    return;
  const int64_t end = causal ? i + 1 : T;
  std::fill(words, words + (std::max<int64_t>(end, 1) - 1) / 64 + 1, 0);
  if (i >= T)
    return;
  orRow(mask, i, end, words);
}

MaskMatrix::MaskMatrix(const Mask &mask, int64_t T, bool causal)
    : T(T), causal(causal), words(wordsFor(T)), bits(static_cast<size_t>(T) * wordsFor(T), 0) {
  for (int64_t i = 0; i < T; ++i)
    fillMaskRow(mask, T, i, bits.data() + i * words, causal);
}

} // namespace sparta
