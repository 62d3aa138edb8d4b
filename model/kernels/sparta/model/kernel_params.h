//===- kernel_params.h - Model kernels' parameters (host + device) ---------===//
//
// The one definition of what the host passes to each generated model kernel
// and of the launch-shape formulas both sides depend on. Every kernel takes
// exactly one of these structs by value. The file compiles as host C++17 (it
// is included by model/lib/Kernels.cpp) and under NVRTC (the generator pastes
// it into each generated translation unit), so it includes only
// sparta/params.h, which defines the fixed-width types for both.
//
// Conventions: bf16 tensors are raw u16 bit patterns; matrices are row-major
// with the last dimension contiguous; every pointer is 16-byte aligned.
//
//===----------------------------------------------------------------------===//
#ifndef SPARTA_MODEL_KERNEL_PARAMS_H
#define SPARTA_MODEL_KERNEL_PARAMS_H

#include "sparta/params.h"

namespace sparta {
namespace model {

constexpr int kMaxPositionComponents = 3;
/// Row kernels (LayerNorm, cross-entropy, embedding forward): one warp per row.
constexpr int kRowWarps = 4;
constexpr int kRowThreads = kRowWarps * 32;
/// Element-wise kernels: threads per block; each thread handles 8 elements.
constexpr int kElementThreads = 256;
constexpr int kElementsPerThread = 8;
/// Column-reduction kernels (GELU backward with bias gradient, bias gradient):
/// a 32 x 8 block covers 256 columns (8 per thread) and a chunk of rows.
constexpr int kColumnTileX = 32;
constexpr int kColumnTileY = 8;
constexpr int kColumnsPerTile = kColumnTileX * 8;
/// Token-embedding gradient: tokens scanned by one block (one vocabulary row,
/// one segment of the batch).
constexpr int kTokenSegment = 2048;
/// Gradient-norm first stage: threads per block.
constexpr int kNormThreads = 256;

/// The bf16 elements one lane (or thread) moves per access for a row of
/// `width` elements spread over 32 lanes: the widest of 8/4/2/1 that divides it
/// evenly, so each access is 16, 8, 4 or 2 bytes.
constexpr SPARTA_HD int rowVector(int width) {
  return width % 256 == 0 ? 8 : width % 128 == 0 ? 4 : width % 64 == 0 ? 2 : 1;
}

/// Row chunks of the deterministic two-stage column reductions. They depend on
/// the row count only (never on the device), so results are identical on
/// every GPU.
constexpr SPARTA_HD int columnReduceParts(int rows) {
  int parts = (rows + 63) / 64;
  return parts < 1 ? 1 : parts > 128 ? 128 : parts;
}
constexpr SPARTA_HD int layerNormBackwardParts(int rows) {
  int parts = (rows + 31) / 32;
  return parts < 1 ? 1 : parts > 256 ? 256 : parts;
}
constexpr SPARTA_HD i64 gradNormParts(i64 n) {
  i64 parts = (n + 4095) / 4096;
  return parts < 1 ? 1 : parts > 512 ? 512 : parts;
}

struct EmbeddingFwdParams {
  const i32 *tokens;      // [rows]
  const u16 *tokenTable;  // [vocab, D]
  const u16 *positionTables[kMaxPositionComponents]; // [modulus_k, D]
  u16 *out;               // [rows, D]
  i32 rows, seqLen, components;
  i32 divisor[kMaxPositionComponents], modulus[kMaxPositionComponents];
};

/// Stage 1 of the token-table gradient: block (v, s) sums the rows of segment
/// s whose token is v into partial[s][v][:].
struct TokenGradParams {
  const i32 *tokens;
  const u16 *dout;        // [rows, D]
  float *partial;         // [segments, vocab, D]
  i32 rows;
};

/// Stage 1 of the position-table gradients: sum[t][:] = sum over b of dout[b*T + t][:].
struct PositionSumParams {
  const u16 *dout;
  float *sum;             // [seqLen, D]
  i32 rows, seqLen;
};

/// Stage 2: block (k, p) sums sum[t] over the t with (t / divisor_k) % modulus_k == p.
struct PositionGradParams {
  const float *sum;
  float *grad[kMaxPositionComponents]; // [modulus_k, D]
  i32 seqLen, components, accumulate;
  i32 divisor[kMaxPositionComponents], modulus[kMaxPositionComponents];
};

/// Second stage of every two-stage reduction: out[c] (+)= sum over parts of
/// partial[part * ld + c], parts in order.
struct ColumnReduceParams {
  const float *partial;
  float *out;
  i64 ld, cols;
  i32 parts, accumulate;
};

struct LayerNormFwdParams {
  const u16 *x, *gamma, *beta; // [rows, D], [D], [D]
  u16 *y;
  float *mean, *rstd;          // [rows] each; may be null (inference)
  i32 rows;
};

/// dx = dresid + LayerNorm'(dy) (dresid may be null and may alias dx);
/// partial[block][0:D] = dgamma, partial[block][D:2D] = dbeta of that block's rows.
struct LayerNormBwdParams {
  const u16 *dy, *x, *gamma, *dresid;
  const float *mean, *rstd;
  u16 *dx;
  float *partial;              // [layerNormBackwardParts(rows), 2 * D]
  i32 rows, rowsPerPart;
};

struct GeluFwdParams {
  const u16 *x;
  u16 *y;
  i64 n;
};

/// dx = dy * gelu'(x) (dx may alias dy); with a partial buffer also the bias
/// gradient's first stage: partial[part][c] = sum of the part's rows of dx.
/// The same kernel shape without GELU sums x's columns (ColumnSum).
struct ColumnPassParams {
  const u16 *dy, *x;
  u16 *dx;
  float *partial;              // [columnReduceParts(rows), cols] or null
  i32 rows, cols, rowsPerPart;
};

/// y = x + dropout(a): element i is kept when Philox4x32-10 word (i % 4) of
/// counter (i / 4, offset) under key seed is >= threshold; kept values are
/// scaled by `scale` = 1 / (1 - p).
struct DropoutParams {
  const u16 *x, *a;            // backward: a = dy
  u16 *y;                      // backward: y = da
  i64 n;
  u64 seed, offset;
  u32 threshold;
  float scale;
};

/// A target without loss or gradient (cross_entropy.cu): padding, and the last
/// input of a packed document, whose next byte belongs to another one.
constexpr i32 kIgnoreTarget = -1;

struct CrossEntropyParams {
  const u16 *logits;           // [rows, vocab]
  const i32 *targets;          // [rows], kIgnoreTarget: no loss, zero gradient
  float *loss;                 // [rows]
  u16 *dlogits;                // [rows, vocab], may alias logits; null: forward only
  i32 rows;
  float dlossScale;            // dloss of every row (1/targets that count, for a mean)
};

/// Written by grad_norm_final, read by adamw.
struct GradNormResult {
  float norm;                  // global L2 norm of the gradient
  float clipScale;             // min(1, maxNorm / (norm + 1e-6))
  i32 nonFinite;               // 1 if any gradient element is NaN or inf
  i32 reserved;
};

struct AdamWParams {
  float *master, *m, *v;       // fp32 [n]
  const float *grad;           // fp32 [n]
  u16 *weight;                 // bf16 copy of master, [n]
  const GradNormResult *norm;  // null: scale 1, never skip
  i64 n;
  float lr, beta1, beta2, eps, weightDecay;
  float stepSize;              // lr / (1 - beta1^t)
  float invBiasCorrection2Sqrt; // 1 / sqrt(1 - beta2^t)
};

struct GradNormPartialParams {
  const float *grad;
  i64 n;
  float *partial;              // [gradNormParts(n)] sums of squares
  i32 *nonFinite;              // [gradNormParts(n)]
};

struct GradNormFinalParams {
  const float *partial;
  const i32 *nonFinite;
  GradNormResult *result;
  i32 parts;
  float maxNorm;
};

struct ConvertParams {
  const float *src;
  u16 *dst;
  i64 n;
};

/// Attention of one new position against a key/value cache (sampling). Block
/// (h, r) stores head h's key and value of row r at position `pos` of the
/// cache, then attends the query to the keys of row `pos` of mask
/// headMask[h]: keys[rowStart[m * (T + 1) + pos] .. rowStart[m * (T + 1) + pos + 1]).
constexpr int kDecodeWarps = 16;
constexpr int kDecodeThreads = kDecodeWarps * 32;
constexpr int kDecodeMaxHeadDim = 128;
struct DecodeAttentionParams {
  const u16 *qkv;      // [rows, 3D]: q | k | v, head h at columns h * headDim
  u16 *cache;          // [rows, T, 2D]: k | v
  const i64 *rowStart; // [masks, T + 1], offsets into keys
  const i32 *keys;     // the key positions of each (mask, query) row, ascending
  const i32 *headMask; // [heads]
  u16 *out;            // [rows, D]
  i32 rows, T, heads, headDim, pos;
  float scale;         // 1 / sqrt(headDim)
};

} // namespace model
} // namespace sparta

#endif // SPARTA_MODEL_KERNEL_PARAMS_H
