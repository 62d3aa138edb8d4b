//===- AttentionHarness.h - Device buffers and launch sequences for the tests ===//
//
// Runs one TestCase on the GPU the way the runtime will: forward launches per
// mask component (MergeMode), then the backward (preprocess, dK/dV and dQ per
// component, accumulator conversion). Inputs live in a [B, H, T, d] or
// [B, T, H, d] layout; outputs are read back in logical [B, H, T, d] order.
//
//===----------------------------------------------------------------------===//
#pragma once

#include "AttentionTestCases.h"

#include "sparta/runtime/AttentionLaunch.h"
#include "sparta/runtime/Cuda.h"

#include <cstdint>
#include <vector>

namespace sparta::test {

/// Host copies of a problem, all in logical [B, H, T, d] order.
struct HostTensors {
  std::vector<uint16_t> q, k, v, dout;       // 16-bit inputs
  std::vector<float> o, lse, dq, dk, dv;     // kernel outputs (read back)
};

class DeviceProblem {
public:
  DeviceProblem(int B, int H, int T, int d, bool bthd)
      : B_(B), H_(H), T_(T), d_(d), bthd_(bthd) {
    const size_t n = static_cast<size_t>(B) * H * T * d, rows = static_cast<size_t>(B) * H * T;
    for (rt::DeviceBuffer *b : {&q, &k, &v, &o, &dout, &dq, &dk, &dv})
      *b = rt::DeviceBuffer(n * 2);
    lse = rt::DeviceBuffer(rows * 4);
    delta = rt::DeviceBuffer(rows * 4);
    for (rt::DeviceBuffer *b : {&oAcc, &dqAcc, &dkAcc, &dvAcc})
      *b = rt::DeviceBuffer(n * 4);
    // Zeroed once: every backward launch leaves the counters zero again.
    dqSem = rt::DeviceBuffer(rt::dqSemaphoreBytes(B, H, T));
    dqSem.zero(nullptr);
  }

  /// Physical element index of logical (b, h, t, x).
  size_t index(int b, int h, int t, int x) const {
    if (bthd_)
      return ((static_cast<size_t>(b) * T_ + t) * H_ + h) * d_ + x;
    return ((static_cast<size_t>(b) * H_ + h) * T_ + t) * d_ + x;
  }
  TensorArg arg(const rt::DeviceBuffer &buf) const {
    return bthd_ ? rt::tensorBTHD(buf.ptr(), H_, T_, d_) : rt::tensorBHTD(buf.ptr(), H_, T_, d_);
  }

  void upload16(rt::DeviceBuffer &buf, const std::vector<uint16_t> &logical) {
    std::vector<uint16_t> phys(logical.size());
    forEach([&](size_t li, size_t pi) { phys[pi] = logical[li]; });
    buf.upload(phys.data(), phys.size() * 2);
  }
  std::vector<uint16_t> download16(const rt::DeviceBuffer &buf) const {
    std::vector<uint16_t> phys(buf.size() / 2), logical(phys.size());
    buf.download(phys.data(), buf.size());
    forEach([&](size_t li, size_t pi) { logical[li] = phys[pi]; });
    return logical;
  }

  HeadArgs heads(int offset, int step, int count) const {
    return HeadArgs{B_, H_, T_, offset, step, count};
  }

  AttnFwdParams fwdParams(float scale) const {
    AttnFwdParams p{};
    p.q = arg(q), p.k = arg(k), p.v = arg(v), p.o = arg(o);
    p.lse = lse.as<float>();
    p.o_acc = oAcc.as<float>();
    p.scale = scale;
    return p;
  }
  AttnBwdParams bwdParams(float scale) const {
    AttnBwdParams p{};
    p.q = arg(q), p.k = arg(k), p.v = arg(v), p.o = arg(o), p.dout = arg(dout);
    p.dq = arg(dq), p.dk = arg(dk), p.dv = arg(dv);
    p.lse = lse.as<float>();
    p.delta = delta.as<float>();
    p.dq_acc = dqAcc.as<float>(), p.dk_acc = dkAcc.as<float>(), p.dv_acc = dvAcc.as<float>();
    p.dq_sem = dqSem.as<i32>();
    p.scale = scale;
    return p;
  }

  /// Forward of every head set: one launch per component, in order.
  void forward(const rt::Module &m, const TestCase &tc, float scale, const rt::Stream &s) {
    AttnFwdParams p = fwdParams(scale);
    for (const HeadSet &hs : tc.sets)
      for (const Component &c : hs.comps) {
        p.heads = heads(hs.offset, hs.step, hs.count);
        rt::launchAttentionFwd(m.function(fwdKernel(c)), p, c.sched.numQBlocks, d_, kTestTile, 1, &s);
      }
  }

  /// Backward of every head set (the accumulators are zeroed here). With
  /// fusedDq the dK/dV kernels accumulate dQ (dkdvKernel(c, true)): there is
  /// no dQ launch and dQ is converted from dq_acc for every head set.
  void backward(const rt::Module &m, const TestCase &tc, float scale, const rt::Stream &s,
                bool fusedDq = false) {
    AttnBwdParams p = bwdParams(scale);
    p.heads = heads(0, 1, H_);
    rt::launchAttentionBwdPreprocess(m.function("bwd_preprocess"), p, d_, &s);
    bool anyAcc = false;
    for (const HeadSet &hs : tc.sets)
      anyAcc |= hs.accumulate();
    if (anyAcc)
      for (rt::DeviceBuffer *b : {&dkAcc, &dvAcc})
        b->zero(&s);
    if (anyAcc || fusedDq)
      dqAcc.zero(&s);
    for (const HeadSet &hs : tc.sets) {
      p.heads = heads(hs.offset, hs.step, hs.count);
      for (const Component &c : hs.comps) {
        rt::launchAttentionBwdDkdv(m.function(dkdvKernel(c, fusedDq)), p, c.sched.numKBlocks, d_,
                                   kTestTile, 1, &s);
        if (!fusedDq)
          rt::launchAttentionBwdDq(m.function(dqKernel(c)), p, c.sched.numQBlocks, d_, kTestTile, &s);
      }
      if (hs.accumulate() || fusedDq) {
        ConvertParams cp{};
        cp.src[0] = dqAcc.as<float>(), cp.src[1] = dkAcc.as<float>(), cp.src[2] = dvAcc.as<float>();
        cp.dst[0] = arg(dq), cp.dst[1] = arg(dk), cp.dst[2] = arg(dv);
        cp.count = hs.accumulate() ? 3 : 1;
        cp.head_dim = d_;
        cp.heads = p.heads;
        rt::launchConvertAccumulators(m.function("convert_acc"), cp, &s);
      }
    }
  }

  rt::DeviceBuffer q, k, v, o, dout, dq, dk, dv, lse, delta, oAcc, dqAcc, dkAcc, dvAcc, dqSem;

private:
  template <typename F> void forEach(F f) const {
    size_t li = 0;
    for (int b = 0; b < B_; ++b)
      for (int h = 0; h < H_; ++h)
        for (int t = 0; t < T_; ++t)
          for (int x = 0; x < d_; ++x)
            f(li++, index(b, h, t, x));
  }
  int B_, H_, T_, d_;
  bool bthd_;
};

} // namespace sparta::test
