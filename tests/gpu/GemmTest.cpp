//===- GemmTest.cpp - The cuBLASLt wrapper vs a CPU product ----------------===//
//
// Every transpose combination, bf16 and fp32 outputs, alpha/beta
// accumulation, the bias epilogue, leading dimensions wider than the rows (a
// slice of a packed QKV matrix), a long K (split-K candidates) run twice for
// bit-identical results, and the errors. The reference is the fp64 product of
// the same bf16 inputs; tolerances as in ModelKernelsTest.cpp (bf16: twice the
// rounding of the exact result; fp32: 1e-5 of value plus rms). A bf16 output
// with beta != 0 is also allowed cuBLASLt's rounding of the product before the
// addition of C (see check()).
//
// Exits 77 (skipped) without a CUDA driver.
//
//===----------------------------------------------------------------------===//
#include "GpuTestMain.h"
#include "ModelKernelsTestUtil.h"

#include "sparta/model/Gemm.h"

using namespace sparta;
using namespace sparta::model;
using namespace sparta::model::test;

namespace {

/// alpha * op(A) op(B) + beta * C0, row-major, in fp64.
std::vector<float> reference(const std::vector<float> &A, const std::vector<float> &B,
                             const std::vector<float> &C0, const GemmArgs &g, std::int64_t lda,
                             std::int64_t ldb, const std::vector<float> &bias) {
  std::vector<float> C(static_cast<std::size_t>(g.M) * g.N);
  for (int i = 0; i < g.M; ++i)
    for (int j = 0; j < g.N; ++j) {
      double s = 0.0;
      for (int k = 0; k < g.K; ++k) {
        double a = g.transA ? A[k * lda + i] : A[i * lda + k];
        double b = g.transB ? B[j * ldb + k] : B[k * ldb + j];
        s += a * b;
      }
      s = g.alpha * s + (C0.empty() ? 0.0 : g.beta * C0[static_cast<std::size_t>(i) * g.N + j]);
      if (!bias.empty())
        s += bias[j];
      C[static_cast<std::size_t>(i) * g.N + j] = static_cast<float>(s);
    }
  return C;
}

struct Problem {
  int M, N, K;
};

class GemmTest : public testing::Test {
protected:
  static Gemm &gemm() {
    static Gemm g;
    return g;
  }
  std::mt19937 rng{2024};

  /// Runs one product and checks it; returns the raw output bytes.
  std::vector<char> check(GemmArgs g, std::int64_t lda = 0, std::int64_t ldb = 0, bool withBias = false,
                          bool accumulate = false) {
    const std::int64_t aRows = g.transA ? g.K : g.M, aCols = g.transA ? g.M : g.K;
    const std::int64_t bRows = g.transB ? g.N : g.K, bCols = g.transB ? g.K : g.N;
    lda = lda ? lda : aCols;
    ldb = ldb ? ldb : bCols;
    std::vector<float> A = randomBf16(aRows * lda, rng), B = randomBf16(bRows * ldb, rng);
    std::vector<float> bias = withBias ? randomBf16(g.N, rng) : std::vector<float>{};
    std::vector<float> C0 = accumulate ? randomBf16(static_cast<std::size_t>(g.M) * g.N, rng) : std::vector<float>{};
    DeviceTensor dA = uploadBf16(A), dB = uploadBf16(B), dBias = uploadBf16(withBias ? bias : std::vector<float>(8));
    const bool bf16 = g.cType == GemmOutput::BF16;
    const std::size_t cBytes = static_cast<std::size_t>(g.M) * g.N * (bf16 ? 2 : 4);
    DeviceTensor dC = poisoned(cBytes);
    if (accumulate) {
      if (bf16)
        dC.upload(ref::toBf16(C0));
      else
        dC.upload(C0);
    }
    g.A = dA.as<std::uint16_t>();
    g.B = dB.as<std::uint16_t>();
    g.C = dC.as<void>();
    g.lda = lda;
    g.ldb = ldb;
    g.bias = withBias ? dBias.as<std::uint16_t>() : nullptr;
    gemm().run(g);
    std::vector<float> exact = reference(A, B, C0, g, lda, ldb, bias);
    std::string what = "M=" + std::to_string(g.M) + " N=" + std::to_string(g.N) + " K=" +
                       std::to_string(g.K) + (g.transA ? " A^T" : "") + (g.transB ? " B^T" : "") +
                       (bf16 ? " bf16" : " fp32");
    if (bf16 && accumulate) {
      // cuBLASLt rounds alpha * A B to bf16 before adding beta * C (seen on an
      // H100: errors up to half an ulp of the product, beyond the final
      // rounding), as an unfused product followed by a bf16 add would.
      GemmArgs productOnly = g;
      productOnly.beta = 0.0f;
      std::vector<float> product = reference(A, B, {}, productOnly, lda, ldb, bias);
      std::vector<float> scale(exact.size()), baseline(exact.size());
      for (std::size_t i = 0; i < exact.size(); ++i) {
        const float rounded = ref::roundBf16({product[i]})[0];
        scale[i] = std::fabs(product[i]) + std::fabs(g.beta * C0[i]) + std::fabs(exact[i]);
        baseline[i] = ref::roundBf16({rounded + g.beta * C0[i]})[0];
      }
      expectBf16Close(downloadBf16(dC, exact.size()), exact, what.c_str(), scale, baseline);
    } else if (bf16) {
      expectBf16Close(downloadBf16(dC, exact.size()), exact, what.c_str());
    } else {
      expectF32Close(downloadF32(dC, exact.size()), exact, what.c_str());
    }
    return dC.bytes();
  }
};

TEST_F(GemmTest, AllTransposeCombinationsAndOutputs) {
  for (Problem p : {Problem{131, 77, 200}, Problem{64, 1536, 512}, Problem{1, 8, 1}})
    for (bool ta : {false, true})
      for (bool tb : {false, true})
        for (GemmOutput out : {GemmOutput::BF16, GemmOutput::FP32}) {
          GemmArgs g;
          g.M = p.M, g.N = p.N, g.K = p.K, g.transA = ta, g.transB = tb, g.cType = out;
          check(g);
        }
}

TEST_F(GemmTest, AlphaBetaAccumulation) {
  for (GemmOutput out : {GemmOutput::BF16, GemmOutput::FP32})
    for (bool ta : {false, true}) {
      GemmArgs g;
      g.M = 96, g.N = 200, g.K = 72, g.transA = ta, g.cType = out, g.alpha = 0.5f, g.beta = 1.0f;
      check(g, 0, 0, false, true);
    }
}

TEST_F(GemmTest, BiasEpilogueOfALinearLayer) {
  // y = x W^T + b: x [rows, in], W [out, in].
  GemmArgs g;
  g.M = 257, g.N = 384, g.K = 512, g.transB = true;
  check(g, 0, 0, /*withBias=*/true);
  g.N = 40; // a bias length that is not a multiple of a tile
  check(g, 0, 0, true);
}

TEST_F(GemmTest, LeadingDimensionsOfASlice) {
  // A is one third of a packed [M, 3 * 384] QKV matrix (lda = 3 * 384).
  GemmArgs g;
  g.M = 100, g.N = 64, g.K = 384;
  check(g, /*lda=*/3 * 384);
  g.transB = true;
  check(g, 3 * 384, /*ldb=*/400);
}

TEST_F(GemmTest, LongReductionIsDeterministic) {
  GemmArgs g;
  g.M = 64, g.N = 64, g.K = 16384, g.transA = true, g.cType = GemmOutput::FP32;
  std::mt19937 saved = rng;
  std::vector<char> first = check(g);
  rng = saved; // the same inputs
  EXPECT_EQ(first, check(g)) << "two runs differ";
}

TEST_F(GemmTest, PlansAreCachedPerShape) {
  GemmArgs g;
  g.M = 33, g.N = 48, g.K = 16;
  check(g);
  std::size_t plans = gemm().cachedPlans();
  check(g);
  EXPECT_EQ(gemm().cachedPlans(), plans);
  g.K = 24;
  check(g);
  EXPECT_EQ(gemm().cachedPlans(), plans + 1);
}

TEST_F(GemmTest, InvalidArgumentsThrow) {
  DeviceTensor buf(1 << 16);
  GemmArgs g;
  g.M = 4, g.N = 4, g.K = 0;
  g.A = g.B = buf.as<std::uint16_t>();
  g.C = buf.as<void>();
  EXPECT_THROW(gemm().run(g), Error);
  g.K = 4;
  g.cType = GemmOutput::FP32;
  g.bias = buf.as<std::uint16_t>();
  EXPECT_THROW(gemm().run(g), Error);
  g.bias = nullptr;
  g.lda = 2; // shorter than K
  EXPECT_THROW(gemm().run(g), Error);
}

} // namespace

int main(int argc, char **argv) { return sparta::test::runGpuTests(argc, argv); }
