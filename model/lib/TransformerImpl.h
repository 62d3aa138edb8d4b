//===- TransformerImpl.h - Private state of the GPU Transformer ------------===//
//
// Shared by Parameters.cpp (construction, buffers, state, optimizer),
// Forward.cpp and Backward.cpp. Not installed.
//
//===----------------------------------------------------------------------===//
#pragma once

#include "sparta/SparseAttention.h"
#include "sparta/model/Gemm.h"
#include "sparta/model/Transformer.h"

#include <memory>
#include <string>
#include <vector>

namespace sparta::model::detail {

/// Activations of one layer (bf16 [R, .] unless noted; stats fp32 [R]).
struct LayerActs {
  bf16 *xin = nullptr, *h1 = nullptr, *qkv = nullptr, *o = nullptr, *xmid = nullptr, *h2 = nullptr,
       *f = nullptr, *u = nullptr;
  float *mean1 = nullptr, *rstd1 = nullptr, *mean2 = nullptr, *rstd2 = nullptr;
  float *lse = nullptr; // [B, H, T]
};

/// Element offsets of one block's parameters in the flat buffers.
struct LayerParams {
  int64_t ln1w, ln1b, qkvw, qkvb, projw, projb, ln2w, ln2b, fc1w, fc1b, fc2w, fc2b;
};

/// Every device pointer of the model, carved out of five allocations
/// (parameters, optimizer, activations, scratch, workspace). With null bases
/// only the sizes are computed (plannedMemory).
struct Buffers {
  float *master = nullptr, *grad = nullptr, *m = nullptr, *v = nullptr;
  bf16 *weights = nullptr;
  std::vector<LayerActs> acts;
  bf16 *xfinal = nullptr, *hf = nullptr;
  float *meanf = nullptr, *rstdf = nullptr;
  std::int32_t *tokens = nullptr, *targets = nullptr;
  bf16 *logits = nullptr;
  float *lossRows = nullptr;
  bf16 *tmp = nullptr, *dx = nullptr, *dtmp = nullptr, *dbig = nullptr; // dbig: [R, max(F, 3D)]
  float *ws = nullptr;
  GradNormResult *norm = nullptr;
};

/// Sizes in bytes of the five allocations, and (with bases) the pointers.
void carveBuffers(const ModelConfig &config, const ParameterLayout &layout, int batch,
                  std::size_t workspaceBytes, char *const bases[5], Buffers &out,
                  std::size_t sizes[5]);

enum class Phase { Forward, Recompute };

} // namespace sparta::model::detail

namespace sparta::model {

struct Transformer::Impl {
  ModelConfig cfg;
  ParameterLayout layout;
  int maxBatch = 0;
  int N = 0, D = 0, F = 0, V = 0, T = 0, H = 0, dh = 0;

  rt::Stream stream;
  std::unique_ptr<ModelKernels> k;
  std::unique_ptr<Gemm> gemm;
  std::vector<std::unique_ptr<SparseAttention>> attention; // one per distinct head set
  std::vector<int> layerAttention;                           // layer -> index into attention

  std::vector<PositionIndex> positions;
  int64_t tokEmb = 0, lnfW = 0, lnfB = 0, headW = 0;
  std::vector<int64_t> posTables;
  std::vector<detail::LayerParams> lp;

  rt::DeviceBuffer alloc[5];
  detail::Buffers b;
  MemoryReport mem;
  Transformer::BackwardStageHook stageHook;
  // The documents of the rows of the current call (packed rows only): their
  // cu_seqlens on the device, rows x (N + 1) int32, grown to the largest yet.
  rt::DeviceBuffer cuSeqlens;
  Documents documents;
  bool packed = false;

  explicit Impl(const ModelConfig &config, int maxBatch);

  const rt::Stream *s() const { return &stream; }
  const bf16 *w(int64_t off) const { return b.weights + off; }
  float *g(int64_t off) const { return b.grad + off; }

  /// The attention's documents argument: null unless the call is packed.
  const Documents *attentionDocuments() const { return packed ? &documents : nullptr; }

  // Forward.cpp
  /// Tokens and (withTargets) targets of `rows` rows, and with `rows` packed
  /// their documents; a target that does not count becomes kIgnoreTarget.
  void uploadTokens(const uint8_t *tokens, int rows, int stride, bool withTargets,
                    const PackedRows *packed);
  void forward(int rows, float p, uint64_t seed, uint64_t offset);
  void layerForward(int l, int rows, float p, uint64_t seed, uint64_t offset, detail::Phase phase);
  /// The sum of the losses; with wantGradient, dlogits of their sum / meanOver.
  double lossAndGradient(int rows, bool wantGradient, double meanOver);
  void linear(const bf16 *x, int64_t wOff, int64_t bOff, int rows, int in, int out, bf16 *y);
  TensorView qkvView(const bf16 *qkv, int which, int rows) const;
  TensorView headsView(const bf16 *o, int rows) const;

  // Backward.cpp
  void stageQueued(int stage) {
    if (stageHook) stageHook(stage, b.grad);
  }
  void backward(int rows, float p, uint64_t seed, uint64_t offset);
  void layerBackward(int l, int rows, float p, uint64_t seed, uint64_t offset);
  void linearBackward(const bf16 *dy, const bf16 *x, int64_t wOff, int rows, int in, int out,
                      bf16 *dxOut);
};

} // namespace sparta::model
