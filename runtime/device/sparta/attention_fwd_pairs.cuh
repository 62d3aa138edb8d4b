//===- attention_fwd_pairs.cuh - Forward over query-tile pairs (two warpgroups)
//
// The forward of attention_fwd.cuh for 64-row tiles on sm_90a (wgmma), with
// two query tiles per CTA: warpgroup w (warps 4w..4w+3) owns query tile w of
// the CTA's pair, two adjacent tiles of one group (the Schedule's
// q_pair_block), and the CTA
// streams the ascending merge of the two tiles' key-tile lists (both lists
// ascend: schedule.cuh). A key tile that both lists hold is loaded once and
// serves both warpgroups; one that only one list holds is computed by that
// warpgroup while the other waits at the barrier. Per merged tile:
//
//   all 256 threads    cp.async of the next K/V tile pair into the other buffer
//   warpgroup w        fwd::attendTile (S = Q K^T, mask, online softmax,
//                      O += P V) when its list holds the tile
//   all                barrier (the buffer is refilled next)
//
// So each K/V tile crosses from L2 to shared memory once per 128 query rows
// instead of once per 64: the 64 x 64 kernels move 16 KB (d = 64) per 1
// MFLOP of products, about what the L2 delivers at their speed, and this
// halves it where the two lists mostly agree (long lists: causal, wide
// bands). Where they do not (short, shifted lists), a warpgroup idles on the
// other's tiles: the code generator pairs a component only where the two
// lists' merge keeps both busy (docs/device-library.md says when).
//
// Shared memory: Q tiles of both warpgroups, then double-buffered K and V
// (fwdSmemBytes(d, 64, 2)). The epilogue is per warpgroup, each staging its
// O through its own Q tile behind a named barrier of its 128 threads. Packed
// documents use attention_fwd (no pairs).
//
// Generated wrapper:
//
//   extern "C" __global__ void __launch_bounds__(2 * Cfg0::kThreads, 2)
//   sparta_fwd_h0(const sparta::AttnFwdParams p) {
//     sparta::attention_fwd_pairs<Cfg0, Sched0, sparta::MergeMode::Single>(p);
//   }
//
// launched with 2 * Cfg0::kThreads threads on grid (numQPairs(), batch *
// heads_in_launch): TileSchedule::numQPairs() of the component's schedule,
// KernelInfo::blocksPerHead on the host.
//
//===----------------------------------------------------------------------===//
#ifndef SPARTA_ATTENTION_FWD_PAIRS_CUH
#define SPARTA_ATTENTION_FWD_PAIRS_CUH

#include "sparta/attention_fwd.cuh"

namespace sparta {

template <typename Cfg, typename S, MergeMode MM>
SPARTA_DEVICE void attention_fwd_pairs(const AttnFwdParams &p) {
  static_assert(ScheduleChecks<S, Cfg>::ok, "");
  static_assert(Cfg::kWarps == 4, "each query tile of the pair is one warpgroup (64-row tiles)");
  // mma.sync's shared A operand addresses its rows by the warp's index in
  // the CTA (tile_mma.cuh); wgmma reads a warpgroup's tile whole.
  static_assert(kUsesWgmma<Cfg>, "query-tile pairs run on wgmma (sm_90a)");
  constexpr int D = Cfg::kHeadDim;
  constexpr int BM = Cfg::kBlockM, BN = Cfg::kBlockN;
  constexpr int kThreads = 2 * Cfg::kThreads;
  constexpr int kTileBytes = tileBytes(BM, D);
  static_assert(6 * kTileBytes + kSmemAlign == fwdSmemBytes(D, BM, 2), "the layout below");

  char *smem = kernelSmem();
  const u32 aK = smemAddr(smem + 2 * kTileBytes); // 2 buffers
  const u32 aV = smemAddr(smem + 4 * kTileBytes); // 2 buffers

  const GridSlot slot = gridSlot<S>();
  const int wg = threadIdx.x >> 7, wtid = threadIdx.x & 127;
  const int warp = wtid >> 5, g = (threadIdx.x & 31) >> 2;
  char *sQ = smem + wg * kTileBytes; // this warpgroup's query tile
  const u32 aQ = smemAddr(sQ);

  PairWalk<S, true> walk;
  walk.group = S::q_pair_block(slot.block, 0).x;
  const int group = walk.group, qlen = S::q_len(group), klen = S::k_len(group);
  bool exists[2];
#pragma unroll
  for (int w = 0; w < 2; ++w) {
    const int t = S::q_pair_block(slot.block, w).y;
    exists[w] = t >= 0 && t * BM < qlen;
    walk.start(w, t, exists[w]);
  }
  if (!exists[0] && !exists[1])
    return; // an empty slot of a rectangular enumeration (CTA-uniform)
  // (Selections, not walk.tile[wg]: a run-time index puts an array on the stack.)
  const bool mine = wg == 0 ? exists[0] : exists[1];
  const int qtile = wg == 0 ? walk.tile[0] : walk.tile[1];
  const int2 bh = batchHead(p.heads, slot.row);
  const int b = bh.x, h = bh.y;

  const u16 *qBase = headSlice(p.q, b, h), *kBase = headSlice(p.k, b, h),
            *vBase = headSlice(p.v, b, h);
  auto qRowOf = [&](int r) { return tileRow<S, true>(group, qtile, qlen, r); };
  auto loadKV = [&](const PairEntry &e, int buf) {
    auto kRowOf = [&](int r) { return tileRow<S, false>(group, e.tile, klen, r); };
    loadTilePairAsync<BN, D, kThreads>(aK + buf * kTileBytes, kBase, p.k.stride_t,
                                       aV + buf * kTileBytes, vBase, p.v.stride_t, kRowOf);
  };

  PairEntry next{};
  const bool any = !walk.done();
  if (any) {
    if (mine)
      loadTileAsync<BM, D, Cfg::kThreads>(aQ, qBase, p.q.stride_t, qRowOf, wtid);
    next = takeNext(walk);
    loadKV(next, 0);
  }
  cpAsyncCommit();

  fwd::RowState<D> rs;
  fwd::initRows(rs);
  const float sl2 = p.scale * kLog2e;

  for (int buf = 0; any; buf ^= 1) {
    const PairEntry cur = next;
    const bool last = walk.done();
    if (!last) {
      next = takeNext(walk);
      loadKV(next, buf ^ 1);
    }
    cpAsyncCommit();
    cpAsyncWait<1>();
    tilesReadyForMma<Cfg>();
    __syncthreads();
    if (wg == 0 ? cur.used[0] : cur.used[1]) // warpgroup-uniform
      fwd::attendTile<Cfg, S, false>(rs, aQ, aK + buf * kTileBytes, aV + buf * kTileBytes,
                                     TileRef{cur.tile, wg == 0 ? cur.full[0] : cur.full[1]}, group,
                                     qtile * BM + warp * 16 + g, qlen, klen, nullptr, sl2);
    __syncthreads(); // buffer `buf` is refilled by the next iteration's prefetch
    if (last)
      break;
  }
  cpAsyncWait<0>();

  if (mine)
    fwd::finishRows<Cfg, MM, Cfg::kThreads>(p, b, h, rs, sQ, warp, wtid, qRowOf,
                                            [wg] { warpgroupSync(wg); });
}

} // namespace sparta

#endif // SPARTA_ATTENTION_FWD_PAIRS_CUH
