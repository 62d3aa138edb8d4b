//===- common.cuh - Shared device helpers of the generated model kernels ---===//
//
// Pasted by the generator after the configuration constants (namespace
// sparta::model::cfg) and kernel_params.h, before the kernel files. bf16
// values are raw u16 bits converted with sparta/numeric.cuh; all arithmetic is
// fp32. Reductions use fixed shapes and orders only, so every kernel is
// bit-for-bit deterministic from run to run.
//
//===----------------------------------------------------------------------===//

namespace sparta {
namespace model {

SPARTA_DEVICE float bf16ToFloat(u16 bits) { return toFloat<DType::BF16>(bits); }
SPARTA_DEVICE u16 floatToBf16(float f) {
  return static_cast<u16>(packFloat2<DType::BF16>(f, 0.0f) & 0xffffu);
}
SPARTA_DEVICE float quietNaN() { return __int_as_float(0x7fc00000); }

/// VEC consecutive bf16 values in one access (16, 8, 4 or 2 bytes).
template <int VEC> SPARTA_DEVICE void loadBf16(const u16 *p, float (&f)[VEC]);
template <> SPARTA_DEVICE void loadBf16<8>(const u16 *p, float (&f)[8]) {
  uint4 v = *reinterpret_cast<const uint4 *>(p);
  u32 w[4] = {v.x, v.y, v.z, v.w};
#pragma unroll
  for (int i = 0; i < 4; ++i) {
    float2 t = unpack2<DType::BF16>(w[i]);
    f[2 * i] = t.x;
    f[2 * i + 1] = t.y;
  }
}
template <> SPARTA_DEVICE void loadBf16<4>(const u16 *p, float (&f)[4]) {
  uint2 v = *reinterpret_cast<const uint2 *>(p);
  float2 a = unpack2<DType::BF16>(v.x), b = unpack2<DType::BF16>(v.y);
  f[0] = a.x, f[1] = a.y, f[2] = b.x, f[3] = b.y;
}
template <> SPARTA_DEVICE void loadBf16<2>(const u16 *p, float (&f)[2]) {
  float2 a = unpack2<DType::BF16>(*reinterpret_cast<const u32 *>(p));
  f[0] = a.x, f[1] = a.y;
}
template <> SPARTA_DEVICE void loadBf16<1>(const u16 *p, float (&f)[1]) { f[0] = bf16ToFloat(*p); }

template <int VEC> SPARTA_DEVICE void storeBf16(u16 *p, const float (&f)[VEC]);
template <> SPARTA_DEVICE void storeBf16<8>(u16 *p, const float (&f)[8]) {
  uint4 v;
  v.x = packFloat2<DType::BF16>(f[0], f[1]);
  v.y = packFloat2<DType::BF16>(f[2], f[3]);
  v.z = packFloat2<DType::BF16>(f[4], f[5]);
  v.w = packFloat2<DType::BF16>(f[6], f[7]);
  *reinterpret_cast<uint4 *>(p) = v;
}
template <> SPARTA_DEVICE void storeBf16<4>(u16 *p, const float (&f)[4]) {
  uint2 v;
  v.x = packFloat2<DType::BF16>(f[0], f[1]);
  v.y = packFloat2<DType::BF16>(f[2], f[3]);
  *reinterpret_cast<uint2 *>(p) = v;
}
template <> SPARTA_DEVICE void storeBf16<2>(u16 *p, const float (&f)[2]) {
  *reinterpret_cast<u32 *>(p) = packFloat2<DType::BF16>(f[0], f[1]);
}
template <> SPARTA_DEVICE void storeBf16<1>(u16 *p, const float (&f)[1]) { *p = floatToBf16(f[0]); }

/// Rounds in place to the bf16 grid (what a store and a reload would give).
template <int VEC> SPARTA_DEVICE void roundBf16(float (&f)[VEC]) {
#pragma unroll
  for (int i = 0; i < VEC; ++i)
    f[i] = bf16ToFloat(floatToBf16(f[i]));
}

/// Sum over the warp with a butterfly: every lane ends with the same bits
/// (each level adds the same two values, and fp32 addition is commutative).
SPARTA_DEVICE float warpSum(float v) {
#pragma unroll
  for (int o = 16; o > 0; o >>= 1)
    v += __shfl_xor_sync(0xffffffffu, v, o);
  return v;
}
SPARTA_DEVICE float warpMax(float v) {
#pragma unroll
  for (int o = 16; o > 0; o >>= 1)
    v = fmaxf(v, __shfl_xor_sync(0xffffffffu, v, o));
  return v;
}

/// A row of WIDTH bf16 values spread over a warp: lane l holds elements
/// [(j * 32 + l) * VEC, + VEC) for j < CHUNKS, so each access of the warp is
/// one contiguous, fully coalesced segment.
template <int WIDTH, int VEC> struct WarpRow {
  static constexpr int kChunks = WIDTH / (32 * VEC);
  static_assert(kChunks * 32 * VEC == WIDTH, "row width must be a multiple of 32 * VEC");
  float v[kChunks][VEC];

  static SPARTA_DEVICE int column(int j, int e, int lane) { return (j * 32 + lane) * VEC + e; }
  SPARTA_DEVICE void load(const u16 *row, int lane) {
#pragma unroll
    for (int j = 0; j < kChunks; ++j)
      loadBf16<VEC>(row + (j * 32 + lane) * VEC, v[j]);
  }
  SPARTA_DEVICE void store(u16 *row, int lane) const {
#pragma unroll
    for (int j = 0; j < kChunks; ++j)
      storeBf16<VEC>(row + (j * 32 + lane) * VEC, v[j]);
  }
};

/// Philox4x32-10 (Salmon et al., SC'11): a counter-based generator, so any
/// element's random word is recomputed from (seed, offset, index) alone and a
/// dropout mask never needs to be stored.
SPARTA_DEVICE uint4 philox4x32(u64 counter, u64 offset, u64 seed) {
  u32 c0 = static_cast<u32>(counter), c1 = static_cast<u32>(counter >> 32);
  u32 c2 = static_cast<u32>(offset), c3 = static_cast<u32>(offset >> 32);
  u32 k0 = static_cast<u32>(seed), k1 = static_cast<u32>(seed >> 32);
#pragma unroll
  for (int round = 0; round < 10; ++round) {
    u32 hi0 = __umulhi(0xD2511F53u, c0), lo0 = 0xD2511F53u * c0;
    u32 hi1 = __umulhi(0xCD9E8D57u, c2), lo1 = 0xCD9E8D57u * c2;
    c0 = hi1 ^ c1 ^ k0;
    c1 = lo1;
    c2 = hi0 ^ c3 ^ k1;
    c3 = lo0;
    k0 += 0x9E3779B9u;
    k1 += 0xBB67AE85u;
  }
  return make_uint4(c0, c1, c2, c3);
}

/// Grid-stride loop bounds of the element-wise kernels: thread g handles
/// elements [8g, 8g + 8) of every grid-sized stride.
SPARTA_DEVICE i64 globalThread() { return static_cast<i64>(blockIdx.x) * blockDim.x + threadIdx.x; }
SPARTA_DEVICE i64 globalThreads() { return static_cast<i64>(gridDim.x) * blockDim.x; }

/// Sums a kNumWarps-warp block's values into every thread, in warp order.
template <int kNumWarps> SPARTA_DEVICE float blockSum(float v, float *scratch) {
  v = warpSum(v);
  int warp = threadIdx.x / 32, lane = threadIdx.x % 32;
  if (lane == 0)
    scratch[warp] = v;
  __syncthreads();
  float total = 0.0f;
#pragma unroll
  for (int w = 0; w < kNumWarps; ++w)
    total += scratch[w];
  __syncthreads();
  return total;
}

} // namespace model
} // namespace sparta
