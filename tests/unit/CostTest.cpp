//===- CostTest.cpp - Keys per query, pairs, density, tiles ---------------===//
//
// Hand-computed figures on small masks, a brute-force cross-check over the
// reference semantics, and the densities FlexAttention benchmarks report
// (pairs / T^2, as bench/flex_bench.py prints them).
//
//===----------------------------------------------------------------------===//
#include "MaskBuilders.h"

#include "sparta/Cost.h"
#include "sparta/Error.h"
#include "sparta/Frontend.h"
#include "sparta/MaskSemantics.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <string>
#include <vector>

using namespace sparta;
using namespace sparta::testing;

namespace {

/// The same figures by brute force over the reference semantics.
MaskCost bruteCost(const Mask &mask, int64_t T, int64_t M, bool causalPattern = true) {
  MaskCost c;
  c.minKeys = T;
  for (int64_t i = 0; i < T; ++i) {
    int64_t keys = 0;
    for (int64_t j = 0; j < T; ++j)
      keys += allowed(mask, T, i, j, causalPattern);
    c.pairs += keys;
    c.maxKeys = std::max(c.maxKeys, keys);
    c.minKeys = std::min(c.minKeys, keys);
    c.emptyQueries += keys == 0;
  }
  const int64_t tiles = (T + M - 1) / M;
  for (int64_t qt = 0; qt < tiles; ++qt)
    for (int64_t kt = 0; kt < tiles; ++kt) {
      int64_t causal = 0, allowedPairs = 0;
      for (int64_t i = qt * M; i < std::min(T, qt * M + M); ++i)
        for (int64_t j = kt * M; j < std::min(T, kt * M + M); ++j) {
          causal += !causalPattern || j <= i;
          allowedPairs += allowed(mask, T, i, j, causalPattern);
        }
      c.tilesCausal += causal > 0;
      c.tilesNonEmpty += allowedPairs > 0;
      c.tilesFull += causal > 0 && allowedPairs == causal;
    }
  c.meanKeys = double(c.pairs) / T;
  c.density = double(c.pairs) / (double(T) * T);
  return c;
}

void expectEqualCost(const MaskCost &got, const MaskCost &want, const std::string &what) {
  EXPECT_EQ(got.pairs, want.pairs) << what;
  EXPECT_EQ(got.maxKeys, want.maxKeys) << what;
  EXPECT_EQ(got.minKeys, want.minKeys) << what;
  EXPECT_EQ(got.emptyQueries, want.emptyQueries) << what;
  EXPECT_DOUBLE_EQ(got.meanKeys, want.meanKeys) << what;
  EXPECT_DOUBLE_EQ(got.density, want.density) << what;
  EXPECT_EQ(got.tilesCausal, want.tilesCausal) << what;
  EXPECT_EQ(got.tilesNonEmpty, want.tilesNonEmpty) << what;
  EXPECT_EQ(got.tilesFull, want.tilesFull) << what;
}

std::string patternPath(const std::string &name) {
  return std::string(SPARTA_SOURCE_DIR) + "/patterns/" + name + ".mlir";
}

} // namespace

TEST(Cost, DenseEight) {
  MaskCost c = maskCost(leaf(MaskKind::Dense), 8, 4);
  EXPECT_EQ(c.pairs, 36);
  EXPECT_DOUBLE_EQ(c.density, 36.0 / 64.0);
  EXPECT_EQ(c.maxKeys, 8);
  EXPECT_EQ(c.minKeys, 1);
  EXPECT_DOUBLE_EQ(c.meanKeys, 4.5);
  EXPECT_EQ(c.emptyQueries, 0);
  EXPECT_EQ(c.tilesCausal, 3);
  EXPECT_EQ(c.tilesNonEmpty, 3);
  EXPECT_EQ(c.tilesFull, 3);
}

TEST(Cost, DenseRaggedTiles) {
  // T = 10, M = 4: tiles of 4, 4, 2 rows; 3 * 4 / 2 = 6 causal tiles, all full.
  MaskCost c = maskCost(leaf(MaskKind::Dense), 10, 4);
  EXPECT_EQ(c.pairs, 55);
  EXPECT_EQ(c.tilesCausal, 6);
  EXPECT_EQ(c.tilesNonEmpty, 6);
  EXPECT_EQ(c.tilesFull, 6);
  // One tile covering everything.
  MaskCost one = maskCost(leaf(MaskKind::Dense), 10, 64);
  EXPECT_EQ(one.tilesCausal, 1);
  EXPECT_EQ(one.tilesFull, 1);
}

TEST(Cost, BandEight) {
  // band(0, 2): keys per query 1, 2, 3, 3, ...: 1 + 2 + 6 * 3 = 21 pairs.
  MaskCost c = maskCost(band(0, 2), 8, 4);
  EXPECT_EQ(c.pairs, 21);
  EXPECT_EQ(c.maxKeys, 3);
  EXPECT_EQ(c.minKeys, 1);
  EXPECT_EQ(c.tilesCausal, 3);
  EXPECT_EQ(c.tilesNonEmpty, 3); // (4, 2) lies in tile (1, 0)
  EXPECT_EQ(c.tilesFull, 0);     // (3, 0), (4, 0) and (7, 4) are not allowed
  // band(0, 0) with M = 1: only the T diagonal tiles, each full.
  MaskCost diag = maskCost(band(0, 0), 8, 1);
  EXPECT_EQ(diag.tilesCausal, 36);
  EXPECT_EQ(diag.tilesNonEmpty, 8);
  EXPECT_EQ(diag.tilesFull, 8);
}

TEST(Cost, StrideEight) {
  // stride(4): queries 0..3 see themselves, 4..7 also i-4: 12 pairs.
  MaskCost c = maskCost(stride(4), 8, 4);
  EXPECT_EQ(c.pairs, 12);
  EXPECT_EQ(c.maxKeys, 2);
  EXPECT_EQ(c.tilesNonEmpty, 3);
  EXPECT_EQ(c.tilesFull, 0);
}

TEST(Cost, EmptyQueries) {
  // summary(4, 1): keys 3, 7; queries 0, 1, 2 have none.
  MaskCost c = maskCost(summary(4, 1), 8, 4);
  EXPECT_EQ(c.pairs, 0 + 0 + 0 + 1 + 1 + 1 + 1 + 2);
  EXPECT_EQ(c.emptyQueries, 3);
  EXPECT_EQ(c.minKeys, 0);
  EXPECT_EQ(c.maxKeys, 2);
  MaskCost none = maskCost(summary(4, 0), 8, 4);
  EXPECT_EQ(none.pairs, 0);
  EXPECT_EQ(none.emptyQueries, 8);
  EXPECT_EQ(none.tilesNonEmpty, 0);
}

TEST(Cost, MatchesBruteForce) {
  std::vector<Mask> masks = {leaf(MaskKind::Dense), band(0, 3), band(2, 9), stride(5),
                             chunk(6), summary(7, 2), unite({band(0, 4), stride(4)}),
                             unite({chunk(8), summary(8, 3)}), leaf(MaskKind::Empty)};
  for (const Mask &m : masks)
    for (int64_t T : {1, 5, 16, 37, 70, 130})
      for (int64_t M : {1, 3, 4, 16, 64, 200})
        expectEqualCost(maskCost(m, T, M), bruteCost(m, T, M),
                        toString(m) + " T=" + std::to_string(T) + " M=" + std::to_string(M));
}

TEST(Cost, BidirectionalMatchesBruteForce) {
  std::vector<Mask> masks = {leaf(MaskKind::Dense), band(-3, 3), band(-9, -2), stride(5, 2),
                             chunk(6), gridWindow(6, 1, 2), unite({band(-4, 4), stride(4)}),
                             unite({chunk(8), globalQueries(2), globalKeys(1)})};
  for (const Mask &m : masks)
    for (int64_t T : {1, 5, 16, 37, 70, 130})
      for (int64_t M : {1, 3, 16, 64})
        expectEqualCost(maskCost(m, T, M, /*causal=*/false), bruteCost(m, T, M, false),
                        toString(m) + " T=" + std::to_string(T) + " M=" + std::to_string(M));
  // All ceil(T/M)^2 tiles belong to the domain.
  EXPECT_EQ(maskCost(band(-1, 1), 130, 16, false).tilesCausal, 81);
}

TEST(Cost, OverallIsPerHeadSumsAndMeans) {
  CostReport r = costReport(pattern(8, {leaf(MaskKind::Dense), stride(4)}), 4);
  ASSERT_EQ(r.heads.size(), 2u);
  EXPECT_EQ(r.T, 8);
  EXPECT_EQ(r.tile, 4);
  EXPECT_EQ(r.overall.pairs, 36 + 12);
  EXPECT_DOUBLE_EQ(r.overall.density, (36.0 / 64 + 12.0 / 64) / 2);
  EXPECT_DOUBLE_EQ(r.overall.meanKeys, (4.5 + 1.5) / 2);
  EXPECT_EQ(r.overall.maxKeys, 8);
  EXPECT_EQ(r.overall.minKeys, 1);
  EXPECT_EQ(r.overall.tilesCausal, 6);
  EXPECT_EQ(r.overall.tilesNonEmpty, 6);
  EXPECT_EQ(r.overall.tilesFull, 3);
}

TEST(Cost, BadArguments) {
  EXPECT_THROW(maskCost(band(0, 1), 0, 4), Error);
  EXPECT_THROW(maskCost(band(0, 1), 8, 0), Error);
  EXPECT_THROW(costReport(pattern(8, {}), 4), Error);
}

TEST(Cost, BenchmarkDensities) {
  // The paper's figures at T = 4096, L = 64. A local head written
  // i - j < L has 64 keys, ours 0 <= i - j <= L (65 keys, the pattern
  // language's max(0, i-L) <= j <= i), hence 0.01184 against 0.0117.
  CostReport strided = costReport(pattern(4096, {band(0, 64), stride(64)}), 128);
  EXPECT_EQ(strided.heads[0].pairs, 65 * 4096 - 64 * 65 / 2);
  EXPECT_EQ(strided.heads[1].pairs, 64 * (64 * 65 / 2));
  EXPECT_NEAR(strided.overall.density, 0.0117, 0.0002);
  EXPECT_EQ(strided.heads[0].tilesNonEmpty, 32 + 31);
  EXPECT_EQ(strided.heads[1].tilesNonEmpty, 32 * 33 / 2); // every causal tile: why FlexAttention is slow
  EXPECT_NEAR(costReport(pattern(4096, {unite({band(0, 64), stride(64)})}), 128).overall.density,
              0.0232, 0.0003);
  EXPECT_NEAR(costReport(pattern(4096, {chunk(64), summary(64, 16)}), 128).overall.density,
              0.0658, 0.0002);
  EXPECT_NEAR(costReport(pattern(4096, {unite({chunk(64), summary(64, 16)})}), 128).overall.density,
              0.1310, 0.0002);
  // T = 16384, L = 128, c = 32.
  EXPECT_NEAR(costReport(pattern(16384, {band(0, 128), stride(128)}), 128).overall.density,
              0.0059, 0.0001);
  EXPECT_NEAR(costReport(pattern(16384, {unite({band(0, 128), stride(128)})}), 128).overall.density,
              0.0117, 0.0001);
  EXPECT_NEAR(costReport(pattern(16384, {chunk(128), summary(128, 32)}), 128).overall.density,
              0.0641, 0.0001);
  EXPECT_NEAR(costReport(pattern(16384, {leaf(MaskKind::Dense)}), 128).overall.density, 0.5,
              0.0001);
}

TEST(CostFiles, BenchmarkDensitiesFromPatternFiles) {
  auto density = [](const std::string &name, ParamBindings bindings) {
    return costReport(loadPattern(patternPath(name), bindings), 128).overall.density;
  };
  EXPECT_NEAR(density("strided", {{"T", 4096}, {"L", 64}}), 0.0117, 0.0002);
  EXPECT_NEAR(density("fixed", {{"T", 4096}, {"L", 64}, {"c", 16}}), 0.0658, 0.0002);
  EXPECT_NEAR(density("fixed_merged", {{"T", 4096}, {"L", 64}, {"c", 16}}), 0.1310, 0.0002);
  EXPECT_NEAR(density("strided_merged", {{"T", 4096}, {"L", 64}}), 0.0232, 0.0003);
  EXPECT_NEAR(density("dense", {{"T", 4096}, {"L", 64}}), 0.5001, 0.0001);
  EXPECT_NEAR(density("strided", {{"T", 16384}, {"L", 128}}), 0.0059, 0.0001);
  EXPECT_NEAR(density("fixed", {{"T", 16384}, {"L", 128}, {"c", 32}}), 0.0641, 0.0001);
}
