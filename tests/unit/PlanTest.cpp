//===- PlanTest.cpp - Structural properties of plans, by brute force -------===//
//
// The planner's contract (Plan.h, tiling.h; the checks (a)-(d) are in
// PlanChecks.h), checked pair by pair against the reference semantics for
// every pattern file and hand-built mask of PatternCases.h and every tile
// choice of tileChoices(), plus measureWork's accounting, and the acceptance
// number: work ratio <= 2 for the paper's patterns at T = 16384, L = 128.
// PlanDefects.* mutates correct plans to show each check can fail.
//
//===----------------------------------------------------------------------===//
#include "PatternCases.h"
#include "PlanChecks.h"

#include "sparta/Plan.h"
#include "sparta/MaskSemantics.h"

#include <gtest/gtest.h>

#include <random>

using namespace sparta;
using namespace sparta::testing;
using tiling::TileRef;
using tiling::TileSchedule;

namespace {

/// measureWork recomputed from the definitions.
WorkReport bruteForceWork(const ConcretePattern &pattern, const Plan &plan) {
  WorkReport w;
  for (const HeadPlan &head : plan.heads)
    for (const PlanComponent &c : head.components) {
      const TileSchedule s = c.hostSchedule();
      for (int g = 0; g < s.q.groups(); ++g)
        for (int qt = 0; qt * s.qTile < s.q.len(g); ++qt) // rowless tiles: no CTA work
          for (int n = 0; n < s.fwdCount(g, qt); ++n) {
            w.computedElements += int64_t(s.qTile) * s.kTile;
            (s.fwdTile(g, qt, n).full ? w.fullTiles : w.partialTiles)++;
          }
    }
  for (const Mask &mask : pattern.heads)
    for (int64_t i = 0; i < pattern.T; ++i)
      for (int64_t j = 0; j < (pattern.causal ? i + 1 : pattern.T); ++j)
        w.allowedPairs += allowed(mask, pattern.T, i, j, pattern.causal);
  return w;
}

} // namespace

TEST(PlanTest, PatternFilesLoad) {
  // Every file must load at least for the plain parameters; other grid points
  // may be rejected by design (the messages are printed for the record).
  for (const std::string &file : kPatternFiles)
    EXPECT_NO_THROW(loadPatternFile(file, {100, 16, 4})) << file;
  std::vector<std::string> rejected;
  allCases(&rejected);
  for (const std::string &r : rejected)
    std::cout << "[ note ] front end rejects " << r << "\n";
}

TEST(PlanTest, StructureOverGrid) {
  int checked = 0;
  for (const PatternCase &pc : allCases())
    for (const auto &[tiles, options] : tileChoices()) {
      SCOPED_TRACE(pc.label + " " + tiles);
      Plan plan = planPattern(pc.pattern, options);
      Defects d = planDefects(pc.pattern, plan);
      EXPECT_EQ(d.total, 0) << d.text() << "\n" << printPlan(plan);
      WorkReport got = measureWork(plan), want = bruteForceWork(pc.pattern, plan);
      EXPECT_EQ(got.computedElements, want.computedElements);
      EXPECT_EQ(got.allowedPairs, want.allowedPairs);
      EXPECT_EQ(got.fullTiles, want.fullTiles);
      EXPECT_EQ(got.partialTiles, want.partialTiles);
      ++checked;
    }
  EXPECT_GT(checked, 450);
}

// Minimal cases of one defect: a query tile with no keyed row (beyond a
// band's qlimit, or beyond the end of a short group) must list no key tile.
// tiling.h's fwdLast clamps the tile's last row to qEnd(g) - 1 without
// checking that the tile starts before qEnd(g), so such tiles inherit the
// key tiles of row qEnd(g) - 1: wasted CTAs, and forward lists that are no
// longer the transpose of the backward lists.
TEST(PlanTest, QueryTilesWithoutRowsListNothing) {
  {
    Plan plan = planPattern(makePattern("gq", 32, {globalQueries(3)}), PlanOptions::square(16));
    const tiling::TileSchedule s = plan.heads[0].components.at(0).hostSchedule();
    EXPECT_EQ(s.fwdCount(0, 1), 0) << "rows 16..31 are beyond qlimit = 3";
  }
  {
    Plan plan = planPattern(makePattern("c", 71, {chunk(54)}), PlanOptions::square(16));
    const tiling::TileSchedule s = plan.heads[0].components.at(0).hostSchedule();
    ASSERT_EQ(s.q.len(1), 17);
    EXPECT_EQ(s.fwdCount(1, 2), 0) << "chunk 1 has 17 rows: no query tile 2";
  }
}

// The acceptance number: the paper's patterns at T = 16384, L = 128, c = 32,
// tile 64 compute at most twice the allowed pairs (FlexAttention-style block
// masks compute ~100x for strided). allowedPairs is counted by brute force
// here, independently of the plan.
TEST(PlanTest, WorkRatioAtScale) {
  const Params p{16384, 128, 32};
  for (std::string file : {"strided", "strided_merged", "fixed", "fixed_merged"}) {
    ConcretePattern pattern = loadPatternFile(file, p);
    Plan plan = planPattern(pattern); // the kernels' tile shapes
    WorkReport got = measureWork(plan), want = bruteForceWork(pattern, plan);
    EXPECT_EQ(got.allowedPairs, want.allowedPairs) << file;
    EXPECT_EQ(got.computedElements, want.computedElements) << file;
    EXPECT_LE(want.ratio(), 2.0) << file << "\n" << printPlan(plan);
    std::cout << "[ note ] " << file << " work ratio " << want.ratio() << " ("
              << want.fullTiles << " full, " << want.partialTiles << " partial tiles)\n";
  }
}

// Short groups share tiles: at T = 784, L = 28 each strided group has 28
// rows, so two fit a 64-row tile (14 tiles instead of 28), and the chunks of
// fixed likewise; the block-diagonal predicate keeps them apart.
TEST(PlanTest, ShortGroupsArePacked) {
  // Groups of 28 rows, two to a 64-row tile (the planner's own choice at this
  // point is 32-row tiles, one group each).
  const Params p{784, 28, 8};
  for (std::string file : {"strided", "fixed"}) {
    ConcretePattern pattern = loadPatternFile(file, p);
    Plan plan = planPattern(pattern, PlanOptions::square(64));
    const PlanComponent *c = findComponent(plan, file == "strided" ? "stride" : "chunk");
    ASSERT_NE(c, nullptr) << printPlan(plan);
    EXPECT_EQ(c->schedule.q.pack, 2) << printPlan(plan);
    EXPECT_EQ(c->schedule.numQBlocks(), 14);
    Defects d = planDefects(pattern, plan);
    EXPECT_EQ(d.total, 0) << d.text();
  }
}

// The planner weighs each shape's computed elements by its cost per element
// (tiling.h): short groups and narrow bands take smaller tiles, long causal
// spans keep 64-row tiles.
TEST(PlanTest, TileEdgeFollowsTheStructure) {
  Plan strided = planPattern(loadPatternFile("strided", Params{784, 28, 8}));
  for (const HeadPlan &head : strided.heads)
    for (const PlanComponent &c : head.components)
      EXPECT_EQ(c.schedule.qTile, 32) << printPlan(strided);
  EXPECT_LT(measureWork(strided).ratio(), 2.5);
  Plan dense = planPattern(loadPatternFile("dense", Params{4096, 64, 8}));
  EXPECT_EQ(dense.heads[0].components[0].schedule.qTile, 64) << printPlan(dense);
  Plan wide = planPattern(loadPatternFile("strided", Params{16384, 128, 8}));
  for (const HeadPlan &head : wide.heads)
    for (const PlanComponent &c : head.components)
      EXPECT_EQ(c.schedule.qTile, 64) << printPlan(wide);
}

// A 2-D window on a grid whose rows hold whole tiles is two closed forms: its
// own row, a band on the chunked map, and the other rows, a grid box (tiling.h)
// whose lists are walked in closed form. Over grids of 1 to 5 rows, windows
// narrower and wider than a tile, causal and bidirectional, alone and united
// with the rows: exactly-once coverage, exact flags, no wasted tile and
// transposed lists (PlanChecks.h) for each tile choice, and no table. Rows
// that split tiles (W = 24 at tile 16) and a cut last row keep the table and
// say why.
TEST(PlanTest, GridWindowsAreGridBoxes) {
  int boxes = 0;
  for (int64_t W : {16, 32, 48})
    for (int64_t H : {1, 2, 3, 5})
      for (int64_t dh : {1, 2, 4})
        for (int64_t dw : {1, 5, 16, 40})
          for (bool causal : {true, false})
            for (bool withRows : {false, true}) {
              const Mask window = gridWindow(W, dh, dw);
              const Mask mask = withRows ? unite({window, chunk(W)}) : window;
              ConcretePattern pattern = causal ? makePattern("w", H * W, {mask})
                                               : makeBidirectional("w", H * W, {mask});
              for (const PlanOptions &options :
                   {PlanOptions{}, PlanOptions::square(16), PlanOptions{{{16, 32}, {32, 16}}}}) {
                Plan plan = planPattern(pattern, options);
                SCOPED_TRACE(printPlan(plan));
                Defects d = planDefects(pattern, plan);
                EXPECT_EQ(d.total, 0) << d.text();
                // 16x32 and 32x16 split rows of 16 and 48; one row needs no box.
                const bool table = options.shapes.size() == 2 && W % 32 != 0 && H > 1;
                int tables = 0;
                for (const PlanComponent &c : plan.heads[0].components) {
                  tables += c.schedule.kind == tiling::kTable;
                  boxes += c.schedule.kind == tiling::kGridBox;
                }
                EXPECT_EQ(tables, table ? 1 : 0);
              }
            }
  EXPECT_GT(boxes, 500);
  Plan split = planPattern(makeBidirectional("w", 96, {gridWindow(24, 1, 2)}),
                           PlanOptions::square(16));
  const PlanComponent *table = findComponent(split, "table");
  ASSERT_NE(table, nullptr) << printPlan(split);
  EXPECT_NE(table->fallbackReason.find("grid rows of 24 positions"), std::string::npos)
      << table->fallbackReason;
  // A grid whose last row is cut short (T = 100, rows of 16): no grid box.
  Plan ragged = planPattern(makeBidirectional("w", 100, {gridWindow(16, 1, 2)}));
  const PlanComponent *cut = findComponent(ragged, "table");
  ASSERT_NE(cut, nullptr) << printPlan(ragged);
  EXPECT_EQ(cut->fallbackReason, "T is not a multiple of the grid's width");
}

// The longest-first launch order is for lists of widely different lengths:
// causal attention and the summary gather at T = 16384 (256 query tiles, the
// first summary key tile meets all of them), not bands, strided groups or
// chunks, and not the summary gather at T = 1000, whose 2 key tiles meet
// nearly every query tile.
TEST(PlanTest, UnevenListsAreTheCausalLikeOnes) {
  auto uneven = [](const Plan &plan, size_t head) {
    return plan.heads[head].components.at(0).unevenLists();
  };
  Plan dense = planPattern(loadPatternFile("dense", Params{16384, 128, 32}));
  EXPECT_TRUE(uneven(dense, 0)) << printPlan(dense);
  Plan fixed = planPattern(loadPatternFile("fixed", Params{16384, 128, 32}));
  EXPECT_FALSE(uneven(fixed, 0)) << printPlan(fixed); // chunk(128)
  EXPECT_TRUE(uneven(fixed, 1)) << printPlan(fixed);  // summary(128, 32)
  Plan strided = planPattern(loadPatternFile("strided", Params{16384, 128, 32}));
  EXPECT_FALSE(uneven(strided, 0)) << printPlan(strided); // band(0, 128)
  EXPECT_FALSE(uneven(strided, 1)) << printPlan(strided); // stride(128)
  Plan shortFixed = planPattern(loadPatternFile("fixed", Params{1000, 32, 4}));
  EXPECT_FALSE(uneven(shortFixed, 1)) << printPlan(shortFixed);
  // One query tile: every list is as long as the mean.
  Plan one = planPattern(loadPatternFile("dense", Params{64, 64, 32}));
  EXPECT_FALSE(uneven(one, 0)) << printPlan(one);
}

// The forward over query-tile pairs keeps both warpgroups busy where
// adjacent query tiles meet the same key tiles: causal attention (tiles t
// and t - 1 list t + 1 and t key tiles, 2t + 1 steps of 2t + 2: 0.996 over
// the 128 pairs of T = 16384), not a chunk of two tiles (lists {0} and
// {0, 1}: 3 steps of 4), a band of 65 keys under 64-row tiles (lists
// {t-1, t} and {t-2, t-1}: 4 steps of 6) still above kMinPairedUse;
// groups of one tile (packed strided groups) leave a warpgroup idle.
TEST(PlanTest, PairedQueryUseIsTheMergedListsShare) {
  auto use = [](const Plan &plan, size_t head) {
    return plan.heads[head].components.at(0).pairedQueryUse();
  };
  Plan dense = planPattern(loadPatternFile("dense", Params{16384, 128, 32}));
  EXPECT_NEAR(use(dense, 0), 1.0 - 1.0 / 258, 1e-3) << printPlan(dense);
  EXPECT_TRUE(dense.heads[0].components[0].pairsQueryTiles(128));
  EXPECT_FALSE(dense.heads[0].components[0].pairsQueryTiles(64));
  Plan fixed = planPattern(loadPatternFile("fixed", Params{16384, 128, 32}));
  EXPECT_DOUBLE_EQ(use(fixed, 0), 0.75) << printPlan(fixed); // chunk(128)
  EXPECT_TRUE(fixed.heads[0].components[0].pairsQueryTiles(128));
  Plan strided = planPattern(loadPatternFile("strided", Params{16384, 64, 32}), PlanOptions::square(64));
  EXPECT_NEAR(use(strided, 0), 4.0 / 6, 2e-3) << printPlan(strided); // band(0, 64)
  EXPECT_TRUE(strided.heads[0].components[0].pairsQueryTiles(128));
  Plan packed = planPattern(loadPatternFile("strided", Params{784, 28, 32}), PlanOptions::square(64));
  EXPECT_EQ(packed.heads[1].components[0].hostSchedule().q.pack, 2) << printPlan(packed);
  EXPECT_DOUBLE_EQ(use(packed, 1), 0.5);
  EXPECT_FALSE(packed.heads[1].components[0].pairsQueryTiles(128));
  // Other tile edges have no paired kernel.
  Plan small = planPattern(loadPatternFile("strided", Params{4096, 28, 32}));
  EXPECT_EQ(small.heads[0].components[0].hostSchedule().qTile, 32) << printPlan(small);
  EXPECT_EQ(use(small, 0), 0.0);
}

// The same share for the dK/dV pass over key-tile pairs, on the query-tile
// lists of adjacent key tiles: causal attention is symmetric (key tiles t and
// t - 1 list N - t and N - t + 1 query tiles: the query side's 1 - 1/258), a
// chunk of two tiles again 3 steps of 4; the summary gather's key tiles meet
// the same query tiles (every later chunk), so both warpgroups stay busy.
TEST(PlanTest, PairedKeyUseIsTheMergedListsShare) {
  auto use = [](const Plan &plan, size_t head) {
    return plan.heads[head].components.at(0).pairedKeyUse();
  };
  Plan dense = planPattern(loadPatternFile("dense", Params{16384, 128, 32}));
  EXPECT_NEAR(use(dense, 0), 1.0 - 1.0 / 258, 1e-3) << printPlan(dense);
  EXPECT_TRUE(dense.heads[0].components[0].pairsKeyTiles(128));
  EXPECT_FALSE(dense.heads[0].components[0].pairsKeyTiles(64));
  Plan fixed = planPattern(loadPatternFile("fixed", Params{16384, 128, 32}));
  EXPECT_DOUBLE_EQ(use(fixed, 0), 0.75) << printPlan(fixed); // chunk(128)
  EXPECT_GT(use(fixed, 1), 0.95) << printPlan(fixed);        // the summary gather
  Plan small = planPattern(loadPatternFile("strided", Params{4096, 28, 32}));
  EXPECT_EQ(use(small, 0), 0.0); // 32-row tiles: no paired kernel
}

// A component with no pair launches nothing: fixed at T = 129, L = 200 has
// no summary key (every chunk is cut short before its last c positions).
TEST(PlanTest, EmptyComponentsAreDropped) {
  ConcretePattern pattern = loadPatternFile("fixed", Params{129, 200, 8});
  Plan plan = planPattern(pattern);
  ASSERT_EQ(plan.heads.size(), 2u);
  EXPECT_EQ(plan.heads[0].components.size(), 1u);
  EXPECT_TRUE(plan.heads[1].components.empty()) << printPlan(plan);
  ConcretePattern covered = makePattern("c", 100, {unite({band(0, 99), globalKeys(3)})});
  EXPECT_EQ(planPattern(covered).heads[0].components.size(), 1u)
      << printPlan(planPattern(covered));
}

// Random unions and intersections of leaves with random (often degenerate:
// empty bands, periods beyond T) parameters: reaches exclusion paths and bounds no hand-picked case does.
TEST(PlanTest, RandomMasks) {
  std::mt19937 gen(2024);
  auto pick = [&](int64_t lo, int64_t hi) {
    return std::uniform_int_distribution<int64_t>(lo, hi)(gen);
  };
  auto randomLeaf = [&](int64_t T) -> Mask {
    switch (pick(0, 9)) {
    case 0: return leaf(MaskKind::Dense);
    case 1: { int64_t lo = pick(-5, 6); return band(lo, lo + pick(-3, 2 * T)); }
    case 2: return stride(pick(1, T + 2));
    case 8: { int64_t p = pick(1, T + 2); return stride(p, pick(0, p - 1)); }
    case 9: { int64_t lo = pick(-T, 2); return band(lo, lo + pick(0, T)); }
    case 3: return chunk(pick(1, T + 2));
    case 4: { int64_t p = pick(1, 12); return summary(p, pick(1, p)); }
    case 5: return globalKeys(pick(1, T + 2));
    case 6: return globalQueries(pick(1, T + 2));
    default:
      return pick(0, 1) ? randomBlocks(pick(1, 20), pick(1, 3), uint64_t(pick(0, 99)))
                        : gridWindow(pick(1, 20), pick(0, 3), pick(0, 5));
    }
  };
  int failures = 0;
  for (int iteration = 0; iteration < 1000 && failures < 5; ++iteration) {
    const int64_t T = pick(1, 200);
    std::vector<Mask> operands;
    for (int64_t n = pick(1, 3); n > 0; --n)
      operands.push_back(randomLeaf(T));
    if (pick(0, 3) == 0) // nested unions are planned as one (table) operand
      operands.push_back(unite({randomLeaf(T), randomLeaf(T)}));
    Mask mask = operands.size() == 1 ? operands[0]
                : pick(0, 4) == 0   ? intersect(operands)
                                    : unite(operands);
    ConcretePattern pattern = makePattern("random", T, {mask});
    pattern.causal = pick(0, 1) == 0; // half of them bidirectional
    const int tile = int(16 * pick(1, 3));
    Plan plan = planPattern(pattern, pick(0, 2) == 0
                                         ? PlanOptions{{{tile, 16}, {16, tile}}}
                                         : PlanOptions::square(tile));
    Defects d = planDefects(pattern, plan);
    EXPECT_EQ(d.total, 0) << "T=" << T << " tile=" << tile << " mask " << toString(mask) << "\n"
                          << d.text() << "\n" << printPlan(plan);
    failures += d.total > 0;
  }
}

//--- the checks can fail ------------------------------------------------------

TEST(PlanDefects, BandOffsetsAreChecked) {
  // Merged strided: the stride component starts at r - r' = 2; 1 would
  // double-count the pairs of the local band, 3 would miss some.
  ConcretePattern pattern = makePattern("m", 100, {unite({band(0, 8), stride(8)})});
  for (int dlo : {1, 3}) {
    Plan plan = planPattern(pattern, PlanOptions::square(16));
    PlanComponent *c = findComponent(plan, "stride");
    ASSERT_NE(c, nullptr) << printPlan(plan);
    ASSERT_EQ(c->schedule.dlo, 2);
    c->schedule.dlo = dlo;
    EXPECT_GT(planDefects(pattern, plan).total, 0) << "dlo=" << dlo;
  }
}

TEST(PlanDefects, TableFlagsAndTransposeAreChecked) {
  ConcretePattern pattern = makePattern("r", 100, {unite({band(0, 4), randomBlocks(8, 2, 7)})});
  Plan plan = planPattern(pattern, PlanOptions::square(16));
  ASSERT_EQ(planDefects(pattern, plan).total, 0);
  PlanComponent *c = findComponent(plan, "table");
  ASSERT_NE(c, nullptr) << printPlan(plan);
  {
    Plan broken = plan; // flag every forward entry full: (b) and (d) must fire
    for (int &e : findComponent(broken, "table")->fwdEntries)
      e |= 1;
    EXPECT_GT(planDefects(pattern, broken).total, 0);
  }
  {
    Plan broken = plan; // drop a backward entry: (d)
    ASSERT_TRUE(dropBackwardEntry(*findComponent(broken, "table")));
    EXPECT_GT(planDefects(pattern, broken).total, 0);
  }
}

TEST(PlanDefects, PrefixKindIsChecked) {
  // Merged fixed: the summary component must skip the query's own chunk.
  ConcretePattern pattern = makePattern("f", 77, {unite({chunk(8), summary(8, 3)})});
  Plan plan = planPattern(pattern, PlanOptions::square(16));
  PlanComponent *c = findComponent(plan, "summary");
  ASSERT_NE(c, nullptr) << printPlan(plan);
  ASSERT_EQ(c->schedule.prefixKind, tiling::kPrefixSummaryEarlierChunks);
  c->schedule.prefixKind = tiling::kPrefixSummary;
  EXPECT_GT(planDefects(pattern, plan).total, 0);
}
