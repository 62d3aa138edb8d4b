//===- AttentionKernelTest.cpp - Attention kernels vs. CPU references (GPU) ===//
//
// For every case of AttentionTestCases.h x head dim {32, 64, 128} x {bf16,
// fp16}: forward and backward on the GPU, compared per head with a dense
// masked attention on the CPU. Pass criterion (per tensor O, lse, dQ, dK, dV):
//
//   max|kernel - exact| <= 2 * max|lowp - exact| + 2^-10 * max|exact|
//
// where exact is double precision from the same 16-bit inputs and lowp is a
// straightforward 16-bit implementation (S, P, O, dP, dS, grads rounded to
// the dtype). The slack covers outputs where lowp happens to be exact (e.g.
// a row with a single key has O = V exactly in lowp while the kernel's
// ex2.approx-based P = 1 - O(2^-22) rounds the same way; a 2^-10 relative
// slack is a quarter of a bf16 ulp and twice an fp16 ulp). Every output is
// poisoned with NaN first, so unwritten elements fail. Rows with no allowed
// key must have O = 0 and lse = -inf exactly.
//
// Exits 77 (skipped) when there is no CUDA driver/GPU.
//
//===----------------------------------------------------------------------===//
#include "GpuTestMain.h"
#include "AttentionHarness.h"
#include "TestNumerics.h"

#include "sparta/Error.h"
#include "sparta/ReferenceAttention.h"
#include "sparta/runtime/Nvrtc.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cstdio>
#include <future>
#include <map>
#include <memory>
#include <random>

using namespace sparta;
using namespace sparta::test;

namespace {

// Modules per (d, half), compiled in parallel by main() before the tests run.
std::map<std::pair<int, bool>, std::unique_ptr<rt::Module>> gModules;

const rt::Module &moduleFor(int d, bool half) {
  auto it = gModules.find({d, half});
  if (it == gModules.end())
    throw Error("module not compiled");
  return *it->second;
}

struct Param {
  int caseIndex;
  int d;
  bool half;
  bool fusedDq; // the dK/dV kernels accumulate dQ (sm_90a; skipped elsewhere)
};

bool gFusedDqAvailable = false;

std::string paramName(const testing::TestParamInfo<Param> &info) {
  static const auto cases = allCases();
  return cases[info.param.caseIndex].name + "_d" + std::to_string(info.param.d) +
         (info.param.half ? "_fp16" : "_bf16") + (info.param.fusedDq ? "_fuseddq" : "");
}

std::vector<Param> allParams() {
  std::vector<Param> ps;
  const int n = static_cast<int>(allCases().size());
  for (int c = 0; c < n; ++c)
    for (int d : {32, 64, 128})
      for (bool half : {false, true})
        for (bool fused : {false, true})
          ps.push_back({c, d, half, fused});
  return ps;
}

class AttentionKernel : public testing::TestWithParam<Param> {
protected:
  void SetUp() override {
    if (GetParam().fusedDq && !gFusedDqAvailable)
      GTEST_SKIP() << "the fused dK/dV + dQ kernels need sm_90a";
  }
};

TEST_P(AttentionKernel, ForwardBackwardMatchReference) {
  static const auto cases = allCases();
  const Param prm = GetParam();
  const TestCase &tc = cases[prm.caseIndex];
  const int B = tc.B, H = tc.H, T = tc.T, d = prm.d;
  const float scale = 1.0f / std::sqrt(static_cast<float>(d));
  const Rounder rnd{prm.half};
  const size_t n = static_cast<size_t>(B) * H * T * d;

  // Fresh inputs every run (seed printed for reproduction).
  const unsigned seed = std::random_device{}();
  std::mt19937 gen(seed);
  std::normal_distribution<float> normal(0.f, 1.f);
  HostTensors ht;
  std::vector<float> qf(n), kf(n), vf(n), dof(n);
  auto fill = [&](std::vector<uint16_t> &bits, std::vector<float> &vals) {
    bits.resize(n);
    for (size_t i = 0; i < n; ++i) {
      bits[i] = rnd.bits(normal(gen));
      vals[i] = rnd.value(bits[i]);
    }
  };
  fill(ht.q, qf), fill(ht.k, kf), fill(ht.v, vf), fill(ht.dout, dof);

  DeviceProblem dp(B, H, T, d, tc.bthd);
  dp.upload16(dp.q, ht.q);
  dp.upload16(dp.k, ht.k);
  dp.upload16(dp.v, ht.v);
  dp.upload16(dp.dout, ht.dout);
  // Poison: 0xffff is NaN in bf16 and fp16, 0xffffffff in fp32.
  for (rt::DeviceBuffer *b : {&dp.o, &dp.dq, &dp.dk, &dp.dv, &dp.lse, &dp.oAcc, &dp.delta}) {
    std::vector<uint8_t> ff(b->size(), 0xff);
    b->upload(ff.data(), ff.size());
  }

  const rt::Module &m = moduleFor(d, prm.half);
  rt::Stream stream;
  dp.forward(m, tc, scale, stream);
  dp.backward(m, tc, scale, stream, prm.fusedDq);
  stream.synchronize();

  auto toFloat = [&](const std::vector<uint16_t> &bits) {
    std::vector<float> f(bits.size());
    for (size_t i = 0; i < bits.size(); ++i)
      f[i] = rnd.value(bits[i]);
    return f;
  };
  ht.o = toFloat(dp.download16(dp.o));
  ht.dq = toFloat(dp.download16(dp.dq));
  ht.dk = toFloat(dp.download16(dp.dk));
  ht.dv = toFloat(dp.download16(dp.dv));
  ht.lse.resize(static_cast<size_t>(B) * H * T);
  dp.lse.download(ht.lse.data(), ht.lse.size() * 4);

  // References, one task per (b, h).
  auto setOf = [&](int h) -> const HeadSet & {
    for (const HeadSet &hs : tc.sets)
      if (h >= hs.offset && (h - hs.offset) % hs.step == 0 && (h - hs.offset) / hs.step < hs.count)
        return hs;
    throw Error("head without a mask");
  };
  // sparta/ReferenceAttention.h on each (b, h) slice, the mask as key lists of
  // its head set's predicate; one task per (b, h).
  std::map<const HeadSet *, RowKeys> keys;
  for (const HeadSet &hs : tc.sets)
    keys[&hs] = RowKeys::fromPredicates(T, {[&hs](int64_t i, int64_t j) {
                                          return hs.allowed(static_cast<int>(i), static_cast<int>(j));
                                        }});
  struct HeadResult {
    std::vector<float> o, lse, dq, dk, dv; // [T, d] / [T]
  };
  struct Refs {
    HeadResult exact, lowp;
  };
  const LowPrecision lp = prm.half ? LowPrecision::FP16 : LowPrecision::BF16;
  std::vector<std::future<Refs>> jobs;
  const size_t td = static_cast<size_t>(T) * d;
  for (int b = 0; b < B; ++b)
    for (int h = 0; h < H; ++h)
      jobs.push_back(std::async(std::launch::async, [&, b, h] {
        const size_t off = (static_cast<size_t>(b) * H + h) * td;
        auto slice = [&](const std::vector<float> &t) {
          return std::vector<float>(t.begin() + off, t.begin() + off + td);
        };
        const std::vector<float> q = slice(qf), k = slice(kf), v = slice(vf), dO = slice(dof);
        const AttentionShape one{1, 1, T, d};
        const RowKeys &rk = keys.at(&setOf(h));
        AttentionOutput eo = referenceForward(rk, one, q, k, v, scale);
        AttentionGrads eg = referenceBackward(rk, one, q, k, v, dO, scale);
        AttentionOutput lo = lowPrecisionForward(rk, one, q, k, v, scale, lp);
        AttentionGrads lg = lowPrecisionBackward(rk, one, q, k, v, dO, scale, lp);
        return Refs{{eo.o, eo.lse, eg.dq, eg.dk, eg.dv}, {lo.o, lo.lse, lg.dq, lg.dk, lg.dv}};
      }));

  const char *names[] = {"O", "lse", "dQ", "dK", "dV"};
  ErrorStats kern[5], low[5];
  long emptyRowViolations = 0;
  for (int b = 0; b < B; ++b)
    for (int h = 0; h < H; ++h) {
      Refs r = jobs[b * H + h].get();
      const size_t off = (static_cast<size_t>(b) * H + h) * td;
      const std::vector<float> *kv[5] = {&ht.o, &ht.lse, &ht.dq, &ht.dk, &ht.dv};
      const std::vector<float> *ev[5] = {&r.exact.o, &r.exact.lse, &r.exact.dq, &r.exact.dk,
                                         &r.exact.dv};
      const std::vector<float> *lv[5] = {&r.lowp.o, &r.lowp.lse, &r.lowp.dq, &r.lowp.dk,
                                         &r.lowp.dv};
      for (int t = 0; t < 5; ++t) {
        const size_t len = t == 1 ? static_cast<size_t>(T) : td;
        const size_t base = t == 1 ? (static_cast<size_t>(b) * H + h) * T : off;
        for (size_t i = 0; i < len; ++i) {
          kern[t].add((*kv[t])[base + i], (*ev[t])[i]);
          low[t].add((*lv[t])[i], (*ev[t])[i]);
        }
      }
      // Rows with no key: lse = -inf, O = 0, exactly.
      for (int t = 0; t < T; ++t) {
        if (std::isfinite(r.exact.lse[t]))
          continue;
        const float l = ht.lse[(static_cast<size_t>(b) * H + h) * T + t];
        bool ok = std::isinf(l) && l < 0;
        for (int x = 0; x < d; ++x)
          ok &= ht.o[off + static_cast<size_t>(t) * d + x] == 0.f;
        emptyRowViolations += !ok;
      }
    }

  std::printf("[%s d=%d %s seed=%u]", tc.name.c_str(), d, prm.half ? "fp16" : "bf16", seed);
  for (int t = 0; t < 5; ++t)
    std::printf(" %s %.2e/%.2e", names[t], kern[t].maxErr, low[t].maxErr);
  std::printf("  (kernel/lowp max abs err)\n");
  EXPECT_EQ(emptyRowViolations, 0) << "rows with no key must have O = 0, lse = -inf";
  for (int t = 0; t < 5; ++t) {
    EXPECT_EQ(kern[t].nan, 0) << names[t] << " has NaN (unwritten?) entries";
    const double bound = 2 * low[t].maxErr + std::ldexp(1.0, -10) * std::max(1.0, kern[t].maxRef);
    EXPECT_LE(kern[t].maxErr, bound) << names[t] << ": lowp error " << low[t].maxErr
                                     << ", max |ref| " << kern[t].maxRef << ", seed " << seed;
  }
}

// The backward has no run-to-run variation: dQ contributions of the key tiles
// are added in a fixed order (and dK, dV have one owner per row). Two
// backward passes over the same forward outputs must agree bit for bit; the
// gradients are poisoned in between.
TEST_P(AttentionKernel, BackwardIsBitIdenticalAcrossRuns) {
  static const auto cases = allCases();
  const Param prm = GetParam();
  const TestCase &tc = cases[prm.caseIndex];
  const int d = prm.d;
  const float scale = 1.0f / std::sqrt(static_cast<float>(d));
  const Rounder rnd{prm.half};
  const size_t n = static_cast<size_t>(tc.B) * tc.H * tc.T * d;
  const unsigned seed = std::random_device{}();
  std::mt19937 gen(seed);
  std::normal_distribution<float> normal(0.f, 1.f);
  DeviceProblem dp(tc.B, tc.H, tc.T, d, tc.bthd);
  for (rt::DeviceBuffer *b : {&dp.q, &dp.k, &dp.v, &dp.dout}) {
    std::vector<uint16_t> bits(n);
    for (uint16_t &x : bits)
      x = rnd.bits(normal(gen));
    dp.upload16(*b, bits);
  }
  const rt::Module &m = moduleFor(d, prm.half);
  rt::Stream stream;
  dp.forward(m, tc, scale, stream);
  std::vector<uint16_t> first[3];
  rt::DeviceBuffer *grads[3] = {&dp.dq, &dp.dk, &dp.dv};
  for (int run = 0; run < 2; ++run) {
    for (rt::DeviceBuffer *b : grads) {
      std::vector<uint8_t> ff(b->size(), 0xff);
      b->upload(ff.data(), ff.size());
    }
    dp.backward(m, tc, scale, stream, prm.fusedDq);
    stream.synchronize();
    for (int t = 0; t < 3; ++t) {
      std::vector<uint16_t> bits = dp.download16(*grads[t]);
      if (run == 0) {
        first[t] = std::move(bits);
        continue;
      }
      size_t differing = 0;
      for (size_t i = 0; i < bits.size(); ++i)
        differing += bits[i] != first[t][i];
      const char *names[] = {"dQ", "dK", "dV"};
      EXPECT_EQ(differing, 0u) << names[t] << " differs between runs (seed " << seed
                               << ")";
    }
  }
}

INSTANTIATE_TEST_SUITE_P(All, AttentionKernel, testing::ValuesIn(allParams()), paramName);

} // namespace

#include "AttentionTimingProbe.h"

int main(int argc, char **argv) {
  testing::InitGoogleTest(&argc, argv);
  if (!sparta::test::gpuAvailable())
    return sparta::test::kSkipped;
  try {
    const rt::DeviceInfo &dev = rt::Context::get().device();
    gFusedDqAvailable = rt::archHasWgmma(dev.arch());
    std::printf("device: %s (%s), %d SMs, driver %d, NVRTC %s\n", dev.name.c_str(),
                dev.arch().c_str(), dev.multiProcessors, dev.driverVersion,
                rt::nvrtcVersion().c_str());
    // Compile every (d, dtype) module in parallel; load on this thread.
    const auto cases = allCases();
    std::vector<std::pair<std::pair<int, bool>, std::future<rt::CompiledModule>>> jobs;
    for (int d : {32, 64, 128})
      for (bool half : {false, true})
        jobs.emplace_back(std::make_pair(d, half), std::async(std::launch::async, [&, d, half] {
                            rt::CompileOptions o;
                            o.arch = dev.arch();
                            return rt::compileCuda(moduleSource(cases, d, half, gFusedDqAvailable),
                                                   "attention_test_d" + std::to_string(d) + ".cu", o);
                          }));
    for (auto &[key, fut] : jobs) {
      rt::CompiledModule cm = fut.get();
      gModules[key] = std::make_unique<rt::Module>(cm.cubin, cm.ptx, cm.programName);
    }
  } catch (const std::exception &e) {
    std::printf("setup failed: %s\n", e.what());
    return 1;
  }
  return RUN_ALL_TESTS();
}
