//===- attention_bwd_utility.cuh - Row-wise helper kernels of the backward -===//
//
//  attention_bwd_preprocess<Cfg>  delta = rowsum(dO o O) in fp32, for every
//      row of the launch's heads (identity over t; it does not depend on the
//      mask). grid (ceil(T / kRowsPerUtilityBlock), batch * heads_in_launch).
//  convert_accumulators<Cfg>      fp32 workspace [B, num_heads, T, d] ->
//      dtype tensor with its own strides, for up to three pairs (grid.z picks
//      one). Same grid shape, z = count.
//
// Both move 16 bytes of 16-bit data per thread per step; the threads of one
// row are adjacent lanes, so a row's reduction is a few shuffles.
//
//===----------------------------------------------------------------------===//
#ifndef SPARTA_ATTENTION_BWD_UTILITY_CUH
#define SPARTA_ATTENTION_BWD_UTILITY_CUH

#include "sparta/attention_fwd.cuh"

namespace sparta {

template <typename Cfg> SPARTA_DEVICE void attention_bwd_preprocess(const AttnBwdParams &p) {
  constexpr int D = Cfg::kHeadDim;
  constexpr DType DT = Cfg::kDType;
  constexpr int kTpr = D / 8;                // threads per row, 8 elements each
  constexpr int kRpp = kUtilityThreads / kTpr;   // rows per pass
  constexpr int R = kRowsPerUtilityBlock;
  const int2 bh = batchHead(p.heads, blockIdx.y);
  const int b = bh.x, h = bh.y;
  const u16 *o = headSlice(p.o, b, h), *dO = headSlice(p.dout, b, h);
  float *delta = p.delta + rowIndex(p.heads, b, h, 0);
  const int c = threadIdx.x % kTpr;
#pragma unroll
  for (int pass = 0; pass < R / kRpp; ++pass) {
    const int t = blockIdx.x * R + pass * kRpp + threadIdx.x / kTpr;
    float sum = 0.f;
    if (t < p.heads.seq_len) {
      const uint4 a = *reinterpret_cast<const uint4 *>(o + t * p.o.stride_t + c * 8);
      const uint4 d = *reinterpret_cast<const uint4 *>(dO + t * p.dout.stride_t + c * 8);
      const u32 av[4] = {a.x, a.y, a.z, a.w}, dv[4] = {d.x, d.y, d.z, d.w};
#pragma unroll
      for (int k = 0; k < 4; ++k) {
        const float2 x = unpack2<DT>(av[k]), y = unpack2<DT>(dv[k]);
        sum = fmaf(x.x, y.x, fmaf(x.y, y.y, sum));
      }
    }
#pragma unroll
    for (int off = kTpr / 2; off > 0; off >>= 1)
      sum += __shfl_xor_sync(0xffffffffu, sum, off);
    if (c == 0 && t < p.heads.seq_len)
      delta[t] = sum;
  }
}

template <typename Cfg> SPARTA_DEVICE void convert_accumulators(const ConvertParams &p) {
  constexpr int D = Cfg::kHeadDim;
  constexpr DType DT = Cfg::kDType;
  constexpr int kTpr = D / 8;
  constexpr int kRpp = kUtilityThreads / kTpr;
  constexpr int R = kRowsPerUtilityBlock;
  const int z = blockIdx.z;
  if (z >= p.count)
    return;
  const int2 bh = batchHead(p.heads, blockIdx.y);
  const int b = bh.x, h = bh.y;
  const float *src = p.src[z] + rowIndex(p.heads, b, h, 0) * D;
  const TensorArg dst = p.dst[z];
  u16 *out = headSlice(dst, b, h);
  const int c = threadIdx.x % kTpr;
#pragma unroll
  for (int pass = 0; pass < R / kRpp; ++pass) {
    const int t = blockIdx.x * R + pass * kRpp + threadIdx.x / kTpr;
    if (t >= p.heads.seq_len)
      continue;
    const float4 x = *reinterpret_cast<const float4 *>(src + static_cast<i64>(t) * D + c * 8);
    const float4 y = *reinterpret_cast<const float4 *>(src + static_cast<i64>(t) * D + c * 8 + 4);
    uint4 v;
    v.x = packFloat2<DT>(x.x, x.y);
    v.y = packFloat2<DT>(x.z, x.w);
    v.z = packFloat2<DT>(y.x, y.y);
    v.w = packFloat2<DT>(y.z, y.w);
    *reinterpret_cast<uint4 *>(out + t * dst.stride_t + c * 8) = v;
  }
}

} // namespace sparta

#endif // SPARTA_ATTENTION_BWD_UTILITY_CUH
