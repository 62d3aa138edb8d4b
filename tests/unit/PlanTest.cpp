//===- PlanTest.cpp - Structural properties of plans, by brute force -------===//
//
// The planner's contract (Plan.h, tiling.h), checked pair by pair against the
// reference semantics for every pattern file and hand-built mask of
// PatternCases.h:
//   (a) exactly once: each allowed (i, j) of a head is produced by exactly one
//       component, no disallowed pair by any; each component produces exactly
//       its own pair set (PlanComponent::covers);
//   (b) a tile flagged full is full: its key tile is complete and every
//       existing query row sees every key, so the kernel may skip the mask;
//   (c) no wasted tile: every listed tile produces at least one pair;
//   (d) the backward lists are the transpose of the forward lists, with the
//       same full flags;
// plus well-formed index maps and measureWork's accounting, and the acceptance
// number: work ratio <= 2 for the paper's patterns at T = 16384, L = 128.
// PlanDefects.* mutates correct plans to show each check can fail.
//
//===----------------------------------------------------------------------===//
#include "PatternCases.h"

#include "sparta/Plan.h"
#include "sparta/MaskSemantics.h"

#include <gtest/gtest.h>

#include <random>
#include <set>
#include <tuple>

using namespace sparta;
using namespace sparta::testing;
using tiling::TileRef;
using tiling::TileSchedule;

namespace {

/// Collects defect descriptions, keeping the first few in full.
struct Defects {
  std::vector<std::string> list;
  int64_t total = 0;
  void add(const std::string &what) {
    if (++total <= 8)
      list.push_back(what);
  }
  std::string text() const {
    std::string out = std::to_string(total) + " defect(s):";
    for (const std::string &s : list)
      out += "\n  " + s;
    return out;
  }
};

/// Every original row of a map, checking it is a bijection onto its image
/// (identity/strided/chunked: all of [0, T); gather: the summary rows).
void checkMap(const tiling::IndexMap &m, int64_t T, const std::string &where, Defects &d) {
  if (m.T != T)
    return d.add(where + ": map built for T=" + std::to_string(m.T));
  std::vector<int> seen(T, 0);
  int64_t total = 0;
  for (int g = 0; g < m.groups(); ++g)
    for (int pos = 0; pos < m.len(g); ++pos, ++total) {
      int row = m.row(g, pos);
      if (row < 0 || row >= T || seen[row]++)
        return d.add(where + ": row " + std::to_string(row) + " out of range or repeated");
      if (pos > 0 && m.row(g, pos - 1) >= row)
        return d.add(where + ": rows not increasing inside a group");
    }
  if (m.kind != tiling::kSummaryGather && total != T)
    d.add(where + ": map does not cover every row");
}

using TileKey = std::tuple<int, int, int, bool>; // group, q tile, k tile, full

/// Checks one component; adds its produced pairs to `produced` (T x T).
void checkComponent(const PlanComponent &c, int64_t T, int M, const std::string &where,
                    std::vector<int> &produced, Defects &d) {
  const TileSchedule s = c.hostSchedule();
  if (s.tile != M)
    d.add(where + ": tile " + std::to_string(s.tile) + " differs from the plan's");
  checkMap(s.q, T, where + " queries", d);
  checkMap(s.k, T, where + " keys", d);
  if (s.q.groups() != s.k.groups())
    return d.add(where + ": query and key maps have different group counts");
  // The element test of partial tiles: what the kernel evaluates.
  auto passes = [&](int g, int qp, int kp) {
    return s.kind == tiling::kTable ? c.covers(T, s.q.row(g, qp), s.k.row(g, kp))
                                    : s.allowed(g, qp, kp);
  };
  std::vector<uint8_t> mine(T * T, 0);
  std::set<TileKey> fwd, bwd;
  for (int g = 0; g < s.q.groups(); ++g) {
    for (int qt = 0; qt < s.qTilesPerGroup(); ++qt) {
      const int qa = qt * M, qe = std::min(qa + M, s.q.len(g));
      int previous = -1;
      for (int n = 0; n < s.fwdCount(g, qt); ++n) {
        const TileRef ref = s.fwdTile(g, qt, n);
        const std::string tileName = where + " g" + std::to_string(g) + " q" +
                                     std::to_string(qt) + " k" + std::to_string(ref.tile);
        if (qa >= qe) {
          d.add(tileName + ": the query tile has no rows in this group but lists a key tile");
          continue;
        }
        if (ref.tile < 0 || ref.tile >= s.kTilesPerGroup() || ref.tile <= previous) {
          d.add(tileName + ": key tile out of range, repeated or out of order");
          continue;
        }
        previous = ref.tile;
        fwd.insert({g, qt, ref.tile, ref.full});
        const int ka = ref.tile * M, ke = std::min(ka + M, s.k.len(g));
        if (ref.full && ka + M > s.k.len(g))
          d.add(tileName + ": flagged full but its key tile is incomplete"); // (b)
        int64_t count = 0;
        for (int qp = qa; qp < qe; ++qp)
          for (int kp = ka; kp < ke; ++kp) {
            const int64_t i = s.q.row(g, qp), j = s.k.row(g, kp);
            const bool pass = passes(g, qp, kp);
            if (ref.full && !(pass && c.covers(T, i, j))) // (b)
              d.add(tileName + ": flagged full but pair (" + std::to_string(i) + ", " +
                    std::to_string(j) + ") is not the component's");
            if (!ref.full && !pass)
              continue;
            ++count;
            mine[i * T + j]++;
            produced[i * T + j]++;
          }
        if (count == 0) // (c)
          d.add(tileName + ": listed but produces no pair");
      }
    }
    for (int kt = 0; kt < s.kTilesPerGroup(); ++kt)
      for (int n = 0; n < s.bwdCount(g, kt); ++n) {
        const TileRef ref = s.bwdTile(g, kt, n);
        if (!bwd.insert({g, ref.tile, kt, ref.full}).second)
          d.add(where + ": backward list of key tile " + std::to_string(kt) + " repeats a tile");
      }
  }
  if (fwd != bwd) // (d)
    d.add(where + ": backward lists (" + std::to_string(bwd.size()) +
          " entries) are not the transpose of the forward lists (" +
          std::to_string(fwd.size()) + ")");
  // The component produces exactly its own pairs, each once.
  for (int64_t i = 0; i < T; ++i)
    for (int64_t j = 0; j < T; ++j)
      if (mine[i * T + j] != (c.covers(T, i, j) ? 1 : 0))
        d.add(where + ": pair (" + std::to_string(i) + ", " + std::to_string(j) + ") produced " +
              std::to_string(mine[i * T + j]) + " times, covers() says " +
              std::to_string(c.covers(T, i, j)));
}

/// Every defect of `plan` as the plan of `pattern`.
Defects planDefects(const ConcretePattern &pattern, const Plan &plan) {
  Defects d;
  const int64_t T = pattern.T;
  if (plan.T != T || plan.heads.size() != pattern.heads.size()) {
    d.add("plan has the wrong T or number of heads");
    return d;
  }
  for (size_t h = 0; h < plan.heads.size(); ++h) {
    const HeadPlan &head = plan.heads[h];
    if (head.maskIndex != int64_t(h) || head.mask != pattern.heads[h])
      d.add("head " + std::to_string(h) + ": wrong mask index or mask");
    std::vector<int> produced(T * T, 0);
    for (size_t n = 0; n < head.components.size(); ++n)
      checkComponent(head.components[n], T, plan.tile,
                     "head " + std::to_string(h) + " component " + std::to_string(n) + " (" +
                         head.components[n].description + ")",
                     produced, d);
    for (int64_t i = 0; i < T; ++i) // (a)
      for (int64_t j = 0; j < T; ++j)
        if (produced[i * T + j] != (allowed(pattern.heads[h], T, i, j) ? 1 : 0))
          d.add("head " + std::to_string(h) + ": pair (" + std::to_string(i) + ", " +
                std::to_string(j) + ") produced " + std::to_string(produced[i * T + j]) +
                " times, allowed = " + std::to_string(allowed(pattern.heads[h], T, i, j)));
  }
  return d;
}

/// measureWork recomputed from the definitions.
WorkReport bruteForceWork(const ConcretePattern &pattern, const Plan &plan) {
  WorkReport w;
  const int M = plan.tile;
  for (const HeadPlan &head : plan.heads)
    for (const PlanComponent &c : head.components) {
      const TileSchedule s = c.hostSchedule();
      for (int g = 0; g < s.q.groups(); ++g)
        for (int qt = 0; qt * M < s.q.len(g); ++qt) // rowless tiles: no CTA work
          for (int n = 0; n < s.fwdCount(g, qt); ++n) {
            w.computedElements += int64_t(M) * M;
            (s.fwdTile(g, qt, n).full ? w.fullTiles : w.partialTiles)++;
          }
    }
  for (const Mask &mask : pattern.heads)
    for (int64_t i = 0; i < pattern.T; ++i)
      for (int64_t j = 0; j <= i; ++j)
        w.allowedPairs += allowed(mask, pattern.T, i, j);
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
    for (int tile : {16, 64}) {
      SCOPED_TRACE(pc.label + " tile=" + std::to_string(tile));
      Plan plan = planPattern(pc.pattern, PlanOptions{tile});
      Defects d = planDefects(pc.pattern, plan);
      EXPECT_EQ(d.total, 0) << d.text() << "\n" << printPlan(plan);
      WorkReport got = measureWork(plan), want = bruteForceWork(pc.pattern, plan);
      EXPECT_EQ(got.computedElements, want.computedElements);
      EXPECT_EQ(got.allowedPairs, want.allowedPairs);
      EXPECT_EQ(got.fullTiles, want.fullTiles);
      EXPECT_EQ(got.partialTiles, want.partialTiles);
      ++checked;
    }
  EXPECT_GT(checked, 300);
}

// Minimal cases of one defect: a query tile with no keyed row (beyond a
// band's qlimit, or beyond the end of a short group) must list no key tile.
// tiling.h's fwdLast clamps the tile's last row to qEnd(g) - 1 without
// checking that the tile starts before qEnd(g), so such tiles inherit the
// key tiles of row qEnd(g) - 1: wasted CTAs, and forward lists that are no
// longer the transpose of the backward lists.
TEST(PlanTest, QueryTilesWithoutRowsListNothing) {
  {
    Plan plan = planPattern(makePattern("gq", 32, {globalQueries(3)}), PlanOptions{16});
    const tiling::TileSchedule s = plan.heads[0].components.at(0).hostSchedule();
    EXPECT_EQ(s.fwdCount(0, 1), 0) << "rows 16..31 are beyond qlimit = 3";
  }
  {
    Plan plan = planPattern(makePattern("c", 71, {chunk(54)}), PlanOptions{16});
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
    Plan plan = planPattern(pattern, PlanOptions{64});
    WorkReport got = measureWork(plan), want = bruteForceWork(pattern, plan);
    EXPECT_EQ(got.allowedPairs, want.allowedPairs) << file;
    EXPECT_EQ(got.computedElements, want.computedElements) << file;
    EXPECT_LE(want.ratio(), 2.0) << file << "\n" << printPlan(plan);
    std::cout << "[ note ] " << file << " work ratio " << want.ratio() << " ("
              << want.fullTiles << " full, " << want.partialTiles << " partial tiles)\n";
  }
}

// Random unions and intersections of leaves with random (often degenerate:
// empty bands, periods beyond T) parameters: reaches exclusion paths and bounds no hand-picked case does.
TEST(PlanTest, RandomMasks) {
  std::mt19937 gen(2024);
  auto pick = [&](int64_t lo, int64_t hi) {
    return std::uniform_int_distribution<int64_t>(lo, hi)(gen);
  };
  auto randomLeaf = [&](int64_t T) -> Mask {
    switch (pick(0, 7)) {
    case 0: return leaf(MaskKind::Dense);
    case 1: { int64_t lo = pick(-5, 6); return band(lo, lo + pick(-3, 2 * T)); }
    case 2: return stride(pick(1, T + 2));
    case 3: return chunk(pick(1, T + 2));
    case 4: { int64_t p = pick(1, 12); return summary(p, pick(1, p)); }
    case 5: return globalKeys(pick(1, T + 2));
    case 6: return globalQueries(pick(1, T + 2));
    default: return randomBlocks(pick(1, 20), pick(1, 3), uint64_t(pick(0, 99)));
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
    const int tile = int(16 * pick(1, 3));
    Plan plan = planPattern(pattern, PlanOptions{tile});
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
    Plan plan = planPattern(pattern, PlanOptions{16});
    PlanComponent *c = findComponent(plan, "stride");
    ASSERT_NE(c, nullptr) << printPlan(plan);
    ASSERT_EQ(c->schedule.dlo, 2);
    c->schedule.dlo = dlo;
    EXPECT_GT(planDefects(pattern, plan).total, 0) << "dlo=" << dlo;
  }
}

TEST(PlanDefects, TableFlagsAndTransposeAreChecked) {
  ConcretePattern pattern = makePattern("r", 100, {unite({band(0, 4), randomBlocks(8, 2, 7)})});
  Plan plan = planPattern(pattern, PlanOptions{16});
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
  Plan plan = planPattern(pattern, PlanOptions{16});
  PlanComponent *c = findComponent(plan, "summary");
  ASSERT_NE(c, nullptr) << printPlan(plan);
  ASSERT_EQ(c->schedule.prefixKind, tiling::kPrefixSummaryEarlierChunks);
  c->schedule.prefixKind = tiling::kPrefixSummary;
  EXPECT_GT(planDefects(pattern, plan).total, 0);
}
