//===- DecoderTest.cpp - Sampling with a key/value cache -------------------===//
//
//  (a) decodeAttention, position by position, against the exact masked
//      attention (ReferenceAttention.h) of the whole sequence, for strided and
//      fixed masks at T = 96 (not a multiple of 64), two rows, two heads:
//      each output element within bf16 rounding (ModelKernelsTestUtil.h's
//      expectBf16Close) of the exact one;
//  (b) the Decoder's logits at every position against the full forward's
//      (Transformer::logitsAt) for the three heads modes and both position
//      kinds, with the attention weights scaled up so that a wrong mask, key or
//      position would show: relative L2 error per position at most 2e-2
//      (both sides round every activation to bf16, in different orders);
//  (c) the cached samplers: right lengths, the text refill past T, the same
//      output for the same seed;
//  (d) speed at T = 4096 (8 layers, d_model 512, 8 heads, fixed L=64 c=16 and
//      dense, random weights): bytes per second of sampleText (a forward over
//      the window per byte) and of sampleTextCached, printed; the cached one
//      must be faster.
//
// Exits 77 (skipped) without a CUDA driver.
//
//===----------------------------------------------------------------------===//
#include "GpuTestMain.h"
#include "ModelKernelsTestUtil.h"
#include "TransformerChecks.h"

#include "sparta/Float16.h"
#include "sparta/Frontend.h"
#include "sparta/ReferenceAttention.h"
#include "sparta/model/Decoder.h"

#include <gtest/gtest.h>

#include <chrono>
#include <cmath>
#include <cstdio>
#include <random>
#include <string>
#include <vector>

using namespace sparta;
using namespace sparta::model;
using namespace sparta::model::test;

namespace {

TEST(DecodeAttention, MatchesTheExactAttentionAtEveryPosition) {
  const int rows = 2, H = 2, dh = 64, D = H * dh, T = 96;
  ModelKernelConfig kc;
  kc.dModel = D;
  ModelKernels kernels(kc);
  for (const char *name : {"strided.mlir", "fixed.mlir"}) {
    ConcretePattern pattern = loadPattern(patternFile(name), {{"T", T}, {"L", 8}});
    ASSERT_EQ(pattern.heads.size(), 2u) << name;
    std::mt19937 rng(11);
    // qkv of every position [rows, T, 3D] and the same values as [B, H, T, d].
    std::vector<float> all = randomBf16(std::size_t(rows) * T * 3 * D, rng);
    const std::size_t n = std::size_t(rows) * H * T * dh;
    std::vector<float> q(n), k(n), v(n);
    for (int r = 0; r < rows; ++r)
      for (int t = 0; t < T; ++t)
        for (int h = 0; h < H; ++h)
          for (int e = 0; e < dh; ++e) {
            const float *src = all.data() + (std::size_t(r) * T + t) * 3 * D + h * dh + e;
            const std::size_t dst = ((std::size_t(r) * H + h) * T + t) * dh + e;
            q[dst] = src[0], k[dst] = src[D], v[dst] = src[2 * D];
          }
    const double scale = 1.0 / std::sqrt(double(dh));
    AttentionOutput exact = referenceForward(pattern, rows, H, dh, q, k, v, scale);

    MaskKeys mk = maskKeys(pattern.heads, T);
    DeviceTensor rowStart = upload(mk.rowStart), keys = upload(mk.keys);
    DeviceTensor headMask = upload(std::vector<int32_t>{0, 1});
    DeviceTensor cache = poisoned(std::size_t(rows) * T * 2 * D * 2), out = poisoned(std::size_t(rows) * D * 2);
    std::vector<float> got(n);
    for (int t = 0; t < T; ++t) {
      std::vector<float> step(std::size_t(rows) * 3 * D);
      for (int r = 0; r < rows; ++r)
        std::copy_n(all.data() + (std::size_t(r) * T + t) * 3 * D, 3 * D, step.data() + std::size_t(r) * 3 * D);
      DeviceTensor qkv = uploadBf16(step);
      kernels.decodeAttention(qkv.as<bf16>(), cache.as<bf16>(), rowStart.as<int64_t>(), keys.as<int32_t>(),
                              headMask.as<int32_t>(), rows, T, H, dh, t, out.as<bf16>());
      std::vector<float> o = downloadBf16(out, std::size_t(rows) * D);
      for (int r = 0; r < rows; ++r)
        for (int h = 0; h < H; ++h)
          for (int e = 0; e < dh; ++e)
            got[((std::size_t(r) * H + h) * T + t) * dh + e] = o[std::size_t(r) * D + h * dh + e];
    }
    expectBf16Close(got, exact.o, name);
  }
  // Bad arguments are named.
  DeviceTensor any(1 << 16);
  EXPECT_THROW(kernels.decodeAttention(any.as<bf16>(), any.as<bf16>(), any.as<int64_t>(), any.as<int32_t>(),
                                       any.as<int32_t>(), rows, T, H, dh, T, any.as<bf16>()),
               Error);
  EXPECT_THROW(kernels.decodeAttention(any.as<bf16>(), any.as<bf16>(), any.as<int64_t>(), any.as<int32_t>(),
                                       any.as<int32_t>(), rows, T, 4, dh, 0, any.as<bf16>()),
               Error);
}

struct Case {
  const char *name;
  HeadsMode mode;
  PositionMode positions;
  const char *pattern;
};

ModelConfig tinyModel(const Case &tc) {
  ModelConfig c;
  c.layers = 2, c.dModel = 64, c.heads = 2, c.ffMult = 4, c.T = 64;
  c.headsMode = tc.mode;
  c.positions = tc.positions;
  c.imageWidth = 8, c.imageHeight = 8;
  c.patternPath = patternFile(tc.pattern);
  c.patternParams = {{"L", 8}};
  if (std::string(tc.pattern).rfind("fixed", 0) == 0) c.patternParams["c"] = 2;
  return c;
}

/// Init weights with the attention's projections scaled up: peaked attention
/// whose output dominates the residual stream, so the logits depend on which
/// keys are attended.
std::vector<float> peakedAttention(const ModelConfig &c) {
  std::vector<float> params = initParameters(c, 5);
  const ParameterLayout layout = parameterLayout(c);
  for (const ParamSpec &p : layout.params)
    if (p.name.find("attn.qkv.weight") != std::string::npos || p.name.find("attn.proj.weight") != std::string::npos)
      for (int64_t i = 0; i < p.numel; ++i) params[std::size_t(p.offset + i)] *= 8.f;
  return params;
}

class DecoderLogitsTest : public testing::TestWithParam<Case> {};

TEST_P(DecoderLogitsTest, MatchTheFullForwardAtEveryPosition) {
  const Case &tc = GetParam();
  ModelConfig c = tinyModel(tc);
  const int rows = 2, T = c.T, V = c.vocab;
  Transformer model(c, rows);
  model.setParameters(peakedAttention(c));
  std::mt19937 rng(3);
  std::vector<uint8_t> inputs(std::size_t(rows) * T);
  for (uint8_t &b : inputs) b = uint8_t(rng() % 256);

  Decoder decoder(model, rows);
  double worst = 0;
  int worstPos = 0;
  for (int t = 0; t < T; ++t) {
    std::vector<uint8_t> column = {inputs[std::size_t(t)], inputs[std::size_t(T + t)]};
    std::vector<float> got = decoder.step(column.data());
    std::vector<float> want = model.logitsAt(inputs.data(), rows, t);
    ASSERT_EQ(got.size(), std::size_t(rows) * V);
    for (int r = 0; r < rows; ++r) {
      double err = 0, ref = 0;
      for (int i = 0; i < V; ++i) {
        const double d = double(got[std::size_t(r) * V + i]) - want[std::size_t(r) * V + i];
        err += d * d, ref += double(want[std::size_t(r) * V + i]) * want[std::size_t(r) * V + i];
      }
      const double rel = std::sqrt(err / ref);
      if (rel > worst) worst = rel, worstPos = t;
      EXPECT_LE(rel, 2e-2) << tc.name << ": position " << t << ", row " << r;
    }
  }
  EXPECT_EQ(decoder.position(), T);
  std::vector<uint8_t> more(rows, 'a');
  EXPECT_THROW(decoder.step(more.data()), Error);
  // After a reset the cache starts again at position 0.
  decoder.reset();
  std::vector<uint8_t> column = {inputs[0], inputs[std::size_t(T)]};
  std::vector<float> again = decoder.step(column.data()), want = model.logitsAt(inputs.data(), rows, 0);
  double err = 0, ref = 0;
  for (std::size_t i = 0; i < want.size(); ++i)
    err += (again[i] - want[i]) * double(again[i] - want[i]), ref += double(want[i]) * want[i];
  EXPECT_LE(std::sqrt(err / ref), 2e-2);
  std::printf("[%s] worst relative logit error %.2e (position %d)\n", tc.name, worst, worstPos);
}

INSTANTIATE_TEST_SUITE_P(
    Tiny, DecoderLogitsTest,
    testing::Values(Case{"multihead_strided", HeadsMode::Multihead, PositionMode::Text, "strided.mlir"},
                    Case{"interleaved_fixed", HeadsMode::Interleaved, PositionMode::Text, "fixed.mlir"},
                    Case{"merged_fixed_image", HeadsMode::Merged, PositionMode::Image, "fixed_merged.mlir"}),
    [](const testing::TestParamInfo<Case> &info) { return std::string(info.param.name); });

TEST(CachedSampling, LengthsRefillAndDeterminism) {
  Case tc{"text", HeadsMode::Multihead, PositionMode::Text, "strided.mlir"};
  ModelConfig c = tinyModel(tc);
  Transformer model(c, 3);
  model.setParameters(peakedAttention(c));
  const std::vector<uint8_t> prompt = {'t', 'h', 'e', ' '};
  SampleOptions opt;
  opt.seed = 9;
  // 150 bytes after a 4-byte prompt pass T = 64 twice: the cache refills.
  std::vector<uint8_t> a = sampleTextCached(model, prompt, 150, opt), b = sampleTextCached(model, prompt, 150, opt);
  EXPECT_EQ(a.size(), 150u);
  EXPECT_EQ(a, b);
  opt.seed = 10;
  EXPECT_NE(sampleTextCached(model, prompt, 150, opt), a);
  // A prompt longer than T keeps its last T bytes.
  std::vector<uint8_t> longPrompt(100, 'x');
  EXPECT_EQ(sampleTextCached(model, longPrompt, 5, opt).size(), 5u);

  Case ic{"image", HeadsMode::Merged, PositionMode::Image, "fixed_merged.mlir"};
  ModelConfig img = tinyModel(ic);
  Transformer images(img, 3);
  std::vector<uint8_t> px = sampleImagesCached(images, 3, 0, opt);
  EXPECT_EQ(px.size(), std::size_t(3) * img.T);
  EXPECT_EQ(px, sampleImagesCached(images, 3, 0, opt));
  EXPECT_THROW(sampleImagesCached(images, 4, 0, opt), Error);
}

TEST(CachedSampling, FasterThanTheFullWindowAtT4096) {
  for (const char *name : {"fixed.mlir", "dense.mlir"}) {
    ModelConfig c;
    c.layers = 8, c.dModel = 512, c.heads = 8, c.T = 4096;
    c.patternPath = patternFile(name);
    c.patternParams = {{"L", 64}};
    if (std::string(name) == "fixed.mlir") c.patternParams["c"] = 16;
    Transformer model(c, 1, 1);
    const std::vector<uint8_t> prompt(16, 'a');
    using Clock = std::chrono::steady_clock;
    const int fullBytes = 32, cachedBytes = c.T - int(prompt.size());
    sampleText(model, prompt, 2); // warm-up: the GEMM plans of both shapes
    sampleTextCached(model, prompt, 2);
    auto t0 = Clock::now();
    sampleText(model, prompt, fullBytes);
    const double full = fullBytes / std::chrono::duration<double>(Clock::now() - t0).count();
    t0 = Clock::now();
    sampleTextCached(model, prompt, cachedBytes);
    const double cached = cachedBytes / std::chrono::duration<double>(Clock::now() - t0).count();
    std::printf("sampling at T=4096, 8x512, %s on %s: full window %.0f bytes/s (%d bytes), cached %.0f "
                "bytes/s (%d bytes, the whole window, decoder set-up included): %.1fx\n",
                name, rt::Context::get().device().name.c_str(), full, fullBytes, cached, cachedBytes,
                cached / full);
    EXPECT_GT(cached, full) << name;
  }
}

} // namespace

int main(int argc, char **argv) { return sparta::test::runGpuTests(argc, argv); }
