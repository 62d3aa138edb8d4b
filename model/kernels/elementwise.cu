//===- elementwise.cu - GELU, dropout + residual, column sums, casts ------===//
//
// Element-wise kernels: each thread handles groups of 8 consecutive elements
// (one 16-byte bf16 access) in a grid-stride loop; a final partial group is
// done element by element, so any n works.
//
// The column kernels (gelu_bwd, column_sum) walk a [rows, cols] matrix in
// 32 x 8 blocks of 256 columns by a fixed chunk of rows and write per-chunk
// column sums; column_reduce adds the chunks in order. gelu_bwd fuses the bias
// gradient of the first feed-forward matrix into GELU's backward: it sums the
// bf16-rounded dx it stores, so the result is bit-identical to column_sum
// run on that dx.
//
//===----------------------------------------------------------------------===//

namespace sparta {
namespace model {

constexpr float kGeluK = 0.7978845608028654f; // sqrt(2 / pi)
constexpr float kGeluC = 0.044715f;

/// GELU, tanh approximation (as GPT-2 and PyTorch's approximate="tanh").
SPARTA_DEVICE float gelu(float x) {
  float u = kGeluK * (x + kGeluC * x * x * x);
  return 0.5f * x * (1.0f + tanhf(u));
}
SPARTA_DEVICE float geluGrad(float x) {
  float x2 = x * x;
  float t = tanhf(kGeluK * (x + kGeluC * x2 * x));
  return 0.5f * (1.0f + t) + 0.5f * x * (1.0f - t * t) * kGeluK * (1.0f + 3.0f * kGeluC * x2);
}

extern "C" __global__ void __launch_bounds__(kElementThreads) gelu_fwd(GeluFwdParams p) {
  for (i64 base = globalThread() * 8; base < p.n; base += globalThreads() * 8) {
    if (base + 8 <= p.n) {
      float v[8];
      loadBf16<8>(p.x + base, v);
#pragma unroll
      for (int e = 0; e < 8; ++e)
        v[e] = gelu(v[e]);
      storeBf16<8>(p.y + base, v);
    } else {
      for (i64 i = base; i < p.n; ++i)
        p.y[i] = floatToBf16(gelu(bf16ToFloat(p.x[i])));
    }
  }
}

/// grid (ceil(cols / 256), parts), block (32, 8). Needs cols % 8 == 0.
template <bool kGelu> SPARTA_DEVICE void columnPass(const ColumnPassParams &p) {
  __shared__ float tile[kColumnTileY][kColumnsPerTile];
  const int tx = threadIdx.x, ty = threadIdx.y;
  const int col = (blockIdx.x * kColumnTileX + tx) * 8;
  const int rowBegin = blockIdx.y * p.rowsPerPart;
  const int rowEnd = min(rowBegin + p.rowsPerPart, p.rows);
  float acc[8];
#pragma unroll
  for (int e = 0; e < 8; ++e)
    acc[e] = 0.0f;
  if (col < p.cols) {
    for (int row = rowBegin + ty; row < rowEnd; row += kColumnTileY) {
      const i64 offset = static_cast<i64>(row) * p.cols + col;
      float v[8];
      if (kGelu) {
        float x[8];
        loadBf16<8>(p.dy + offset, v);
        loadBf16<8>(p.x + offset, x);
#pragma unroll
        for (int e = 0; e < 8; ++e)
          v[e] *= geluGrad(x[e]);
        roundBf16<8>(v);
        storeBf16<8>(p.dx + offset, v);
      } else {
        loadBf16<8>(p.x + offset, v);
      }
#pragma unroll
      for (int e = 0; e < 8; ++e)
        acc[e] += v[e];
    }
  }
  if (!p.partial)
    return;
#pragma unroll
  for (int e = 0; e < 8; ++e)
    tile[ty][tx * 8 + e] = acc[e];
  __syncthreads();
  const int linear = ty * kColumnTileX + tx;
  const int c = blockIdx.x * kColumnsPerTile + linear;
  float sum = 0.0f;
#pragma unroll
  for (int y = 0; y < kColumnTileY; ++y)
    sum += tile[y][linear];
  if (c < p.cols)
    p.partial[static_cast<i64>(blockIdx.y) * p.cols + c] = sum;
}

extern "C" __global__ void __launch_bounds__(kColumnTileX * kColumnTileY) gelu_bwd(ColumnPassParams p) {
  columnPass<true>(p);
}
extern "C" __global__ void __launch_bounds__(kColumnTileX * kColumnTileY) column_sum(ColumnPassParams p) {
  columnPass<false>(p);
}

extern "C" __global__ void __launch_bounds__(kElementThreads) column_reduce(ColumnReduceParams p) {
  const i64 c = globalThread();
  if (c >= p.cols)
    return;
  float sum = 0.0f;
  for (int part = 0; part < p.parts; ++part)
    sum += p.partial[part * p.ld + c];
  p.out[c] = p.accumulate ? p.out[c] + sum : sum;
}

/// Forward: y = x + keep * scale * a. Backward (x null): y = keep * scale * a,
/// i.e. da from dy; the residual's own gradient is dy itself and needs no kernel.
template <bool kResidual> SPARTA_DEVICE void dropout(const DropoutParams &p) {
  for (i64 base = globalThread() * 8; base < p.n; base += globalThreads() * 8) {
    u32 r[8] = {0u, 0u, 0u, 0u, 0u, 0u, 0u, 0u};
    if (p.threshold != 0u) {
      // Element i uses word i % 4 of counter i / 4; base is a multiple of 8.
      uint4 lo = philox4x32(static_cast<u64>(base / 4), p.offset, p.seed);
      uint4 hi = philox4x32(static_cast<u64>(base / 4 + 1), p.offset, p.seed);
      r[0] = lo.x, r[1] = lo.y, r[2] = lo.z, r[3] = lo.w;
      r[4] = hi.x, r[5] = hi.y, r[6] = hi.z, r[7] = hi.w;
    }
    float mult[8];
#pragma unroll
    for (int e = 0; e < 8; ++e)
      mult[e] = p.threshold == 0u || r[e] >= p.threshold ? p.scale : 0.0f;
    if (base + 8 <= p.n) {
      float a[8], x[8];
      loadBf16<8>(p.a + base, a);
      if (kResidual)
        loadBf16<8>(p.x + base, x);
#pragma unroll
      for (int e = 0; e < 8; ++e)
        a[e] = kResidual ? x[e] + a[e] * mult[e] : a[e] * mult[e];
      storeBf16<8>(p.y + base, a);
    } else {
      for (int e = 0; base + e < p.n; ++e) {
        float a = bf16ToFloat(p.a[base + e]) * mult[e];
        p.y[base + e] = floatToBf16(kResidual ? bf16ToFloat(p.x[base + e]) + a : a);
      }
    }
  }
}

extern "C" __global__ void __launch_bounds__(kElementThreads) dropout_residual_fwd(DropoutParams p) {
  dropout<true>(p);
}
extern "C" __global__ void __launch_bounds__(kElementThreads) dropout_bwd(DropoutParams p) {
  dropout<false>(p);
}

extern "C" __global__ void __launch_bounds__(kElementThreads) convert_bf16(ConvertParams p) {
  for (i64 base = globalThread() * 8; base < p.n; base += globalThreads() * 8) {
    if (base + 8 <= p.n) {
      float4 a = *reinterpret_cast<const float4 *>(p.src + base);
      float4 b = *reinterpret_cast<const float4 *>(p.src + base + 4);
      float v[8] = {a.x, a.y, a.z, a.w, b.x, b.y, b.z, b.w};
      storeBf16<8>(p.dst + base, v);
    } else {
      for (i64 i = base; i < p.n; ++i)
        p.dst[i] = floatToBf16(p.src[i]);
    }
  }
}

} // namespace model
} // namespace sparta
