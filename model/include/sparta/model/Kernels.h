//===- Kernels.h - The model's run-time generated kernels ------------------===//
//
// Every kernel of the model other than the GEMMs (Gemm.h) and the attention
// (the compiler): token + position embedding, LayerNorm, GELU, dropout +
// residual, softmax cross-entropy, global gradient norm + clipping, AdamW.
// Like the attention they are generated at run time: the device sources in
// model/kernels are specialised for one configuration (d_model, vocabulary,
// LayerNorm epsilon inlined as constants, so row loops unroll and rows live in
// registers), compiled by NVRTC and cached in memory and on disk
// (sparta::KernelCache).
//
// Precision: activations and weight copies are bf16 (`bf16` = the raw bits),
// statistics, gradients of weights, optimizer state and master weights fp32.
// All pointers are device pointers, 16-byte aligned; matrices are row-major.
// A null stream means the default stream. Every launch is asynchronous; the
// kernels are deterministic (bit-identical results from run to run: no float
// atomics; every reduction has a fixed shape and order).
//
// Reductions over rows (weight gradients, the gradient norm) take a caller-
// provided fp32 workspace of the size the matching *WorkspaceBytes() returns.
// `accumulate` adds into the gradient instead of overwriting it (gradient
// accumulation over micro-batches).
//
//===----------------------------------------------------------------------===//
#pragma once

#include "sparta/model/kernel_params.h"
#include "sparta/runtime/Cuda.h"
#include "sparta/runtime/Nvrtc.h"

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

namespace sparta::model {

using bf16 = std::uint16_t;

struct ModelKernelConfig {
  int dModel = 512;           // multiple of 32, at most 1024
  int vocab = 256;            // classes of the cross-entropy and embedding rows; multiple of 32, <= 1024
  float layerNormEps = 1e-5f;
  std::string arch;           // NVRTC target ("sm_90a"); empty: the current device's
  std::string cacheDir;       // empty: KernelCache::defaultDirectory()
  bool useCache = true;
};

/// Throws sparta::Error naming the first unsupported field.
void validateConfig(const ModelKernelConfig &config);

/// The generated translation unit for `config` (arch and cache fields unused).
std::string generateModelKernelSource(const ModelKernelConfig &config);

/// The names of every kernel of the generated source.
const std::vector<std::string> &modelKernelNames();

struct CompiledModelKernels {
  rt::CompiledModule module;
  std::string cacheKey;
  bool cacheHit = false;
};

/// Generates and compiles (or loads from the cache) for config.arch, which
/// must be set. Needs no GPU.
CompiledModelKernels compileModelKernels(const ModelKernelConfig &config);

/// Component k of position t indexes its table at (t / divisor) % modulus.
/// Text with the [T/L, L] grid: {L, T/L} (row) and {1, L} (column).
struct PositionIndex {
  int divisor = 1;
  int modulus = 1;
};

/// AdamW hyper-parameters; `step` counts from 1 (bias correction).
struct AdamWHyper {
  float lr = 3e-4f;
  float beta1 = 0.9f;
  float beta2 = 0.95f;
  float eps = 1e-8f;
  float weightDecay = 0.01f;
  std::int64_t step = 1;
};

/// The Philox word threshold under which an element is dropped: round(p * 2^32).
std::uint32_t dropoutThreshold(float p);

class ModelKernels {
public:
  /// Compiles (or loads from the cache) and loads the kernels on the current
  /// device. Throws sparta::Error on a bad config or without a GPU.
  explicit ModelKernels(const ModelKernelConfig &config);
  ~ModelKernels();
  ModelKernels(const ModelKernels &) = delete;
  ModelKernels &operator=(const ModelKernels &) = delete;

  const ModelKernelConfig &config() const { return config_; }
  bool cacheHit() const { return cacheHit_; }

  // ---- Embedding: out[n] = tok[tokens[n]] + sum_k pos_k[index_k(n % seqLen)] ----
  void embeddingForward(const std::int32_t *tokens, const bf16 *tokenTable,
                        const std::vector<PositionIndex> &positions,
                        const std::vector<const bf16 *> &positionTables, int rows, int seqLen,
                        bf16 *out, const rt::Stream *stream = nullptr) const;
  std::size_t embeddingBackwardWorkspaceBytes(int rows, int seqLen) const;
  /// dTokenTable [vocab, D] and dPositionTables[k] [modulus_k, D], fp32.
  void embeddingBackward(const std::int32_t *tokens, const bf16 *dout,
                         const std::vector<PositionIndex> &positions, int rows, int seqLen,
                         float *dTokenTable, const std::vector<float *> &dPositionTables,
                         bool accumulate, float *workspace, const rt::Stream *stream = nullptr) const;

  // ---- LayerNorm over d_model; mean/rstd [rows] may be null (no backward) ----
  void layerNormForward(const bf16 *x, const bf16 *gamma, const bf16 *beta, int rows, bf16 *y,
                        float *mean, float *rstd, const rt::Stream *stream = nullptr) const;
  std::size_t layerNormBackwardWorkspaceBytes(int rows) const;
  /// dx = dresid + LN'(dy); dresid may be null and may alias dx (dy may too).
  void layerNormBackward(const bf16 *dy, const bf16 *x, const bf16 *gamma, const float *mean,
                         const float *rstd, const bf16 *dresid, int rows, bf16 *dx, float *dgamma,
                         float *dbeta, bool accumulate, float *workspace,
                         const rt::Stream *stream = nullptr) const;

  // ---- GELU (tanh) and bias gradients; cols % 8 == 0 for the column kernels ----
  void geluForward(const bf16 *x, std::int64_t n, bf16 *y, const rt::Stream *stream = nullptr) const;
  std::size_t columnSumWorkspaceBytes(int rows, int cols) const;
  /// dx = dy * gelu'(x) (dx may alias dy); with dbias, also dbias = column sums of dx.
  void geluBackward(const bf16 *dy, const bf16 *x, int rows, int cols, bf16 *dx, float *dbias,
                    bool accumulate, float *workspace, const rt::Stream *stream = nullptr) const;
  /// dbias = column sums of dy [rows, cols] (the bias gradient of a linear layer).
  void biasGradient(const bf16 *dy, int rows, int cols, float *dbias, bool accumulate,
                    float *workspace, const rt::Stream *stream = nullptr) const;

  // ---- Dropout (probability p in [0, 1)) with the residual add ----
  /// y = x + dropout(a); the mask is a function of (seed, offset, element index).
  void dropoutResidualForward(const bf16 *x, const bf16 *a, std::int64_t n, float p,
                              std::uint64_t seed, std::uint64_t offset, bf16 *y,
                              const rt::Stream *stream = nullptr) const;
  /// da = dropout'(dy) with the same (p, seed, offset); dx of the residual is dy.
  void dropoutBackward(const bf16 *dy, std::int64_t n, float p, std::uint64_t seed,
                       std::uint64_t offset, bf16 *da, const rt::Stream *stream = nullptr) const;

  // ---- Softmax cross-entropy over vocab classes ----
  /// loss[rows] fp32; dlogits (may alias logits, may be null) = (softmax - onehot) * dlossScale.
  /// A row whose target is kIgnoreTarget has loss 0 and a zero dlogits row.
  void crossEntropy(const bf16 *logits, const std::int32_t *targets, int rows, float dlossScale,
                    float *loss, bf16 *dlogits, const rt::Stream *stream = nullptr) const;

  // ---- Optimizer over flat fp32 buffers of n elements ----
  std::size_t gradNormWorkspaceBytes(std::int64_t n) const;
  /// result (device) = {norm, min(1, maxNorm / (norm + 1e-6)), nonFinite}.
  void gradNorm(const float *grad, std::int64_t n, float maxNorm, GradNormResult *result,
                float *workspace, const rt::Stream *stream = nullptr) const;
  /// One AdamW step; with `norm` (device, from gradNorm) the gradient is scaled
  /// by its clipScale and nothing changes when its nonFinite flag is set.
  void adamW(float *master, const float *grad, float *m, float *v, bf16 *weight, std::int64_t n,
             const AdamWHyper &hyper, const GradNormResult *norm,
             const rt::Stream *stream = nullptr) const;
  /// dst = bf16(src): the initial (or resumed) bf16 weight copy.
  void convertToBf16(const float *src, std::int64_t n, bf16 *dst,
                     const rt::Stream *stream = nullptr) const;

  // ---- One new position against a key/value cache (sampling, Decoder.h) ----
  /// For row r and head h: stores the key and value of qkv [rows, 3D] (q | k | v)
  /// at position `pos` of cache [rows, seqLen, 2D] (k | v), then
  /// out[r, h*headDim ..] = sum_j softmax_j(q . k_j / sqrt(headDim)) v_j over the
  /// keys j of row `pos` of mask m = headMask[h]: keys[rowStart[m * (seqLen + 1) + pos]
  /// .. rowStart[m * (seqLen + 1) + pos + 1]). The keys must be <= pos.
  void decodeAttention(const bf16 *qkv, bf16 *cache, const std::int64_t *rowStart,
                       const std::int32_t *keys, const std::int32_t *headMask, int rows, int seqLen,
                       int heads, int headDim, int pos, bf16 *out,
                       const rt::Stream *stream = nullptr) const;

private:
  enum Kernel : int;
  const rt::Function &fn(Kernel k) const;
  void columnReduce(const float *partial, int parts, std::int64_t ld, std::int64_t cols, float *out,
                    bool accumulate, const rt::Stream *stream) const;

  ModelKernelConfig config_;
  bool cacheHit_ = false;
  std::unique_ptr<rt::Module> module_;
  std::vector<rt::Function> functions_;
};

/// One embedded device source of model/kernels (generated at build time).
struct EmbeddedSource {
  const char *name;     // path relative to model/kernels
  const char *contents;
};
const std::vector<EmbeddedSource> &embeddedKernelSources();

} // namespace sparta::model
