//===- ValidityTest.cpp - Connectivity of stacked layers ------------------===//
//
// The analysis is compared with a brute-force search that follows the
// definition (sets of reachable positions, one layer at a time, the reference
// semantics for every step) on hand-built and random patterns, and checked on
// the paper's patterns from the pattern files: strided, fixed and their merged
// forms are valid in two layers; local-only and stride-only are not.
//
//===----------------------------------------------------------------------===//
#include "MaskBuilders.h"

#include "sparta/Error.h"
#include "sparta/Frontend.h"
#include "sparta/MaskSemantics.h"
#include "sparta/Validity.h"

#include <gtest/gtest.h>

#include <random>
#include <string>
#include <vector>

using namespace sparta;
using namespace sparta::testing;

namespace {

/// Whether step p -> j is allowed by layer m of a k-layer stack.
bool stepAllowed(const ConcretePattern &p, bool interleaved, int64_t m, int64_t from, int64_t to) {
  const int64_t n = static_cast<int64_t>(p.heads.size());
  if (interleaved)
    return allowed(p, m % n, from, to);
  for (int64_t h = 0; h < n; ++h)
    if (allowed(p, h, from, to))
      return true;
  return false;
}

/// The set of keys reachable from query i: the first step crosses the top
/// layer k-1, the last one layer 0.
std::vector<bool> bruteReach(const ConcretePattern &p, int64_t layers, bool interleaved, int64_t i) {
  std::vector<bool> current(p.T, false);
  current[i] = true;
  for (int64_t m = layers - 1; m >= 0; --m) {
    std::vector<bool> next(p.T, false);
    for (int64_t q = 0; q < p.T; ++q)
      if (current[q])
        for (int64_t j = 0; j < p.T; ++j)
          if (!next[j] && stepAllowed(p, interleaved, m, q, j))
            next[j] = true;
    current = next;
  }
  return current;
}

ValidityResult bruteValidity(const ConcretePattern &p, int64_t layers, bool interleaved) {
  ValidityResult r;
  for (int64_t i = 0; i < p.T; ++i) {
    std::vector<bool> reach = bruteReach(p, layers, interleaved, i);
    for (int64_t j = 0; j < (p.causal ? i + 1 : p.T); ++j)
      if (!reach[j]) {
        r.valid = false;
        r.query = i;
        r.key = j;
        return r;
      }
  }
  r.valid = true;
  return r;
}

void expectSameAsBrute(const ConcretePattern &p, int64_t layers, bool interleaved) {
  ValidityResult got = checkValidity(p, {layers, interleaved});
  ValidityResult want = bruteValidity(p, layers, interleaved);
  std::string heads;
  for (const Mask &m : p.heads)
    heads += toString(m) + "; ";
  ASSERT_EQ(got.valid, want.valid) << heads << " T=" << p.T << " layers=" << layers
                                   << " interleaved=" << interleaved;
  ASSERT_EQ(got.query, want.query) << heads << " T=" << p.T;
  ASSERT_EQ(got.key, want.key) << heads << " T=" << p.T;
}

/// The counterexample is real: unreachable, and every earlier pair is reachable.
void expectGenuineCounterexample(const ConcretePattern &p, const ValidityResult &r,
                                 int64_t layers, bool interleaved) {
  ASSERT_FALSE(r.valid);
  ASSERT_GE(r.key, 0);
  ASSERT_LE(r.key, r.query);
  ASSERT_LT(r.query, p.T);
  std::vector<bool> reach = bruteReach(p, layers, interleaved, r.query);
  EXPECT_FALSE(reach[r.key]) << "query " << r.query << " reaches key " << r.key;
  for (int64_t j = 0; j < r.key; ++j)
    EXPECT_TRUE(reach[j]) << "an earlier key " << j << " is unreachable too";
  if (r.query > 0) {
    std::vector<bool> before = bruteReach(p, layers, interleaved, r.query - 1);
    for (int64_t j = 0; j < r.query; ++j)
      EXPECT_TRUE(before[j]) << "query " << r.query - 1 << " already misses key " << j;
  }
}

std::string patternPath(const std::string &name) {
  return std::string(SPARTA_SOURCE_DIR) + "/patterns/" + name + ".mlir";
}

} // namespace

//===----------------------------------------------------------------------===//
// Hand-built patterns
//===----------------------------------------------------------------------===//

TEST(Validity, PaperPatternsValidInTwoLayers) {
  for (auto [T, L, c] : std::vector<std::array<int64_t, 3>>{
           {1024, 32, 4}, {1000, 32, 4}, {100, 7, 2}, {64, 8, 1}, {50, 64, 3}, {17, 1, 1}, {1, 4, 2}}) {
    EXPECT_TRUE(checkValidity(pattern(T, {band(0, L), stride(L)})).valid) << T << " " << L;
    EXPECT_TRUE(checkValidity(pattern(T, {unite({band(0, L), stride(L)})})).valid) << T;
    EXPECT_TRUE(checkValidity(pattern(T, {chunk(L), summary(L, c)})).valid) << T;
    EXPECT_TRUE(checkValidity(pattern(T, {unite({chunk(L), summary(L, c)})})).valid) << T;
  }
}

TEST(Validity, LocalOnlyIsInvalid) {
  // band(0, L) twice reaches 2L back: query 2L+1 misses key 0.
  for (int64_t L : {1, 4, 32}) {
    ConcretePattern p = pattern(1024, {band(0, L)});
    ValidityResult r = checkValidity(p);
    EXPECT_FALSE(r.valid);
    EXPECT_EQ(r.query, 2 * L + 1);
    EXPECT_EQ(r.key, 0);
    ValidityResult three = checkValidity(p, {3, false});
    EXPECT_EQ(three.query, 3 * L + 1);
    EXPECT_EQ(three.key, 0);
  }
  ConcretePattern small = pattern(40, {band(0, 4)});
  expectGenuineCounterexample(small, checkValidity(small), 2, false);
}

TEST(Validity, StrideOnlyIsInvalid) {
  // Only keys at multiples of L back: query 1 misses key 0.
  ConcretePattern p = pattern(256, {stride(16)});
  ValidityResult r = checkValidity(p);
  EXPECT_FALSE(r.valid);
  EXPECT_EQ(r.query, 1);
  EXPECT_EQ(r.key, 0);
  ConcretePattern small = pattern(40, {stride(4)});
  expectGenuineCounterexample(small, checkValidity(small), 2, false);
}

TEST(Validity, OneLayer) {
  EXPECT_TRUE(checkValidity(pattern(100, {leaf(MaskKind::Dense)}), {1, false}).valid);
  ValidityResult r = checkValidity(pattern(100, {band(0, 4), stride(4)}), {1, false});
  EXPECT_FALSE(r.valid);
  EXPECT_EQ(r.query, 5); // 5 - 0 = 5 is neither within 4 nor a multiple of 4
  EXPECT_EQ(r.key, 0);
}

TEST(Validity, IdentityIsNotAssumed) {
  // band(1, 1) attends only to the previous position: no query reaches itself.
  ValidityResult r = checkValidity(pattern(10, {band(1, 1)}), {2, false});
  EXPECT_FALSE(r.valid);
  EXPECT_EQ(r.query, 0);
  EXPECT_EQ(r.key, 0);
  // band(1, 2): two steps reach i-2..i-4, never i itself.
  expectSameAsBrute(pattern(20, {band(1, 2)}), 2, false);
}

TEST(Validity, Interleaved) {
  // Strided interleaved (layer 0 local, layer 1 stride) is still valid.
  EXPECT_TRUE(checkValidity(pattern(1024, {band(0, 32), stride(32)}), {2, true}).valid);
  EXPECT_TRUE(checkValidity(pattern(1000, {band(0, 32), stride(32)}), {2, true}).valid);
  // Fixed interleaved is not: the top layer (summary) gives query 0 no key.
  ConcretePattern fixed = pattern(64, {chunk(8), summary(8, 2)});
  ValidityResult r = checkValidity(fixed, {2, true});
  EXPECT_FALSE(r.valid);
  expectGenuineCounterexample(fixed, r, 2, true);
  // With both heads in every layer the same pattern is valid.
  EXPECT_TRUE(checkValidity(fixed, {2, false}).valid);
}

TEST(Validity, LayerOrderConvention) {
  // Layer 0 is next to the input and layer k-1 holds the query. Top chunk(2),
  // bottom global_queries(1): query 1 -> {0, 1} -> only 0 reaches anything, so
  // key 1 is the first miss. The other order fails at key 0 instead.
  ValidityResult r = checkValidity(pattern(8, {globalQueries(1), chunk(2)}), {2, true});
  EXPECT_FALSE(r.valid);
  EXPECT_EQ(r.query, 1);
  EXPECT_EQ(r.key, 1);
  ValidityResult swapped = checkValidity(pattern(8, {chunk(2), globalQueries(1)}), {2, true});
  EXPECT_EQ(swapped.query, 1);
  EXPECT_EQ(swapped.key, 0);
  expectSameAsBrute(pattern(8, {globalQueries(1), chunk(2)}), 2, true);
  expectSameAsBrute(pattern(8, {chunk(2), globalQueries(1)}), 2, true);
  // layerMask tells which mask a layer uses.
  ConcretePattern p = pattern(8, {chunk(2), stride(3), band(0, 1)});
  EXPECT_EQ(layerMask(p, {4, true}, 0), chunk(2));
  EXPECT_EQ(layerMask(p, {4, true}, 3), chunk(2));
  EXPECT_EQ(layerMask(p, {4, true}, 2), band(0, 1));
  EXPECT_EQ(layerMask(p, {4, false}, 1).kind, MaskKind::Union);
}

TEST(Validity, MatchesBruteForceOnSmallPatterns) {
  std::mt19937_64 rng(2024);
  auto pick = [&](int64_t lo, int64_t hi) {
    return std::uniform_int_distribution<int64_t>(lo, hi)(rng);
  };
  auto randomMask = [&]() {
    switch (pick(0, 7)) {
    case 0: return band(pick(0, 2), pick(0, 6));
    case 1: return stride(pick(1, 6));
    case 2: return chunk(pick(1, 8));
    case 3: {
      int64_t period = pick(1, 8);
      return summary(period, pick(0, period));
    }
    case 4: return globalQueries(pick(0, 3));
    case 5: return globalKeys(pick(0, 3));
    case 6: return leaf(MaskKind::Dense);
    default: return unite({band(0, pick(0, 3)), stride(pick(1, 5))});
    }
  };
  for (int round = 0; round < 400; ++round) {
    std::vector<Mask> heads;
    for (int64_t h = pick(1, 3); h > 0; --h)
      heads.push_back(randomMask());
    ConcretePattern p = pattern(pick(1, 40), heads);
    expectSameAsBrute(p, pick(1, 4), pick(0, 1) == 1);
  }
  // Bidirectional patterns: every pair must be reached, keys after the query too.
  for (int round = 0; round < 200; ++round) {
    std::vector<Mask> heads;
    for (int64_t h = pick(1, 3); h > 0; --h)
      heads.push_back(pick(0, 2) == 0 ? band(-pick(0, 4), pick(0, 4))
                      : pick(0, 1)    ? stride(pick(2, 6), 0)
                                      : randomMask());
    ConcretePattern p = pattern(pick(1, 40), heads);
    p.causal = false;
    expectSameAsBrute(p, pick(1, 3), pick(0, 1) == 1);
  }
  // Rows longer than one word, where the skipping of full words matters.
  for (int64_t T : {63, 64, 65, 129, 200}) {
    ConcretePattern axial = pattern(T, {chunk(13), stride(13)});
    axial.causal = false;
    expectSameAsBrute(axial, 2, false);
    ConcretePattern window = pattern(T, {band(-9, 9)});
    window.causal = false;
    expectSameAsBrute(window, 3, false);
  }
  for (int64_t T : {63, 64, 65, 129, 200}) {
    expectSameAsBrute(pattern(T, {band(0, 9), stride(9)}), 2, false);
    expectSameAsBrute(pattern(T, {chunk(16), summary(16, 2)}), 2, false);
    expectSameAsBrute(pattern(T, {band(0, 20)}), 3, false);
    expectSameAsBrute(pattern(T, {chunk(16), summary(16, 2)}), 3, true);
    expectSameAsBrute(pattern(T, {stride(70), band(0, 5)}), 2, false);
  }
}

TEST(Validity, BadArguments) {
  EXPECT_THROW(checkValidity(pattern(8, {band(0, 1)}), {0, false}), Error);
  EXPECT_THROW(checkValidity(pattern(8, {})), Error);
  EXPECT_THROW(checkValidity(pattern(0, {band(0, 1)})), Error);
  EXPECT_THROW(checkValidity(pattern(1 << 20, {band(0, 1)})), Error);
}

// The verdicts at the lengths the kernels are benchmarked at (T = 16384).
// How long `sparta check` takes there is a benchmark figure, not a test.
TEST(Validity, LongSequences) {
  EXPECT_TRUE(checkValidity(pattern(16384, {band(0, 128), stride(128)})).valid);
  EXPECT_TRUE(checkValidity(pattern(16384, {unite({chunk(128), summary(128, 32)})})).valid);
  EXPECT_TRUE(checkValidity(pattern(16384, {band(0, 128), stride(128)}), {2, true}).valid);
  EXPECT_TRUE(checkValidity(pattern(16384, {leaf(MaskKind::Dense)}), {3, false}).valid);
  ValidityResult local = checkValidity(pattern(16384, {band(0, 128)}));
  EXPECT_EQ(local.query, 257);
}

//===----------------------------------------------------------------------===//
// The pattern files
//===----------------------------------------------------------------------===//

TEST(ValidityFiles, PaperPatternsValid) {
  for (auto [T, L, c] : std::vector<std::array<int64_t, 3>>{
           {1024, 32, 4}, {1000, 32, 4}, {4096, 64, 16}, {333, 10, 3}}) {
    for (const char *name : {"strided", "strided_merged", "fixed", "fixed_merged", "dense"}) {
      ParamBindings bindings = {{"T", T}, {"L", L}};
      if (std::string(name).rfind("fixed", 0) == 0)
        bindings["c"] = c;
      ConcretePattern p = loadPattern(patternPath(name), bindings);
      ValidityResult r = checkValidity(p);
      EXPECT_TRUE(r.valid) << name << " T=" << T << " L=" << L << ": query " << r.query
                           << " misses key " << r.key;
    }
  }
}

TEST(ValidityFiles, LocalInvalid) {
  ConcretePattern p = loadPattern(patternPath("local"), {{"T", 100}, {"L", 8}});
  ValidityResult r = checkValidity(p);
  EXPECT_FALSE(r.valid);
  EXPECT_EQ(r.query, 17);
  EXPECT_EQ(r.key, 0);
  expectGenuineCounterexample(p, r, 2, false);
}

TEST(ValidityFiles, StridedSecondHeadAloneInvalid) {
  ConcretePattern p = loadPattern(patternPath("strided"), {{"T", 100}, {"L", 8}});
  ASSERT_EQ(p.heads.size(), 2u);
  ConcretePattern a2 = pattern(p.T, {p.heads[1]}, "strided-a2");
  ValidityResult r = checkValidity(a2);
  EXPECT_FALSE(r.valid);
  EXPECT_EQ(r.query, 1);
  EXPECT_EQ(r.key, 0);
  expectGenuineCounterexample(a2, r, 2, false);
}
