//===- Transformer.h - The Sparse Transformer on the GPU --------------------===//
//
// The byte-level Sparse Transformer of docs/training.md ("The model"), built
// from the generated model kernels (Kernels.h), cuBLASLt GEMMs (Gemm.h) and
// the compiled sparse attention (SparseAttention.h). bf16 activations and
// weight copies, fp32 master weights, gradients and AdamW moments, all in
// flat buffers with the layout of ModelConfig.h's parameterLayout().
//
// Batches are rows of T+1 bytes (Data.h's Batch): inputs bytes [0, T),
// targets bytes [1, T+1). Every call is synchronous on return (it reads a
// scalar back), and deterministic: the same parameters, batch and dropout
// (seed, offset) give bit-identical losses and gradients.
//
// Packed rows (Data.h's PackedRows, Packer.h): the call uploads the rows'
// cu_seqlens once, every layer's attention forward and backward keeps each
// query within its document (SparseAttention's Documents), the targets that
// do not count get kIgnoreTarget (no loss, no gradient), and the training
// loss is the sum over the counted ones divided by PackedRows::meanOver.
// Position embeddings stay those of the row position.
//
// Dropout: the residual branch outputs of layer l use Philox offsets
// dropoutOffset + 2l (attention) and + 2l + 1 (feed-forward) under
// dropoutSeed; a training step therefore consumes 2N offsets.
//
// Recompute (config.recompute): the forward keeps, per layer, only the block
// input x (bf16 [B*T, D]) and the attention output o (bf16 [B*T, D]) with its
// log-sum-exp (fp32 [B, H, T]); the backward recomputes LN1, the QKV
// projection, the attention projection + dropout + residual, LN2, FC1 and GELU
// of that layer into one shared scratch set, so the gradients are the same
// bits as without recompute. Without it, every activation of every layer is
// kept (x, LN1 out + stats, qkv, o + lse, x_mid, LN2 out + stats, FC1 out,
// GELU out).
//
//===----------------------------------------------------------------------===//
#pragma once

#include "sparta/model/Data.h"
#include "sparta/model/Kernels.h"
#include "sparta/model/ModelConfig.h"
#include "sparta/runtime/Cuda.h"

#include <cstdint>
#include <functional>
#include <memory>
#include <vector>

namespace sparta::model {

/// Device bytes by purpose (what the Transformer allocated itself; the
/// attention's and cuBLASLt's workspaces are counted in `workspace` only as
/// far as the Transformer owns them).
struct MemoryReport {
  std::size_t parameters = 0;  // master fp32 + bf16 copy + gradient fp32
  std::size_t optimizer = 0;   // m, v fp32
  std::size_t activations = 0; // saved for the backward, for maxBatch rows
  std::size_t scratch = 0;     // per-layer temporaries, gradients of activations, logits
  std::size_t workspace = 0;   // reduction workspaces
  std::size_t total() const { return parameters + optimizer + activations + scratch + workspace; }
};

/// How position t indexes each position table (Kernels.h): text {L, ceil(T/L)}
/// (row), {1, L} (column); images {W, H}, {1, W}, {1, 1} (channel).
std::vector<PositionIndex> positionIndices(const ModelConfig &config);

/// The byte counts of MemoryReport for `config` and `batch` rows, without a GPU.
MemoryReport plannedMemory(const ModelConfig &config, int batch);

class Transformer {
public:
  /// Loads the pattern, compiles (or finds in the cache) the attention and
  /// model kernels, and allocates everything for up to `maxBatch` rows.
  /// Parameters start at initParameters(config, seed). Throws sparta::Error.
  Transformer(const ModelConfig &config, int maxBatch, uint64_t seed = 0);
  ~Transformer();
  Transformer(const Transformer &) = delete;
  Transformer &operator=(const Transformer &) = delete;

  const ModelConfig &config() const;
  const ParameterLayout &layout() const;
  int maxBatch() const;

  // ---- State (synchronous host <-> device copies of flat buffers) ----
  /// Master weights (and their bf16 copy); the moments are left as they are.
  void setParameters(const std::vector<float> &flat);
  std::vector<float> parameters() const;
  std::vector<float> gradients() const;
  void setMoments(const std::vector<float> &m, const std::vector<float> &v);
  std::vector<float> momentM() const;
  std::vector<float> momentV() const;
  /// Zeroes the AdamW moments.
  void resetMoments();

  // ---- Steps ----
  /// Forward + backward over `rows` rows of T+1 bytes; gradients overwrite
  /// the gradient buffer. Returns the mean loss over rows*T targets (nats);
  /// with `packed`, the rows' documents, the sum over the targets that count
  /// divided by packed->meanOver (see above).
  double forwardBackward(const uint8_t *tokens, int rows, uint64_t dropoutSeed = 0,
                         uint64_t dropoutOffset = 0, const PackedRows *packed = nullptr);
  /// Forward without dropout; returns the SUM of the losses over rows*T
  /// targets (with `packed`, over the targets that count).
  double evaluate(const uint8_t *tokens, int rows, const PackedRows *packed = nullptr);
  /// Forward over `rows` rows of T input bytes (no targets); returns the
  /// logits at position `pos` of every row, float [rows, vocab].
  std::vector<float> logitsAt(const uint8_t *inputs, int rows, int pos);
  /// Global gradient norm, clipping to `clipNorm`, AdamW on every tensor
  /// (weight decay only on ParamSpec::decay tensors). Nothing changes when
  /// the gradient holds a NaN or inf (result.nonFinite).
  GradNormResult optimizerStep(const AdamWHyper &hyper, float clipNorm);
  /// True when every master weight is finite.
  bool parametersFinite();

  MemoryReport memory() const;
  const rt::Stream &stream() const;

  /// Called by forwardBackward as soon as the kernels that complete backward
  /// stage `stage`'s gradients (GradientBuckets.h) are queued on stream(),
  /// with the device's flat gradient buffer (layout()); the data-parallel
  /// all-reduce starts there (DataParallel.h). An empty hook (the default)
  /// removes it.
  using BackwardStageHook = std::function<void(int stage, float *gradients)>;
  void setBackwardStageHook(BackwardStageHook hook);

private:
  friend class Decoder; // runs the same weights and kernels one position at a time
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

} // namespace sparta::model
