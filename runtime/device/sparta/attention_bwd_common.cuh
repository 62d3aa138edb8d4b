//===- attention_bwd_common.cuh - Pieces shared by the backward kernels ----===//
#ifndef SPARTA_ATTENTION_BWD_COMMON_CUH
#define SPARTA_ATTENTION_BWD_COMMON_CUH

#include "sparta/attention_fwd.cuh"

namespace sparta {

/// The (b, h) slices of every backward tensor.
struct BwdBases {
  const u16 *q, *k, *v, *dout;
  u16 *dq, *dk, *dv;
  const float *lse, *delta;     // at (b, h, t = 0)
  float *dqAcc, *dkAcc, *dvAcc; // at (b, h, t = 0, 0)
};

/// The slices of head (b, h); the fp32 workspaces are [.., T, D].
template <int D> SPARTA_DEVICE BwdBases bwdBases(const AttnBwdParams &p, int b, int h) {
  const i64 row0 = rowIndex(p.heads, b, h, 0);
  BwdBases bs;
  bs.q = headSlice(p.q, b, h);
  bs.k = headSlice(p.k, b, h);
  bs.v = headSlice(p.v, b, h);
  bs.dout = headSlice(p.dout, b, h);
  bs.dq = headSlice(p.dq, b, h);
  bs.dk = headSlice(p.dk, b, h);
  bs.dv = headSlice(p.dv, b, h);
  bs.lse = p.lse + row0;
  bs.delta = p.delta + row0;
  // Null workspaces (AccMode::Write) stay null.
  bs.dqAcc = p.dq_acc ? p.dq_acc + row0 * D : nullptr;
  bs.dkAcc = p.dk_acc ? p.dk_acc + row0 * D : nullptr;
  bs.dvAcc = p.dv_acc ? p.dv_acc + row0 * D : nullptr;
  return bs;
}

/// The lse (scaled to base 2) and delta of a tile's query rows into shared
/// memory. Rows past the group's end and rows with no allowed key (lse =
/// -inf) get +inf so that exp2(S - lse) is exactly 0 for them. The CTA's
/// THREADS threads share the work.
template <int ROWS, int THREADS, typename RowFn>
SPARTA_DEVICE void loadRowStats(float *sLse, float *sDelta, const float *lse, const float *delta,
                                RowFn rowOf) {
  for (int r = threadIdx.x; r < ROWS; r += THREADS) {
    const int row = rowOf(r);
    const float l = row >= 0 ? lse[row] : negInf();
    sLse[r] = l == negInf() ? posInf() : l * kLog2e;
    sDelta[r] = row >= 0 ? delta[row] : 0.f;
  }
}

// ---- dQ accumulated by the dK/dV pass (FUSE_DQ, sm_90a) -------------------------
// Each key-tile CTA adds its dQ contribution dS K of every query tile it
// meets into the fp32 workspace. The additions to one query tile happen in a
// fixed order, so reruns are bit-identical: in descending key-tile order,
// which is the order in which the CTAs (each walking its query tiles in
// ascending order, its diagonal first) naturally arrive there. A counter per
// query tile says how many contributions are in; a CTA waits until it equals
// its rank. The Schedule's k_block lists each group's key tiles in
// descending order, so every CTA waits only for CTAs of its own (batch, head)
// row and a lower block (the fused pass keeps a row's blocks together: grid
// x is the block), which have a lower block index and started before it: the
// lowest unfinished CTA never waits, and the launch cannot deadlock. (That
// CTAs start in block-index order is how NVIDIA GPUs dispatch a grid, not a
// documented CUDA guarantee.)

/// *addr += (a, b, c, d), fp32, as one relaxed reduction (addr 16-byte aligned).
SPARTA_DEVICE void redAddF32x4(float *addr, float a, float b, float c, float d) {
  asm volatile("red.global.add.v4.f32 [%0], {%1, %2, %3, %4};" ::"l"(addr), "f"(a), "f"(b), "f"(c),
               "f"(d)
               : "memory");
}
SPARTA_DEVICE int loadRelaxed(const i32 *p) {
  int v;
  asm volatile("ld.relaxed.gpu.global.b32 %0, [%1];" : "=r"(v) : "l"(p) : "memory");
  return v;
}
/// After a relaxed load that saw a counter's value: makes the writes the
/// counter's releaser performed before it visible (the acquire pattern).
SPARTA_DEVICE void fenceAcquire() { asm volatile("fence.acq_rel.gpu;" ::: "memory"); }
SPARTA_DEVICE void storeRelaxed(i32 *p, int v) {
  asm volatile("st.relaxed.gpu.global.b32 [%0], %1;" ::"l"(p), "r"(v) : "memory");
}

/// The first index of query tile qt's forward list (ascending tiles, count
/// >= 1 of them) whose tile is at least kt, or the last index where none is:
/// kt's index where kt is in the list. A binary search over fwd_tile.
template <typename S> SPARTA_DEVICE int fwdPosition(int g, int qt, int kt, int count) {
  int lo = 0, hi = count - 1;
  while (lo < hi) {
    const int mid = (lo + hi) >> 1;
    if (S::fwd_tile(g, qt, mid).tile < kt)
      lo = mid + 1;
    else
      hi = mid;
  }
  return lo;
}

/// The counter value that the dQ contribution of the key-tile pair whose
/// higher tile is `hi` (k_pair_block: tiles hi and hi - 1) waits for at query
/// tile qt: 0 where no listed key tile lies above the pair (the first
/// contribution), otherwise the higher tile of the pair of the lowest such
/// tile x, which that pair stored (pairs are aligned alike: x's pair has the
/// higher tile x or x + 1, by parity). The contributions thus come in
/// descending pair order, and the lowest pair in the list, whose
/// contribution is the last, stores 0 again (attention_bwd_dkdv.cuh).
template <typename S> SPARTA_DEVICE int pairTurn(int g, int qt, int hi, int count) {
  const int n = fwdPosition<S>(g, qt, hi + 1, count);
  const int x = S::fwd_tile(g, qt, n).tile;
  return x <= hi ? 0 : x + ((hi - x) & 1);
}

/// Row stride (floats) of the fp32 staging tile: 8 floats of padding put the
/// 8 rows of one fragment store into 2 wavefronts instead of 8.
template <int D> constexpr int kStageStride = D + 8;
/// Shared bytes the fp32 staging of a ROWS-row gradient tile needs.
template <int ROWS, int D> constexpr int kStageBytes = ROWS * kStageStride<D> * 4;

/// Stores a warp's 16 gradient rows (rows 16*warp.. of the CTA's tile of
/// Cfg::kTile rows, in the C-fragment layout) for rows rowOf(r) >= 0: in
/// dtype through the shared
/// staging tile `stile` (Write), or added into the fp32 workspace
/// (Accumulate; one owner per row, so a plain read-modify-write) through an
/// fp32 staging tile at `stile` (kStageBytes bytes) so that the global
/// read-modify-write is 16 bytes per thread and no accumulator registers stay
/// live across it. Every thread of the tile's Cfg::kThreads must call: the
/// CTA's, or (WARPGROUP) those of the caller's warpgroup, which then
/// synchronize by its named barrier (key-tile pairs). `stile` must be free
/// (synchronize before the call), and it is free again when the call returns.
template <typename Cfg, AccMode AM, bool WARPGROUP = false, typename RowFn>
SPARTA_DEVICE void storeGrad(const float (&acc)[Cfg::kHeadDim / 8][4], char *stile, u16 *dst,
                             i64 strideT, float *ws, RowFn rowOf) {
  constexpr int D = Cfg::kHeadDim, ROWS = Cfg::kTile, NT = Cfg::kThreads;
  static_assert(!WARPGROUP || NT == 128, "a warpgroup stores a 64-row tile");
  const unsigned tid = WARPGROUP ? threadIdx.x & 127 : threadIdx.x;
  auto sync = [] {
    if constexpr (WARPGROUP)
      warpgroupSync(threadIdx.x >> 7);
    else
      __syncthreads();
  };
  const int warp = tid >> 5, lane = threadIdx.x & 31;
  const int g = lane >> 2, c4 = lane & 3;
  if constexpr (AM == AccMode::Write) {
    accToTile<D, Cfg::kDType>(stile, warp * 16, acc);
    sync();
    storeTile<ROWS, D, NT>(dst, strideT, stile, rowOf, tid);
  } else {
    constexpr int kS = kStageStride<D>;
    float *st = reinterpret_cast<float *>(stile);
#pragma unroll
    for (int i = 0; i < 2; ++i) {
      float *r = st + (warp * 16 + g + 8 * i) * kS + 2 * c4;
#pragma unroll
      for (int nt = 0; nt < D / 8; ++nt)
        *reinterpret_cast<float2 *>(r + nt * 8) = make_float2(acc[nt][2 * i], acc[nt][2 * i + 1]);
    }
    sync();
    constexpr int kChunks = D / 4; // float4 per row
#pragma unroll 4
    for (int idx = tid; idx < ROWS * kChunks; idx += NT) {
      const int r = idx / kChunks, c = idx % kChunks;
      const int row = rowOf(r);
      if (row < 0)
        continue;
      float4 *w = reinterpret_cast<float4 *>(ws + static_cast<i64>(row) * D + c * 4);
      const float4 a = *reinterpret_cast<const float4 *>(st + r * kS + c * 4);
      float4 v = *w;
      v.x += a.x;
      v.y += a.y;
      v.z += a.z;
      v.w += a.w;
      *w = v;
    }
  }
  sync();
}

} // namespace sparta

#endif // SPARTA_ATTENTION_BWD_COMMON_CUH
