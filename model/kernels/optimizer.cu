//===- optimizer.cu - Global gradient norm, clipping and AdamW -------------===//
//
// Gradients and optimizer state are fp32 in one flat buffer each; the master
// weights are fp32 and the step also writes the bf16 copy the forward pass
// reads, so no separate cast pass runs per step.
//
// The norm is a two-stage reduction with fixed shapes (gradNormParts(n) blocks
// with a fixed element assignment, then one block adding the parts in order),
// so it is bit-identical from run to run. Its result stays on the device:
// adamw reads the clip scale and the non-finite flag from there, so clipping
// needs no host round trip, and a step whose gradient holds a NaN or inf
// leaves weights and state untouched (the trainer reads the flag afterwards).
//
//===----------------------------------------------------------------------===//

namespace sparta {
namespace model {

SPARTA_DEVICE bool isFiniteBits(float x) { return (__float_as_uint(x) & 0x7f800000u) != 0x7f800000u; }

extern "C" __global__ void __launch_bounds__(kNormThreads) grad_norm_partial(GradNormPartialParams p) {
  __shared__ float scratch[kNormThreads / 32];
  const i64 stride = static_cast<i64>(gridDim.x) * kNormThreads;
  float squares = 0.0f;
  bool finite = true;
  for (i64 i = static_cast<i64>(blockIdx.x) * kNormThreads + threadIdx.x; i < p.n; i += stride) {
    float g = p.grad[i];
    finite = finite && isFiniteBits(g);
    squares += g * g;
  }
  const int anyNonFinite = __syncthreads_or(!finite);
  const float total = blockSum<kNormThreads / 32>(squares, scratch);
  if (threadIdx.x == 0) {
    p.partial[blockIdx.x] = total;
    p.nonFinite[blockIdx.x] = anyNonFinite ? 1 : 0;
  }
}

/// One block of kNormThreads.
extern "C" __global__ void __launch_bounds__(kNormThreads) grad_norm_final(GradNormFinalParams p) {
  __shared__ float scratch[kNormThreads / 32];
  float sum = 0.0f;
  int flag = 0;
  for (int i = threadIdx.x; i < p.parts; i += kNormThreads) {
    sum += p.partial[i];
    flag |= p.nonFinite[i];
  }
  const int anyNonFinite = __syncthreads_or(flag);
  const float total = blockSum<kNormThreads / 32>(sum, scratch);
  if (threadIdx.x == 0) {
    const float norm = sqrtf(total);
    GradNormResult r;
    r.norm = norm;
    // As torch.nn.utils.clip_grad_norm_: scale = min(1, max_norm / (norm + 1e-6)).
    r.clipScale = fminf(1.0f, p.maxNorm / (norm + 1e-6f));
    r.nonFinite = anyNonFinite || !isFiniteBits(total) ? 1 : 0;
    r.reserved = 0;
    *p.result = r;
  }
}

/// AdamW as torch.optim.AdamW: decoupled decay w *= 1 - lr * wd, then
/// w -= lr / bc1 * m / (sqrt(v) / sqrt(bc2) + eps), with the gradient first
/// multiplied by the clip scale.
extern "C" __global__ void __launch_bounds__(kElementThreads) adamw(AdamWParams p) {
  float scale = 1.0f;
  if (p.norm) {
    if (p.norm->nonFinite)
      return;
    scale = p.norm->clipScale;
  }
  const float decay = 1.0f - p.lr * p.weightDecay;
  for (i64 i = globalThread(); i < p.n; i += globalThreads()) {
    const float g = p.grad[i] * scale;
    const float m = p.beta1 * p.m[i] + (1.0f - p.beta1) * g;
    const float v = p.beta2 * p.v[i] + (1.0f - p.beta2) * g * g;
    float w = p.master[i] * decay;
    w -= p.stepSize * m / (sqrtf(v) * p.invBiasCorrection2Sqrt + p.eps);
    p.m[i] = m;
    p.v[i] = v;
    p.master[i] = w;
    p.weight[i] = floatToBf16(w);
  }
}

} // namespace model
} // namespace sparta
