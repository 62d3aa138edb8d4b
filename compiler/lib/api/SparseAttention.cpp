//===- SparseAttention.cpp - Launch a compiled kernel set -------------------===//
//
// The launch sequence of a kernel set (CodeGen.h lists its kernels):
//
//   forward   for each head mask m: its components' forward kernels in order
//             (MergeMode First/Middle/Last merge through the fp32 o_acc).
//   backward  preprocess (delta = rowsum(dO * O)) for every head; zero the
//             fp32 gradient workspaces if any component accumulates; for each
//             mask, each component's dK/dV kernel in order and each
//             component's dQ kernel in order; then convert the workspaces of
//             the masks that accumulated. A kernel set without dQ kernels
//             (fuseDq on sm_90a) accumulates dQ in the dK/dV pass: dq_acc is
//             always zeroed and converted, and the dq_sem counters, zeroed
//             with the workspaces, order the additions.
//
// The sequences that do not depend on one another (LaunchLanes.h: each
// mask's forward kernels; each mask's dK/dV kernels, and its dQ kernels) run
// on lanes of their own (rt::Lanes, forked from the caller's stream and
// joined back into it), queued with the most work first.
//
// A launch serves the heads h = m, m + n, ... of mask m (grid.y = B x those
// heads), so every kernel runs once per mask, never once per head.
//
//===----------------------------------------------------------------------===//
#include "sparta/SparseAttention.h"

#include "sparta/Autotune.h"
#include "sparta/Error.h"
#include "sparta/LaunchLanes.h"
#include "sparta/Packing.h"
#include "sparta/head_group_sum.cuh"
#include "sparta/params.h"
#include "sparta/runtime/AttentionLaunch.h"
#include "sparta/runtime/Lanes.h"

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

constexpr size_t kWorkspaceAlign = 256;
size_t alignUp(size_t bytes) { return (bytes + kWorkspaceAlign - 1) / kWorkspaceAlign * kWorkspaceAlign; }

/// Hands out consecutive aligned pieces of a Workspace.
class Carver {
public:
  explicit Carver(const Workspace &ws) : ws_(ws) {
    if (ws.data % kWorkspaceAlign)
      throw Error(fmt::format("workspace at {:#x} is not {}-byte aligned", ws.data, kWorkspaceAlign));
  }
  template <typename T> T *take(size_t bytes) {
    if (bytes == 0)
      return nullptr;
    size_t offset = used_;
    used_ += alignUp(bytes);
    if (used_ > ws_.bytes)
      throw Error(fmt::format("workspace of {} bytes is too small: the call needs at least {}",
                              ws_.bytes, used_));
    return reinterpret_cast<T *>(ws_.data + offset);
  }

private:
  Workspace ws_;
  size_t used_ = 0;
};

/// Grows to the largest size asked for; never shrinks.
struct OwnedWorkspace {
  rt::DeviceBuffer buffer;
  Workspace get(size_t bytes) {
    if (buffer.size() < bytes)
      buffer = rt::DeviceBuffer(bytes);
    return Workspace{buffer.ptr(), buffer.size()};
  }
};

/// The pieces of one call's scratch memory, in the order they are carved.
struct ScratchSizes {
  size_t oAcc = 0;                       // forward: fp32 [B, H, T, d] when a mask merges
  size_t delta = 0;                      // backward: fp32 [B, H, T]
  size_t dqAcc = 0, dkAcc = 0, dvAcc = 0; // backward: fp32 [B, H, T, d] when accumulating
  size_t dkGroup = 0, dvGroup = 0;       // backward, grouped kv: dtype [B, H, T, d]
  size_t dqSem = 0;                      // backward, fused dQ: the dq_sem counters
  size_t total() const {
    size_t sum = 0;
    for (size_t s : {oAcc, delta, dqAcc, dkAcc, dvAcc, dkGroup, dvGroup, dqSem})
      sum += alignUp(s);
    return sum;
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
  ElementType dtype = ElementType::BF16;
  int device = 0;
  OwnedWorkspace forwardScratch, backwardScratch;
  rt::Lanes lanes; // the independent launch sequences of a call (see the top)
  // Packed documents: the document of every token, and the kernel set built
  // for them (KernelOptions::documents), compiled on the first call that
  // passes documents; `functions` holds its kernels too.
  OwnedWorkspace docIds;
  CompileOptions options;
  CompiledKernels docsKernels;
  std::unique_ptr<rt::Module> docsModule;
  // The grouped-kv gradient sum (head_group_sum.cuh), compiled with the kernel
  // set so that no call compiles or loads anything (CUDA graph capture).
  std::unique_ptr<rt::Module> groupSumModule;
  rt::Function groupSum;

  Impl(const CompiledKernels &compiled)
      : module(compiled.module.cubin, compiled.module.ptx, compiled.source.name) {
    for (const KernelInfo &info : compiled.source.kernels) {
      functions.emplace(info.name, module.function(info.name));
      anyMerge |= info.role == KernelRole::Forward && info.mode != int(MergeMode::Single);
      anyAccumulate |= info.role == KernelRole::BwdDkDv && info.mode == int(AccMode::Accumulate);
      fusedDq &= info.role != KernelRole::BwdDq;
    }
  }

  /// Calls `launch(heads, kArg, vArg)` for every launch that serves mask m:
  /// one over the heads m, m + n, ... when k and v have q's heads; with
  /// groups (H = G x Hkv), one per kv head g over the group's heads of mask
  /// m, reading k and v of head g through a zero head stride.
  template <typename Launch>
  void forEachLaunch(int m, const TensorView &q, const TensorView &k, const TensorView &v,
                     int64_t T, Launch &&launch) const {
    const int64_t H = q.H, Hkv = k.H;
    if (Hkv == H) {
      const int served = int(headsServed(H, m, numMasks));
      if (served > 0)
        launch(HeadArgs{int(q.B), int(H), int(T), m, numMasks, served}, toArg(k), toArg(v));
      return;
    }
    const int64_t G = H / Hkv;
    for (int64_t g = 0; g < Hkv; ++g) {
      const int64_t lo = g * G, hi = lo + G;
      const int64_t first = lo + ((m - lo) % numMasks + numMasks) % numMasks;
      if (first >= hi)
        continue;
      const int served = int((hi - 1 - first) / numMasks + 1);
      auto groupHead = [&](const TensorView &t) {
        return TensorArg{reinterpret_cast<void *>(t.data + g * t.strideH * 2), t.strideB, 0,
                         t.strideT};
      };
      launch(HeadArgs{int(q.B), int(H), int(T), int(first), numMasks, served}, groupHead(k),
             groupHead(v));
    }
  }

  ScratchSizes forwardSizes(int64_t B, int64_t H, int64_t T) const {
    ScratchSizes s;
    if (anyMerge)
      s.oAcc = size_t(B * H * T) * headDim * sizeof(float);
    return s;
  }
  ScratchSizes backwardSizes(int64_t B, int64_t H, int64_t Hkv, int64_t T) const {
    ScratchSizes s;
    const size_t rows = size_t(B * H * T);
    s.delta = rows * sizeof(float);
    if (anyAccumulate || fusedDq)
      s.dqAcc = rows * headDim * sizeof(float);
    if (anyAccumulate)
      s.dkAcc = s.dvAcc = rows * headDim * sizeof(float);
    if (fusedDq)
      s.dqSem = rt::dqSemaphoreBytes(int(B), int(H), int(T));
    if (Hkv != H)
      s.dkGroup = s.dvGroup = rows * headDim * 2;
    return s;
  }

  void loadGroupSum(const CompileOptions &options);
  /// The kernels' doc_ids for `documents` (null for none) over B rows of T.
  const i32 *documentIds(const ConcretePattern &pattern, const Documents *documents, int64_t B,
                         const rt::Stream &stream);
  /// The kernel set for `documents`: `plain` for none, else the one built for
  /// documents (compiled, or found in the kernel cache, on first use).
  const CompiledKernels &kernelsFor(const ConcretePattern &pattern, const Documents *documents,
                                    const CompiledKernels &plain);
  /// The launches of a forward (backward) over q's batch with the kernel set
  /// `kernels` and the doc_ids `docIds` (null without documents).
  void launchForward(const CompiledKernels &kernels, const TensorView &q, const TensorView &k,
                     const TensorView &v, const TensorView &o, rt::DevicePtr lse,
                     const rt::Stream &stream, const Workspace *workspace, const i32 *docIds,
                     int64_t T);
  void launchBackward(const CompiledKernels &kernels, const TensorView &q, const TensorView &k,
                      const TensorView &v, const TensorView &o, rt::DevicePtr lse,
                      const TensorView &dO, const TensorView &dq, const TensorView &dk,
                      const TensorView &dv, const rt::Stream &stream, const Workspace *workspace,
                      const i32 *docIds, int64_t T);
  /// dk, dv = the sums of each group of G heads of dkHeads, dvHeads.
  void sumHeadGroups(const TensorView &dkHeads, const TensorView &dvHeads, const TensorView &dk,
                     const TensorView &dv, int64_t T, const rt::Stream &stream) const;
  const rt::Function &function(const KernelInfo &info) const { return functions.at(info.name); }
  /// Calls launch(info, lane) for the kernels of launchLanes in its queue
  /// order, each with its lane forked from `stream`, and joins the lanes into
  /// `stream`, also when a launch throws: the work already queued then still
  /// precedes the caller's next.
  template <typename Launch>
  void onLanes(const LaunchLanes &launchLanes, const std::vector<KernelInfo> &kernels,
               const rt::Stream &stream, Launch &&launch) {
    lanes.fork(stream, launchLanes.count);
    try {
      for (const auto &[info, laneIndex] : launchLanes.queue(kernels))
        launch(*info, lanes.lane(laneIndex));
    } catch (...) {
      lanes.join(stream);
      throw;
    }
    lanes.join(stream);
  }
};

HeadGroupSumKernel headGroupSumKernel(int headDim, ElementType dtype) {
  HeadGroupSumKernel kernel;
  kernel.name = fmt::format("sparta_head_group_sum_d{}_{}", headDim, toString(dtype));
  kernel.source = fmt::format(
      "#include \"sparta/head_group_sum.cuh\"\n"
      "extern \"C\" __global__ void __launch_bounds__(sparta::kUtilityThreads)\n"
      "{}(const sparta::HeadGroupSumParams p) {{\n"
      "  sparta::head_group_sum<{}, sparta::DType::{}>(p);\n}}\n",
      kernel.name, headDim, dtype == ElementType::BF16 ? "BF16" : "FP16");
  return kernel;
}

void SparseAttention::Impl::loadGroupSum(const CompileOptions &options) {
  const HeadGroupSumKernel kernel = headGroupSumKernel(headDim, dtype);
  CachedModule compiled = compileCached(kernel.source, kernel.name, options.kernel.arch,
                                        options.wantCubin, options.useCache, options.cacheDir);
  groupSumModule =
      std::make_unique<rt::Module>(compiled.module.cubin, compiled.module.ptx, kernel.name);
  groupSum = groupSumModule->function(kernel.name);
}

const i32 *SparseAttention::Impl::documentIds(const ConcretePattern &pattern,
                                              const Documents *documents, int64_t B,
                                              const rt::Stream &stream) {
  if (!documents)
    return nullptr;
  const std::optional<int64_t> period = translationPeriod(pattern);
  if (!period)
    throw Error(packingRefusal(pattern));
  if (documents->cuSeqlens == 0 || documents->count < 1)
    throw Error(fmt::format("cu_seqlens: a device pointer and at least one document per row are "
                            "needed (got {:#x}, {} documents)",
                            documents->cuSeqlens, documents->count));
  // The boundaries are checked on the host: one small copy, waited for.
  std::vector<int32_t> cu(size_t(B * (documents->count + 1)));
  rt::memcpyDtoH(cu.data(), documents->cuSeqlens, cu.size() * sizeof(int32_t), &stream);
  stream.synchronize();
  const std::vector<int32_t> ids = sparta::documentIds(cu, B, pattern.T, *period);
  const Workspace buffer = docIds.get(ids.size() * sizeof(int32_t));
  rt::memcpyHtoD(buffer.data, ids.data(), ids.size() * sizeof(int32_t), &stream);
  stream.synchronize(); // `ids` is a host temporary
  return reinterpret_cast<const i32 *>(buffer.data);
}

const CompiledKernels &SparseAttention::Impl::kernelsFor(const ConcretePattern &pattern,
                                                         const Documents *documents,
                                                         const CompiledKernels &plain) {
  if (!documents)
    return plain;
  if (!docsModule) {
    CompileOptions docsOptions = options;
    docsOptions.kernel.documents = true;
    docsKernels = compileKernels(pattern, docsOptions);
    docsModule = std::make_unique<rt::Module>(docsKernels.module.cubin, docsKernels.module.ptx,
                                              docsKernels.source.name);
    for (const KernelInfo &info : docsKernels.source.kernels)
      functions.emplace(info.name, docsModule->function(info.name));
  }
  return docsKernels;
}

SparseAttention::SparseAttention(const AttentionConfig &config)
    : SparseAttention(loadPattern(config.patternPath, config.params, config.patternName), config) {}

CompileOptions compileOptionsFor(const AttentionConfig &config, const std::string &arch) {
  CompileOptions options;
  options.kernel.headDim = config.headDim;
  options.kernel.dtype = config.dtype;
  options.kernel.fuseDq = config.fuseDq;
  options.kernel.queryPairs = config.queryPairs;
  options.kernel.keyPairs = config.keyPairs;
  if (config.tile != 0) // an edge the kernels lack is refused by generateKernels
    options.plan = PlanOptions::square(config.tile);
  options.kernel.arch = arch;
  options.useCache = config.useCache;
  options.cacheDir = config.cacheDir;
  return options;
}

SparseAttention::SparseAttention(const ConcretePattern &pattern, const AttentionConfig &config)
    : pattern_(pattern) {
  const int device = config.device >= 0 ? config.device : rt::Context::selectedDevice();
  rt::DeviceScope scope(device);
  AttentionConfig chosen = config;
  if (autotuneRequested(config))
    chosen.tile = autotuneTile(pattern_, config).tile;
  const CompileOptions options = compileOptionsFor(
      chosen, config.arch.empty() ? rt::Context::get().device().arch() : config.arch);
  compiled_ = compileKernels(pattern_, options);
  rt::Context::get();
  impl_ = std::make_unique<Impl>(compiled_);
  impl_->numMasks = int(pattern_.heads.size());
  impl_->headDim = config.headDim;
  impl_->dtype = config.dtype;
  impl_->device = device;
  impl_->scale = config.scale > 0 ? config.scale : 1.f / std::sqrt(float(config.headDim));
  impl_->loadGroupSum(options);
  impl_->options = options;
}

SparseAttention::~SparseAttention() {
  // The module and the buffers belong to the kernels' device: release them there.
  rt::DeviceScope scope(impl_->device);
  impl_.reset();
}

size_t SparseAttention::workspaceBytes() const {
  return impl_->forwardScratch.buffer.size() + impl_->backwardScratch.buffer.size();
}

size_t SparseAttention::forwardWorkspaceBytes(int64_t B, int64_t H) const {
  return impl_->forwardSizes(B, H, T()).total();
}

size_t SparseAttention::backwardWorkspaceBytes(int64_t B, int64_t H, int64_t Hkv) const {
  return impl_->backwardSizes(B, H, Hkv, T()).total();
}

int SparseAttention::device() const { return impl_->device; }

namespace {

void checkView(const char *what, const TensorView &t, const char *likeName,
               const TensorView &like, int64_t T, int headDim) {
  if (t.T != T)
    throw Error(fmt::format("{}: sequence length {} does not match the compiled kernels' T = {}",
                            what, t.T, T));
  if (t.d != headDim)
    throw Error(fmt::format("{}: head dim {} does not match the compiled kernels' {}", what, t.d,
                            headDim));
  if (t.B != like.B || t.H != like.H)
    throw Error(fmt::format("{}: shape [B={}, H={}] differs from {}'s [B={}, H={}]", what, t.B,
                            t.H, likeName, like.B, like.H));
  if (t.B < 1 || t.H < 1 || t.B * t.H > 65535)
    throw Error(fmt::format("{}: B x H = {} x {} must be in [1, 65535]", what, t.B, t.H));
  // Alignment and strides are checked by the launch helpers (AttentionLaunch.h).
  if (t.data == 0)
    throw Error(fmt::format("{}: null device pointer", what));
}

/// q-shaped views match q; k-shaped ones (k, v and their gradients) match k,
/// whose head count divides q's.
void checkViews(std::initializer_list<std::pair<const char *, const TensorView *>> qShaped,
                std::initializer_list<std::pair<const char *, const TensorView *>> kShaped,
                int64_t T, int headDim) {
  const TensorView &q = *qShaped.begin()->second, &k = *kShaped.begin()->second;
  for (auto [name, view] : qShaped)
    checkView(name, *view, "q", q, T, headDim);
  if (k.B != q.B || k.H < 1 || q.H % k.H != 0)
    throw Error(fmt::format("k: shape [B={}, H={}] does not fit q's [B={}, H={}]: k and v need "
                            "q's batch and a number of heads that divides q's",
                            k.B, k.H, q.B, q.H));
  for (auto [name, view] : kShaped)
    checkView(name, *view, "k", k, T, headDim);
}

} // namespace

namespace {

/// How a call's launches split its batch: the whole batch at once, or, with
/// doc_ids (indexed by token row alone), one row of B at a time.
struct BatchRows {
  const i32 *docIds; // [B, T], or null: no documents
  int64_t B, H, T;

  int64_t count() const { return docIds ? B : 1; }
  /// Launch b's part of a [B, ...] tensor view (row b as a batch of one).
  TensorView view(const TensorView &t, int64_t b) const {
    if (!docIds)
      return t;
    TensorView row = t;
    row.data = t.data + rt::DevicePtr(b * t.strideB * kElemBytes);
    row.B = 1;
    return row;
  }
  /// Launch b's part of the [B, H, T] lse and of the doc_ids.
  rt::DevicePtr lse(rt::DevicePtr all, int64_t b) const {
    return all + rt::DevicePtr(b * H * T * int64_t(sizeof(float)));
  }
  const i32 *ids(int64_t b) const { return docIds ? docIds + b * T : nullptr; }
};

} // namespace

void SparseAttention::forward(const TensorView &q, const TensorView &k, const TensorView &v,
                              const TensorView &o, rt::DevicePtr lse, const rt::Stream &stream,
                              const Workspace *workspace, const Documents *documents) {
  checkViews({{"q", &q}, {"o", &o}}, {{"k", &k}, {"v", &v}}, T(), impl_->headDim);
  if (lse == 0)
    throw Error("lse: null device pointer");
  rt::DeviceScope scope(impl_->device);
  // With documents, every row's boundaries are checked and the doc_ids built
  // once per call. The document kernels index doc_ids by token row alone, so
  // they launch one batch row at a time, each with its row's ids.
  const i32 *ids = impl_->documentIds(pattern_, documents, q.B, stream);
  const CompiledKernels &kernels = impl_->kernelsFor(pattern_, documents, compiled_);
  const BatchRows rows{ids, q.B, q.H, T()};
  for (int64_t b = 0; b < rows.count(); ++b)
    impl_->launchForward(kernels, rows.view(q, b), rows.view(k, b), rows.view(v, b),
                         rows.view(o, b), rows.lse(lse, b), stream, workspace, rows.ids(b), T());
}

void SparseAttention::Impl::launchForward(const CompiledKernels &kernels, const TensorView &q,
                                          const TensorView &k, const TensorView &v,
                                          const TensorView &o, rt::DevicePtr lse,
                                          const rt::Stream &stream, const Workspace *workspace,
                                          const i32 *docIds, int64_t T) {
  const ScratchSizes sizes = forwardSizes(q.B, q.H, T);
  Carver scratch(workspace ? *workspace : forwardScratch.get(sizes.total()));
  AttnFwdParams p{};
  p.q = toArg(q);
  p.o = toArg(o);
  p.lse = reinterpret_cast<float *>(lse);
  p.o_acc = scratch.take<float>(sizes.oAcc);
  p.scale = scale;
  p.doc_ids = docIds;
  // One lane per mask.
  const LaunchLanes launchLanes(kernels.source.kernels, numMasks, q.H, {KernelRole::Forward});
  onLanes(launchLanes, kernels.source.kernels, stream,
          [&](const KernelInfo &info, const rt::Stream &lane) {
            forEachLaunch(info.maskIndex, q, k, v, T,
                          [&](const HeadArgs &heads, const TensorArg &kArg, const TensorArg &vArg) {
                            p.heads = heads;
                            p.k = kArg;
                            p.v = vArg;
                            rt::launchAttentionFwd(function(info), p, info.blocksPerHead, headDim,
                                                   info.tile, info.tilesPerCta, &lane);
                          });
          });
}

void SparseAttention::backward(const TensorView &q, const TensorView &k, const TensorView &v,
                               const TensorView &o, rt::DevicePtr lse, const TensorView &dO,
                               const TensorView &dq, const TensorView &dk, const TensorView &dv,
                               const rt::Stream &stream, const Workspace *workspace,
                               const Documents *documents) {
  checkViews({{"q", &q}, {"o", &o}, {"dO", &dO}, {"dq", &dq}},
             {{"k", &k}, {"v", &v}, {"dk", &dk}, {"dv", &dv}}, T(), impl_->headDim);
  if (lse == 0)
    throw Error("lse: null device pointer");
  rt::DeviceScope scope(impl_->device);
  // As in forward: the doc_ids once per call, one batch row at a time with them.
  const i32 *ids = impl_->documentIds(pattern_, documents, q.B, stream);
  const CompiledKernels &kernels = impl_->kernelsFor(pattern_, documents, compiled_);
  const BatchRows rows{ids, q.B, q.H, T()};
  for (int64_t b = 0; b < rows.count(); ++b)
    impl_->launchBackward(kernels, rows.view(q, b), rows.view(k, b), rows.view(v, b),
                          rows.view(o, b), rows.lse(lse, b), rows.view(dO, b), rows.view(dq, b),
                          rows.view(dk, b), rows.view(dv, b), stream, workspace, rows.ids(b), T());
}

void SparseAttention::Impl::launchBackward(const CompiledKernels &kernels, const TensorView &q,
                                           const TensorView &k, const TensorView &v,
                                           const TensorView &o, rt::DevicePtr lse,
                                           const TensorView &dO, const TensorView &dq,
                                           const TensorView &dk, const TensorView &dv,
                                           const rt::Stream &stream, const Workspace *workspace,
                                           const i32 *docIds, int64_t T) {
  const int64_t B = q.B, H = q.H, Hkv = k.H;
  const bool grouped = Hkv != H;
  const ScratchSizes sizes = backwardSizes(B, H, Hkv, T);
  Carver scratch(workspace ? *workspace : backwardScratch.get(sizes.total()));
  AttnBwdParams p{};
  p.q = toArg(q);
  p.k = toArg(k);
  p.v = toArg(v);
  p.o = toArg(o);
  p.dout = toArg(dO);
  p.dq = toArg(dq);
  p.lse = reinterpret_cast<const float *>(lse);
  p.delta = scratch.take<float>(sizes.delta);
  p.scale = scale;
  p.dq_acc = scratch.take<float>(sizes.dqAcc);
  p.dk_acc = scratch.take<float>(sizes.dkAcc);
  p.dv_acc = scratch.take<float>(sizes.dvAcc);
  p.dq_sem = scratch.take<i32>(sizes.dqSem);
  p.doc_ids = docIds;
  // Grouped kv: every query head's dK and dV go to [B, H, T, d] buffers that
  // head_group_sum reduces into dk and dv at the end.
  const TensorView dkHeads =
      grouped ? TensorView::bhtd(rt::DevicePtr(scratch.take<char>(sizes.dkGroup)), B, H, T,
                                 headDim)
              : dk;
  const TensorView dvHeads =
      grouped ? TensorView::bhtd(rt::DevicePtr(scratch.take<char>(sizes.dvGroup)), B, H, T,
                                 headDim)
              : dv;
  p.dk = toArg(dkHeads);
  p.dv = toArg(dvHeads);
  for (auto [acc, bytes] : {std::pair{p.dq_acc, sizes.dqAcc}, std::pair{p.dk_acc, sizes.dkAcc},
                            std::pair{p.dv_acc, sizes.dvAcc}})
    if (acc)
      rt::memsetZero(reinterpret_cast<rt::DevicePtr>(acc), bytes, &stream);
  if (p.dq_sem)
    rt::memsetZero(reinterpret_cast<rt::DevicePtr>(p.dq_sem), sizes.dqSem, &stream);
  for (const KernelInfo &info : kernels.source.kernels)
    if (info.role == KernelRole::BwdPreprocess) {
      p.heads = HeadArgs{int(B), int(H), int(T), 0, 1, int(H)};
      rt::launchAttentionBwdPreprocess(function(info), p, headDim, &stream);
    }
  std::vector<bool> accumulated(numMasks, false);
  // Two lanes per mask: its dK/dV kernels, its dQ kernels.
  const LaunchLanes launchLanes(kernels.source.kernels, numMasks, H,
                                {KernelRole::BwdDkDv, KernelRole::BwdDq});
  onLanes(launchLanes, kernels.source.kernels, stream,
          [&](const KernelInfo &info, const rt::Stream &lane) {
            forEachLaunch(
                info.maskIndex, q, k, v, T,
                [&](const HeadArgs &heads, const TensorArg &kArg, const TensorArg &vArg) {
                  p.heads = heads;
                  p.k = kArg;
                  p.v = vArg;
                  if (info.role == KernelRole::BwdDkDv)
                    rt::launchAttentionBwdDkdv(function(info), p, info.blocksPerHead, headDim,
                                               info.tile, info.tilesPerCta, &lane);
                  else
                    rt::launchAttentionBwdDq(function(info), p, info.blocksPerHead, headDim,
                                             info.tile, &lane);
                  accumulated[info.maskIndex] =
                      accumulated[info.maskIndex] || info.mode == int(AccMode::Accumulate);
                });
          });
  for (const KernelInfo &info : kernels.source.kernels) {
    if (info.role != KernelRole::Convert)
      continue;
    for (int m = 0; m < numMasks; ++m) {
      const int served = int(headsServed(H, m, numMasks));
      if ((!accumulated[m] && !fusedDq) || served == 0)
        continue;
      ConvertParams c{};
      c.src[0] = p.dq_acc;
      c.src[1] = p.dk_acc;
      c.src[2] = p.dv_acc;
      c.dst[0] = p.dq;
      c.dst[1] = p.dk;
      c.dst[2] = p.dv;
      c.count = accumulated[m] ? 3 : 1; // dQ alone: the dK/dV pass wrote dK, dV
      c.head_dim = headDim;
      c.heads = HeadArgs{int(B), int(H), int(T), m, numMasks, served};
      rt::launchConvertAccumulators(function(info), c, &stream);
    }
  }
  if (grouped)
    sumHeadGroups(dkHeads, dvHeads, dk, dv, T, stream);
}

void SparseAttention::Impl::sumHeadGroups(const TensorView &dkHeads, const TensorView &dvHeads,
                                          const TensorView &dk, const TensorView &dv, int64_t T,
                                          const rt::Stream &stream) const {
  for (auto [name, t] : {std::pair<const char *, const TensorView *>{"dk", &dk}, {"dv", &dv}})
    if (t->data % 16 || t->strideB % 8 || t->strideH % 8 || t->strideT % 8)
      throw Error(fmt::format("{} must be 16-byte aligned with strides that are multiples of 8 "
                              "elements (ptr {:#x}, strides b {} h {} t {})",
                              name, t->data, t->strideB, t->strideH, t->strideT));
  HeadGroupSumParams g{};
  g.src[0] = toArg(dkHeads);
  g.src[1] = toArg(dvHeads);
  g.dst[0] = toArg(dk);
  g.dst[1] = toArg(dv);
  g.count = 2;
  g.batch = int(dk.B);
  g.kv_heads = int(dk.H);
  g.group = int(dkHeads.H / dk.H);
  g.seq_len = int(T);
  const unsigned blocks = unsigned((T + kRowsPerUtilityBlock - 1) / kRowsPerUtilityBlock);
  rt::launch(groupSum, rt::Dim3{blocks, unsigned(dk.B * dk.H), 2},
             rt::Dim3{unsigned(kUtilityThreads), 1, 1}, 0, &stream, g);
}

} // namespace sparta
