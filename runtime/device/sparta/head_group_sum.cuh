//===- head_group_sum.cuh - dK/dV of grouped-query attention ---------------===//
//
// With grouped-query attention (k and v have Hkv heads, q has H = G x Hkv),
// the backward kernels write one dK and dV per query head into [B, H, T, d]
// buffers; this kernel sums each group of G consecutive heads into the
// [B, Hkv, T, d] gradients: dst[b, g, t, :] = sum over j < G, in order, of
// src[b, g G + j, t, :]. The sum is fp32 and its order is fixed, so the result
// is deterministic. grid (ceil(T / kRowsPerUtilityBlock), B x Hkv, count):
// grid.z picks the (src, dst) pair (dK, dV).
//
// The parameter struct is host-visible (the host includes this file for it);
// the kernel body is compiled by NVRTC only.
//
//===----------------------------------------------------------------------===//
#ifndef SPARTA_HEAD_GROUP_SUM_CUH
#define SPARTA_HEAD_GROUP_SUM_CUH

#include "sparta/params.h"

namespace sparta {

struct HeadGroupSumParams {
  TensorArg src[2]; // [B, kv_heads x group, T, d]
  TensorArg dst[2]; // [B, kv_heads, T, d]
  i32 count;        // pairs in use (1 or 2)
  i32 batch;
  i32 kv_heads;
  i32 group;        // query heads per kv head
  i32 seq_len;
  i32 pad_;
};

} // namespace sparta

#if defined(__CUDACC_RTC__)
#include "sparta/numeric.cuh"

namespace sparta {

template <int D, DType DT> SPARTA_DEVICE void head_group_sum(const HeadGroupSumParams &p) {
  constexpr int kTpr = D / 8;              // threads per row, 8 elements each
  constexpr int kRpp = kUtilityThreads / kTpr; // rows per pass
  constexpr int R = kRowsPerUtilityBlock;
  const int z = blockIdx.z;
  if (z >= p.count)
    return;
  const int b = blockIdx.y / p.kv_heads;
  const int g = blockIdx.y - b * p.kv_heads;
  const TensorArg src = p.src[z], dst = p.dst[z];
  const int c = threadIdx.x % kTpr;
#pragma unroll
  for (int pass = 0; pass < R / kRpp; ++pass) {
    const int t = blockIdx.x * R + pass * kRpp + threadIdx.x / kTpr;
    if (t >= p.seq_len)
      continue;
    float acc[8] = {0.f, 0.f, 0.f, 0.f, 0.f, 0.f, 0.f, 0.f};
    for (int j = 0; j < p.group; ++j) {
      const u16 *row = static_cast<const u16 *>(src.ptr) + b * src.stride_b +
                       static_cast<i64>(g * p.group + j) * src.stride_h + t * src.stride_t + c * 8;
      const uint4 v = *reinterpret_cast<const uint4 *>(row);
      const u32 words[4] = {v.x, v.y, v.z, v.w};
#pragma unroll
      for (int w = 0; w < 4; ++w) {
        const float2 f = unpack2<DT>(words[w]);
        acc[2 * w] += f.x;
        acc[2 * w + 1] += f.y;
      }
    }
    uint4 out;
    out.x = packFloat2<DT>(acc[0], acc[1]);
    out.y = packFloat2<DT>(acc[2], acc[3]);
    out.z = packFloat2<DT>(acc[4], acc[5]);
    out.w = packFloat2<DT>(acc[6], acc[7]);
    *reinterpret_cast<uint4 *>(static_cast<u16 *>(dst.ptr) + b * dst.stride_b +
                               static_cast<i64>(g) * dst.stride_h + t * dst.stride_t + c * 8) = out;
  }
}

} // namespace sparta
#endif // __CUDACC_RTC__

#endif // SPARTA_HEAD_GROUP_SUM_CUH
