//===- attention_fwd.cuh - Block-sparse attention forward (FA2-style) ------===//
//
// One CTA per query tile of the Schedule's mapped query space (Cfg::kWarps
// warps: 4 for 64-row tiles, 2 for 32, 1 for 16); warp w owns query rows
// 16w..16w+15 of the tile. The CTA walks the key tiles the schedule lists for
// its query tile:
//
//   S = Q K^T            tileMma: mma.sync, or wgmma on sm_90a (64-row tiles)
//   (partial tile)       S = -inf where the element predicate fails
//   online softmax       in fp32, base 2: m tracks max(S) * scale * log2(e)
//   O += P V             P packed to 16 bits straight from the S accumulators
//
// K/V tiles are double-buffered with cp.async: tile n+1 is in flight while
// tile n is computed. Rows are gathered through the schedule's index maps.
//
// The epilogue writes O and the natural-log lse according to MergeMode:
//   Single  O (dtype) + lse
//   First   normalized O (fp32, o_acc) + lse
//   Middle  merge with o_acc/lse already there, write both back
//   Last    merge, write O (dtype) + lse
// Merging is by log-sum-exp: lse = logaddexp(a, b),
// o = o_a exp(a - lse) + o_b exp(b - lse). Rows with no allowed key have
// O = 0 and lse = -inf (never NaN), which merge as the identity.
//
// Generated wrapper (the code generator emits one per kernel):
//
//   #include <sparta/attention_fwd.cuh>
//   struct Sched0 { ... };  // see schedule.cuh
//   using Cfg0 = sparta::Cfg<64, sparta::DType::BF16, 32>;  // d, dtype, tile
//   extern "C" __global__ void __launch_bounds__(Cfg0::kThreads)
//   sparta_fwd_h0(const sparta::AttnFwdParams p) {
//     sparta::attention_fwd<Cfg0, Sched0, sparta::MergeMode::Single>(p);
//   }
//
// launched with grid (Sched0::kNumQBlocks, batch * heads_in_launch), block
// Cfg0::kThreads, dynamic shared memory fwdSmemBytes(d, tile) (d = 128 needs
// the function's max-dynamic-shared-memory attribute raised above 48 KB).
//
//===----------------------------------------------------------------------===//
#ifndef SPARTA_ATTENTION_FWD_CUH
#define SPARTA_ATTENTION_FWD_CUH

#include "sparta/schedule.cuh"
#include "sparta/tile_mma.cuh"

namespace sparta {

/// Index of (b, h, t) in the dense [B, num_heads, T] fp32 side tensors.
SPARTA_DEVICE i64 rowIndex(const HeadArgs &ha, int b, int h, int t) {
  return (static_cast<i64>(b) * ha.num_heads + h) * ha.seq_len + t;
}

/// Decodes grid.y into (batch, head) for this launch's head set.
SPARTA_DEVICE int2 batchHead(const HeadArgs &ha) {
  int b = blockIdx.y / ha.heads_in_launch;
  int s = blockIdx.y - b * ha.heads_in_launch;
  return make_int2(b, ha.head_offset + ha.head_step * s);
}

template <typename Cfg, typename S, MergeMode MM>
SPARTA_DEVICE void attention_fwd(const AttnFwdParams &p) {
  static_assert(ScheduleChecks<S, Cfg>::ok, "");
  constexpr int D = Cfg::kHeadDim;
  constexpr DType DT = Cfg::kDType;
  constexpr int BM = Cfg::kBlockM, BN = Cfg::kBlockN, NT = Cfg::kThreads;
  constexpr int kNtS = BN / 8;  // n-tiles of S per warp
  constexpr int kNtO = D / 8;   // n-tiles of O per warp
  constexpr int kKsQK = D / 16; // k-steps of Q K^T
  constexpr int kKsPV = BN / 16;
  constexpr int kTileBytes = tileBytes(BM, D); // = tileBytes(BN, D): square tiles
  static_assert(5 * kTileBytes + kSmemAlign == Cfg::kFwdSmem, "the layout below");

  char *smem = kernelSmem();
  char *sQ = smem;
  char *sK = smem + kTileBytes;     // 2 buffers
  char *sV = smem + 3 * kTileBytes; // 2 buffers
  const u32 aQ = smemAddr(sQ), aK = smemAddr(sK), aV = smemAddr(sV);

  const int2 qb = S::q_block(blockIdx.x);
  const int group = qb.x, qtile = qb.y;
  const int qlen = S::q_len(group);
  if (qtile * BM >= qlen)
    return; // an empty slot of a rectangular enumeration (CTA-uniform)
  const int klen = S::k_len(group);
  const int2 bh = batchHead(p.heads);
  const int b = bh.x, h = bh.y;
  const int warp = threadIdx.x >> 5, lane = threadIdx.x & 31;
  const int g = lane >> 2, c4 = lane & 3;

  const u16 *qBase = static_cast<const u16 *>(p.q.ptr) + b * p.q.stride_b + h * p.q.stride_h;
  const u16 *kBase = static_cast<const u16 *>(p.k.ptr) + b * p.k.stride_b + h * p.k.stride_h;
  const u16 *vBase = static_cast<const u16 *>(p.v.ptr) + b * p.v.stride_b + h * p.v.stride_h;
  auto qRowOf = [&](int r) {
    int pos = qtile * BM + r;
    return pos < qlen ? S::q_row(group, pos) : -1;
  };
  auto loadKV = [&](int ktile, int buf) {
    auto kRowOf = [&](int r) {
      int pos = ktile * BN + r;
      return pos < klen ? S::k_row(group, pos) : -1;
    };
    loadTilePairAsync<BN, D, NT>(aK + buf * kTileBytes, kBase, p.k.stride_t, aV + buf * kTileBytes,
                                 vBase, p.v.stride_t, kRowOf);
  };

  const int nTiles = S::fwd_count(group, qtile);
  TileRef next = {0, 0};
  if (nTiles > 0) {
    loadTileAsync<BM, D, NT>(aQ, qBase, p.q.stride_t, qRowOf);
    next = S::fwd_tile(group, qtile, 0);
    loadKV(next.tile, 0);
  }
  cpAsyncCommit();

  float o[kNtO][4];
  zeroAcc(o);
  float mRow[2] = {negInf(), negInf()}; // running max, scaled to base 2
  float lRow[2] = {0.f, 0.f};           // this thread's share of the row sum
  const float sl2 = p.scale * kLog2e;

  for (int n = 0; n < nTiles; ++n) {
    const TileRef cur = next;
    const int buf = n & 1;
    if (n + 1 < nTiles) {
      next = S::fwd_tile(group, qtile, n + 1);
      loadKV(next.tile, buf ^ 1);
    }
    cpAsyncCommit();
    cpAsyncWait<1>();
    tilesReadyForMma<Cfg>();
    __syncthreads();
    const u32 kTile = aK + buf * kTileBytes, vTile = aV + buf * kTileBytes;

    // S = Q K^T for this warp's 16 rows x BN keys.
    float s[kNtS][4];
    zeroAcc(s);
    tileMma<Cfg, BTile::NK, BN, kKsQK>(s, SmemA{aQ}, kTile, 0, 0);

    // Partial tiles only: the element predicate plus the bounds.
    if (!cur.full) {
#pragma unroll
      for (int i = 0; i < 2; ++i) {
        const int qpos = qtile * BM + warp * 16 + g + 8 * i;
#pragma unroll
        for (int nt = 0; nt < kNtS; ++nt)
#pragma unroll
          for (int j = 0; j < 2; ++j) {
            const int kpos = cur.tile * BN + nt * 8 + 2 * c4 + j;
            bool ok = kpos < klen && qpos < qlen && S::allowed(group, qpos, kpos);
            if (!ok)
              s[nt][2 * i + j] = negInf();
          }
      }
    }

    // Online softmax, rows g (i=0) and g+8 (i=1).
#pragma unroll
    for (int i = 0; i < 2; ++i) {
      float mx = negInf();
#pragma unroll
      for (int nt = 0; nt < kNtS; ++nt)
        mx = fmaxf(mx, fmaxf(s[nt][2 * i], s[nt][2 * i + 1]));
      mx = quadMax(mx) * sl2;
      const float mNew = fmaxf(mRow[i], mx);
      // A row with nothing allowed so far keeps m = -inf; subtracting 0 then
      // keeps every exp2 argument -inf (-> 0) instead of NaN.
      const float mUse = mNew == negInf() ? 0.f : mNew;
      const float alpha = fastExp2(mRow[i] - mUse);
      mRow[i] = mNew;
      lRow[i] *= alpha;
#pragma unroll
      for (int nt = 0; nt < kNtO; ++nt) {
        o[nt][2 * i] *= alpha;
        o[nt][2 * i + 1] *= alpha;
      }
#pragma unroll
      for (int nt = 0; nt < kNtS; ++nt)
#pragma unroll
        for (int j = 0; j < 2; ++j) {
          float e = fastExp2(fmaf(s[nt][2 * i + j], sl2, -mUse));
          s[nt][2 * i + j] = e;
          lRow[i] += e;
        }
    }

    // O += P V: P's accumulators are the A fragments of the k-steps over keys.
    tileMma<Cfg, BTile::KN, D, kKsPV>(
        o, [&](int ks, u32(&a)[4]) { accToA<DT>(a, s[2 * ks], s[2 * ks + 1]); }, vTile, 0, 0);
    __syncthreads(); // buffer `buf` is refilled by the next iteration's prefetch
  }
  cpAsyncWait<0>();

  // ---- Epilogue: normalize, lse, merge, store. ----
  float lse[2];
  int rows[2];
#pragma unroll
  for (int i = 0; i < 2; ++i) {
    const float l = quadSum(lRow[i]);
    const float inv = l > 0.f ? 1.f / l : 0.f;
    lse[i] = l > 0.f ? (mRow[i] + fastLog2(l)) * kLn2 : negInf();
#pragma unroll
    for (int nt = 0; nt < kNtO; ++nt) {
      o[nt][2 * i] *= inv;
      o[nt][2 * i + 1] *= inv;
    }
    rows[i] = qRowOf(warp * 16 + g + 8 * i);
  }
  float *lseOut = p.lse + rowIndex(p.heads, b, h, 0);
  float *oAcc = p.o_acc + rowIndex(p.heads, b, h, 0) * D;

  if constexpr (MM == MergeMode::Middle || MM == MergeMode::Last) {
#pragma unroll
    for (int i = 0; i < 2; ++i) {
      if (rows[i] < 0)
        continue;
      const float a = lseOut[rows[i]];
      const float m = logAddExp(a, lse[i]);
      const float wa = a == negInf() ? 0.f : fastExp2((a - m) * kLog2e);
      const float wb = lse[i] == negInf() ? 0.f : fastExp2((lse[i] - m) * kLog2e);
      const float *src = oAcc + static_cast<i64>(rows[i]) * D;
#pragma unroll
      for (int nt = 0; nt < kNtO; ++nt) {
        const float2 prev = *reinterpret_cast<const float2 *>(src + nt * 8 + 2 * c4);
        o[nt][2 * i] = fmaf(wa, prev.x, wb * o[nt][2 * i]);
        o[nt][2 * i + 1] = fmaf(wa, prev.y, wb * o[nt][2 * i + 1]);
      }
      lse[i] = m;
    }
  }
  // Every lane of a quad has read the old lse before lane 0 overwrites it.
  __syncwarp();
#pragma unroll
  for (int i = 0; i < 2; ++i)
    if (rows[i] >= 0 && c4 == 0)
      lseOut[rows[i]] = lse[i];

  if constexpr (MM == MergeMode::First || MM == MergeMode::Middle) {
#pragma unroll
    for (int i = 0; i < 2; ++i) {
      if (rows[i] < 0)
        continue;
      float *dst = oAcc + static_cast<i64>(rows[i]) * D;
#pragma unroll
      for (int nt = 0; nt < kNtO; ++nt)
        *reinterpret_cast<float2 *>(dst + nt * 8 + 2 * c4) =
            make_float2(o[nt][2 * i], o[nt][2 * i + 1]);
    }
  } else {
    // Stage through shared memory (the Q tile is free now) so that global
    // stores are 16-byte, row-contiguous.
    accToTile<D, DT>(sQ, warp * 16, o);
    __syncthreads();
    u16 *oBase = static_cast<u16 *>(p.o.ptr) + b * p.o.stride_b + h * p.o.stride_h;
    storeTile<BM, D, NT>(oBase, p.o.stride_t, sQ, qRowOf);
  }
}

} // namespace sparta

#endif // SPARTA_ATTENTION_FWD_CUH
