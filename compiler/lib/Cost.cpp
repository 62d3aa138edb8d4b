//===- Cost.cpp - Keys per query, pairs, density and tiles ----------------===//
#include "sparta/Cost.h"

#include "sparta/Error.h"
#include "sparta/MaskRows.h"

#include <algorithm>
#include <string>
#include <vector>

namespace sparta {

MaskCost maskCost(const Mask &mask, int64_t T, int64_t tile, bool causal) {
  if (T <= 0)
    throw Error("T must be positive, not " + std::to_string(T));
  if (tile <= 0)
    throw Error("the tile size must be positive, not " + std::to_string(tile));
  const int64_t tiles = (T + tile - 1) / tile;
  MaskCost cost;
  cost.tilesCausal = causal ? tiles * (tiles + 1) / 2 : tiles * tiles;
  cost.minKeys = T;

  std::vector<uint64_t> row(wordsFor(T));
  // Per key tile of the current query tile: any allowed pair, all allowed.
  std::vector<char> any(tiles), all(tiles);
  for (int64_t i = 0; i < T; ++i) {
    const int64_t qt = i / tile;
    if (i % tile == 0) {
      std::fill(any.begin(), any.end(), 0);
      std::fill(all.begin(), all.end(), 1);
    }
    fillMaskRow(mask, T, i, row.data(), causal);
    const int64_t keys = countBits(row.data(), 0, rowEnd(T, i, causal));
    // Key tiles of the domain for this query tile.
    const int64_t lastTile = causal ? qt : tiles - 1;
    cost.pairs += keys;
    cost.maxKeys = std::max(cost.maxKeys, keys);
    cost.minKeys = std::min(cost.minKeys, keys);
    if (keys == 0)
      ++cost.emptyQueries;
    for (int64_t kt = 0; kt <= lastTile; ++kt) {
      const int64_t begin = kt * tile, end = std::min(begin + tile, rowEnd(T, i, causal));
      const int64_t n = countBits(row.data(), begin, end);
      if (n > 0)
        any[kt] = 1;
      if (n != std::max<int64_t>(0, end - begin))
        all[kt] = 0;
    }
    if (i % tile == tile - 1 || i == T - 1)
      for (int64_t kt = 0; kt <= lastTile; ++kt) {
        cost.tilesNonEmpty += any[kt];
        cost.tilesFull += all[kt];
      }
  }
  cost.meanKeys = static_cast<double>(cost.pairs) / static_cast<double>(T);
  cost.density = static_cast<double>(cost.pairs) / (static_cast<double>(T) * T);
  return cost;
}

CostReport costReport(const ConcretePattern &pattern, int64_t tile) {
  if (pattern.heads.empty())
    throw Error("pattern '" + pattern.name + "' has no heads");
  CostReport report;
  report.T = pattern.T;
  report.tile = tile;
  MaskCost &all = report.overall;
  all.minKeys = pattern.T;
  for (const Mask &mask : pattern.heads) {
    MaskCost c = maskCost(mask, pattern.T, tile, pattern.causal);
    report.heads.push_back(c);
    all.pairs += c.pairs;
    all.maxKeys = std::max(all.maxKeys, c.maxKeys);
    all.minKeys = std::min(all.minKeys, c.minKeys);
    all.meanKeys += c.meanKeys;
    all.emptyQueries += c.emptyQueries;
    all.density += c.density;
    all.tilesNonEmpty += c.tilesNonEmpty;
    all.tilesFull += c.tilesFull;
    all.tilesCausal += c.tilesCausal;
  }
  const double n = static_cast<double>(pattern.heads.size());
  all.meanKeys /= n;
  all.density /= n;
  return report;
}

} // namespace sparta
