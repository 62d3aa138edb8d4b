//===- ModelKernelReferenceTest.cpp - The CPU references checked, no GPU ---===//
//
// The GPU tests trust model/lib/KernelReference.cpp, so its backward formulas
// are checked here against central finite differences of its own forward
// passes (loss = sum of w * output for random w), its Philox against the
// published known-answer vectors, and AdamW against the closed form of a
// first step.
//
//===----------------------------------------------------------------------===//
#include "sparta/model/KernelReference.h"

#include <gtest/gtest.h>

#include <cmath>
#include <functional>
#include <random>

using namespace sparta::model;

namespace {

std::vector<float> randomVector(std::size_t n, std::mt19937 &rng, float scale = 1.0f) {
  std::normal_distribution<float> dist(0.0f, scale);
  std::vector<float> v(n);
  for (float &x : v)
    x = dist(rng);
  return v;
}

double dot(const std::vector<float> &a, const std::vector<float> &b) {
  double s = 0.0;
  for (std::size_t i = 0; i < a.size(); ++i)
    s += static_cast<double>(a[i]) * b[i];
  return s;
}

/// Central difference of f at input[i], compared with the analytic gradient.
void expectGradient(std::vector<float> &input, const std::vector<float> &grad,
                    const std::function<double()> &f, double h, double tol, const char *what) {
  for (std::size_t i = 0; i < input.size(); ++i) {
    float saved = input[i];
    input[i] = saved + static_cast<float>(h);
    double up = f();
    input[i] = saved - static_cast<float>(h);
    double down = f();
    input[i] = saved;
    double fd = (up - down) / (2 * h);
    EXPECT_NEAR(grad[i], fd, tol * (1.0 + std::fabs(fd))) << what << "[" << i << "]";
  }
}

/// The loss whose gradient crossEntropy's dlogits is: sum of the losses * scale.
double meanCrossEntropy(const std::vector<float> &logits, const std::vector<std::int32_t> &targets,
                        int vocab, float scale) {
  std::vector<float> l, d;
  ref::crossEntropy(logits, targets, vocab, scale, l, d);
  double s = 0.0;
  for (float v : l)
    s += v * static_cast<double>(scale);
  return s;
}

TEST(ModelKernelReference, LayerNormBackwardMatchesFiniteDifferences) {
  std::mt19937 rng(1);
  const int rows = 3, D = 32;
  std::vector<float> x = randomVector(rows * D, rng), gamma = randomVector(D, rng),
                     beta = randomVector(D, rng), w = randomVector(rows * D, rng),
                     dresid = randomVector(rows * D, rng);
  auto loss = [&] {
    std::vector<float> y, mean, rstd;
    ref::layerNormForward(x, gamma, beta, D, 1e-5f, y, mean, rstd);
    return dot(w, y);
  };
  std::vector<float> y, mean, rstd, dx, dgamma, dbeta;
  ref::layerNormForward(x, gamma, beta, D, 1e-5f, y, mean, rstd);
  ref::layerNormBackward(w, x, gamma, mean, rstd, {}, D, dx, dgamma, dbeta);
  expectGradient(x, dx, loss, 1e-2, 2e-3, "dx");
  expectGradient(gamma, dgamma, loss, 1e-2, 2e-3, "dgamma");
  expectGradient(beta, dbeta, loss, 1e-2, 2e-3, "dbeta");
  // The residual gradient is added unchanged.
  std::vector<float> dx2, dg2, db2;
  ref::layerNormBackward(w, x, gamma, mean, rstd, dresid, D, dx2, dg2, db2);
  for (std::size_t i = 0; i < dx.size(); ++i)
    EXPECT_NEAR(dx2[i], dx[i] + dresid[i], 1e-5);
}

TEST(ModelKernelReference, GeluGradientMatchesFiniteDifferences) {
  for (double x = -6.0; x <= 6.0; x += 0.37) {
    double fd = (ref::gelu(x + 1e-6) - ref::gelu(x - 1e-6)) / 2e-6;
    EXPECT_NEAR(ref::geluGrad(x), fd, 1e-8) << x;
  }
  EXPECT_NEAR(ref::gelu(1.0), 0.8411919906082768, 1e-12); // PyTorch gelu(1, approximate="tanh")
}

TEST(ModelKernelReference, CrossEntropyGradientMatchesFiniteDifferences) {
  std::mt19937 rng(2);
  const int rows = 3, vocab = 64;
  std::vector<float> logits = randomVector(rows * vocab, rng, 3.0f);
  std::vector<std::int32_t> targets = {0, 63, 17};
  const float scale = 1.0f / rows;
  auto loss = [&] { return meanCrossEntropy(logits, targets, vocab, scale); };
  std::vector<float> l, dlogits;
  ref::crossEntropy(logits, targets, vocab, scale, l, dlogits);
  expectGradient(logits, dlogits, loss, 1e-2, 2e-3, "dlogits");
  std::vector<std::int32_t> bad = {0, 64, -2};
  ref::crossEntropy(logits, bad, vocab, scale, l, dlogits);
  EXPECT_FALSE(std::isnan(l[0]));
  EXPECT_TRUE(std::isnan(l[1]));
  EXPECT_TRUE(std::isnan(l[2]));
}

// Ignored targets (kIgnoreTarget) add nothing: the gradient is that of the
// mean over the rows that count, with scale 1 / (their number).
TEST(ModelKernelReference, CrossEntropyIgnoredTargetsHaveNoLossOrGradient) {
  std::mt19937 rng(5);
  const int rows = 5, vocab = 64;
  std::vector<float> logits = randomVector(rows * vocab, rng, 3.0f);
  std::vector<std::int32_t> targets = {3, kIgnoreTarget, 40, kIgnoreTarget, 63};
  const float scale = 1.0f / 3; // three targets count
  auto meanLoss = [&] { return meanCrossEntropy(logits, targets, vocab, scale); };
  std::vector<float> l, dlogits;
  ref::crossEntropy(logits, targets, vocab, scale, l, dlogits);
  for (int r : {1, 3}) {
    EXPECT_EQ(l[r], 0.0f) << "row " << r;
    for (int c = 0; c < vocab; ++c)
      ASSERT_EQ(dlogits[r * vocab + c], 0.0f) << "row " << r << " column " << c;
  }
  // The counted rows are those of a call without the ignored ones.
  std::vector<float> kept, keptLoss, keptGrad;
  for (int r : {0, 2, 4})
    kept.insert(kept.end(), logits.begin() + r * vocab, logits.begin() + (r + 1) * vocab);
  ref::crossEntropy(kept, {3, 40, 63}, vocab, scale, keptLoss, keptGrad);
  for (int i = 0; i < 3; ++i) {
    EXPECT_EQ(l[2 * i], keptLoss[i]);
    for (int c = 0; c < vocab; ++c)
      ASSERT_EQ(dlogits[2 * i * vocab + c], keptGrad[i * vocab + c]);
  }
  expectGradient(logits, dlogits, meanLoss, 1e-2, 2e-3, "dlogits");
}

TEST(ModelKernelReference, EmbeddingBackwardIsTheForwardsTranspose) {
  std::mt19937 rng(3);
  const int D = 32, vocab = 32, seqLen = 12, rows = 30; // 2.5 sequences
  std::vector<PositionIndex> positions = {{4, 3}, {1, 4}};
  std::vector<std::int32_t> tokens(rows);
  for (auto &t : tokens)
    t = static_cast<std::int32_t>(rng() % vocab);
  std::vector<float> table = randomVector(vocab * D, rng), w = randomVector(rows * D, rng);
  std::vector<std::vector<float>> pos = {randomVector(3 * D, rng), randomVector(4 * D, rng)};
  auto loss = [&] { return dot(w, ref::embeddingForward(tokens, table, positions, pos, seqLen, D)); };
  std::vector<float> dTable;
  std::vector<std::vector<float>> dPos;
  ref::embeddingBackward(tokens, w, positions, seqLen, D, vocab, dTable, dPos);
  expectGradient(table, dTable, loss, 0.25, 1e-4, "dTokenTable");
  expectGradient(pos[0], dPos[0], loss, 0.25, 1e-4, "dPosition0");
  expectGradient(pos[1], dPos[1], loss, 0.25, 1e-4, "dPosition1");
}

TEST(ModelKernelReference, DropoutBackwardIsTheMaskOfTheForward) {
  std::mt19937 rng(4);
  std::vector<float> x = randomVector(1000, rng), a = randomVector(1000, rng);
  std::vector<float> y = ref::dropoutResidual(x, a, 0.3f, 42, 7);
  std::vector<float> da = ref::dropoutResidual({}, a, 0.3f, 42, 7);
  int dropped = 0;
  for (std::size_t i = 0; i < a.size(); ++i) {
    bool keep = ref::dropoutKeep(static_cast<std::int64_t>(i), 0.3f, 42, 7);
    dropped += keep ? 0 : 1;
    EXPECT_FLOAT_EQ(da[i], keep ? a[i] / 0.7f : 0.0f);
    EXPECT_NEAR(y[i], x[i] + da[i], 1e-6);
  }
  EXPECT_NEAR(dropped / 1000.0, 0.3, 0.05);
  EXPECT_EQ(ref::dropoutResidual(x, a, 0.0f, 42, 7)[5], static_cast<float>(static_cast<double>(x[5]) + a[5]));
}

TEST(ModelKernelReference, PhiloxKnownAnswers) {
  // Random123's kat_vectors for philox4x32 with 10 rounds.
  std::uint32_t out[4];
  ref::philox4x32(0, 0, 0, out);
  EXPECT_EQ(out[0], 0x6627e8d5u);
  EXPECT_EQ(out[1], 0xe169c58du);
  EXPECT_EQ(out[2], 0xbc57ac4cu);
  EXPECT_EQ(out[3], 0x9b00dbd8u);
  ref::philox4x32(~0ull, ~0ull, ~0ull, out);
  EXPECT_EQ(out[0], 0x408f276du);
  EXPECT_EQ(out[1], 0x41c83b0eu);
  EXPECT_EQ(out[2], 0xa20bc7c6u);
  EXPECT_EQ(out[3], 0x6d5451fdu);
  ref::philox4x32(0x85a308d3243f6a88ull, 0x0370734413198a2eull, 0x299f31d0a4093822ull, out);
  EXPECT_EQ(out[0], 0xd16cfe09u);
  EXPECT_EQ(out[1], 0x94fdccebu);
  EXPECT_EQ(out[2], 0x5001e420u);
  EXPECT_EQ(out[3], 0x24126ea1u);
}

TEST(ModelKernelReference, AdamWFirstStepIsSignDescent) {
  std::vector<float> w = {1.0f, -2.0f, 0.5f}, g = {0.3f, -0.01f, 2.0f}, m(3, 0.0f), v(3, 0.0f);
  AdamWHyper h;
  h.lr = 0.1f;
  h.eps = 0.0f;
  h.weightDecay = 0.5f;
  std::vector<float> start = w;
  ref::adamW(w, g, m, v, h, 1.0f);
  for (int i = 0; i < 3; ++i) {
    double expected = start[i] * (1.0 - 0.05) - 0.1 * (g[i] > 0 ? 1.0 : -1.0);
    EXPECT_NEAR(w[i], expected, 1e-6) << i;
    EXPECT_NEAR(m[i], 0.1 * g[i], 1e-7);
    EXPECT_NEAR(v[i], 0.05 * g[i] * g[i], 1e-7);
  }
  GradNormResult r = ref::gradNorm({3.0f, 4.0f}, 1.0f);
  EXPECT_FLOAT_EQ(r.norm, 5.0f);
  EXPECT_NEAR(r.clipScale, 0.2f, 1e-6);
  EXPECT_EQ(r.nonFinite, 0);
  EXPECT_EQ(ref::gradNorm({1.0f, NAN}, 1.0f).nonFinite, 1);
  EXPECT_EQ(ref::gradNorm({0.1f}, 1.0f).clipScale, 1.0f);
}

} // namespace
