//===- CpuExecutorTest.cpp - The CPU executor against ReferenceAttention --===//
//
// Runs every plan of the PatternCases.h grid (pattern files and hand-built
// masks, square tiles 16 and 64 and a choice of 16x32 and 32x16) through the CPU executor, forward and backward, with
// B = 2 and H = 3 (so heads wrap around the pattern's masks), d = 16, and
// compares with the double-precision dense reference.
//
// Tolerance: max |executor - reference| <= 1e-4 * max(1, max |reference|) for
// O, dQ, dK, dV, and 1e-4 * max(1, |lse|) for lse (-inf must match exactly).
// fp32 with online softmax loses ~1e-7 per operation; the longest sums here
// have ~200 terms, so honest rounding error stays below ~1e-5 (observed:
// 2.5e-6). A plan defect (a pair missed or counted twice, a wrong full flag, a
// wrong lse merge) moves a row by about the weight of one key, ~1/keys-per-row
// >= 5e-3 here: well above the bound. ExecutorDefects.* checks that.
//
//===----------------------------------------------------------------------===//
#include "PatternCases.h"

#include "sparta/CpuExecutor.h"
#include "sparta/Plan.h"
#include "sparta/ReferenceAttention.h"

#include <gtest/gtest.h>

#include <cmath>

using namespace sparta;
using namespace sparta::testing;

namespace {

constexpr int64_t kB = 2, kH = 3, kD = 16;
// Scores of std ~2: the softmax is peaked enough that the running max changes
// between key tiles, so the online rescaling is exercised.
constexpr float kScale = 0.5f;
constexpr double kTol = 1e-4;

/// Largest lse error, scaled by max(1, |lse|); -inf on both sides matches.
double lseError(const std::vector<float> &got, const std::vector<float> &want) {
  double worst = 0;
  for (size_t n = 0; n < got.size(); ++n) {
    if (got[n] == want[n])
      continue;
    double err = std::fabs(double(got[n]) - double(want[n])) /
                 std::max(1.0, std::fabs(double(want[n])));
    worst = std::max(worst, std::isnan(err) ? INFINITY : err);
  }
  return worst;
}

double relError(const std::vector<float> &got, const std::vector<float> &want) {
  return maxAbsDiff(got, want) / std::max(1.0, maxAbs(want));
}

struct Errors {
  double o, lse, dq, dk, dv;
  double worst() const { return std::max({o, lse, dq, dk, dv}); }
  std::string text() const {
    return "o " + std::to_string(o) + ", lse " + std::to_string(lse) + ", dq " +
           std::to_string(dq) + ", dk " + std::to_string(dk) + ", dv " + std::to_string(dv);
  }
};

/// Executor vs reference for one plan; the backward is fed the executor's own
/// O and lse (as the kernels are), so a forward error does not hide in it.
Errors compare(const ConcretePattern &pattern, const Plan &plan, uint32_t seed,
               int64_t *emptyRows = nullptr) {
  const AttentionShape shape{kB, kH, pattern.T, kD};
  const int64_t n = shape.elements();
  std::vector<float> q = randomTensor(n, seed), k = randomTensor(n, seed + 1),
                     v = randomTensor(n, seed + 2), dout = randomTensor(n, seed + 3);
  const RowKeys keys = RowKeys::fromPattern(pattern);
  AttentionOutput ref = referenceForward(keys, shape, q, k, v, kScale);
  AttentionGrads refGrad = referenceBackward(keys, shape, q, k, v, dout, kScale);
  AttentionOutput got = cpuForward(plan, kB, kH, kD, q, k, v, kScale);
  AttentionGrads grad = cpuBackward(plan, kB, kH, kD, q, k, v, got.o, got.lse, dout, kScale);
  if (emptyRows)
    for (float x : ref.lse)
      *emptyRows += std::isinf(x);
  return {relError(got.o, ref.o), lseError(got.lse, ref.lse), relError(grad.dq, refGrad.dq),
          relError(grad.dk, refGrad.dk), relError(grad.dv, refGrad.dv)};
}

} // namespace

TEST(CpuExecutorTest, MatchesReferenceOverGrid) {
  int checked = 0;
  int64_t emptyRows = 0;
  int packed = 0, skipping = 0, dilated = 0, rectangular = 0, rotated = 0, forward = 0, boxes = 0;
  double worst = 0;
  for (const PatternCase &pc : allCases())
    for (const auto &[tiles, options] : tileChoices()) {
      SCOPED_TRACE(pc.label + " " + tiles);
      Plan plan = planPattern(pc.pattern, options);
      for (const HeadPlan &head : plan.heads)
        for (const PlanComponent &c : head.components) {
          packed += c.schedule.q.pack > 1;
          skipping += c.schedule.skipPeriod > 0;
          dilated += c.name == "dilated";
          rectangular += c.schedule.qTile != c.schedule.kTile;
          rotated += c.schedule.k.kind == tiling::kStrided && c.schedule.k.w > 0;
          forward += !c.causal && c.schedule.kind == tiling::kBand && c.schedule.dlo < 0;
          boxes += c.schedule.kind == tiling::kGridBox;
        }
      Errors e = compare(pc.pattern, plan, 1000 + checked, &emptyRows);
      EXPECT_LE(e.worst(), kTol) << e.text() << "\n" << printPlan(plan);
      worst = std::max(worst, e.worst());
      ++checked;
    }
  EXPECT_GT(checked, 450);
  // The grid must exercise rows with no key (summary-only, global-query and
  // band(2, 5) heads): O = 0, lse = -inf, no gradient.
  EXPECT_GT(emptyRows, 0);
  // Every lowering runs: packed short groups, global keys minus a stride,
  // dilated windows, rectangular tiles.
  EXPECT_GT(packed, 0);
  EXPECT_GT(skipping, 0);
  EXPECT_GT(dilated, 0);
  EXPECT_GT(rectangular, 0);
  // Strides with an offset (rotated key maps), bidirectional bands (keys
  // after the query: dlo < 0) and grid boxes.
  EXPECT_GT(rotated, 0);
  EXPECT_GT(forward, 0);
  EXPECT_GT(boxes, 0);
  std::cout << "[ note ] " << checked << " plans, worst relative error " << worst << "\n";
}

// Every head of a multi-mask pattern gets the right plan when H wraps.
TEST(CpuExecutorTest, HeadsWrapAroundMasks) {
  ConcretePattern pattern = makePattern("w", 40, {band(0, 3), stride(5)});
  Plan plan = planPattern(pattern, PlanOptions::square(16));
  const AttentionShape shape{kB, kH, 40, kD};
  std::vector<float> q = randomTensor(shape.elements(), 1), k = randomTensor(shape.elements(), 2),
                     v = randomTensor(shape.elements(), 3);
  AttentionOutput got = cpuForward(plan, kB, kH, kD, q, k, v, kScale);
  // Head 2 uses mask 0 (band), so it must differ from the stride head 1...
  const int64_t head = 40 * kD;
  auto slice = [&](int64_t b, int64_t h) {
    return std::vector<float>(got.o.begin() + (b * kH + h) * head,
                              got.o.begin() + (b * kH + h + 1) * head);
  };
  // ...and equal what a pattern with mask 0 alone computes for the same data.
  ConcretePattern only0 = makePattern("w0", 40, {band(0, 3)});
  AttentionOutput ref = referenceForward(only0.heads, shape, q, k, v, kScale);
  std::vector<float> want(ref.o.begin() + 2 * head, ref.o.begin() + 3 * head);
  EXPECT_LE(maxAbsDiff(slice(0, 2), want), 1e-5);
  EXPECT_GT(maxAbsDiff(slice(0, 1), slice(0, 2)), 1e-2);
}

//--- the comparison can fail ---------------------------------------------------

TEST(ExecutorDefects, BrokenPlansAreDetected) {
  ConcretePattern strided = makePattern("m", 100, {unite({band(0, 8), stride(8)})});
  for (int dlo : {1, 3}) { // doubles / misses the pairs at r - r' = 1 resp. 2
    Plan plan = planPattern(strided, PlanOptions::square(16));
    PlanComponent *c = findComponent(plan, "stride");
    ASSERT_NE(c, nullptr);
    c->schedule.dlo = dlo;
    EXPECT_GT(compare(strided, plan, 7).worst(), 100 * kTol) << "dlo=" << dlo;
  }
  ConcretePattern random = makePattern("r", 100, {unite({band(0, 4), randomBlocks(8, 2, 7)})});
  {
    Plan plan = planPattern(random, PlanOptions::square(16)); // partial tiles run unmasked
    for (int &e : findComponent(plan, "table")->fwdEntries)
      e |= 1;
    EXPECT_GT(compare(random, plan, 7).worst(), 100 * kTol);
  }
  {
    Plan plan = planPattern(random, PlanOptions::square(16)); // a key tile misses a query tile
    ASSERT_TRUE(dropBackwardEntry(*findComponent(plan, "table")));
    Errors e = compare(random, plan, 7);
    EXPECT_LE(std::max(e.o, e.dq), kTol); // forward lists intact
    EXPECT_GT(std::max(e.dk, e.dv), 100 * kTol);
  }
  {
    Plan plan = planPattern(strided, PlanOptions::square(16)); // components not merged
    plan.heads[0].components.pop_back();
    EXPECT_GT(compare(strided, plan, 7).worst(), 100 * kTol);
  }
}
