//===- mma.cuh - Tensor-core MMA, ldmatrix and cp.async as inline PTX ------===//
//
// The warp-level building blocks of every attention kernel (sm_80 and later):
//
//  mma.sync.m16n8k16 (fp32 accumulate). Per lane, with g = lane/4, c = lane%4:
//    A 16x16 row-major, 4 regs: a0 (g, 2c..2c+1), a1 (g+8, 2c..), a2 (g, 2c+8..),
//                               a3 (g+8, 2c+8..)
//    B 16x8 (k x n), 2 regs:    b0 (k=2c..2c+1, n=g), b1 (k=2c+8.., n=g)
//    C 16x8 fp32, 4 regs:       c0,c1 (g, 2c..2c+1), c2,c3 (g+8, 2c..2c+1)
//  Two adjacent C tiles (n = 16j..16j+15) therefore *are* the A fragment of
//  k-step j once packed to 16 bits, which is how P feeds P*V without shared
//  memory (see accToA below).
//
//  ldmatrix.x4 loads four 8x8 b16 matrices; lane i supplies the row address
//  of row i%8 of matrix i/8, and register j receives matrix j in the
//  "thread t holds row t/4, columns 2(t%4)..+1" layout; .trans transposes.
//
//===----------------------------------------------------------------------===//
#ifndef SPARTA_MMA_CUH
#define SPARTA_MMA_CUH

#include "sparta/numeric.cuh"

namespace sparta {

/// Shared-memory address (32-bit, .shared window) of a generic pointer.
SPARTA_DEVICE u32 smemAddr(const void *p) {
  u32 a;
  asm("{ .reg .u64 t; cvta.to.shared.u64 t, %1; cvt.u32.u64 %0, t; }" : "=r"(a) : "l"(p));
  return a;
}

/// D = A*B + D, bf16 or fp16 inputs, fp32 accumulators.
template <DType DT> SPARTA_DEVICE void mma16816(float (&d)[4], const u32 (&a)[4], u32 b0, u32 b1);
template <>
SPARTA_DEVICE void mma16816<DType::BF16>(float (&d)[4], const u32 (&a)[4], u32 b0, u32 b1) {
  asm volatile("mma.sync.aligned.m16n8k16.row.col.f32.bf16.bf16.f32 "
               "{%0,%1,%2,%3}, {%4,%5,%6,%7}, {%8,%9}, {%0,%1,%2,%3};"
               : "+f"(d[0]), "+f"(d[1]), "+f"(d[2]), "+f"(d[3])
               : "r"(a[0]), "r"(a[1]), "r"(a[2]), "r"(a[3]), "r"(b0), "r"(b1));
}
template <>
SPARTA_DEVICE void mma16816<DType::FP16>(float (&d)[4], const u32 (&a)[4], u32 b0, u32 b1) {
  asm volatile("mma.sync.aligned.m16n8k16.row.col.f32.f16.f16.f32 "
               "{%0,%1,%2,%3}, {%4,%5,%6,%7}, {%8,%9}, {%0,%1,%2,%3};"
               : "+f"(d[0]), "+f"(d[1]), "+f"(d[2]), "+f"(d[3])
               : "r"(a[0]), "r"(a[1]), "r"(a[2]), "r"(a[3]), "r"(b0), "r"(b1));
}

SPARTA_DEVICE void ldmatrixX4(u32 (&r)[4], u32 addr) {
  asm volatile("ldmatrix.sync.aligned.m8n8.x4.shared.b16 {%0,%1,%2,%3}, [%4];"
               : "=r"(r[0]), "=r"(r[1]), "=r"(r[2]), "=r"(r[3])
               : "r"(addr));
}
SPARTA_DEVICE void ldmatrixX4Trans(u32 (&r)[4], u32 addr) {
  asm volatile("ldmatrix.sync.aligned.m8n8.x4.trans.shared.b16 {%0,%1,%2,%3}, [%4];"
               : "=r"(r[0]), "=r"(r[1]), "=r"(r[2]), "=r"(r[3])
               : "r"(addr));
}

/// 16-byte global->shared copy that bypasses L1; copies 0 bytes and
/// zero-fills the destination when `valid` is false (rows past a group's end).
SPARTA_DEVICE void cpAsync16(u32 dst, const void *src, bool valid) {
  int bytes = valid ? 16 : 0;
  asm volatile("cp.async.cg.shared.global [%0], [%1], 16, %2;" ::"r"(dst), "l"(src), "r"(bytes));
}
SPARTA_DEVICE void cpAsyncCommit() { asm volatile("cp.async.commit_group;"); }
/// Waits until at most N committed groups are still in flight.
template <int N> SPARTA_DEVICE void cpAsyncWait() {
  asm volatile("cp.async.wait_group %0;" ::"n"(N));
}

/// Packs the fp32 C fragments of n-tiles 2j and 2j+1 (row-major 16x16 block)
/// into the bf16/fp16 A fragment of k-step j.
template <DType DT>
SPARTA_DEVICE void accToA(u32 (&a)[4], const float (&lo)[4], const float (&hi)[4]) {
  a[0] = packFloat2<DT>(lo[0], lo[1]);
  a[1] = packFloat2<DT>(lo[2], lo[3]);
  a[2] = packFloat2<DT>(hi[0], hi[1]);
  a[3] = packFloat2<DT>(hi[2], hi[3]);
}

/// Sum / max over the 4 lanes of a quad (the lanes sharing one C row).
SPARTA_DEVICE float quadSum(float v) {
  v += __shfl_xor_sync(0xffffffffu, v, 1);
  v += __shfl_xor_sync(0xffffffffu, v, 2);
  return v;
}
SPARTA_DEVICE float quadMax(float v) {
  v = fmaxf(v, __shfl_xor_sync(0xffffffffu, v, 1));
  v = fmaxf(v, __shfl_xor_sync(0xffffffffu, v, 2));
  return v;
}

} // namespace sparta

#endif // SPARTA_MMA_CUH
