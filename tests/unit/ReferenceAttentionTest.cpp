//===- ReferenceAttentionTest.cpp - The numeric oracle checks itself ------===//
//
// ReferenceAttention is what every executor and kernel is judged by, so it is
// checked from first principles: rounding helpers on hand-picked values
// (ties, subnormals, overflow), the forward on cases solvable by hand, the
// backward against central finite differences of the forward, and the
// low-precision variants for plausible error sizes.
//
//===----------------------------------------------------------------------===//
#include "PatternCases.h"

#include "sparta/ReferenceAttention.h"

#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <random>

using namespace sparta;
using namespace sparta::testing;

namespace {

/// `count` tensors of the shape's size, standard normal, drawn one after the
/// other from one generator seeded with `seed`.
std::vector<std::vector<float>> randomTensors(const AttentionShape &s, uint32_t seed, int count) {
  std::mt19937 gen(seed);
  std::normal_distribution<float> dist;
  std::vector<std::vector<float>> tensors(count, std::vector<float>(s.elements()));
  for (std::vector<float> &t : tensors)
    for (float &x : t)
      x = dist(gen);
  return tensors;
}

} // namespace

TEST(ReferenceAttentionTest, RoundToBF16) {
  EXPECT_EQ(roundToBF16(1.0f), 1.0f);
  EXPECT_EQ(roundToBF16(1.0f + 0x1p-8f), 1.0f);                 // tie, to even
  EXPECT_EQ(roundToBF16(1.0f + 3 * 0x1p-8f), 1.0f + 0x1p-6f);   // tie, to even (up)
  EXPECT_EQ(roundToBF16(1.0f + 0x1p-8f + 0x1p-20f), 1.0f + 0x1p-7f); // above the tie
  EXPECT_EQ(roundToBF16(-3.14159f), -3.140625f);
  EXPECT_EQ(roundToBF16(0x1p-130f), 0x1p-130f); // subnormal, representable
  EXPECT_EQ(roundToBF16(0x1.fep127f), 0x1.fep127f); // largest finite bf16
  EXPECT_NEAR(roundToBF16(3.0e38f) / 3.0e38f, 1.0, 0x1p-9);
  EXPECT_TRUE(std::isinf(roundToBF16(std::numeric_limits<float>::max())));
  EXPECT_TRUE(std::isnan(roundToBF16(NAN)));
  EXPECT_EQ(roundToBF16(0.0f), 0.0f);
}

TEST(ReferenceAttentionTest, RoundToFP16) {
  EXPECT_EQ(roundToFP16(1.0f + 0x1p-11f), 1.0f);               // tie, to even
  EXPECT_EQ(roundToFP16(1.0f + 3 * 0x1p-11f), 1.0f + 0x1p-9f); // tie, to even (up)
  EXPECT_EQ(roundToFP16(0.1f), 0.0999755859375f);
  EXPECT_EQ(roundToFP16(65504.0f), 65504.0f);
  EXPECT_EQ(roundToFP16(65519.0f), 65504.0f);
  EXPECT_TRUE(std::isinf(roundToFP16(65520.0f))); // the tie rounds up to 2^16
  EXPECT_EQ(roundToFP16(-70000.0f), -INFINITY);
  EXPECT_EQ(roundToFP16(0x1p-24f), 0x1p-24f);        // smallest subnormal
  EXPECT_EQ(roundToFP16(0x1p-25f), 0.0f);            // tie with 0, to even
  EXPECT_EQ(roundToFP16(1.5f * 0x1p-24f), 0x1p-23f); // tie, to even
  EXPECT_EQ(roundToFP16(3e-6f), 50 * 0x1p-24f);      // subnormal quantum 2^-24
}

TEST(ReferenceAttentionTest, ForwardByHand) {
  // T = 2, dense: row 0 sees key 0 only; row 1 averages keys 0 and 1 with
  // weights from the scores.
  ConcretePattern p = makePattern("d", 2, {leaf(MaskKind::Dense)});
  std::vector<float> q = {1, 0, 2, 1}, k = {1, 1, 0, 2}, v = {1, 2, 3, 4};
  AttentionOutput out = referenceForward(p.heads, {1, 1, 2, 2}, q, k, v, 1.0);
  EXPECT_FLOAT_EQ(out.o[0], 1);
  EXPECT_FLOAT_EQ(out.o[1], 2);
  EXPECT_FLOAT_EQ(out.lse[0], 1); // score q0.k0 = 1
  // Row 1: scores 3 and 2.
  double w0 = std::exp(3.0) / (std::exp(3.0) + std::exp(2.0));
  EXPECT_NEAR(out.o[2], w0 * 1 + (1 - w0) * 3, 1e-6);
  EXPECT_NEAR(out.lse[1], std::log(std::exp(3.0) + std::exp(2.0)), 1e-6);
  // A row with no key: band(1, 1) leaves row 0 empty.
  ConcretePattern b = makePattern("b", 2, {band(1, 1)});
  out = referenceForward(b.heads, {1, 1, 2, 2}, q, k, v, 1.0);
  EXPECT_EQ(out.o[0], 0);
  EXPECT_EQ(out.lse[0], -INFINITY);
  EXPECT_FLOAT_EQ(out.o[2], 1); // row 1 sees key 0 only
}

TEST(ReferenceAttentionTest, BackwardMatchesFiniteDifferences) {
  // Loss = sum(dO * O); its gradient is what referenceBackward returns.
  ConcretePattern p = makePattern("s", 9, {unite({band(0, 2), stride(3)}), summary(3, 1)});
  const AttentionShape s{1, 2, 9, 4};
  std::vector<std::vector<float>> in = randomTensors(s, 5, 4);
  std::vector<float> q = in[0], k = in[1], v = in[2], dout = in[3];
  const double scale = 0.7;
  AttentionGrads g = referenceBackward(p.heads, s, q, k, v, dout, scale);
  auto loss = [&]() {
    AttentionOutput o = referenceForward(p.heads, s, q, k, v, scale);
    double sum = 0;
    for (size_t n = 0; n < o.o.size(); ++n)
      sum += double(dout[n]) * o.o[n];
    return sum;
  };
  const float eps = 1e-2f;
  for (auto [tensor, grad] : {std::pair{&q, &g.dq}, {&k, &g.dk}, {&v, &g.dv}})
    for (size_t n = 0; n < tensor->size(); ++n) {
      float saved = (*tensor)[n];
      (*tensor)[n] = saved + eps;
      double up = loss();
      (*tensor)[n] = saved - eps;
      double down = loss();
      (*tensor)[n] = saved;
      EXPECT_NEAR((up - down) / (2 * eps), (*grad)[n], 2e-3) << "element " << n;
    }
  // Row 0 of the summary head (head 1) has no key: zero gradient.
  for (int x = 0; x < 4; ++x)
    EXPECT_EQ(g.dq[9 * 4 + x], 0.0f);
}

TEST(ReferenceAttentionTest, LowPrecisionErrorIsPlausible) {
  ConcretePattern p = makePattern("d", 64, {leaf(MaskKind::Dense), unite({band(0, 8), stride(8)})});
  const AttentionShape s{1, 2, 64, 32};
  std::vector<std::vector<float>> in = randomTensors(s, 9, 4);
  std::vector<float> q = in[0], k = in[1], v = in[2], dout = in[3];
  const double scale = 1 / std::sqrt(32.0);
  AttentionOutput exact = referenceForward(p.heads, s, q, k, v, scale);
  AttentionGrads exactGrad = referenceBackward(p.heads, s, q, k, v, dout, scale);
  double previous = 0;
  for (LowPrecision prec : {LowPrecision::FP16, LowPrecision::BF16}) {
    AttentionOutput lp = lowPrecisionForward(p.heads, s, q, k, v, scale, prec);
    AttentionGrads lpGrad = lowPrecisionBackward(p.heads, s, q, k, v, dout, scale, prec);
    double err = maxAbsDiff(lp.o, exact.o);
    // bf16 keeps 8 bits (relative step 2^-8), fp16 11: errors of that order.
    EXPECT_GT(err, 0.0);
    EXPECT_LT(err, prec == LowPrecision::BF16 ? 0.05 : 0.01);
    EXPECT_GT(err, previous); // bf16 is coarser than fp16
    previous = err;
    for (auto [a, b] : {std::pair{&lpGrad.dq, &exactGrad.dq}, {&lpGrad.dk, &exactGrad.dk},
                        {&lpGrad.dv, &exactGrad.dv}})
      EXPECT_LT(maxAbsDiff(*a, *b), 0.1 * std::max(1.0, maxAbs(*b)));
    EXPECT_LT(maxAbsDiff(lp.lse, exact.lse), 0.05);
  }
}

TEST(ReferenceAttentionTest, PredicateKeysMatchMaskKeys) {
  // The key lists of a predicate that states a mask's rule are the mask's, so
  // every reference gives bit-identical results through either form.
  const int64_t T = 48, L = 8;
  ConcretePattern p = makePattern("s", T, {band(0, L), stride(L)});
  const RowKeys fromMasks = RowKeys::fromMasks(p.heads, T);
  const RowKeys fromRules = RowKeys::fromPredicates(
      T, {[&](int64_t i, int64_t j) { return j <= i && i - j <= L; },
          [&](int64_t i, int64_t j) { return j <= i && (i - j) % L == 0; }});
  EXPECT_EQ(fromRules.perMask, fromMasks.perMask);
  const AttentionShape s{2, 3, T, 16};
  std::vector<std::vector<float>> in = randomTensors(s, 11, 4);
  const double scale = 0.25;
  EXPECT_EQ(referenceForward(fromRules, s, in[0], in[1], in[2], scale).o,
            referenceForward(p.heads, s, in[0], in[1], in[2], scale).o);
  EXPECT_EQ(lowPrecisionBackward(fromRules, s, in[0], in[1], in[2], in[3], scale, LowPrecision::BF16).dk,
            lowPrecisionBackward(p.heads, s, in[0], in[1], in[2], in[3], scale, LowPrecision::BF16).dk);
  // Key lists for another T are refused.
  const RowKeys shorter = RowKeys::fromPredicates(T - 1, {[](int64_t, int64_t) { return true; }});
  EXPECT_THROW(referenceForward(shorter, s, in[0], in[1], in[2], scale), Error);
}
