//===- MaskSemantics.cpp - The reference semantics of sparta masks ------------===//
//
// Literal, per-pair evaluation of the definitions in MaskSemantics.h. Keep it
// obviously correct: no structure exploited, no caching.
//
//===----------------------------------------------------------------------===//
#include "sparta/MaskSemantics.h"

#include "sparta/random_blocks.h"

#include "sparta/Error.h"

#include <algorithm>
#include <cstdlib>

namespace sparta {

// The draw itself lives in the device library (random_blocks.h), so that the
// generated kernels and this oracle share one definition.
bool randomBlockChosen(uint64_t seed, int64_t qblock, int64_t kblock, int64_t count) {
  return blocks::chosen(seed, qblock, kblock, count);
}

std::vector<int64_t> randomBlocksOf(uint64_t seed, int64_t qblock, int64_t count) {
  std::vector<int64_t> blocks;
  if (qblock < 0)
    return blocks;
  for (int64_t r = 0; r < count; ++r)
    blocks.push_back(blocks::draw(seed, qblock, r));
  std::sort(blocks.begin(), blocks.end());
  blocks.erase(std::unique(blocks.begin(), blocks.end()), blocks.end());
  return blocks;
}

/// The mask's predicate for a pair already known to be in the domain.
static bool holds(const Mask &mask, int64_t i, int64_t j) {
  switch (mask.kind) {
  case MaskKind::Dense:
    return true;
  case MaskKind::Band:
    return mask.lo <= i - j && i - j <= mask.hi;
  case MaskKind::Stride:
    return mask.period > 0 && ((i - j) % mask.period + mask.period) % mask.period == mask.offset;
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
  case MaskKind::GridWindow:
    return mask.period > 0 && std::abs(i / mask.period - j / mask.period) <= mask.dh &&
           std::abs(i % mask.period - j % mask.period) <= mask.dw;
  }
  return false;
}

bool allowed(const Mask &mask, int64_t T, int64_t i, int64_t j, bool causal) {
  return inDomain(T, i, j, causal) && holds(mask, i, j);
}

bool allowed(const ConcretePattern &pattern, int64_t head, int64_t i, int64_t j) {
  if (pattern.heads.empty())
    throw Error("pattern '" + pattern.name + "' has no heads");
  if (head < 0)
    throw Error("head " + std::to_string(head) + " is negative");
  const Mask &mask = pattern.heads[head % static_cast<int64_t>(pattern.heads.size())];
  return allowed(mask, pattern.T, i, j, pattern.causal);
}

} // namespace sparta
