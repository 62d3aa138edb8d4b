//===- mma.cuh - Tensor-core MMA (mma.sync, wgmma), ldmatrix, cp.async -----===//
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

// ---- Hopper warpgroup MMA (sm_90a only) ----------------------------------------
// wgmma.mma_async m64nNk16: the CTA's 4 warps (one warpgroup) compute a
// 64 x N block together; warp w supplies and receives rows 16w..16w+15 in
// exactly the mma.sync layouts above (A: a0..a3 of its 16 rows; D: n-tile j
// in registers 4j..4j+3), so the softmax code is shared by both paths. A comes
// from registers or, like B, from shared memory through a matrix descriptor
// (see tile_mma.cuh), which is what saves the ldmatrix traffic that bounds the
// mma.sync kernels. The instruction is asynchronous: issue, commit the group,
// wait, and only then touch the accumulators (wgmmaFenceOperands keeps the
// compiler from moving register accesses across the fence and the wait).

/// True when compiling for sm_90a, the only target with wgmma.
#if defined(__CUDA_ARCH_FEAT_SM90_ALL)
constexpr bool kHasWgmma = true;
#else
constexpr bool kHasWgmma = false;
#endif

SPARTA_DEVICE void wgmmaFence() { asm volatile("wgmma.fence.sync.aligned;" ::: "memory"); }
SPARTA_DEVICE void wgmmaCommit() { asm volatile("wgmma.commit_group.sync.aligned;" ::: "memory"); }
template <int N> SPARTA_DEVICE void wgmmaWait() {
  asm volatile("wgmma.wait_group.sync.aligned %0;" ::"n"(N) : "memory");
}
/// Pins the operand registers at this point of the instruction stream:
/// called before wgmmaFence (so that the compiler cannot sink the code that
/// writes accumulators or A fragments below the fence, which wgmma forbids)
/// and after wgmmaWait (so that it cannot hoist reads of the results above).
template <int NT> SPARTA_DEVICE void wgmmaFenceOperands(float (&d)[NT][4]) {
#pragma unroll
  for (int i = 0; i < NT; ++i)
#pragma unroll
    for (int j = 0; j < 4; ++j)
      asm volatile("" : "+f"(d[i][j])::"memory");
}
template <int NT> SPARTA_DEVICE void wgmmaFenceOperands(u32 (&a)[NT][4]) {
#pragma unroll
  for (int i = 0; i < NT; ++i)
#pragma unroll
    for (int j = 0; j < 4; ++j)
      asm volatile("" : "+r"(a[i][j])::"memory");
}
/// Makes this thread's generic-proxy shared-memory writes (cp.async, st.shared)
/// visible to wgmma, which reads shared memory through the async proxy.
SPARTA_DEVICE void fenceSharedForWgmma() { asm volatile("fence.proxy.async.shared::cta;" ::: "memory"); }

// Accumulator operands: 8 (N = 64) or 4 (N = 32) n-tiles of 4 registers.
#define SPARTA_ACC4(i) "+f"(d[i][0]), "+f"(d[i][1]), "+f"(d[i][2]), "+f"(d[i][3])
#define SPARTA_ACC_N64 SPARTA_ACC4(0), SPARTA_ACC4(1), SPARTA_ACC4(2), SPARTA_ACC4(3), SPARTA_ACC4(4), SPARTA_ACC4(5), SPARTA_ACC4(6), SPARTA_ACC4(7)
#define SPARTA_ACC_N32 SPARTA_ACC4(0), SPARTA_ACC4(1), SPARTA_ACC4(2), SPARTA_ACC4(3)
#define SPARTA_D_N64 "{%0, %1, %2, %3, %4, %5, %6, %7, %8, %9, %10, %11, %12, %13, %14, %15, %16, %17, %18, %19, %20, %21, %22, %23, %24, %25, %26, %27, %28, %29, %30, %31}"
#define SPARTA_D_N32 "{%0, %1, %2, %3, %4, %5, %6, %7, %8, %9, %10, %11, %12, %13, %14, %15}"
#define SPARTA_WGMMA_N64(TYPE)                                                                     \
  asm volatile("{ .reg .pred p; setp.ne.b32 p, %37, 0;\n"                                         \
               "wgmma.mma_async.sync.aligned.m64n64k16.f32." TYPE "." TYPE " "                    \
               SPARTA_D_N64 ", {%32, %33, %34, %35}, %36, p, 1, 1, %38; }"                              \
               : SPARTA_ACC_N64                                                                   \
               : "r"(a[0]), "r"(a[1]), "r"(a[2]), "r"(a[3]), "l"(desc), "r"(1), "n"(TRANS_B))
#define SPARTA_WGMMA_N32(TYPE)                                                                     \
  asm volatile("{ .reg .pred p; setp.ne.b32 p, %21, 0;\n"                                         \
               "wgmma.mma_async.sync.aligned.m64n32k16.f32." TYPE "." TYPE " "                    \
               SPARTA_D_N32 ", {%16, %17, %18, %19}, %20, p, 1, 1, %22; }"                              \
               : SPARTA_ACC_N32                                                                   \
               : "r"(a[0]), "r"(a[1]), "r"(a[2]), "r"(a[3]), "l"(desc), "r"(1), "n"(TRANS_B))

#define SPARTA_WGMMA_SS_N64(TYPE)                                                                  \
  asm volatile("{ .reg .pred p; setp.ne.b32 p, %34, 0;\n"                                         \
               "wgmma.mma_async.sync.aligned.m64n64k16.f32." TYPE "." TYPE " "                    \
               SPARTA_D_N64 ", %32, %33, p, 1, 1, %35, %36; }"                                          \
               : SPARTA_ACC_N64                                                                   \
               : "l"(aDesc), "l"(desc), "r"(1), "n"(kTransA), "n"(TRANS_B))
#define SPARTA_WGMMA_SS_N32(TYPE)                                                                  \
  asm volatile("{ .reg .pred p; setp.ne.b32 p, %18, 0;\n"                                         \
               "wgmma.mma_async.sync.aligned.m64n32k16.f32." TYPE "." TYPE " "                    \
               SPARTA_D_N32 ", %16, %17, p, 1, 1, %19, %20; }"                                          \
               : SPARTA_ACC_N32                                                                   \
               : "l"(aDesc), "l"(desc), "r"(1), "n"(kTransA), "n"(TRANS_B))

/// A shared-memory A operand stored M-major (its rows are the product's K,
/// e.g. dS^T read as dS): the descriptor of the block, read transposed.
struct TransposedADesc {
  u64 desc;
};

/// 0: A in registers (u32[4]); 1: K-major shared block (u64 descriptor);
/// 2: M-major shared block (TransposedADesc).
template <typename T> struct WgmmaAKind {
  static constexpr int value = 0;
};
template <> struct WgmmaAKind<u64> {
  static constexpr int value = 1;
};
template <> struct WgmmaAKind<TransposedADesc> {
  static constexpr int value = 2;
};
SPARTA_DEVICE u64 aDescriptorOf(u64 d) { return d; }
SPARTA_DEVICE u64 aDescriptorOf(TransposedADesc d) { return d.desc; }

/// d (64 x N, N = 8 * NT, fp32) += A (64 x 16) * B (16 x N, shared memory,
/// descriptor `desc`; TRANS_B: stored N-major). A is this warp's 16 rows in
/// registers (u32[4]), a K-major shared-memory block (its u64 descriptor) or
/// an M-major one (TransposedADesc). N is 32 or 64.
template <DType DT, bool TRANS_B, int NT, typename AOp>
SPARTA_DEVICE void wgmma(float (&d)[NT][4], const AOp &a, u64 desc) {
  static_assert(NT == 4 || NT == 8, "wgmma is wrapped for N = 32 and N = 64");
  constexpr int kAKind = WgmmaAKind<AOp>::value;
  if constexpr (kAKind != 0) {
    constexpr int kTransA = kAKind == 2 ? 1 : 0;
    const u64 aDesc = aDescriptorOf(a);
    if constexpr (NT == 8 && DT == DType::BF16)
      SPARTA_WGMMA_SS_N64("bf16");
    else if constexpr (NT == 8)
      SPARTA_WGMMA_SS_N64("f16");
    else if constexpr (DT == DType::BF16)
      SPARTA_WGMMA_SS_N32("bf16");
    else
      SPARTA_WGMMA_SS_N32("f16");
  } else if constexpr (NT == 8) {
    if constexpr (DT == DType::BF16)
      SPARTA_WGMMA_N64("bf16");
    else
      SPARTA_WGMMA_N64("f16");
  } else {
    if constexpr (DT == DType::BF16)
      SPARTA_WGMMA_N32("bf16");
    else
      SPARTA_WGMMA_N32("f16");
  }
}
#undef SPARTA_WGMMA_SS_N32
#undef SPARTA_WGMMA_SS_N64
#undef SPARTA_WGMMA_N32
#undef SPARTA_WGMMA_N64
#undef SPARTA_D_N32
#undef SPARTA_D_N64
#undef SPARTA_ACC_N32
#undef SPARTA_ACC_N64
#undef SPARTA_ACC4

} // namespace sparta

#endif // SPARTA_MMA_CUH
