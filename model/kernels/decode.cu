//===- decode.cu - One query against a key/value cache (sampling) ----------===//
//
// Sampling feeds one position at a time; the keys and values of the earlier
// positions are kept in a cache, so each new position costs one row of each
// layer instead of a forward over the whole window. Block (h, r) handles head
// h of row r: it first writes the new key and value into the cache (the query
// may attend to its own position), then its warps split the mask row's keys
// (warp w takes keys w, w + kDecodeWarps, ...); lane l holds the elements
// l, l + 32, ... of the head. Each warp keeps a running maximum, sum and
// weighted value (the online softmax); the warps are combined in warp order,
// so the result is deterministic. Scores and sums are fp32; the output is
// rounded to bf16 like every activation.
//
//===----------------------------------------------------------------------===//

namespace sparta {
namespace model {

extern "C" __global__ void __launch_bounds__(kDecodeThreads) decode_attention(DecodeAttentionParams p) {
  constexpr int D = cfg::kDModel;
  constexpr int kMaxPerLane = kDecodeMaxHeadDim / 32;
  const int h = blockIdx.x, r = blockIdx.y;
  const int lane = threadIdx.x & 31, warp = threadIdx.x >> 5;
  const int dh = p.headDim, perLane = dh / 32;
  const u16 *qkv = p.qkv + static_cast<i64>(r) * 3 * D + h * dh;
  u16 *rowCache = p.cache + static_cast<i64>(r) * p.T * 2 * D;

  u16 *slot = rowCache + static_cast<i64>(p.pos) * 2 * D + h * dh;
  for (int e = threadIdx.x; e < dh; e += kDecodeThreads) {
    slot[e] = qkv[D + e];
    slot[D + e] = qkv[2 * D + e];
  }
  __syncthreads(); // the block's own writes are visible to all of its threads

  float q[kMaxPerLane], acc[kMaxPerLane];
#pragma unroll
  for (int i = 0; i < kMaxPerLane; ++i) {
    q[i] = i < perLane ? bf16ToFloat(qkv[lane + 32 * i]) * p.scale : 0.0f;
    acc[i] = 0.0f;
  }
  const float negInf = __int_as_float(0xff800000);
  const i64 *start = p.rowStart + static_cast<i64>(p.headMask[h]) * (p.T + 1) + p.pos;
  const i64 begin = start[0], end = start[1];
  float m = negInf, l = 0.0f;
  for (i64 k = begin + warp; k < end; k += kDecodeWarps) {
    const u16 *kv = rowCache + static_cast<i64>(p.keys[k]) * 2 * D + h * dh;
    float s = 0.0f;
#pragma unroll
    for (int i = 0; i < kMaxPerLane; ++i)
      if (i < perLane)
        s += q[i] * bf16ToFloat(kv[lane + 32 * i]);
    s = warpSum(s);
    const float mNew = fmaxf(m, s);
    const float keep = expf(m - mNew), weight = expf(s - mNew);
    l = l * keep + weight;
#pragma unroll
    for (int i = 0; i < kMaxPerLane; ++i)
      if (i < perLane)
        acc[i] = acc[i] * keep + weight * bf16ToFloat(kv[D + lane + 32 * i]);
    m = mNew;
  }

  __shared__ float warpMaxima[kDecodeWarps], warpSums[kDecodeWarps];
  __shared__ float warpAcc[kDecodeWarps][kDecodeMaxHeadDim];
  if (lane == 0)
    warpMaxima[warp] = m, warpSums[warp] = l;
#pragma unroll
  for (int i = 0; i < kMaxPerLane; ++i)
    if (i < perLane)
      warpAcc[warp][lane + 32 * i] = acc[i];
  __syncthreads();
  for (int e = threadIdx.x; e < dh; e += kDecodeThreads) {
    float M = negInf;
    for (int w = 0; w < kDecodeWarps; ++w)
      M = fmaxf(M, warpMaxima[w]);
    float sum = 0.0f, o = 0.0f;
    for (int w = 0; w < kDecodeWarps; ++w)
      if (warpSums[w] > 0.0f) {
        const float c = expf(warpMaxima[w] - M);
        sum += warpSums[w] * c;
        o += warpAcc[w][e] * c;
      }
    // A row without keys (an empty mask row) gives 0.
    p.out[static_cast<i64>(r) * D + h * dh + e] = floatToBf16(sum > 0.0f ? o / sum : 0.0f);
  }
}

} // namespace model
} // namespace sparta
