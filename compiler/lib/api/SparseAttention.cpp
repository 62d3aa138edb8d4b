//===- SparseAttention.cpp - Launch a compiled kernel set -------------------===//
//
// The launch sequence of a kernel set (CodeGen.h lists its kernels):
//
//   forward   for each head mask m: its components' forward kernels in order
//             (MergeMode First/Middle/Last merge through the fp32 o_acc).
//   backward  preprocess (delta = rowsum(dO * O)) for every head; zero the
//             fp32 gradient workspaces if any component accumulates; for each
//             mask, each component's dK/dV and dQ kernels; then convert the
//             workspaces of the masks that accumulated. A kernel set without
//             dQ kernels (fuseDq on sm_90a) accumulates dQ in the dK/dV
//             pass: dq_acc is always zeroed and converted, and the dq_sem
//             counters (zeroed once, left zero by every launch) order the
//             additions.
//
// A launch serves the heads h = m, m + n, ... of mask m (grid.y = B x those
// heads), so every kernel runs once per mask, never once per head.
//
//===----------------------------------------------------------------------===//
#include "sparta/SparseAttention.h"

#include "sparta/Error.h"
#include "sparta/params.h"
#include "sparta/runtime/AttentionLaunch.h"

#include <fmt/format.h>

#include <cmath>
#include <map>

namespace sparta {

TensorView TensorView::bhtd(rt::DevicePtr data, int64_t B, int64_t H, int64_t T, int64_t d) {
  return TensorView{data, B, H, T, d, H * T * d, T * d, d};
}

TensorView TensorView::bthd(rt::DevicePtr data, int64_t B, int64_t H, int64_t T, int64_t d) {
  return TensorView{data, B, H, T, d, T * H * d, d, H * d};
}

namespace {

TensorArg toArg(const TensorView &t) {
  return TensorArg{reinterpret_cast<void *>(t.data), t.strideB, t.strideH, t.strideT};
}

/// Grows to the largest size asked for; never shrinks.
struct Workspace {
  rt::DeviceBuffer buffer;
  float *get(size_t bytes) {
    if (buffer.size() < bytes)
      buffer = rt::DeviceBuffer(bytes);
    return buffer.as<float>();
  }
};

} // namespace

struct SparseAttention::Impl {
  rt::Module module;
  std::map<std::string, rt::Function> functions;
  int numMasks = 1;
  bool anyMerge = false, anyAccumulate = false;
  bool fusedDq = true; // no dQ kernel: the dK/dV pass accumulates dQ
  float scale = 1.f;
  int headDim = 64;
  Workspace oAcc, delta, dqAcc, dkAcc, dvAcc;
  rt::DeviceBuffer dqSem; // zero between launches

  Impl(const CompiledKernels &compiled)
      : module(compiled.module.cubin, compiled.module.ptx, compiled.source.name) {
    for (const KernelInfo &info : compiled.source.kernels) {
      functions.emplace(info.name, module.function(info.name));
      anyMerge |= info.role == KernelRole::Forward && info.mode != int(MergeMode::Single);
      anyAccumulate |= info.role == KernelRole::BwdDkDv && info.mode == int(AccMode::Accumulate);
      fusedDq &= info.role != KernelRole::BwdDq;
    }
  }

  /// The dq_sem counters for [B, H, T], zeroed when (re)allocated.
  i32 *semaphores(int64_t B, int64_t H, int64_t T, const rt::Stream &stream) {
    const size_t bytes = rt::dqSemaphoreBytes(int(B), int(H), int(T));
    if (dqSem.size() < bytes) {
      dqSem = rt::DeviceBuffer(bytes);
      rt::memsetZero(dqSem.ptr(), bytes, &stream);
    }
    return dqSem.as<i32>();
  }

  /// Heads of mask m among H heads: m, m + n, ...
  HeadArgs headsOf(int m, int64_t B, int64_t H, int64_t T) const {
    int served = H > m ? int((H - m + numMasks - 1) / numMasks) : 0;
    return HeadArgs{int(B), int(H), int(T), m, numMasks, served};
  }

  const rt::Function &function(const KernelInfo &info) const { return functions.at(info.name); }
};

SparseAttention::SparseAttention(const AttentionConfig &config)
    : SparseAttention(loadPattern(config.patternPath, config.params, config.patternName), config) {}

SparseAttention::SparseAttention(const ConcretePattern &pattern, const AttentionConfig &config)
    : pattern_(pattern) {
  CompileOptions options;
  options.kernel.headDim = config.headDim;
  options.kernel.dtype = config.dtype;
  options.kernel.arch =
      config.arch.empty() ? rt::Context::get().device().arch() : config.arch;
  options.kernel.fuseDq = config.fuseDq;
  options.useCache = config.useCache;
  options.cacheDir = config.cacheDir;
  compiled_ = compileKernels(pattern_, options);
  rt::Context::get().makeCurrent();
  impl_ = std::make_unique<Impl>(compiled_);
  impl_->numMasks = int(pattern_.heads.size());
  impl_->headDim = config.headDim;
  impl_->scale = config.scale > 0 ? config.scale : 1.f / std::sqrt(float(config.headDim));
}

SparseAttention::~SparseAttention() = default;

size_t SparseAttention::workspaceBytes() const {
  return impl_->oAcc.buffer.size() + impl_->delta.buffer.size() + impl_->dqAcc.buffer.size() +
         impl_->dkAcc.buffer.size() + impl_->dvAcc.buffer.size() + impl_->dqSem.size();
}

namespace {

void checkView(const char *what, const TensorView &t, const TensorView &like, int64_t T,
               int headDim) {
  if (t.T != T)
    throw Error(fmt::format("{}: sequence length {} does not match the compiled kernels' T = {}",
                            what, t.T, T));
  if (t.d != headDim)
    throw Error(fmt::format("{}: head dim {} does not match the compiled kernels' {}", what, t.d,
                            headDim));
  if (t.B != like.B || t.H != like.H)
    throw Error(fmt::format("{}: shape [B={}, H={}] differs from q's [B={}, H={}]", what, t.B,
                            t.H, like.B, like.H));
  if (t.B < 1 || t.H < 1 || t.B * t.H > 65535)
    throw Error(fmt::format("{}: B x H = {} x {} must be in [1, 65535]", what, t.B, t.H));
  // Alignment and strides are checked by the launch helpers (AttentionLaunch.h).
  if (t.data == 0)
    throw Error(fmt::format("{}: null device pointer", what));
}

} // namespace

void SparseAttention::forward(const TensorView &q, const TensorView &k, const TensorView &v,
                              const TensorView &o, rt::DevicePtr lse, const rt::Stream &stream) {
  for (auto [name, view] : {std::pair<const char *, const TensorView *>{"q", &q}, {"k", &k},
                            {"v", &v}, {"o", &o}})
    checkView(name, *view, q, T(), impl_->headDim);
  if (lse == 0)
    throw Error("lse: null device pointer");
  rt::Context::get().makeCurrent();
  size_t rows = size_t(q.B * q.H * T());
  AttnFwdParams p{};
  p.q = toArg(q);
  p.k = toArg(k);
  p.v = toArg(v);
  p.o = toArg(o);
  p.lse = reinterpret_cast<float *>(lse);
  p.o_acc = impl_->anyMerge ? impl_->oAcc.get(rows * impl_->headDim * sizeof(float)) : nullptr;
  p.scale = impl_->scale;
  for (const KernelInfo &info : compiled_.source.kernels) {
    if (info.role != KernelRole::Forward)
      continue;
    p.heads = impl_->headsOf(info.maskIndex, q.B, q.H, T());
    if (p.heads.heads_in_launch > 0)
      rt::launchAttentionFwd(impl_->function(info), p, info.blocksPerHead, impl_->headDim, &stream);
  }
}

void SparseAttention::backward(const TensorView &q, const TensorView &k, const TensorView &v,
                               const TensorView &o, rt::DevicePtr lse, const TensorView &dO,
                               const TensorView &dq, const TensorView &dk, const TensorView &dv,
                               const rt::Stream &stream) {
  for (auto [name, view] : {std::pair<const char *, const TensorView *>{"q", &q}, {"k", &k},
                            {"v", &v}, {"o", &o}, {"dO", &dO}, {"dq", &dq}, {"dk", &dk},
                            {"dv", &dv}})
    checkView(name, *view, q, T(), impl_->headDim);
  if (lse == 0)
    throw Error("lse: null device pointer");
  rt::Context::get().makeCurrent();
  size_t rows = size_t(q.B * q.H * T());
  size_t accBytes = rows * impl_->headDim * sizeof(float);
  AttnBwdParams p{};
  p.q = toArg(q);
  p.k = toArg(k);
  p.v = toArg(v);
  p.o = toArg(o);
  p.dout = toArg(dO);
  p.dq = toArg(dq);
  p.dk = toArg(dk);
  p.dv = toArg(dv);
  p.lse = reinterpret_cast<const float *>(lse);
  p.delta = impl_->delta.get(rows * sizeof(float));
  p.scale = impl_->scale;
  if (impl_->anyAccumulate || impl_->fusedDq) {
    p.dq_acc = impl_->dqAcc.get(accBytes);
    rt::memsetZero(reinterpret_cast<rt::DevicePtr>(p.dq_acc), accBytes, &stream);
  }
  if (impl_->fusedDq)
    p.dq_sem = impl_->semaphores(q.B, q.H, T(), stream);
  if (impl_->anyAccumulate) {
    p.dk_acc = impl_->dkAcc.get(accBytes);
    p.dv_acc = impl_->dvAcc.get(accBytes);
    for (float *acc : {p.dk_acc, p.dv_acc})
      rt::memsetZero(reinterpret_cast<rt::DevicePtr>(acc), accBytes, &stream);
  }
  for (const KernelInfo &info : compiled_.source.kernels)
    if (info.role == KernelRole::BwdPreprocess) {
      p.heads = HeadArgs{int(q.B), int(q.H), int(T()), 0, 1, int(q.H)};
      rt::launchAttentionBwdPreprocess(impl_->function(info), p, impl_->headDim, &stream);
    }
  std::vector<bool> accumulated(impl_->numMasks, false);
  for (const KernelInfo &info : compiled_.source.kernels) {
    if (info.role != KernelRole::BwdDkDv && info.role != KernelRole::BwdDq)
      continue;
    p.heads = impl_->headsOf(info.maskIndex, q.B, q.H, T());
    if (p.heads.heads_in_launch == 0)
      continue;
    if (info.role == KernelRole::BwdDkDv)
      rt::launchAttentionBwdDkdv(impl_->function(info), p, info.blocksPerHead, impl_->headDim, &stream);
    else
      rt::launchAttentionBwdDq(impl_->function(info), p, info.blocksPerHead, impl_->headDim, &stream);
    accumulated[info.maskIndex] =
        accumulated[info.maskIndex] || info.mode == int(AccMode::Accumulate);
  }
  for (const KernelInfo &info : compiled_.source.kernels) {
    if (info.role != KernelRole::Convert)
      continue;
    for (int m = 0; m < impl_->numMasks; ++m) {
      if (!accumulated[m] && !impl_->fusedDq)
        continue;
      ConvertParams c{};
      c.src[0] = p.dq_acc;
      c.src[1] = p.dk_acc;
      c.src[2] = p.dv_acc;
      c.dst[0] = p.dq;
      c.dst[1] = p.dk;
      c.dst[2] = p.dv;
      c.count = accumulated[m] ? 3 : 1; // dQ alone: the dK/dV pass wrote dK, dV
      c.head_dim = impl_->headDim;
      c.heads = impl_->headsOf(m, q.B, q.H, T());
      rt::launchConvertAccumulators(impl_->function(info), c, &stream);
    }
  }
}

} // namespace sparta
