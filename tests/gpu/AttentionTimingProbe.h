//===- AttentionTimingProbe.h - A quick timing probe (not a unit test) -----===//
//
// Disabled by default; run with
//   AttentionKernelTest --gtest_also_run_disabled_tests --gtest_filter='*Timing*'
// bf16, d = 64, B = 2, H = 8, T = 16384: (a) causal on the identity map,
// (b) strided A2 through the transpose (L = 128), (c) strided-heads (heads
// 0-3 local band L, heads 4-7 strided).
// CUDA events around 20 repetitions after warm-up, median reported, useful
// TFLOP/s = 4 d pairs (fwd), 10 d pairs (bwd) as in bench/flex_bench.py.
//
//===----------------------------------------------------------------------===//
#pragma once

#include <algorithm>
#include <cstdio>
#include <functional>

namespace {

double medianMs(const std::function<void()> &body, const sparta::rt::Stream &s) {
  return sparta::rt::medianMilliseconds(body, s, 3, 20);
}

TEST(AttentionTiming, DISABLED_Probe) {
  const int B = 2, H = 8, T = 16384, d = 64, L = 128;
  using namespace sparta::test;
  std::vector<TestCase> cases(3);
  cases[0].name = "causal";
  cases[0].sets.resize(1);
  cases[0].sets[0].comps.push_back({stridedSchedule("tp_causal", T, 1, 0)});
  cases[1].name = "strided_transpose";
  cases[1].sets.resize(1);
  cases[1].sets[0].comps.push_back({stridedSchedule("tp_stride", T, L, 0)});
  cases[2].name = "strided_heads";
  cases[2].sets.resize(2);
  cases[2].sets[0].comps.push_back({bandSchedule("tp_band", T, L)});
  cases[2].sets[1].comps.push_back({stridedSchedule("tp_stride", T, L, 0)});
  for (TestCase &c : cases) {
    c.T = T, c.B = B, c.H = H;
    if (c.sets.size() == 1) {
      c.sets[0].count = H;
    } else {
      c.sets[0].offset = 0, c.sets[0].step = 1, c.sets[0].count = H / 2;
      c.sets[1].offset = H / 2, c.sets[1].step = 1, c.sets[1].count = H / 2;
    }
  }
  sparta::rt::CompileOptions o;
  o.arch = sparta::rt::Context::get().device().arch();
  sparta::rt::CompiledModule cm = sparta::rt::compileCuda(moduleSource(cases, d, false), "probe.cu", o);
  sparta::rt::Module m(cm.cubin, cm.ptx, "probe");
  for (const auto &k : cm.kernels)
    std::printf("  %-26s regs %3d spill %d/%d\n", k.name.c_str(), k.registers, k.spillStoreBytes,
                k.spillLoadBytes);

  DeviceProblem dp(B, H, T, d, false);
  {
    // Random 16-bit inputs (never time on zeros); rounded via fp32 bit tricks.
    std::mt19937 gen(1234);
    std::normal_distribution<float> normal(0.f, 1.f);
    std::vector<uint16_t> x(static_cast<size_t>(B) * H * T * d);
    for (sparta::rt::DeviceBuffer *b : {&dp.q, &dp.k, &dp.v, &dp.dout}) {
      for (auto &e : x)
        e = bf16Bits(normal(gen));
      b->upload(x.data(), x.size() * 2);
    }
  }
  sparta::rt::Stream s;
  const float scale = 0.125f;
  for (const TestCase &c : cases) {
    double pairs = 0; // allowed (i, j) over all heads and batches
    for (const HeadSet &hs : c.sets)
      for (int i = 0; i < T; ++i) {
        long n = 0;
        for (const Component &comp : hs.comps) {
          if (comp.sched.name == "tp_causal")
            n += i + 1;
          else if (comp.sched.name == "tp_stride")
            n += i / L + 1;
          else
            n += std::min(i, L) + 1;
        }
        pairs += static_cast<double>(n) * B * hs.count;
      }
    const double fwd = medianMs([&] { dp.forward(m, c, scale, s); }, s);
    const double all = medianMs(
        [&] {
          dp.forward(m, c, scale, s);
          dp.backward(m, c, scale, s);
        },
        s);
    const double tfFwd = 4.0 * d * pairs / (fwd * 1e-3) / 1e12;
    const double tfAll = 14.0 * d * pairs / (all * 1e-3) / 1e12;
    {
      // Backward breakdown (after a forward, so lse/delta are real).
      AttnBwdParams bp = dp.bwdParams(scale);
      const double pre = medianMs(
          [&] {
            bp.heads = dp.heads(0, 1, H);
            sparta::rt::launchAttentionBwdPreprocess(m.function("bwd_preprocess"), bp, d, &s);
          },
          s);
      double dkdv = 0, dq = 0;
      for (const HeadSet &hs : c.sets)
        for (const Component &comp : hs.comps) {
          bp.heads = dp.heads(hs.offset, hs.step, hs.count);
          dkdv += medianMs(
              [&] {
                sparta::rt::launchAttentionBwdDkdv(m.function(dkdvKernel(comp)), bp,
                                                   comp.sched.numKBlocks, d, kTestTile, 1, &s);
              },
              s);
          dq += medianMs(
              [&] {
                sparta::rt::launchAttentionBwdDq(m.function(dqKernel(comp)), bp,
                                                 comp.sched.numQBlocks, d, kTestTile, &s);
              },
              s);
        }
      std::printf("BREAKDOWN %-18s preprocess %.3f ms  dkdv %.3f ms  dq %.3f ms\n",
                  c.name.c_str(), pre, dkdv, dq);
    }
    std::printf("TIMING %-18s fwd %.3f ms (%.1f TFLOP/s)  fwd+bwd %.3f ms (%.1f TFLOP/s)  "
                "density %.4f\n",
                c.name.c_str(), fwd, tfFwd, all, tfAll, pairs / (double(B) * H * T * T));
  }
}

} // namespace
