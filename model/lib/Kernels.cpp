//===- Kernels.cpp - Launchers of the generated model kernels --------------===//
//
// Each launcher checks its arguments (sizes, alignment of the pointers the
// kernels access 16 bytes at a time), fills the kernel's parameter struct from
// sparta/model/kernel_params.h and launches with the shape that header
// defines. Two-stage reductions launch their first stage into the caller's
// workspace and finish with column_reduce.
//
//===----------------------------------------------------------------------===//
#include "sparta/model/Kernels.h"

#include "sparta/Error.h"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>

namespace sparta::model {

// In the order of modelKernelNames().
enum ModelKernels::Kernel : int {
  kEmbeddingFwd, kTokenGrad, kPositionSum, kPositionGrad, kLayerNormFwd, kLayerNormBwd,
  kGeluFwd, kGeluBwd, kColumnSum, kColumnReduce, kDropoutFwd, kDropoutBwd, kCrossEntropy,
  kGradNormPartial, kGradNormFinal, kAdamW, kConvert, kDecodeAttention, kNumKernels
};

namespace {

void checkAligned(const void *p, const char *what, const char *call) {
  if (reinterpret_cast<std::uintptr_t>(p) % 16 != 0)
    throw Error(fmt::format("{}: {} ({}) is not 16-byte aligned", call, what, p));
}
void checkNonNull(const void *p, const char *what, const char *call) {
  if (!p)
    throw Error(fmt::format("{}: {} is null", call, what));
}

/// The arguments both embedding passes share: the position components (at
/// most kMaxPositionComponents, one table each, divisor and modulus >= 1),
/// rows and sequence length.
void checkEmbeddingArgs(const std::vector<PositionIndex> &positions, std::size_t tables,
                        const char *tableKind, int rows, int seqLen, const char *call) {
  if (positions.size() > kMaxPositionComponents || positions.size() != tables)
    throw Error(fmt::format("{}: {} position components with {} {} (at most {})", call,
                            positions.size(), tables, tableKind, kMaxPositionComponents));
  if (seqLen < 1 || rows < 0)
    throw Error(fmt::format("{}: rows {} and sequence length {} are invalid", call, rows, seqLen));
  for (std::size_t k = 0; k < positions.size(); ++k)
    if (positions[k].divisor < 1 || positions[k].modulus < 1)
      throw Error(fmt::format("{}: position component {} has divisor {} and modulus {}", call, k,
                              positions[k].divisor, positions[k].modulus));
}

unsigned ceilDiv(std::int64_t a, std::int64_t b) { return static_cast<unsigned>((a + b - 1) / b); }

/// Blocks for a grid-stride loop over `items` per-thread items; the cap only
/// bounds the launch (results do not depend on the grid).
rt::Dim3 strideGrid(std::int64_t items) {
  return {std::max(1u, static_cast<unsigned>(std::min<std::int64_t>(ceilDiv(items, kElementThreads), 1 << 16))), 1, 1};
}
rt::Dim3 threads(unsigned x, unsigned y = 1) { return {x, y, 1}; }

} // namespace

ModelKernels::ModelKernels(const ModelKernelConfig &config) : config_(config) {
  validateConfig(config_);
  if (config_.arch.empty())
    config_.arch = rt::Context::get().device().arch();
  CompiledModelKernels compiled = compileModelKernels(config_);
  cacheHit_ = compiled.cacheHit;
  module_ = std::make_unique<rt::Module>(compiled.module.cubin, compiled.module.ptx,
                                         compiled.module.programName);
  for (const std::string &name : modelKernelNames())
    functions_.push_back(module_->function(name));
  if (functions_.size() != kNumKernels)
    throw Error("internal error: model kernel table and names disagree");
}

ModelKernels::~ModelKernels() = default;

const rt::Function &ModelKernels::fn(Kernel k) const { return functions_[k]; }

void ModelKernels::columnReduce(const float *partial, int parts, std::int64_t ld, std::int64_t cols,
                                float *out, bool accumulate, const rt::Stream *stream) const {
  ColumnReduceParams p{partial, out, ld, cols, parts, accumulate ? 1 : 0};
  rt::launch(fn(kColumnReduce), {ceilDiv(cols, kElementThreads), 1, 1}, threads(kElementThreads), 0,
             stream, p);
}

// ---- Embedding ------------------------------------------------------------------

void ModelKernels::embeddingForward(const std::int32_t *tokens, const bf16 *tokenTable,
                                    const std::vector<PositionIndex> &positions,
                                    const std::vector<const bf16 *> &positionTables, int rows,
                                    int seqLen, bf16 *out, const rt::Stream *stream) const {
  const char *call = "embeddingForward";
  checkEmbeddingArgs(positions, positionTables.size(), "tables", rows, seqLen, call);
  EmbeddingFwdParams p{};
  p.tokens = tokens;
  p.tokenTable = tokenTable;
  p.out = out;
  p.rows = rows;
  p.seqLen = seqLen;
  p.components = static_cast<i32>(positions.size());
  checkAligned(tokenTable, "token table", call);
  checkAligned(out, "output", call);
  for (std::size_t k = 0; k < positions.size(); ++k) {
    checkAligned(positionTables[k], "position table", call);
    p.positionTables[k] = positionTables[k];
    p.divisor[k] = positions[k].divisor;
    p.modulus[k] = positions[k].modulus;
  }
  if (rows == 0)
    return;
  rt::launch(fn(kEmbeddingFwd), {ceilDiv(rows, kRowWarps), 1, 1}, threads(kRowThreads), 0, stream, p);
}

std::size_t ModelKernels::embeddingBackwardWorkspaceBytes(int rows, int seqLen) const {
  std::size_t segments = std::max(1u, ceilDiv(rows, kTokenSegment));
  return (segments * config_.vocab + static_cast<std::size_t>(seqLen)) * config_.dModel * sizeof(float);
}

void ModelKernels::embeddingBackward(const std::int32_t *tokens, const bf16 *dout,
                                     const std::vector<PositionIndex> &positions, int rows,
                                     int seqLen, float *dTokenTable,
                                     const std::vector<float *> &dPositionTables, bool accumulate,
                                     float *workspace, const rt::Stream *stream) const {
  const char *call = "embeddingBackward";
  checkEmbeddingArgs(positions, dPositionTables.size(), "gradient tables", rows, seqLen, call);
  checkAligned(dout, "output gradient", call);
  checkNonNull(workspace, "workspace", call);
  const int D = config_.dModel, vec = rowVector(D), blockThreads = D / vec;
  const unsigned segments = std::max(1u, ceilDiv(rows, kTokenSegment));
  float *tokenPartial = workspace;
  float *positionSum = workspace + static_cast<std::size_t>(segments) * config_.vocab * D;

  // Token table: per-(vocab row, segment) partial sums, then the segments in order.
  TokenGradParams tp{tokens, dout, tokenPartial, rows};
  rt::launch(fn(kTokenGrad), {static_cast<unsigned>(config_.vocab), segments, 1},
             threads(blockThreads), 0, stream, tp);
  const std::int64_t tableSize = static_cast<std::int64_t>(config_.vocab) * D;
  columnReduce(tokenPartial, static_cast<int>(segments), tableSize, tableSize, dTokenTable,
               accumulate, stream);
  if (positions.empty())
    return;

  PositionSumParams sp{dout, positionSum, rows, seqLen};
  rt::launch(fn(kPositionSum), {ceilDiv(static_cast<std::int64_t>(seqLen) * (D / vec), kElementThreads), 1, 1},
             threads(kElementThreads), 0, stream, sp);
  PositionGradParams gp{};
  gp.sum = positionSum;
  gp.seqLen = seqLen;
  gp.components = static_cast<i32>(positions.size());
  gp.accumulate = accumulate ? 1 : 0;
  unsigned blocks = 0;
  for (std::size_t k = 0; k < positions.size(); ++k) {
    checkNonNull(dPositionTables[k], "position gradient", call);
    gp.grad[k] = dPositionTables[k];
    gp.divisor[k] = positions[k].divisor;
    gp.modulus[k] = positions[k].modulus;
    blocks += static_cast<unsigned>(positions[k].modulus);
  }
  rt::launch(fn(kPositionGrad), {blocks, 1, 1}, threads(blockThreads), 0, stream, gp);
}

// ---- LayerNorm --------------------------------------------------------------------

void ModelKernels::layerNormForward(const bf16 *x, const bf16 *gamma, const bf16 *beta, int rows,
                                    bf16 *y, float *mean, float *rstd,
                                    const rt::Stream *stream) const {
  const char *call = "layerNormForward";
  for (const void *ptr : {static_cast<const void *>(x), static_cast<const void *>(gamma),
                          static_cast<const void *>(beta), static_cast<const void *>(y)})
    checkAligned(ptr, "a tensor", call);
  if ((mean == nullptr) != (rstd == nullptr))
    throw Error(fmt::format("{}: mean and rstd must both be given or both be null", call));
  if (rows <= 0)
    return;
  LayerNormFwdParams p{x, gamma, beta, y, mean, rstd, rows};
  rt::launch(fn(kLayerNormFwd), {ceilDiv(rows, kRowWarps), 1, 1}, threads(kRowThreads), 0, stream, p);
}

std::size_t ModelKernels::layerNormBackwardWorkspaceBytes(int rows) const {
  return static_cast<std::size_t>(layerNormBackwardParts(rows)) * 2 * config_.dModel * sizeof(float);
}

void ModelKernels::layerNormBackward(const bf16 *dy, const bf16 *x, const bf16 *gamma,
                                     const float *mean, const float *rstd, const bf16 *dresid,
                                     int rows, bf16 *dx, float *dgamma, float *dbeta,
                                     bool accumulate, float *workspace,
                                     const rt::Stream *stream) const {
  const char *call = "layerNormBackward";
  for (const void *ptr : {static_cast<const void *>(dy), static_cast<const void *>(x),
                          static_cast<const void *>(gamma), static_cast<const void *>(dresid),
                          static_cast<const void *>(dx)})
    checkAligned(ptr, "a tensor", call);
  checkNonNull(workspace, "workspace", call);
  if (rows <= 0)
    return;
  const int parts = layerNormBackwardParts(rows);
  LayerNormBwdParams p{dy, x, gamma, dresid, mean, rstd, dx, workspace, rows,
                       static_cast<i32>(ceilDiv(rows, parts))};
  rt::launch(fn(kLayerNormBwd), {static_cast<unsigned>(parts), 1, 1}, threads(kRowThreads), 0, stream, p);
  const int D = config_.dModel;
  columnReduce(workspace, parts, 2 * D, D, dgamma, accumulate, stream);
  columnReduce(workspace + D, parts, 2 * D, D, dbeta, accumulate, stream);
}

// ---- GELU and bias gradients -----------------------------------------------------

void ModelKernels::geluForward(const bf16 *x, std::int64_t n, bf16 *y, const rt::Stream *stream) const {
  checkAligned(x, "input", "geluForward");
  checkAligned(y, "output", "geluForward");
  if (n <= 0)
    return;
  GeluFwdParams p{x, y, n};
  rt::launch(fn(kGeluFwd), strideGrid(ceilDiv(n, kElementsPerThread)), threads(kElementThreads), 0, stream, p);
}

std::size_t ModelKernels::columnSumWorkspaceBytes(int rows, int cols) const {
  return static_cast<std::size_t>(columnReduceParts(rows)) * cols * sizeof(float);
}

void ModelKernels::geluBackward(const bf16 *dy, const bf16 *x, int rows, int cols, bf16 *dx,
                                float *dbias, bool accumulate, float *workspace,
                                const rt::Stream *stream) const {
  const char *call = "geluBackward";
  if (cols % 8 != 0 || cols <= 0)
    throw Error(fmt::format("{}: {} columns (a positive multiple of 8 is needed)", call, cols));
  checkAligned(dy, "dy", call);
  checkAligned(x, "x", call);
  checkAligned(dx, "dx", call);
  if (dbias)
    checkNonNull(workspace, "workspace", call);
  if (rows <= 0)
    return;
  const int parts = columnReduceParts(rows);
  ColumnPassParams p{dy, x, dx, dbias ? workspace : nullptr, rows, cols,
                     static_cast<i32>(ceilDiv(rows, parts))};
  rt::launch(fn(kGeluBwd), {ceilDiv(cols, kColumnsPerTile), static_cast<unsigned>(parts), 1},
             threads(kColumnTileX, kColumnTileY), 0, stream, p);
  if (dbias)
    columnReduce(workspace, parts, cols, cols, dbias, accumulate, stream);
}

void ModelKernels::biasGradient(const bf16 *dy, int rows, int cols, float *dbias, bool accumulate,
                                float *workspace, const rt::Stream *stream) const {
  const char *call = "biasGradient";
  if (cols % 8 != 0 || cols <= 0)
    throw Error(fmt::format("{}: {} columns (a positive multiple of 8 is needed)", call, cols));
  checkAligned(dy, "dy", call);
  checkNonNull(workspace, "workspace", call);
  if (rows <= 0)
    return;
  const int parts = columnReduceParts(rows);
  ColumnPassParams p{nullptr, dy, nullptr, workspace, rows, cols, static_cast<i32>(ceilDiv(rows, parts))};
  rt::launch(fn(kColumnSum), {ceilDiv(cols, kColumnsPerTile), static_cast<unsigned>(parts), 1},
             threads(kColumnTileX, kColumnTileY), 0, stream, p);
  columnReduce(workspace, parts, cols, cols, dbias, accumulate, stream);
}

// ---- Dropout ------------------------------------------------------------------------

void ModelKernels::dropoutResidualForward(const bf16 *x, const bf16 *a, std::int64_t n, float p,
                                          std::uint64_t seed, std::uint64_t offset, bf16 *y,
                                          const rt::Stream *stream) const {
  for (const void *ptr : {static_cast<const void *>(x), static_cast<const void *>(a),
                          static_cast<const void *>(y)})
    checkAligned(ptr, "a tensor", "dropoutResidualForward");
  // The scale is computed in float exactly as the CPU reference does.
  DropoutParams d{x, a, y, n, seed, offset, dropoutThreshold(p), 1.0f / (1.0f - p)};
  if (n <= 0)
    return;
  rt::launch(fn(kDropoutFwd), strideGrid(ceilDiv(n, kElementsPerThread)), threads(kElementThreads), 0, stream, d);
}

void ModelKernels::dropoutBackward(const bf16 *dy, std::int64_t n, float p, std::uint64_t seed,
                                   std::uint64_t offset, bf16 *da, const rt::Stream *stream) const {
  checkAligned(dy, "dy", "dropoutBackward");
  checkAligned(da, "da", "dropoutBackward");
  DropoutParams d{nullptr, dy, da, n, seed, offset, dropoutThreshold(p), 1.0f / (1.0f - p)};
  if (n <= 0)
    return;
  rt::launch(fn(kDropoutBwd), strideGrid(ceilDiv(n, kElementsPerThread)), threads(kElementThreads), 0, stream, d);
}

// ---- Cross-entropy ------------------------------------------------------------------

void ModelKernels::crossEntropy(const bf16 *logits, const std::int32_t *targets, int rows,
                                float dlossScale, float *loss, bf16 *dlogits,
                                const rt::Stream *stream) const {
  checkAligned(logits, "logits", "crossEntropy");
  checkAligned(dlogits, "dlogits", "crossEntropy");
  if (rows <= 0)
    return;
  CrossEntropyParams p{logits, targets, loss, dlogits, rows, dlossScale};
  rt::launch(fn(kCrossEntropy), {ceilDiv(rows, kRowWarps), 1, 1}, threads(kRowThreads), 0, stream, p);
}

// ---- Optimizer ----------------------------------------------------------------------

std::size_t ModelKernels::gradNormWorkspaceBytes(std::int64_t n) const {
  return static_cast<std::size_t>(gradNormParts(n)) * (sizeof(float) + sizeof(i32));
}

void ModelKernels::gradNorm(const float *grad, std::int64_t n, float maxNorm, GradNormResult *result,
                            float *workspace, const rt::Stream *stream) const {
  checkNonNull(workspace, "workspace", "gradNorm");
  checkNonNull(result, "result", "gradNorm");
  const std::int64_t parts = gradNormParts(n);
  auto *flags = reinterpret_cast<i32 *>(workspace + parts);
  GradNormPartialParams pp{grad, n, workspace, flags};
  rt::launch(fn(kGradNormPartial), {static_cast<unsigned>(parts), 1, 1}, threads(kNormThreads), 0, stream, pp);
  GradNormFinalParams fp{workspace, flags, result, static_cast<i32>(parts), maxNorm};
  rt::launch(fn(kGradNormFinal), {1, 1, 1}, threads(kNormThreads), 0, stream, fp);
}

void ModelKernels::adamW(float *master, const float *grad, float *m, float *v, bf16 *weight,
                         std::int64_t n, const AdamWHyper &h, const GradNormResult *norm,
                         const rt::Stream *stream) const {
  if (h.step < 1)
    throw Error(fmt::format("adamW: step {} (steps count from 1)", h.step));
  if (n <= 0)
    return;
  AdamWParams p{};
  p.master = master;
  p.m = m;
  p.v = v;
  p.grad = grad;
  p.weight = weight;
  p.norm = norm;
  p.n = n;
  p.lr = h.lr;
  p.beta1 = h.beta1;
  p.beta2 = h.beta2;
  p.eps = h.eps;
  p.weightDecay = h.weightDecay;
  const double t = static_cast<double>(h.step);
  p.stepSize = static_cast<float>(h.lr / (1.0 - std::pow(static_cast<double>(h.beta1), t)));
  p.invBiasCorrection2Sqrt = static_cast<float>(1.0 / std::sqrt(1.0 - std::pow(static_cast<double>(h.beta2), t)));
  rt::launch(fn(kAdamW), strideGrid(n), threads(kElementThreads), 0, stream, p);
}

void ModelKernels::convertToBf16(const float *src, std::int64_t n, bf16 *dst,
                                 const rt::Stream *stream) const {
  checkAligned(src, "source", "convertToBf16");
  checkAligned(dst, "destination", "convertToBf16");
  if (n <= 0)
    return;
  ConvertParams p{src, dst, n};
  rt::launch(fn(kConvert), strideGrid(ceilDiv(n, kElementsPerThread)), threads(kElementThreads), 0, stream, p);
}

void ModelKernels::decodeAttention(const bf16 *qkv, bf16 *cache, const std::int64_t *rowStart,
                                   const std::int32_t *keys, const std::int32_t *headMask, int rows,
                                   int seqLen, int heads, int headDim, int pos, bf16 *out,
                                   const rt::Stream *stream) const {
  const char *call = "decodeAttention";
  if (headDim % 32 != 0 || headDim < 32 || headDim > kDecodeMaxHeadDim || heads * headDim != config_.dModel)
    throw Error(fmt::format("{}: {} heads of dimension {} for d_model {} (a head dimension is 32, 64, 96 or 128)",
                            call, heads, headDim, config_.dModel));
  if (rows < 1 || seqLen < 1 || pos < 0 || pos >= seqLen)
    throw Error(fmt::format("{}: rows {}, sequence length {}, position {}", call, rows, seqLen, pos));
  checkNonNull(qkv, "qkv", call);
  checkNonNull(cache, "cache", call);
  checkNonNull(rowStart, "row starts", call);
  checkNonNull(keys, "keys", call);
  checkNonNull(headMask, "head masks", call);
  checkNonNull(out, "output", call);
  DecodeAttentionParams p{qkv, cache, reinterpret_cast<const i64 *>(rowStart), keys, headMask, out, rows, seqLen, heads, headDim, pos,
                          static_cast<float>(1.0 / std::sqrt(static_cast<double>(headDim)))};
  rt::launch(fn(kDecodeAttention), {static_cast<unsigned>(heads), static_cast<unsigned>(rows), 1},
             threads(kDecodeThreads), 0, stream, p);
}

} // namespace sparta::model
