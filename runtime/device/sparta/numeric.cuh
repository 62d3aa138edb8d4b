//===- numeric.cuh - 16-bit float storage and fast math, without CUDA headers ===//
//
// NVRTC gets no <cuda_bf16.h>/<cuda_fp16.h> from us: bf16 and fp16 values are
// raw 16-bit patterns, converted with inline PTX. Everything a kernel computes
// is fp32; 16-bit values only exist in memory and as MMA operands, packed two
// per 32-bit register (low half = lower column index, as mma.sync expects).
//
//===----------------------------------------------------------------------===//
#ifndef SPARTA_NUMERIC_CUH
#define SPARTA_NUMERIC_CUH

#include "sparta/params.h"

#define SPARTA_DEVICE __device__ __forceinline__

namespace sparta {

constexpr float kLog2e = 1.4426950408889634f;
constexpr float kLn2 = 0.6931471805599453f;

SPARTA_DEVICE float negInf() { return __int_as_float(0xff800000); }
SPARTA_DEVICE float posInf() { return __int_as_float(0x7f800000); }

/// 2^x with the SFU (max rel. error ~2 ulp; -inf -> 0, as softmax needs).
SPARTA_DEVICE float fastExp2(float x) {
  float y;
  asm("ex2.approx.ftz.f32 %0, %1;" : "=f"(y) : "f"(x));
  return y;
}
/// log2(x) with the SFU; log2(0) = -inf.
SPARTA_DEVICE float fastLog2(float x) {
  float y;
  asm("lg2.approx.ftz.f32 %0, %1;" : "=f"(y) : "f"(x));
  return y;
}

/// Packs (lo, hi) into one register of two 16-bit values of type DT, rounding
/// to nearest even. Note cvt's operand order: the first source goes to the
/// upper half.
template <DType DT> SPARTA_DEVICE u32 packFloat2(float lo, float hi);
template <> SPARTA_DEVICE u32 packFloat2<DType::BF16>(float lo, float hi) {
  u32 r;
  asm("cvt.rn.bf16x2.f32 %0, %1, %2;" : "=r"(r) : "f"(hi), "f"(lo));
  return r;
}
template <> SPARTA_DEVICE u32 packFloat2<DType::FP16>(float lo, float hi) {
  u32 r;
  asm("cvt.rn.f16x2.f32 %0, %1, %2;" : "=r"(r) : "f"(hi), "f"(lo));
  return r;
}

/// Widens one 16-bit value of type DT to fp32 (exact).
template <DType DT> SPARTA_DEVICE float toFloat(u16 bits);
template <> SPARTA_DEVICE float toFloat<DType::BF16>(u16 bits) {
  return __int_as_float(static_cast<int>(static_cast<u32>(bits) << 16));
}
template <> SPARTA_DEVICE float toFloat<DType::FP16>(u16 bits) {
  float f;
  asm("cvt.f32.f16 %0, %1;" : "=f"(f) : "h"(bits));
  return f;
}

/// Unpacks a register of two 16-bit values: .x = low half, .y = high half.
template <DType DT> SPARTA_DEVICE float2 unpack2(u32 v) {
  return make_float2(toFloat<DT>(static_cast<u16>(v & 0xffffu)), toFloat<DT>(static_cast<u16>(v >> 16)));
}

/// logaddexp in natural log, exact for -inf operands (-inf, -inf -> -inf).
SPARTA_DEVICE float logAddExp(float a, float b) {
  float m = fmaxf(a, b);
  if (m == negInf())
    return negInf();
  return m + (fastLog2(fastExp2((a - m) * kLog2e) + fastExp2((b - m) * kLog2e))) * kLn2;
}

} // namespace sparta

#endif // SPARTA_NUMERIC_CUH
