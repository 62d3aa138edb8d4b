//===- CpuExecutor.h - Runs a Plan on the CPU the way the kernels will ----===//
//
// The executable specification of the lowering: it walks a Plan with exactly
// the loop structure, tile schedules (tiling.h, the same code the GPU kernels
// compile) and numerics (fp32, online softmax per key tile, log-sum-exp merge
// of components) that the generated forward and backward kernels use. Tests
// compare it with ReferenceAttention; a plan bug (a missed or doubled pair, a
// tile wrongly flagged full, a backward list that is not the transpose of the
// forward one) shows up here as a numeric difference before any GPU is
// involved, and a kernel that disagrees with this executor but not with its
// plan has a code-generation bug.
//
// Tensors: std::vector<float> in layout [B, H, T, d] (T = plan.T), lse
// [B, H, T]; head h uses plan.heads[h % plan.heads.size()].
//
//===----------------------------------------------------------------------===//
#pragma once

#include "sparta/Plan.h"
#include "sparta/ReferenceAttention.h"

#include <cstdint>
#include <vector>

namespace sparta {

/// Forward of every head: O and the natural-log lse (rows with no allowed key:
/// O = 0, lse = -inf). docIds: packed documents, the document of every token
/// [B, T] (documentIds in Packing.h), run as the kernels do (documents.h).
AttentionOutput cpuForward(const Plan &plan, int64_t B, int64_t H, int64_t d,
                           const std::vector<float> &q, const std::vector<float> &k,
                           const std::vector<float> &v, float scale,
                           const std::vector<int32_t> *docIds = nullptr);

/// Backward of every head given the forward's O and lse and the incoming dO.
AttentionGrads cpuBackward(const Plan &plan, int64_t B, int64_t H, int64_t d,
                           const std::vector<float> &q, const std::vector<float> &k,
                           const std::vector<float> &v, const std::vector<float> &o,
                           const std::vector<float> &lse, const std::vector<float> &dout,
                           float scale, const std::vector<int32_t> *docIds = nullptr);

//--- one component of one (batch, head): what one kernel launch computes ------
// Pointers address one head's [T, d] slices (and [T] for lse and D).

/// Forward of one component alone: its partial O and lse (rows the component
/// gives no key: O = 0, lse = -inf), written to every row. docs: the
/// documents of the row's T tokens, null without packed documents.
void componentForward(const PlanComponent &component, int64_t T, int64_t d, const float *q,
                      const float *k, const float *v, float scale, float *o, float *lse,
                      const int32_t *docs = nullptr);

/// Folds a component's partial (o2, lse2) into the running (o, lse) of a head:
/// lse = logaddexp(lse, lse2), o = o * exp(lse_old - lse) + o2 * exp(lse2 - lse).
void mergePartial(int64_t T, int64_t d, float *o, float *lse, const float *o2, const float *lse2);

/// Backward of one component, accumulated (+=) into dq, dk, dv. `lse` is the
/// head's merged lse and D = rowsum(dO * O) of the merged O.
void componentBackward(const PlanComponent &component, int64_t T, int64_t d, const float *q,
                       const float *k, const float *v, const float *dout, const float *lse,
                       const float *D, float scale, float *dq, float *dk, float *dv,
                       const int32_t *docs = nullptr);

} // namespace sparta
