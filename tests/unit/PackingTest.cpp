//===- PackingTest.cpp - Translation periods, document ids, packed runs ----===//
//
// Checks the claims packed documents rest on (Packing.h, documents.h):
//  * the period analysis, by brute force against the reference semantics for
//    every pattern file and the hand-built masks: a reported period p means
//    allowed(i + kp, j + kp) == allowed(i, j) for every pair in range, i.e. a
//    document starting at a multiple of p sees the document-local pattern;
//  * IndexMap::rowSpan bounds the rows of every tile of every planned map;
//  * the CPU executor with documents (the kernels' rule: allowed and same
//    document, tile pairs skipped by their document spans) against the
//    reference evaluated per document at local positions;
//  * the boundary checks and their messages.
//
//===----------------------------------------------------------------------===//
#include "ErrorOf.h"
#include "MaskBuilders.h"
#include "PatternCases.h"

#include "sparta/CpuExecutor.h"
#include "sparta/MaskSemantics.h"
#include "sparta/Packing.h"
#include "sparta/Plan.h"
#include "sparta/ReferenceAttention.h"

#include <gtest/gtest.h>

#include <algorithm>

using namespace sparta;
using namespace sparta::testing;

namespace {

std::vector<PatternCase> allCases() {
  std::vector<PatternCase> cases;
  for (const Params &p : {Params{100, 16, 4}, Params{77, 8, 3}, Params{64, 8, 2},
                          Params{130, 10, 3}, Params{20, 32, 4}}) {
    for (const std::string &name : kPatternFiles)
      cases.push_back({name + " " + paramText(p), loadPatternFile(name, p)});
    for (PatternCase &c : handBuiltCases(p))
      cases.push_back(std::move(c));
  }
  return cases;
}

/// Shifts by 1, 2 and 3 periods and by the last multiple below T.
std::vector<int64_t> shiftsOf(int64_t period, int64_t T) {
  std::vector<int64_t> shifts;
  for (int64_t k : {int64_t(1), int64_t(2), int64_t(3), (T - 1) / period})
    if (k >= 1 && k * period < T && std::find(shifts.begin(), shifts.end(), k * period) == shifts.end())
      shifts.push_back(k * period);
  return shifts;
}

TEST(Packing, ReportedPeriodsHoldByBruteForce) {
  int periodic = 0, refused = 0;
  for (const PatternCase &c : allCases()) {
    const ConcretePattern &pat = c.pattern;
    for (int64_t h = 0; h < int64_t(pat.heads.size()); ++h) {
      const std::optional<int64_t> period = translationPeriod(pat, h);
      if (!period) {
        ++refused;
        continue;
      }
      ++periodic;
      for (int64_t s : shiftsOf(*period, pat.T))
        for (int64_t i = 0; i + s < pat.T; ++i)
          for (int64_t j = 0; j + s < pat.T; ++j)
            ASSERT_EQ(allowed(pat, h, i + s, j + s), allowed(pat, h, i, j))
                << c.label << " head " << h << " (" << toString(pat.heads[h]) << ") period "
                << *period << ": shift " << s << " changes (" << i << ", " << j << ")";
    }
    // The pattern's period is a multiple of every head's.
    if (std::optional<int64_t> all = translationPeriod(pat)) {
      for (int64_t h = 0; h < int64_t(pat.heads.size()); ++h)
        EXPECT_EQ(*all % *translationPeriod(pat, h), 0) << c.label;
    }
  }
  EXPECT_GT(periodic, 0);
  EXPECT_GT(refused, 0);
}

TEST(Packing, PeriodsOfThePatternFiles) {
  const Params p{128, 16, 4};
  auto period = [&](const std::string &name) { return translationPeriod(loadPatternFile(name, p)); };
  EXPECT_EQ(period("dense"), 1);
  EXPECT_EQ(period("local"), 1);
  EXPECT_EQ(period("strided"), 1);
  EXPECT_EQ(period("strided_merged"), 1);
  EXPECT_EQ(period("fixed"), 16);
  EXPECT_EQ(period("fixed_merged"), 16);
  for (const char *name : {"longformer", "longformer_bidir", "bigbird", "bigbird_bidir",
                           "image_axial", "image_window"})
    EXPECT_EQ(period(name), std::nullopt) << name;
  EXPECT_EQ(translationPeriod(makePattern("u", 64, {unite({chunk(6), summary(4, 1)})})), 12);
  EXPECT_EQ(packingRefusal(loadPatternFile("longformer", p)),
            "pattern 'longformer' cannot pack documents: mask 0 (union(band(0, 16), "
            "global_keys(1), global_queries(1))) is tied to absolute positions (it has no "
            "translation period)");
}

TEST(Packing, MasksDerivedFromTAreRefused) {
  const std::string source = "sparta.pattern @window(T, L, W = T / 4) {\n"
                             "  %w = sparta.band lo = 0, hi = W\n"
                             "  sparta.heads %w\n}\n";
  const ConcretePattern fromT = loadPatternFromSource(source, "window.mlir", {{"T", 64}, {"L", 8}});
  EXPECT_TRUE(fromT.masksUseT);
  EXPECT_EQ(translationPeriod(fromT), std::nullopt);
  EXPECT_EQ(packingRefusal(fromT), "pattern 'window' cannot pack documents: its masks derive from T");
  // Bound explicitly, W no longer depends on T.
  const ConcretePattern bound =
      loadPatternFromSource(source, "window.mlir", {{"T", 64}, {"L", 8}, {"W", 16}});
  EXPECT_FALSE(bound.masksUseT);
  EXPECT_EQ(translationPeriod(bound), 1);
}

TEST(Packing, RowSpansBoundEveryTile) {
  int inexact = 0;
  for (const PatternCase &c : allCases())
    for (const auto &[label, options] : tileChoices())
      for (const HeadPlan &head : planPattern(c.pattern, options).heads)
        for (const PlanComponent &component : head.components) {
          const tiling::TileSchedule &s = component.schedule;
          for (auto [map, rows] : {std::pair{s.q, s.qTile}, std::pair{s.k, s.kTile}})
            for (int g = 0; g < map.groups(); ++g)
              for (int a = 0; a < map.len(g); a += rows) {
                const int z = std::min(map.len(g), a + rows) - 1;
                int lo = map.row(g, a), hi = lo;
                for (int pos = a; pos <= z; ++pos) {
                  lo = std::min(lo, map.row(g, pos));
                  hi = std::max(hi, map.row(g, pos));
                }
                const tiling::RowSpan span = map.rowSpan(g, a, z);
                ASSERT_LE(span.first, lo) << c.label << " " << label;
                ASSERT_GE(span.last, hi) << c.label << " " << label;
                ASSERT_GE(span.first, 0);
                ASSERT_LT(span.last, map.T);
                inexact += span.first != lo || span.last != hi;
                // Exact wherever the rows ascend.
                if (map.kind != tiling::kStrided || map.pack == 1) {
                  ASSERT_TRUE(span.first == lo && span.last == hi) << c.label << " " << label;
                }
              }
        }
  EXPECT_GT(inexact, 0); // packed strided maps are covered
}

//--- the CPU executor with documents ---------------------------------------------

constexpr int64_t kB = 2, kH = 3, kD = 8;
constexpr float kScale = 0.5f;

struct DocumentCase {
  std::string file;
  Params params;
  std::vector<int32_t> row0; // ragged boundaries; row 1 is one document
};

TEST(Packing, CpuExecutorMatchesThePerDocumentReference) {
  // Ragged documents: shorter than a tile, empty ones, one of a single token;
  // starts at multiples of the period (fixed: L). strided with L = 32 at
  // T = 100 packs its short columns several to a tile.
  const std::vector<DocumentCase> cases = {
      {"strided", {100, 8, 1}, {0, 5, 5, 37, 38, 100}},
      {"strided", {100, 32, 1}, {0, 3, 50, 51, 100, 100}},
      {"strided_merged", {100, 8, 1}, {0, 1, 17, 66, 100}},
      {"local", {100, 8, 1}, {0, 0, 9, 64, 99, 100}},
      {"fixed", {100, 16, 4}, {0, 16, 16, 48, 96, 100}},
      {"fixed_merged", {100, 16, 4}, {0, 32, 48, 100}},
      {"dense", {100, 8, 1}, {0, 7, 8, 90, 100}},
  };
  for (const DocumentCase &dc : cases) {
    const ConcretePattern pat = loadPatternFile(dc.file, dc.params);
    const int64_t T = pat.T;
    std::vector<int32_t> cu = dc.row0;
    cu.push_back(0);
    cu.insert(cu.end(), dc.row0.size() - 2, 0); // row 1: empty documents, then all of T
    cu.push_back(int32_t(T));
    const std::vector<int32_t> ids = documentIds(cu, kB, T, *translationPeriod(pat));
    const int64_t n = kB * kH * T * kD;
    const auto q = randomTensor(n, 1), k = randomTensor(n, 2), v = randomTensor(n, 3),
               dout = randomTensor(n, 4);
    for (const auto &[label, options] : tileChoices()) {
      SCOPED_TRACE(dc.file + " " + paramText(dc.params) + " " + label);
      const Plan plan = planPattern(pat, options);
      const AttentionOutput got = cpuForward(plan, kB, kH, kD, q, k, v, kScale, &ids);
      const AttentionOutput want = referenceForward(pat, cu, kB, kH, kD, q, k, v, kScale);
      EXPECT_LE(maxAbsDiff(got.o, want.o), 1e-4);
      EXPECT_LE(maxAbsDiff(got.lse, want.lse), 1e-4 * 8);
      const AttentionGrads grads =
          cpuBackward(plan, kB, kH, kD, q, k, v, got.o, got.lse, dout, kScale, &ids);
      const AttentionGrads wantGrads = referenceBackward(pat, cu, kB, kH, kD, q, k, v, dout, kScale);
      EXPECT_LE(maxAbsDiff(grads.dq, wantGrads.dq), 1e-4);
      EXPECT_LE(maxAbsDiff(grads.dk, wantGrads.dk), 1e-4);
      EXPECT_LE(maxAbsDiff(grads.dv, wantGrads.dv), 1e-4);

      // Row 1 is one document: exactly the run without documents.
      const AttentionOutput plain = cpuForward(plan, kB, kH, kD, q, k, v, kScale);
      const size_t half = size_t(n / 2);
      EXPECT_TRUE(std::equal(got.o.begin() + half, got.o.end(), plain.o.begin() + half));
      EXPECT_TRUE(std::equal(got.lse.begin() + half / kD, got.lse.end(),
                             plain.lse.begin() + half / kD));
      const AttentionGrads plainGrads =
          cpuBackward(plan, kB, kH, kD, q, k, v, plain.o, plain.lse, dout, kScale);
      EXPECT_TRUE(std::equal(grads.dq.begin() + half, grads.dq.end(), plainGrads.dq.begin() + half));
      EXPECT_TRUE(std::equal(grads.dk.begin() + half, grads.dk.end(), plainGrads.dk.begin() + half));
    }
  }
}

TEST(Packing, BidirectionalBandsPack) {
  const ConcretePattern pat = loadPattern(std::string(SPARTA_SOURCE_DIR) +
                                              "/tests/plan-corpus/bidir_offsets.mlir",
                                          {{"T", 96}, {"L", 8}, {"c", 2}});
  ASSERT_EQ(translationPeriod(pat), 8);
  const std::vector<int32_t> cu = {0, 8, 8, 40, 96, 0, 96, 96, 96, 96};
  const std::vector<int32_t> ids = documentIds(cu, kB, pat.T, 8);
  const int64_t n = kB * kH * pat.T * kD;
  const auto q = randomTensor(n, 5), k = randomTensor(n, 6), v = randomTensor(n, 7);
  const Plan plan = planPattern(pat, PlanOptions::square(16));
  const AttentionOutput got = cpuForward(plan, kB, kH, kD, q, k, v, kScale, &ids);
  const AttentionOutput want = referenceForward(pat, cu, kB, kH, kD, q, k, v, kScale);
  EXPECT_LE(maxAbsDiff(got.o, want.o), 1e-4);
  EXPECT_LE(maxAbsDiff(got.lse, want.lse), 1e-3);
}

//--- boundaries --------------------------------------------------------------------

TEST(Packing, DocumentIdsOfValidBoundaries) {
  EXPECT_EQ(documentIds({0, 2, 2, 5, 0, 5, 5, 5}, 2, 5, 1),
            (std::vector<int32_t>{0, 0, 2, 2, 2, 0, 0, 0, 0, 0}));
  // An empty document may sit anywhere; only non-empty ones start aligned.
  EXPECT_EQ(documentIds({0, 4, 4, 6}, 1, 6, 4), (std::vector<int32_t>{0, 0, 0, 0, 2, 2}));
}

TEST(Packing, BadBoundariesAreRefused) {
  EXPECT_EQ(errorOf([] { documentIds({0, 6, 4, 8}, 1, 8, 1); }),
            "cu_seqlens row 0: boundaries are not sorted (4 after 6 at index 2)");
  EXPECT_EQ(errorOf([] { documentIds({0, 4, 8, 0, 9, 8}, 2, 8, 1); }),
            "cu_seqlens row 1: boundary 9 at index 1 is past T = 8");
  EXPECT_EQ(errorOf([] { documentIds({0, 6, 8}, 1, 8, 4); }),
            "cu_seqlens row 0: a document starts at offset 6, not a multiple of the pattern's "
            "period 4");
  EXPECT_EQ(errorOf([] { documentIds({1, 8}, 1, 8, 1); }),
            "cu_seqlens row 0: the first boundary is 1, not 0");
  EXPECT_EQ(errorOf([] { documentIds({0, 7}, 1, 8, 1); }),
            "cu_seqlens row 0: the last boundary is 7, not T = 8");
  EXPECT_EQ(errorOf([] { documentIds({0, 8, 0}, 2, 8, 1); }),
            "cu_seqlens: 3 values do not make 2 rows of N + 1 >= 2 boundaries");
}

} // namespace
