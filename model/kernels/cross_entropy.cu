//===- cross_entropy.cu - Fused softmax cross-entropy over the byte classes ===//
//
// One warp per token row, the vocab logits in registers: max, sum of exps and
// log-sum-exp in fp32 (accurate expf/logf: the loss is the number the trainer
// reports), loss[row] = lse - logit[target], and in the same pass
// dlogits = (softmax - onehot(target)) * dlossScale, written in bf16 over the
// logits if asked (the logits are not needed after the backward).
// The target kIgnoreTarget (padding and the last byte of a packed document,
// whose next byte is not its own) gives a loss of 0 and an all-zero gradient
// row, so the caller's mean divides by the targets that count. Any other
// target outside [0, vocab) gives a NaN loss, which the trainer's NaN check
// then names, rather than reading out of bounds.
//
//===----------------------------------------------------------------------===//

namespace sparta {
namespace model {

extern "C" __global__ void __launch_bounds__(kRowThreads) cross_entropy(CrossEntropyParams p) {
  constexpr int V = cfg::kVocab, VEC = cfg::kVocabVec;
  using Row = WarpRow<V, VEC>;
  const int lane = threadIdx.x % 32;
  const int row = blockIdx.x * kRowWarps + threadIdx.x / 32;
  if (row >= p.rows)
    return;
  Row z;
  const int target = p.targets[row];
  if (target == kIgnoreTarget) {
    if (lane == 0)
      p.loss[row] = 0.0f;
    if (p.dlogits) {
#pragma unroll
      for (int j = 0; j < Row::kChunks; ++j)
#pragma unroll
        for (int e = 0; e < VEC; ++e)
          z.v[j][e] = 0.0f;
      z.store(p.dlogits + static_cast<i64>(row) * V, lane);
    }
    return;
  }
  z.load(p.logits + static_cast<i64>(row) * V, lane);

  float localMax = negInf(), targetLogit = 0.0f;
#pragma unroll
  for (int j = 0; j < Row::kChunks; ++j)
#pragma unroll
    for (int e = 0; e < VEC; ++e) {
      localMax = fmaxf(localMax, z.v[j][e]);
      if (Row::column(j, e, lane) == target)
        targetLogit = z.v[j][e];
    }
  const float rowMax = warpMax(localMax);
  // Exactly one lane holds a non-zero, so the sum is that logit exactly.
  targetLogit = warpSum(targetLogit);
  float sum = 0.0f;
#pragma unroll
  for (int j = 0; j < Row::kChunks; ++j)
#pragma unroll
    for (int e = 0; e < VEC; ++e) {
      z.v[j][e] = expf(z.v[j][e] - rowMax);
      sum += z.v[j][e];
    }
  sum = warpSum(sum);
  const bool valid = target >= 0 && target < V;
  if (lane == 0)
    p.loss[row] = valid ? rowMax + logf(sum) - targetLogit : quietNaN();
  if (!p.dlogits)
    return;
  const float inv = 1.0f / sum;
#pragma unroll
  for (int j = 0; j < Row::kChunks; ++j)
#pragma unroll
    for (int e = 0; e < VEC; ++e) {
      float onehot = Row::column(j, e, lane) == target ? 1.0f : 0.0f;
      z.v[j][e] = (z.v[j][e] * inv - onehot) * p.dlossScale;
    }
  z.store(p.dlogits + static_cast<i64>(row) * V, lane);
}

} // namespace model
} // namespace sparta
