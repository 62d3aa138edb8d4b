//===- MaskSemanticsTest.cpp - The reference semantics against the definitions -===//
//
// The reference semantics (MaskSemantics.h) is the oracle for everything else, so
// it is checked here against the set definitions of docs/pattern-language.md, written again
// independently, for hand-built masks and for every pattern file, over many
// (T, L, c) including the edge cases: T = 1, ragged T, L = 1, L >= T, c = L,
// c = 1, c = 0. MaskRows' structural rows are checked against the reference
// on every pair of random mask expressions.
//
//===----------------------------------------------------------------------===//
#include "MaskBuilders.h"

#include "sparta/Error.h"
#include "sparta/Frontend.h"
#include "sparta/MaskRows.h"
#include "sparta/MaskSemantics.h"
#include "sparta/random_blocks.h"

#include <gtest/gtest.h>

#include <functional>
#include <random>
#include <set>
#include <string>
#include <vector>

using namespace sparta;
using namespace sparta::testing;

namespace {

using Pred = std::function<bool(int64_t i, int64_t j)>;

/// Every (i, j) in [-1, T]^2: the mask is `expected` on causal pairs and false elsewhere.
void expectMask(const Mask &mask, int64_t T, const Pred &expected, const std::string &what) {
  for (int64_t i = -1; i <= T; ++i)
    for (int64_t j = -1; j <= T; ++j) {
      const bool causal = 0 <= j && j <= i && i < T;
      const bool want = causal && expected(i, j);
      ASSERT_EQ(allowed(mask, T, i, j), want)
          << what << " T=" << T << " i=" << i << " j=" << j;
    }
}

// The pattern language's definitions, written out independently of the library.
bool inLocal(int64_t i, int64_t j, int64_t L) { return std::max<int64_t>(0, i - L) <= j && j <= i; }
bool inStrided(int64_t i, int64_t j, int64_t L) { return j <= i && (i - j) % L == 0; }
bool inChunk(int64_t i, int64_t j, int64_t L) { return j <= i && j / L == i / L; }
bool inSummary(int64_t i, int64_t j, int64_t L, int64_t c) { return j <= i && j % L >= L - c; }

const std::vector<int64_t> kLengths = {1, 2, 7, 16, 33, 64, 100};
const std::vector<int64_t> kStrides = {1, 2, 3, 4, 8, 16, 100, 128};

} // namespace

//===----------------------------------------------------------------------===//
// Hand-built masks
//===----------------------------------------------------------------------===//

TEST(Reference, Dense) {
  for (int64_t T : kLengths)
    expectMask(leaf(MaskKind::Dense), T, [](int64_t, int64_t) { return true; }, "dense");
}

TEST(Reference, EmptyHoldsNowhere) {
  for (int64_t T : kLengths)
    expectMask(leaf(MaskKind::Empty), T, [](int64_t, int64_t) { return false; }, "empty");
}

TEST(Reference, Band) {
  for (int64_t T : kLengths)
    for (auto [lo, hi] : std::vector<std::pair<int64_t, int64_t>>{
             {0, 0}, {0, 1}, {0, 4}, {2, 5}, {3, 3}, {-5, 2}, {4, 2}, {0, 1000}, {-3, -1}})
      expectMask(band(lo, hi), T,
                 [lo = lo, hi = hi](int64_t i, int64_t j) { return lo <= i - j && i - j <= hi; },
                 "band(" + std::to_string(lo) + "," + std::to_string(hi) + ")");
}

TEST(Reference, BandZeroToLIsTheLocalHead) {
  for (int64_t T : kLengths)
    for (int64_t L : kStrides)
      expectMask(band(0, L), T, [L](int64_t i, int64_t j) { return inLocal(i, j, L); }, "local");
}

TEST(Reference, Stride) {
  for (int64_t T : kLengths)
    for (int64_t L : kStrides)
      expectMask(stride(L), T, [L](int64_t i, int64_t j) { return inStrided(i, j, L); },
                 "stride " + std::to_string(L));
  // L = 1: every causal pair.
  expectMask(stride(1), 20, [](int64_t, int64_t) { return true; }, "stride 1");
  // L >= T: only the diagonal.
  expectMask(stride(20), 20, [](int64_t i, int64_t j) { return i == j; }, "stride T");
}

TEST(Reference, Chunk) {
  for (int64_t T : kLengths)
    for (int64_t L : kStrides)
      expectMask(chunk(L), T, [L](int64_t i, int64_t j) { return inChunk(i, j, L); },
                 "chunk " + std::to_string(L));
  expectMask(chunk(1), 20, [](int64_t i, int64_t j) { return i == j; }, "chunk 1");
  expectMask(chunk(64), 20, [](int64_t, int64_t) { return true; }, "chunk >= T");
}

TEST(Reference, Summary) {
  for (int64_t T : kLengths)
    for (int64_t L : kStrides)
      for (int64_t c : {int64_t(0), int64_t(1), L / 2, L - 1, L})
        expectMask(summary(L, c), T,
                   [L, c](int64_t i, int64_t j) { return inSummary(i, j, L, c); },
                   "summary " + std::to_string(L) + "," + std::to_string(c));
  // c = 0: no key at all; c = L: every causal pair.
  expectMask(summary(8, 0), 40, [](int64_t, int64_t) { return false; }, "summary c=0");
  expectMask(summary(8, 8), 40, [](int64_t, int64_t) { return true; }, "summary c=L");
  // c = 1: the last key of each period.
  expectMask(summary(8, 1), 40, [](int64_t, int64_t j) { return j % 8 == 7; }, "summary c=1");
}

TEST(Reference, GlobalKeysAndQueries) {
  for (int64_t T : kLengths)
    for (int64_t count : {0, 1, 3, 16, 1000}) {
      expectMask(globalKeys(count), T, [count](int64_t, int64_t j) { return j < count; },
                 "global keys");
      expectMask(globalQueries(count), T, [count](int64_t i, int64_t) { return i < count; },
                 "global queries");
    }
}

TEST(Reference, UnionAndIntersect) {
  for (int64_t T : kLengths)
    for (int64_t L : {1, 3, 8}) {
      expectMask(unite({band(0, L), stride(L)}), T,
                 [L](int64_t i, int64_t j) { return inLocal(i, j, L) || inStrided(i, j, L); },
                 "union");
      expectMask(intersect({band(0, 3 * L), stride(L)}), T,
                 [L](int64_t i, int64_t j) { return inLocal(i, j, 3 * L) && inStrided(i, j, L); },
                 "intersect");
      expectMask(unite({chunk(L), summary(L, 1), globalKeys(2)}), T,
                 [L](int64_t i, int64_t j) {
                   return inChunk(i, j, L) || inSummary(i, j, L, 1) || j < 2;
                 },
                 "union3");
    }
  expectMask(unite({}), 10, [](int64_t, int64_t) { return false; }, "empty union");
  expectMask(intersect({}), 10, [](int64_t, int64_t) { return true; }, "empty intersect");
}

TEST(Reference, PatternHeadsWrapAround) {
  ConcretePattern p;
  p.name = "two";
  p.T = 12;
  p.heads = {band(0, 2), stride(3)};
  for (int64_t h = 0; h < 6; ++h)
    for (int64_t i = 0; i < p.T; ++i)
      for (int64_t j = 0; j < p.T; ++j)
        EXPECT_EQ(allowed(p, h, i, j), allowed(p.heads[h % 2], p.T, i, j));
  EXPECT_THROW(allowed(p, -1, 0, 0), Error);
  ConcretePattern none;
  none.T = 4;
  EXPECT_THROW(allowed(none, 0, 0, 0), Error);
}

//===----------------------------------------------------------------------===//
// Random blocks
//===----------------------------------------------------------------------===//

TEST(Reference, Splitmix64IsTheStandardMix) {
  // The first outputs of the SplitMix64 generator seeded with 0 are the mix of
  // 0, 0x9E37..15, 2*0x9E37..15: the well-known sequence.
  EXPECT_EQ(blocks::splitmix64(0), 0xE220A8397B1DCDAFULL);
  EXPECT_EQ(blocks::splitmix64(0x9E3779B97F4A7C15ULL), 0x6E789E6AA1B965F4ULL);
  EXPECT_EQ(blocks::draw(5, 7, 3),
            static_cast<int64_t>(blocks::splitmix64(blocks::splitmix64(5 ^ 7) ^ 3) % 8));
}

TEST(Reference, RandomBlocksProperties) {
  for (uint64_t seed : {0ULL, 1ULL, 42ULL, 0xdeadbeefULL})
    for (int64_t count : {1, 2, 3, 5})
      for (int64_t qb = 0; qb < 40; ++qb) {
        std::set<int64_t> chosen;
        for (int64_t kb = -2; kb <= qb + 3; ++kb)
          if (randomBlockChosen(seed, qb, kb, count)) {
            chosen.insert(kb);
            EXPECT_GE(kb, 0);
            EXPECT_LE(kb, qb);
          }
        EXPECT_GE(chosen.size(), 1u);
        EXPECT_LE(static_cast<int64_t>(chosen.size()), std::min(count, qb + 1));
        // Exactly the distinct draws, and randomBlocksOf lists them in order.
        std::set<int64_t> draws;
        for (int64_t r = 0; r < count; ++r)
          draws.insert(blocks::draw(seed, qb, r));
        EXPECT_EQ(chosen, draws);
        std::vector<int64_t> listed = randomBlocksOf(seed, qb, count);
        EXPECT_EQ(std::vector<int64_t>(chosen.begin(), chosen.end()), listed);
        // Deterministic.
        for (int64_t kb : chosen)
          EXPECT_TRUE(randomBlockChosen(seed, qb, kb, count));
      }
  // count 0 chooses nothing; query block 0 can only choose block 0.
  EXPECT_FALSE(randomBlockChosen(1, 5, 0, 0));
  EXPECT_TRUE(randomBlockChosen(1, 0, 0, 1));
  // More draws never lose a block.
  for (int64_t qb = 0; qb < 30; ++qb)
    for (int64_t kb = 0; kb <= qb; ++kb)
      if (randomBlockChosen(9, qb, kb, 2)) {
        EXPECT_TRUE(randomBlockChosen(9, qb, kb, 3));
      }
}

TEST(Reference, RandomBlocksSeedChangesTheDraw) {
  int differences = 0;
  for (int64_t qb = 1; qb < 64; ++qb)
    if (randomBlocksOf(1, qb, 2) != randomBlocksOf(2, qb, 2))
      ++differences;
  EXPECT_GT(differences, 20);
}

TEST(Reference, RandomBlocksMask) {
  const int64_t b = 4, count = 2;
  const uint64_t seed = 7;
  for (int64_t T : {1, 5, 16, 30})
    expectMask(randomBlocks(b, count, seed), T,
               [&](int64_t i, int64_t j) {
                 // the blocks drawn for i's block, by the documented formula
                 const int64_t qb = i / b, kb = j / b;
                 for (int64_t r = 0; r < count; ++r)
                   if (static_cast<int64_t>(blocks::splitmix64(blocks::splitmix64(
                                                seed ^ uint64_t(qb)) ^ uint64_t(r)) %
                                            uint64_t(qb + 1)) == kb)
                     return true;
                 return false;
               },
               "random blocks");
  // Every query of a block sees the same key blocks; the diagonal block is seen
  // only up to the causal edge.
  Mask m = randomBlocks(4, 3, 11);
  for (int64_t i = 0; i < 64; ++i)
    for (int64_t j = 0; j < 64; ++j)
      if (j / 4 < i / 4) {
        EXPECT_EQ(allowed(m, 64, i, j), allowed(m, 64, i / 4 * 4 + 3, j / 4 * 4));
      }
}

//===----------------------------------------------------------------------===//
// MaskRows: the analyses' structural rows equal the reference
//===----------------------------------------------------------------------===//

namespace {

Mask randomMask(std::mt19937_64 &rng, int depth) {
  auto pick = [&](int64_t lo, int64_t hi) {
    return std::uniform_int_distribution<int64_t>(lo, hi)(rng);
  };
  int kind = static_cast<int>(pick(0, depth > 0 ? 11 : 9));
  switch (kind) {
  case 0: return leaf(MaskKind::Dense);
  case 1: return band(pick(-3, 6), pick(-2, 40));
  case 2: return stride(pick(1, 12));
  case 3: return chunk(pick(1, 20));
  case 4: {
    int64_t p = pick(1, 12);
    return summary(p, pick(0, p));
  }
  case 5: return globalKeys(pick(0, 10));
  case 6: return globalQueries(pick(0, 10));
  case 7: return randomBlocks(pick(1, 8), pick(0, 4), rng());
  case 8: {
    switch (pick(0, 2)) {
    case 0: return leaf(MaskKind::Empty);
    case 1: {
      int64_t p = pick(1, 12);
      return stride(p, pick(0, p - 1));
    }
    default: return gridWindow(pick(1, 12), pick(0, 3), pick(0, 4));
    }
  }
  case 9: return band(pick(-9, 3), pick(-4, 8));
  case 10: {
    std::vector<Mask> ops;
    for (int64_t k = pick(0, 3); k > 0; --k)
      ops.push_back(randomMask(rng, depth - 1));
    return unite(ops);
  }
  default: {
    std::vector<Mask> ops;
    for (int64_t k = pick(0, 3); k > 0; --k)
      ops.push_back(randomMask(rng, depth - 1));
    return intersect(ops);
  }
  }
}

void expectRowsMatch(const Mask &mask, int64_t T, bool causal = true) {
  std::vector<uint64_t> row(wordsFor(T) + 1, ~0ULL);
  for (int64_t i = 0; i < T; ++i) {
    std::fill(row.begin(), row.end(), ~0ULL); // fillMaskRow must clear what it owns
    fillMaskRow(mask, T, i, row.data(), causal);
    const int64_t end = rowEnd(T, i, causal);
    for (int64_t j = 0; j < end; ++j)
      ASSERT_EQ(testBit(row.data(), j), allowed(mask, T, i, j, causal))
          << toString(mask) << " T=" << T << " i=" << i << " j=" << j << " causal=" << causal;
    for (int64_t j = end; j < ((end - 1) / 64 + 1) * 64; ++j)
      ASSERT_FALSE(testBit(row.data(), j)) << "bit past the domain, i=" << i << " j=" << j;
  }
  MaskMatrix matrix(mask, T, causal);
  for (int64_t i = 0; i < T; ++i)
    for (int64_t j = 0; j < T; ++j)
      ASSERT_EQ(j < rowEnd(T, i, causal) && testBit(matrix.row(i), j),
                allowed(mask, T, i, j, causal));
}

} // namespace

TEST(MaskRows, BitHelpers) {
  std::vector<uint64_t> words(4, 0);
  setBits(words.data(), 3, 130);
  EXPECT_EQ(countBits(words.data(), 0, 256), 127);
  EXPECT_EQ(countBits(words.data(), 60, 70), 10);
  EXPECT_EQ(countBits(words.data(), 129, 131), 1);
  EXPECT_EQ(countBits(words.data(), 5, 5), 0);
  EXPECT_EQ(firstClearBit(words.data(), 0, 256), 0);
  EXPECT_EQ(firstClearBit(words.data(), 3, 256), 130);
  EXPECT_EQ(firstClearBit(words.data(), 3, 100), 100);
  setBits(words.data(), 64, 64); // empty range
  EXPECT_EQ(countBits(words.data(), 0, 256), 127);
  setBits(words.data(), 0, 256);
  EXPECT_EQ(firstClearBit(words.data(), 0, 256), 256);
}

TEST(MaskRows, PaperMasksMatchTheReference) {
  for (int64_t T : {1, 2, 63, 64, 65, 130, 200})
    for (int64_t L : {1, 2, 5, 8, 64, 300}) {
      expectRowsMatch(band(0, L), T);
      expectRowsMatch(stride(L), T);
      expectRowsMatch(chunk(L), T);
      for (int64_t c : {int64_t(0), int64_t(1), L / 2, L})
        expectRowsMatch(summary(L, c), T);
      expectRowsMatch(unite({band(0, L), stride(L)}), T);
      expectRowsMatch(unite({chunk(L), summary(L, 1)}), T);
    }
}

TEST(MaskRows, RandomExpressionsMatchTheReference) {
  std::mt19937_64 rng(12345);
  for (int round = 0; round < 300; ++round) {
    Mask mask = randomMask(rng, 2);
    int64_t T = std::uniform_int_distribution<int64_t>(1, 150)(rng);
    expectRowsMatch(mask, T, /*causal=*/true);
    expectRowsMatch(mask, T, /*causal=*/false);
  }
}

TEST(Reference, StrideOffset) {
  Mask m = stride(5, 2);
  for (int64_t i = 0; i < 30; ++i)
    for (int64_t j = 0; j < 30; ++j) {
      bool want = ((i - j) % 5 + 5) % 5 == 2;
      EXPECT_EQ(allowed(m, 30, i, j), j <= i && want) << i << " " << j;
      EXPECT_EQ(allowed(m, 30, i, j, /*causal=*/false), want) << i << " " << j;
    }
  // Offset 2 back is offset 3 forward.
  EXPECT_TRUE(allowed(m, 30, 7, 5, false));
  EXPECT_TRUE(allowed(m, 30, 5, 8, false));
  EXPECT_FALSE(allowed(m, 30, 5, 7, false));
}

TEST(Reference, GridWindowNeverWraps) {
  // A 4 x 6 grid (rows of 6): (row 1, col 5) = 11 and (row 2, col 0) = 12 are
  // neighbours in i - j but 5 columns apart.
  Mask m = gridWindow(6, 1, 1);
  EXPECT_FALSE(allowed(m, 24, 12, 11));
  EXPECT_TRUE(allowed(m, 24, 12, 7));   // row 1, col 1
  EXPECT_TRUE(allowed(m, 24, 13, 6));   // one row up, one column left
  EXPECT_FALSE(allowed(m, 24, 13, 9));  // two columns away
  EXPECT_FALSE(allowed(m, 24, 20, 8));  // two rows away
  EXPECT_FALSE(allowed(m, 24, 7, 13));  // causal: j > i
  EXPECT_TRUE(allowed(m, 24, 7, 13, /*causal=*/false));
}

TEST(Reference, BidirectionalDomain) {
  ConcretePattern p = pattern(10, {band(-2, 1)});
  p.causal = false;
  EXPECT_TRUE(allowed(p, 0, 3, 5));
  EXPECT_TRUE(allowed(p, 0, 3, 2));
  EXPECT_FALSE(allowed(p, 0, 3, 6));
  EXPECT_FALSE(allowed(p, 0, 9, 10)); // outside [0, T)
  p.causal = true;
  EXPECT_FALSE(allowed(p, 0, 3, 5));
}

//===----------------------------------------------------------------------===//
// The pattern files
//===----------------------------------------------------------------------===//

namespace {

std::string patternPath(const std::string &name) {
  return std::string(SPARTA_SOURCE_DIR) + "/patterns/" + name + ".mlir";
}

struct Case {
  int64_t T, L, c;
};

std::vector<Case> paperCases() {
  std::vector<Case> cases;
  for (int64_t T : {1, 2, 5, 16, 31, 64, 100})
    for (int64_t L : {1, 2, 3, 4, 8, 16, 100, 128})
      for (int64_t c : {int64_t(1), L / 2, L})
        if (c >= 1 && c <= L)
          cases.push_back({T, L, c});
  return cases;
}

/// Head h of the file's pattern equals `expected[h % n]` on every pair, and
/// the pattern has expected.size() heads (or, for merged patterns, every head
/// is the single expected union).
void expectPattern(const std::string &name, const Case &k, const std::vector<Pred> &expected,
                   bool allHeadsSame = false) {
  ParamBindings bindings = {{"T", k.T}, {"L", k.L}, {"c", k.c}};
  if (name == "strided" || name == "strided_merged" || name == "local" || name == "dense")
    bindings.erase("c");
  ConcretePattern p;
  try {
    p = loadPattern(patternPath(name), bindings);
  } catch (const Error &e) {
    FAIL() << name << ": " << e.what();
  }
  ASSERT_EQ(p.T, k.T) << name;
  const std::string what =
      name + " T=" + std::to_string(k.T) + " L=" + std::to_string(k.L) + " c=" + std::to_string(k.c);
  if (allHeadsSame)
    ASSERT_GE(p.heads.size(), 1u) << what;
  else
    ASSERT_EQ(p.heads.size(), expected.size()) << what;
  for (size_t h = 0; h < p.heads.size(); ++h) {
    const Pred &want = expected[allHeadsSame ? 0 : h];
    for (int64_t i = 0; i < k.T; ++i)
      for (int64_t j = 0; j < k.T; ++j)
        ASSERT_EQ(allowed(p, static_cast<int64_t>(h), i, j), j <= i && want(i, j))
            << what << " head " << h << " (" << toString(p.heads[h]) << ") i=" << i
            << " j=" << j;
  }
}

} // namespace

TEST(PatternFiles, Strided) {
  for (const Case &k : paperCases())
    expectPattern("strided", k,
                  {[&](int64_t i, int64_t j) { return inLocal(i, j, k.L); },
                   [&](int64_t i, int64_t j) { return inStrided(i, j, k.L); }});
}

TEST(PatternFiles, StridedMerged) {
  for (const Case &k : paperCases())
    expectPattern("strided_merged", k,
                  {[&](int64_t i, int64_t j) { return inLocal(i, j, k.L) || inStrided(i, j, k.L); }},
                  /*allHeadsSame=*/true);
}

TEST(PatternFiles, Fixed) {
  for (const Case &k : paperCases())
    expectPattern("fixed", k,
                  {[&](int64_t i, int64_t j) { return inChunk(i, j, k.L); },
                   [&](int64_t i, int64_t j) { return inSummary(i, j, k.L, k.c); }});
}

TEST(PatternFiles, FixedMerged) {
  for (const Case &k : paperCases())
    expectPattern("fixed_merged", k,
                  {[&](int64_t i, int64_t j) {
                    return inChunk(i, j, k.L) || inSummary(i, j, k.L, k.c);
                  }},
                  /*allHeadsSame=*/true);
}

TEST(PatternFiles, Dense) {
  for (int64_t T : {1, 2, 7, 64, 100})
    expectPattern("dense", {T, 4, 1}, {[](int64_t, int64_t) { return true; }},
                  /*allHeadsSame=*/true);
}

TEST(PatternFiles, Local) {
  for (const Case &k : paperCases())
    expectPattern("local", k, {[&](int64_t i, int64_t j) { return inLocal(i, j, k.L); }},
                  /*allHeadsSame=*/true);
}

TEST(PatternFiles, FixedSummaryDefaultWidthIsUsed) {
  // c has a default: leaving it out still loads, and it is one of the params.
  ConcretePattern p = loadPattern(patternPath("fixed"), {{"T", 64}, {"L", 8}});
  ASSERT_EQ(p.heads.size(), 2u);
  ASSERT_TRUE(p.params.count("c"));
  const int64_t c = p.params.at("c");
  for (int64_t i = 0; i < 64; ++i)
    for (int64_t j = 0; j < 64; ++j)
      ASSERT_EQ(allowed(p, 1, i, j), inSummary(i, j, 8, c));
}

TEST(PatternFiles, EveryFileMatchesItsRows) {
  // Whatever the file (longformer, bigbird, ...), MaskRows agrees with the
  // reference on it, for the parameters the file needs beyond T and L.
  for (const char *name : {"strided", "strided_merged", "fixed", "fixed_merged", "dense", "local",
                           "longformer", "bigbird"}) {
    ConcretePattern p;
    try {
      p = loadPattern(patternPath(name), {{"T", 200}, {"L", 16}});
    } catch (const Error &) {
      // A pattern with other required parameters: try the usual extra ones.
      try {
        p = loadPattern(patternPath(name), {{"T", 200}, {"L", 16}, {"c", 4}});
      } catch (const Error &e) {
        ADD_FAILURE() << name << ": " << e.what();
        continue;
      }
    }
    for (const Mask &m : p.heads)
      expectRowsMatch(m, p.T);
  }
}
