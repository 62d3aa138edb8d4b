//===- ReferenceAttention.h - Dense masked attention, the numeric oracle ---===//
//
// Straightforward masked softmax attention on the CPU, computed from the
// reference mask semantics (MaskSemantics.h) one (query, key) pair at a time. It
// knows nothing about plans, tiles or index maps, so it is the oracle for the
// CPU executor (CpuExecutor.h) and, later, for the generated GPU kernels.
//
// Tensors are std::vector<float> in layout [B, H, T, d], contiguous; lse is
// [B, H, T]. Head h uses heads[h % heads.size()]. The score of pair (i, j) is
// scale * dot(q_i, k_j); lse is the natural-log log-sum-exp of a row's scores.
// A row with no allowed key has O = 0, lse = -inf and contributes no gradient.
//
// Two flavours:
//  * referenceForward / referenceBackward accumulate in double and round only
//    the results to float: "the exact answer" for fp32 inputs.
//  * lowPrecisionForward / lowPrecisionBackward imitate a straightforward
//    bf16/fp16 implementation (every tensor a framework would materialise in
//    that dtype is rounded to it; dot products accumulate in fp32). Their
//    distance to the exact answer is the yardstick for kernel error bounds:
//    a kernel is acceptable when its error is at most ~2x this one's. Give
//    both the same fp32 tensors (the kernel gets their bf16/fp16 rounding):
//    the variant rounds its inputs itself, so input rounding counts on both
//    sides, and measure both against the exact flavour.
//
//===----------------------------------------------------------------------===//
#pragma once

#include "sparta/Pattern.h"

#include <cstdint>
#include <functional>
#include <vector>

namespace sparta {

/// Low-precision storage formats of the kernels' inputs.
enum class LowPrecision { BF16, FP16 };

/// Rounds to the nearest bfloat16 (ties to even), returned as float. NaN stays
/// NaN; values beyond the largest finite bf16 become +-inf.
float roundToBF16(float x);
/// Rounds to the nearest IEEE binary16 (ties to even, subnormals kept),
/// returned as float; |x| >= 65520 becomes +-inf.
float roundToFP16(float x);
float roundTo(LowPrecision precision, float x);
/// roundTo applied to every element.
std::vector<float> roundAll(LowPrecision precision, const std::vector<float> &values);

/// Problem shape. T is the sequence length the masks are evaluated for.
struct AttentionShape {
  int64_t B = 1, H = 1, T = 0, d = 0;
  int64_t elements() const { return B * H * T * d; } // size of q, k, v, o
  int64_t rows() const { return B * H * T; }         // size of lse
};

struct AttentionOutput {
  std::vector<float> o;   // [B, H, T, d]
  std::vector<float> lse; // [B, H, T], natural log, -inf for rows with no key
};

struct AttentionGrads {
  std::vector<float> dq, dk, dv; // [B, H, T, d] each
};

/// The allowed keys of every row (ascending), for each of n masks; head h of a
/// problem uses entry h mod n. The references below take masks or these lists
/// (a kernel test whose masks are predicates builds them with fromPredicates).
struct RowKeys {
  std::vector<std::vector<std::vector<int64_t>>> perMask; // [mask][row] -> keys

  /// The keys of masks of a causal pattern (j <= i).
  static RowKeys fromMasks(const std::vector<Mask> &heads, int64_t T);
  /// The keys of the pattern's heads in its domain (causal or bidirectional).
  static RowKeys fromPattern(const ConcretePattern &pattern);
  /// Every j with allowed(i, j), one predicate per mask.
  static RowKeys fromPredicates(int64_t T,
                                const std::vector<std::function<bool(int64_t, int64_t)>> &allowed);
  /// The keys of batch row b of packed documents (cuSeqlens: B rows of N + 1
  /// boundaries, Packing.h), by the definition: query i and key j of one
  /// document starting at s see each other iff the pattern allows (i - s,
  /// j - s); no pair crosses a boundary. Boundaries are not validated here.
  static RowKeys fromDocuments(const ConcretePattern &pattern,
                               const std::vector<int32_t> &cuSeqlens, int64_t B, int64_t b);
  const std::vector<int64_t> &keys(int64_t head, int64_t i) const {
    return perMask[head % perMask.size()][i];
  }
};

/// Exact forward (double accumulation).
AttentionOutput referenceForward(const RowKeys &keys, const AttentionShape &shape,
                                 const std::vector<float> &q, const std::vector<float> &k,
                                 const std::vector<float> &v, double scale);
AttentionOutput referenceForward(const std::vector<Mask> &heads, const AttentionShape &shape,
                                 const std::vector<float> &q, const std::vector<float> &k,
                                 const std::vector<float> &v, double scale);

/// Exact backward: dQ, dK, dV of sum(dO * O) with O the exact forward output.
/// Everything (P, D = rowsum(dO * O)) is recomputed in double from q, k, v.
AttentionGrads referenceBackward(const RowKeys &keys, const AttentionShape &shape,
                                 const std::vector<float> &q, const std::vector<float> &k,
                                 const std::vector<float> &v, const std::vector<float> &dout,
                                 double scale);
AttentionGrads referenceBackward(const std::vector<Mask> &heads, const AttentionShape &shape,
                                 const std::vector<float> &q, const std::vector<float> &k,
                                 const std::vector<float> &v, const std::vector<float> &dout,
                                 double scale);

/// Naive low-precision forward: q, k, v rounded; S = round(scale * q.k);
/// P = round(softmax(S)) (softmax in fp32); O = round(P @ V). lse (fp32,
/// unrounded) is max(S) + log(sum exp(S - max)).
AttentionOutput lowPrecisionForward(const RowKeys &keys, const AttentionShape &shape,
                                    const std::vector<float> &q, const std::vector<float> &k,
                                    const std::vector<float> &v, double scale,
                                    LowPrecision precision);
AttentionOutput lowPrecisionForward(const std::vector<Mask> &heads, const AttentionShape &shape,
                                    const std::vector<float> &q, const std::vector<float> &k,
                                    const std::vector<float> &v, double scale,
                                    LowPrecision precision);

/// Naive low-precision backward (autograd through the forward above): inputs
/// and dO rounded; P as in the forward; dV = round(P^T dO); dP = round(dO V^T);
/// dS = round(P * (dP - rowsum(P * dP))); dQ = round(scale dS K);
/// dK = round(scale dS^T Q).
AttentionGrads lowPrecisionBackward(const RowKeys &keys, const AttentionShape &shape,
                                    const std::vector<float> &q, const std::vector<float> &k,
                                    const std::vector<float> &v, const std::vector<float> &dout,
                                    double scale, LowPrecision precision);
AttentionGrads lowPrecisionBackward(const std::vector<Mask> &heads, const AttentionShape &shape,
                                    const std::vector<float> &q, const std::vector<float> &k,
                                    const std::vector<float> &v, const std::vector<float> &dout,
                                    double scale, LowPrecision precision);

/// Convenience: the pattern's heads, T and domain.
AttentionOutput referenceForward(const ConcretePattern &pattern, int64_t B, int64_t H, int64_t d,
                                 const std::vector<float> &q, const std::vector<float> &k,
                                 const std::vector<float> &v, double scale);
AttentionGrads referenceBackward(const ConcretePattern &pattern, int64_t B, int64_t H, int64_t d,
                                 const std::vector<float> &q, const std::vector<float> &k,
                                 const std::vector<float> &v, const std::vector<float> &dout,
                                 double scale);

/// The same over packed documents (RowKeys::fromDocuments, one batch row at a
/// time); cuSeqlens holds B rows of N + 1 boundaries.
AttentionOutput referenceForward(const ConcretePattern &pattern,
                                 const std::vector<int32_t> &cuSeqlens, int64_t B, int64_t H,
                                 int64_t d, const std::vector<float> &q,
                                 const std::vector<float> &k, const std::vector<float> &v,
                                 double scale);
AttentionGrads referenceBackward(const ConcretePattern &pattern,
                                 const std::vector<int32_t> &cuSeqlens, int64_t B, int64_t H,
                                 int64_t d, const std::vector<float> &q,
                                 const std::vector<float> &k, const std::vector<float> &v,
                                 const std::vector<float> &dout, double scale);
AttentionOutput lowPrecisionForward(const ConcretePattern &pattern,
                                    const std::vector<int32_t> &cuSeqlens, int64_t B, int64_t H,
                                    int64_t d, const std::vector<float> &q,
                                    const std::vector<float> &k, const std::vector<float> &v,
                                    double scale, LowPrecision precision);
AttentionGrads lowPrecisionBackward(const ConcretePattern &pattern,
                                    const std::vector<int32_t> &cuSeqlens, int64_t B, int64_t H,
                                    int64_t d, const std::vector<float> &q,
                                    const std::vector<float> &k, const std::vector<float> &v,
                                    const std::vector<float> &dout, double scale,
                                    LowPrecision precision);

/// max |a - b| over all elements, with +-inf == +-inf counting as 0 (for lse).
/// Returns +inf when sizes differ or exactly one side is non-finite.
double maxAbsDiff(const std::vector<float> &a, const std::vector<float> &b);
/// max |a| over the finite elements.
double maxAbs(const std::vector<float> &a);

} // namespace sparta
