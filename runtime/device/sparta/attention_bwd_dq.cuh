//===- attention_bwd_dq.cuh - Backward: dQ per query tile, deterministic ---===//
//
// The dQ pass, except where the dK/dV pass accumulates dQ itself (FUSE_DQ,
// see attention_bwd_dkdv.cuh).
// One CTA per query tile (same grid as the forward), walking the key tiles of
// the forward schedule (Cfg::kWarps warps, as the forward); warp w owns query
// rows 16w..16w+15 and accumulates
// their dQ rows in registers. It recomputes what it needs instead of sharing
// dS with the dK/dV pass, so that no atomics (and no run-to-run variation)
// are involved:
//
//   S  = Q K^T,  P = exp(S - lse)  (merged lse),  dP = dO V^T,
//   dS = P o (dP - D),  dQ += dS K  (times scale at the end).
//
// K/V tiles are double-buffered with cp.async; the Q and dO tiles stay in
// shared memory and their fragments are re-read per key tile (keeping them
// in registers would not fit next to the accumulators at d = 128).
//
// Packed documents (p.doc_ids): the forward's rule (attention_fwd.cuh), so
// the same pairs run; a row whose pairs are all passed over gets dQ = 0.
//
// Launch: grid (S::kNumQBlocks, batch * heads_in_launch), Cfg::kThreads
// threads, bwdDqSmemBytes(d, tile) bytes of dynamic shared memory.
//
//===----------------------------------------------------------------------===//
#ifndef SPARTA_ATTENTION_BWD_DQ_CUH
#define SPARTA_ATTENTION_BWD_DQ_CUH

#include "sparta/attention_bwd_common.cuh"

namespace sparta {

template <typename Cfg, typename S, AccMode AM, bool DOCS = false>
SPARTA_DEVICE void attention_bwd_dq(const AttnBwdParams &p) {
  static_assert(ScheduleChecks<S, Cfg>::ok, "");
  constexpr int D = Cfg::kHeadDim;
  constexpr DType DT = Cfg::kDType;
  constexpr int BM = Cfg::kBlockM, BN = Cfg::kBlockN, NT = Cfg::kThreads;
  constexpr int kNtS = BN / 8, kNtD = D / 8;
  constexpr int kKsD = D / 16, kKsK = BN / 16;
  constexpr int kQTile = tileBytes(BM, D), kKTile = tileBytes(BN, D);
  static_assert(2 * kQTile + 4 * kKTile + kSmemAlign == Cfg::kDqSmem, "the layout below");

  char *smem = kernelSmem();
  char *sQ = smem;
  char *sdO = sQ + kQTile;
  char *sK = sdO + kQTile; // 2 buffers
  char *sV = sK + 2 * kKTile; // 2 buffers
  const u32 aQ = smemAddr(sQ), adO = smemAddr(sdO), aK = smemAddr(sK), aV = smemAddr(sV);

  const GridSlot slot = gridSlot<S>();
  const int2 qb = S::q_block(slot.block);
  const int group = qb.x, qtile = qb.y;
  const int qlen = S::q_len(group);
  if (qtile * BM >= qlen)
    return;
  const int klen = S::k_len(group);
  const int2 bh = batchHead(p.heads, slot.row);
  const int b = bh.x, h = bh.y;
  const int warp = threadIdx.x >> 5, lane = threadIdx.x & 31;
  const int g = lane >> 2, c4 = lane & 3;

  const BwdBases bs = bwdBases<D>(p, b, h);
  auto qRowOf = [&](int r) { return tileRow<S, true>(group, qtile, qlen, r); };
  auto loadKV = [&](int ktile, int buf) {
    auto kRowOf = [&](int r) { return tileRow<S, false>(group, ktile, klen, r); };
    loadTilePairAsync<BN, D, NT>(aK + buf * kKTile, bs.k, p.k.stride_t, aV + buf * kKTile, bs.v,
                                 p.v.stride_t, kRowOf);
  };

  // This thread's two rows: lse scaled to base 2 (+inf: contributes nothing), delta.
  float lseRow[2], deltaRow[2];
#pragma unroll
  for (int i = 0; i < 2; ++i) {
    const int row = qRowOf(warp * 16 + g + 8 * i);
    const float l = row >= 0 ? bs.lse[row] : negInf();
    lseRow[i] = l == negInf() ? posInf() : l * kLog2e;
    deltaRow[i] = row >= 0 ? bs.delta[row] : 0.f;
  }

  // Key tiles whose documents the query tile's do not meet are passed over.
  const TileWalk<S, true> walk(DOCS ? p.doc_ids : nullptr, group, qtile);
  const i32 *docs = walk.docs; // DOCS false: no document code at all
  const int nTiles = walk.count;
  int n = 0;
  TileRef next = {0, 0};
  if (walk.advance(n, next)) {
    loadTilePairAsync<BM, D, NT>(aQ, bs.q, p.q.stride_t, adO, bs.dout, p.dout.stride_t, qRowOf);
    loadKV(next.tile, 0);
  }
  cpAsyncCommit();

  float dq[kNtD][4];
  zeroAcc(dq);
  const float sl2 = p.scale * kLog2e;

  for (int step = 0; n < nTiles; ++step) {
    const TileRef cur = next;
    const int buf = (DOCS ? step : n) & 1; // without DOCS, step == n
    u32 same[2] = {0u, 0u}; // documentBits of a partial pair
    if (docs && !cur.full)
      documentBits<kNtS>(
          docs, qtile * BM + warp * 16 + g, qlen, [&](int pos) { return S::q_row(group, pos); },
          cur.tile * BN + 2 * c4, klen, [&](int pos) { return S::k_row(group, pos); }, same);
    int after = n + 1;
    if (walk.advance(after, next))
      loadKV(next.tile, buf ^ 1);
    cpAsyncCommit();
    cpAsyncWait<1>();
    tilesReadyForMma<Cfg>();
    __syncthreads();
    const u32 kTile = aK + buf * kKTile, vTile = aV + buf * kKTile;

    // S = Q K^T; then dP = dO V^T runs (wgmma) while P is computed.
    float s[kNtS][4], dp[kNtS][4];
    zeroAcc(s);
    tileMma<Cfg, BTile::NK, BN, kKsD>(s, SmemA{aQ}, kTile, 0, 0);
    zeroAcc(dp);
    tileMmaIssue<Cfg, BTile::NK, BN, kKsD>(dp, SmemA{adO}, vTile, 0, 0);
#pragma unroll
    for (int nt = 0; nt < kNtS; ++nt)
#pragma unroll
      for (int e = 0; e < 4; ++e)
        s[nt][e] = fastExp2(fmaf(s[nt][e], sl2, -lseRow[e >> 1]));

    // dS = P o (dP - D) in place, then the partial tile's mask on dS (P only
    // feeds dS here; masking after the product keeps one accumulator set
    // live during the predicate code, which d = 128 on mma.sync needs). The
    // assignment also clears a masked P that overflowed: lse only bounds the
    // allowed scores.
    tileMmaWait<Cfg>(dp);
#pragma unroll
    for (int nt = 0; nt < kNtS; ++nt)
#pragma unroll
      for (int e = 0; e < 4; ++e)
        dp[nt][e] = s[nt][e] * (dp[nt][e] - deltaRow[e >> 1]);
    if (!cur.full) {
#pragma unroll
      for (int i = 0; i < 2; ++i) {
        const int qpos = qtile * BM + warp * 16 + g + 8 * i;
#pragma unroll
        for (int nt = 0; nt < kNtS; ++nt)
#pragma unroll
          for (int j = 0; j < 2; ++j) {
            const int kpos = cur.tile * BN + nt * 8 + 2 * c4 + j;
            bool ok = kpos < klen && qpos < qlen && S::allowed(group, qpos, kpos) &&
                      (!docs || (same[i] >> (2 * nt + j) & 1u));
            if (!ok)
              dp[nt][2 * i + j] = 0.f;
          }
      }
    }

    // dQ += dS K.
    tileMma<Cfg, BTile::KN, D, kKsK>(
        dq, [&](int ks, u32(&a)[4]) { accToA<DT>(a, dp[2 * ks], dp[2 * ks + 1]); }, kTile, 0, 0);
    __syncthreads();
    n = after;
  }
  cpAsyncWait<0>();
  __syncthreads(); // the Q tile is reused as staging below

#pragma unroll
  for (int i = 0; i < kNtD; ++i)
#pragma unroll
    for (int j = 0; j < 4; ++j)
      dq[i][j] *= p.scale;
  static_assert(kStageBytes<BM, D> <= Cfg::kDqSmem, "staging fits");
  storeGrad<Cfg, AM>(dq, smem, bs.dq, p.dq.stride_t, bs.dqAcc, qRowOf);
}

} // namespace sparta

#endif // SPARTA_ATTENTION_BWD_DQ_CUH
