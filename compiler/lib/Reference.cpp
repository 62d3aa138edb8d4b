//===- Reference.cpp - The reference semantics of sparta masks ------------===//
//
// Literal, per-pair evaluation of the definitions in Reference.h. Keep it
// obviously correct: no structure exploited, no caching.
//
//===----------------------------------------------------------------------===//
#include "sparta/Reference.h"

#include "sparta/Error.h"

#include <algorithm>

namespace sparta {

uint64_t splitmix64(uint64_t x) {
  uint64_t z = x + 0x9E3779B97F4A7C15ULL;
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
  return z ^ (z >> 31);
}

uint64_t randomBlockHash(uint64_t seed, int64_t qblock, int64_t r) {
  return splitmix64(splitmix64(seed ^ static_cast<uint64_t>(qblock)) ^
                    static_cast<uint64_t>(r));
}

int64_t randomBlockDraw(uint64_t seed, int64_t qblock, int64_t r) {
  return static_cast<int64_t>(randomBlockHash(seed, qblock, r) %
                              static_cast<uint64_t>(qblock + 1));
}

bool randomBlockChosen(uint64_t seed, int64_t qblock, int64_t kblock, int64_t count) {
  if (qblock < 0 || kblock < 0 || kblock > qblock)
    return false;
  for (int64_t r = 0; r < count; ++r)
    if (randomBlockDraw(seed, qblock, r) == kblock)
      return true;
  return false;
}

std::vector<int64_t> randomBlocksOf(uint64_t seed, int64_t qblock, int64_t count) {
  std::vector<int64_t> blocks;
  if (qblock < 0)
    return blocks;
  for (int64_t r = 0; r < count; ++r)
    blocks.push_back(randomBlockDraw(seed, qblock, r));
  std::sort(blocks.begin(), blocks.end());
  blocks.erase(std::unique(blocks.begin(), blocks.end()), blocks.end());
  return blocks;
}

/// The mask's predicate for a pair already known to be causal (0 <= j <= i < T).
static bool holds(const Mask &mask, int64_t i, int64_t j) {
  switch (mask.kind) {
  case MaskKind::Dense:
    return true;
  case MaskKind::Band:
    return mask.lo <= i - j && i - j <= mask.hi;
  case MaskKind::Stride:
    return mask.period > 0 && (i - j) % mask.period == 0;
  case MaskKind::Chunk:
    return mask.size > 0 && i / mask.size == j / mask.size;
  case MaskKind::Summary:
    return mask.period > 0 && j % mask.period >= mask.period - mask.width;
  case MaskKind::GlobalKeys:
    return j < mask.count;
  case MaskKind::GlobalQueries:
    return i < mask.count;
  case MaskKind::RandomBlocks:
    return mask.block > 0 &&
           randomBlockChosen(mask.seed, i / mask.block, j / mask.block, mask.count);
  case MaskKind::Union:
    for (const Mask &operand : mask.operands)
      if (holds(operand, i, j))
        return true;
    return false;
  case MaskKind::Intersect:
    for (const Mask &operand : mask.operands)
      if (!holds(operand, i, j))
        return false;
    return true;
  case MaskKind::Empty:
    return false;
  }
  return false;
}

bool allowed(const Mask &mask, int64_t T, int64_t i, int64_t j) {
  if (!(0 <= j && j <= i && i < T))
    return false;
  return holds(mask, i, j);
}

bool allowed(const ConcretePattern &pattern, int64_t head, int64_t i, int64_t j) {
  if (pattern.heads.empty())
    throw Error("pattern '" + pattern.name + "' has no heads");
  if (head < 0)
    throw Error("head " + std::to_string(head) + " is negative");
  const Mask &mask = pattern.heads[head % static_cast<int64_t>(pattern.heads.size())];
  return allowed(mask, pattern.T, i, j);
}

std::vector<uint8_t> allowedRow(const Mask &mask, int64_t T, int64_t i) {
  std::vector<uint8_t> row(T > 0 ? T : 0, 0);
  for (int64_t j = 0; j < T; ++j)
    row[j] = allowed(mask, T, i, j) ? 1 : 0;
  return row;
}

} // namespace sparta
