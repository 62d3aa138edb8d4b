//===- layernorm.cu - LayerNorm forward and backward over d_model ---------===//
//
// One warp per row, the row held in registers (d_model / 32 values per lane),
// so each row is read once and the variance is the exact two-pass one. The
// forward saves mean and rstd (fp32) for the backward.
//
// Backward: dx (plus an optional residual gradient added in the same pass: in
// a pre-LN block the stream's gradient is dresid + LN'(dy)), and dgamma/dbeta
// in two deterministic stages: block b sums the rows of its fixed chunk, its
// four warps combined in warp order, into partial[b]; column_reduce adds the
// chunks in order.
//
//===----------------------------------------------------------------------===//

namespace sparta {
namespace model {

extern "C" __global__ void __launch_bounds__(kRowThreads) layernorm_fwd(LayerNormFwdParams p) {
  constexpr int D = cfg::kDModel, VEC = cfg::kRowVec;
  using Row = WarpRow<D, VEC>;
  const int lane = threadIdx.x % 32;
  const int row = blockIdx.x * kRowWarps + threadIdx.x / 32;
  if (row >= p.rows)
    return;
  Row x;
  x.load(p.x + static_cast<i64>(row) * D, lane);
  float sum = 0.0f;
#pragma unroll
  for (int j = 0; j < Row::kChunks; ++j)
#pragma unroll
    for (int e = 0; e < VEC; ++e)
      sum += x.v[j][e];
  const float mean = warpSum(sum) * (1.0f / D);
  float squares = 0.0f;
#pragma unroll
  for (int j = 0; j < Row::kChunks; ++j)
#pragma unroll
    for (int e = 0; e < VEC; ++e) {
      float d = x.v[j][e] - mean;
      squares += d * d;
    }
  const float rstd = rsqrtf(warpSum(squares) * (1.0f / D) + cfg::kLayerNormEps);
  Row gamma, beta;
  gamma.load(p.gamma, lane);
  beta.load(p.beta, lane);
#pragma unroll
  for (int j = 0; j < Row::kChunks; ++j)
#pragma unroll
    for (int e = 0; e < VEC; ++e)
      x.v[j][e] = (x.v[j][e] - mean) * rstd * gamma.v[j][e] + beta.v[j][e];
  x.store(p.y + static_cast<i64>(row) * D, lane);
  if (lane == 0 && p.mean) {
    p.mean[row] = mean;
    p.rstd[row] = rstd;
  }
}

extern "C" __global__ void __launch_bounds__(kRowThreads) layernorm_bwd(LayerNormBwdParams p) {
  constexpr int D = cfg::kDModel, VEC = cfg::kRowVec;
  using Row = WarpRow<D, VEC>;
  __shared__ float reduced[2 * D];
  const int warp = threadIdx.x / 32, lane = threadIdx.x % 32;
  const int rowBegin = blockIdx.x * p.rowsPerPart;
  const int rowEnd = min(rowBegin + p.rowsPerPart, p.rows);

  Row gamma, dgamma, dbeta;
  gamma.load(p.gamma, lane);
#pragma unroll
  for (int j = 0; j < Row::kChunks; ++j)
#pragma unroll
    for (int e = 0; e < VEC; ++e)
      dgamma.v[j][e] = dbeta.v[j][e] = 0.0f;

  for (int row = rowBegin + warp; row < rowEnd; row += kRowWarps) {
    const i64 offset = static_cast<i64>(row) * D;
    Row dy, x;
    dy.load(p.dy + offset, lane);
    x.load(p.x + offset, lane);
    const float mean = p.mean[row], rstd = p.rstd[row];
    float sumG = 0.0f, sumGX = 0.0f; // sums of dxhat and dxhat * xhat
#pragma unroll
    for (int j = 0; j < Row::kChunks; ++j)
#pragma unroll
      for (int e = 0; e < VEC; ++e) {
        float xhat = (x.v[j][e] - mean) * rstd;
        float g = dy.v[j][e] * gamma.v[j][e];
        sumG += g;
        sumGX += g * xhat;
        dgamma.v[j][e] += dy.v[j][e] * xhat;
        dbeta.v[j][e] += dy.v[j][e];
        x.v[j][e] = xhat;
        dy.v[j][e] = g;
      }
    const float meanG = warpSum(sumG) * (1.0f / D), meanGX = warpSum(sumGX) * (1.0f / D);
    Row resid;
    if (p.dresid)
      resid.load(p.dresid + offset, lane);
#pragma unroll
    for (int j = 0; j < Row::kChunks; ++j)
#pragma unroll
      for (int e = 0; e < VEC; ++e) {
        float dx = rstd * (dy.v[j][e] - meanG - x.v[j][e] * meanGX);
        dy.v[j][e] = p.dresid ? dx + resid.v[j][e] : dx;
      }
    dy.store(p.dx + offset, lane);
  }

  // Combine the warps in warp order (no atomics), then write this chunk's part.
  for (int w = 0; w < kRowWarps; ++w) {
    if (warp == w) {
#pragma unroll
      for (int j = 0; j < Row::kChunks; ++j)
#pragma unroll
        for (int e = 0; e < VEC; ++e) {
          int c = Row::column(j, e, lane);
          reduced[c] = w == 0 ? dgamma.v[j][e] : reduced[c] + dgamma.v[j][e];
          reduced[D + c] = w == 0 ? dbeta.v[j][e] : reduced[D + c] + dbeta.v[j][e];
        }
    }
    __syncthreads();
  }
  float *part = p.partial + static_cast<i64>(blockIdx.x) * 2 * D;
  for (int c = threadIdx.x; c < 2 * D; c += kRowThreads)
    part[c] = reduced[c];
}

} // namespace model
} // namespace sparta
