//===- attention_bwd_dkdv.cuh - Backward: dK and dV per key tile -----------===//
//
// One CTA per key tile of the Schedule's mapped key space (Cfg::kWarps warps,
// one per 16 key rows of the tile); warp w owns key rows 16w..16w+15 and accumulates their dK and dV rows in registers while
// the CTA walks the query tiles the schedule lists for the key tile (the
// transposed schedule). Everything is computed key-major (transposed), so
// that the products feeding dK and dV come straight out of the accumulators:
//
//   S^T  = K Q^T                 (keys x queries)
//   P^T  = exp(S^T - lse_q)      with the MERGED lse of the forward
//   dV  += P^T dO
//   dP^T = V dO^T
//   dS^T = P^T o (dP^T - D_q)    D = rowsum(dO o O) from the preprocess
//   dK  += dS^T Q                (times scale at the end)
//
// Query rows past the group's end and rows whose lse is -inf (no allowed
// key) get lse = +inf here, so their P is exactly 0 and they contribute
// nothing. Q/dO tiles (and their lse/D) are double-buffered with cp.async.
// At d = 128 on mma.sync a 64-row query tile is processed in two halves of 32
// columns, so that the S^T/dP^T accumulators fit next to the warp's A and B
// fragments without spills. wgmma holds no fragments of its shared operands
// and takes the whole tile at once (237-251 registers, 2 CTAs per SM as with
// halves): S^T and dP^T are then m64n64 products, which read half as many
// bytes of the K and V tiles per flop as m64n32 ones.
//
// With FUSE_DQ (sm_90a, 64-row tiles only) the pass also computes dQ, so that S and dP are
// computed once per tile pair (5 products instead of 7, and no dQ kernel):
//
//   dQ  += dS K                  dS^T stored to shared memory in 16 bits and
//                                read back transposed as wgmma's A operand
//
// and adds each query tile's contribution into the fp32 dq_acc in a fixed
// order (descending key tiles, kept by the dq_sem counters; see
// attention_bwd_common.cuh), so that the result is bit-identical run to run.
//
// AccMode::Write stores dK, dV in dtype (only valid when this component's
// key map covers every row); Accumulate adds into the fp32 workspaces. Each
// key row is owned by one CTA, so neither needs atomics. dQ always goes
// through dq_acc (convert_accumulators turns it into dtype).
//
// Packed documents (p.doc_ids): the forward's rule (attention_fwd.cuh) on
// the transposed lists, so the same pairs run; under FUSE_DQ no pair is
// passed over (see the tile walk below), which changes no result.
//
// Key-tile pairs (KT = 2; sm_90a, d = 128, no documents): a CTA of two
// warpgroups owns the two key tiles of k_pair_block (warpgroup w: tile w of
// the pair, its K/V resident) and walks the ascending merge of their
// query-tile lists, as attention_fwd_pairs does on the query side: each Q/dO
// tile crosses from L2 once per 128 keys, and a query tile only one list
// holds is computed by that warpgroup while the other waits at the barrier.
// The warpgroups take turns to issue their products (ping-pong, at `turn`
// below). Under FUSE_DQ warpgroup w computes dQ columns 64w..64w+63 over
// both key tiles, so that the CTA adds one 64 x 128 block into dq_acc per
// query tile for 128 keys, half of what two one-tile CTAs add; the additions
// to a query tile then come in descending pair order (pairTurn). Measured on
// the H200 the pairs are 2.5-8.4 % slower than one-tile CTAs without FUSE_DQ
// and about as fast with it (docs/performance.md), so the code generator
// uses them only when asked (KernelOptions::keyPairs).
//
// Launch: grid (S::kNumKBlocks, batch * heads_in_launch), Cfg::kThreads
// threads, bwdDkdvSmemBytes(d, tile) bytes of dynamic shared memory; pairs:
// grid (TileSchedule::numKPairs(), ...), 2 * Cfg::kThreads threads,
// bwdDkdvSmemBytes(d, 64, 2) (146 KB at d = 128: one CTA per SM). The FUSE_DQ
// kernels are not register-capped: capped at 168 registers (3 CTAs per SM at
// d = 64) the strided transpose's kernel spilled. They also keep each (batch,
// head) row's blocks together whatever kLongestFirst says: the rows of dq_acc
// that the resident CTAs add into are then those of a head or two, which stay
// in L2, where interleaving every head's blocks sent the additions to DRAM.
//
//===----------------------------------------------------------------------===//
#ifndef SPARTA_ATTENTION_BWD_DKDV_CUH
#define SPARTA_ATTENTION_BWD_DKDV_CUH

#include "sparta/attention_bwd_common.cuh"

namespace sparta {

template <typename Cfg, typename S, AccMode AM, bool FUSE_DQ = false, bool DOCS = false, int KT = 1>
SPARTA_DEVICE void attention_bwd_dkdv(const AttnBwdParams &p) {
  static_assert(ScheduleChecks<S, Cfg>::ok, "");
  static_assert(!FUSE_DQ || kUsesWgmma<Cfg>,
                "the dK/dV pass accumulates dQ on sm_90a with 64-row tiles only");
  static_assert(KT == 1 || (KT == 2 && kUsesWgmma<Cfg> && Cfg::kHeadDim == 128 && !DOCS),
                "key-tile pairs: two warpgroups on wgmma at d = 128, no documents");
  constexpr int D = Cfg::kHeadDim;
  constexpr DType DT = Cfg::kDType;
  constexpr int BM = Cfg::kBlockM, BN = Cfg::kBlockN, NT = Cfg::kThreads;
  constexpr int kCtaThreads = KT * NT;
  // Query columns per pass: halves at d = 128 on mma.sync (register pressure).
  constexpr int kQSubMax = D >= 128 && !kUsesWgmma<Cfg> ? 32 : 64;
  constexpr int kQSub = BM < kQSubMax ? BM : kQSubMax;
  constexpr int kNtQ = kQSub / 8;
  constexpr int kNtD = D / 8;
  constexpr int kKsD = D / 16;
  constexpr int kKsQ = kQSub / 16;
  constexpr int kKTile = tileBytes(BN, D), kQTile = tileBytes(BM, D);
  constexpr int kDsTile = BN == 64 ? BN * BM * 2 : 0;
  static_assert(2 * KT * kKTile + 4 * kQTile + 4 * BM * 4 + KT * kDsTile + kSmemAlign ==
                    bwdDkdvSmemBytes(D, Cfg::kTile, KT),
                "the layout below");

  char *smem = kernelSmem();
  char *sK = smem;               // KT tiles
  char *sV = sK + KT * kKTile;   // KT tiles
  char *sQ = sV + KT * kKTile;   // 2 buffers
  char *sdO = sQ + 2 * kQTile;   // 2 buffers
  float *sLse = reinterpret_cast<float *>(sdO + 2 * kQTile); // 2 x BM, scaled to base 2
  float *sDelta = sLse + 2 * BM;                              // 2 x BM
  char *sDs = reinterpret_cast<char *>(sDelta + 2 * BM); // KT x dS^T, BN x BM (FUSE_DQ)
  // Warpgroup wg owns key tile wg of a pair (KT = 2): its K, V and dS^T.
  const int wg = KT == 1 ? 0 : threadIdx.x >> 7;
  const u32 aK = smemAddr(sK + wg * kKTile), aV = smemAddr(sV + wg * kKTile);
  const u32 aQ = smemAddr(sQ), adO = smemAddr(sdO);
  const u32 aDs = smemAddr(sDs + wg * kDsTile);

  // k_block lists each group's key tiles in descending order, the order the
  // dQ additions of FUSE_DQ need (attention_bwd_common.cuh). Without them a
  // kLongestFirst schedule's CTAs take the blocks reversed: ascending key
  // tiles, whose lists are the longest in causal-like patterns (key tile 0
  // meets every query tile after it), for gridSlot's longest-first order.
  // (Pairs: grid x is the number of pairs, k_pair_block's enumeration.)
  constexpr bool kReversed = S::kLongestFirst && !FUSE_DQ;
  // FUSE_DQ: one row's blocks together (see the launch note above).
  const GridSlot slot =
      FUSE_DQ ? GridSlot{static_cast<int>(blockIdx.x), blockIdx.y} : gridSlot<S>();
  const int blocks = KT == 1 ? S::kNumKBlocks : static_cast<int>(gridDim.x);
  const int block = kReversed ? blocks - 1 - slot.block : slot.block;
  int group, ktile;
  bool exists[KT]; // whether each key tile of the CTA lies within its group
  PairWalk<S, false> pairs;
  if constexpr (KT == 1) {
    const int2 kb = S::k_block(block);
    group = kb.x, ktile = kb.y;
    const int len = S::k_len(group);
    if (ktile * BN >= len)
      return;
    exists[0] = true;
  } else {
    group = pairs.group = S::k_pair_block(block, 0).x;
    const int klen = S::k_len(group);
#pragma unroll
    for (int w = 0; w < 2; ++w) {
      const int t = S::k_pair_block(block, w).y;
      exists[w] = t >= 0 && t * BN < klen;
      pairs.start(w, t, exists[w]);
    }
    if (!exists[0] && !exists[1])
      return; // an empty slot of a rectangular enumeration (CTA-uniform)
    // (Selections: a run-time index puts an array on the stack.)
    ktile = wg == 0 ? pairs.tile[0] : pairs.tile[1];
  }
  const bool mine = KT == 1 || (wg == 0 ? exists[0] : exists[1]);
  const int klen = S::k_len(group);
  const int qlen = S::q_len(group);
  const int2 bh = batchHead(p.heads, slot.row);
  const int b = bh.x, h = bh.y;
  const int warp = (KT == 1 ? threadIdx.x : threadIdx.x & 127) >> 5, lane = threadIdx.x & 31;
  const int g = lane >> 2, c4 = lane & 3;

  const BwdBases bs = bwdBases<D>(p, b, h);
  auto kRowOf = [&](int r) { return tileRow<S, false>(group, ktile, klen, r); };
  auto loadQ = [&](int qtile, int buf) {
    auto qRowOf = [&](int r) { return tileRow<S, true>(group, qtile, qlen, r); };
    loadTilePairAsync<BM, D, kCtaThreads>(aQ + buf * kQTile, bs.q, p.q.stride_t,
                                          adO + buf * kQTile, bs.dout, p.dout.stride_t, qRowOf);
    loadRowStats<BM, kCtaThreads>(sLse + buf * BM, sDelta + buf * BM, bs.lse, bs.delta, qRowOf);
  };

  // Query tiles whose documents the key tile's do not meet are passed over,
  // except under FUSE_DQ: the dq_sem counters wait for every listed pair, so
  // such pairs run as partial ones (all masked: they add zeros).
  // (Pairs walk `pairs` instead: this walk is then unused.)
  const TileWalk<S, false, !FUSE_DQ> walk(DOCS ? p.doc_ids : nullptr, group, ktile);
  const i32 *docs = walk.docs; // DOCS false: no document code at all
  if (mine)
    loadTilePairAsync<BN, D, NT, KT == 2>(aK, bs.k, p.k.stride_t, aV, bs.v, p.v.stride_t, kRowOf);
  // The first query tile: entry n of the walk (one key tile) or of the
  // pairs' merge (`nextPair`, `any`: whether there is one).
  int n = 0;
  TileRef next = {0, 0};
  PairEntry nextPair{};
  bool any = false;
  if constexpr (KT == 1) {
    if (walk.advance(n, next))
      loadQ(next.tile, 0);
  } else {
    any = !pairs.done();
    if (any) {
      nextPair = takeNext(pairs);
      loadQ(nextPair.tile, 0);
    }
  }
  cpAsyncCommit();

  // FUSE_DQ: dQ += scale * dS K of each query tile (dS^T complete in sDs),
  // added into dq_acc in the fixed order of attention_bwd_common.cuh. One
  // key tile: d = 128 computes it in two halves of 64 columns (register
  // pressure). A pair: warpgroup wg computes columns 64 wg.. over both key
  // tiles (the ones whose lists hold the query tile), so that the CTA adds
  // one 64 x 128 block per query tile for 128 keys. Thread 0 waits for this
  // CTA's turn while the first product runs, and keeps the counter still to
  // be released, with its new value: the release waits until the additions
  // are performed, so it is done after the next barrier, while the next
  // tile's first product runs, instead of stalling the CTA.
  i32 *pendingSem = nullptr;
  int pendingValue = 0;
  auto addDqContribution = [&](int qtile, const bool (&used)[KT]) {
    if constexpr (FUSE_DQ) {
      constexpr int kDqN = D >= 128 ? 64 : D;
      constexpr int kKsK = BN / 16;
      fenceSharedForWgmma();
      __syncthreads(); // every warp's part of dS^T is written
      // Lanes c and c^1 trade halves so that each adds 4 consecutive columns
      // of one row: even c row g, odd c row g + 8.
      const bool odd = c4 & 1;
      const int pos = qtile * BM + warp * 16 + g + (odd ? 8 : 0);
      const int row = pos < qlen ? S::q_row(group, pos) : -1;
      // This warpgroup's dQ columns: all D (one key tile), kDqN of them (a pair).
      const int nFirst = KT == 1 ? 0 : wg * kDqN, nEnd = KT == 1 ? D : (wg + 1) * kDqN;
#pragma unroll 1
      for (int n0 = nFirst; n0 < nEnd; n0 += kDqN) {
        float dqp[kDqN / 8][4];
        zeroAcc(dqp);
        if constexpr (KT == 1) {
          tileMmaIssue<Cfg, BTile::KN, kDqN, kKsK>(dqp, SmemAT{aDs}, aK, n0, 0);
        } else {
#pragma unroll
          for (int u = 0; u < 2; ++u)
            if (used[u]) // CTA-uniform
              tileMmaIssue<Cfg, BTile::KN, kDqN, kKsK>(dqp, SmemAT{smemAddr(sDs + u * kDsTile)},
                                                       smemAddr(sK + u * kKTile), n0, 0);
        }
        if (n0 == nFirst && threadIdx.x == 0) {
          pendingSem = p.dq_sem + rowIndex(p.heads, b, h, S::q_row(group, qtile * BM));
          const int count = S::fwd_count(group, qtile);
          int wanted;
          if constexpr (KT == 1) {
            const int rank = count - 1 - fwdPosition<S>(group, qtile, ktile, count);
            wanted = rank;
            pendingValue = rank + 1 == count ? 0 : rank + 1;
          } else {
            const int hi = pairs.tile[0]; // the pair's higher tile
            wanted = pairTurn<S>(group, qtile, hi, count);
            pendingValue = S::fwd_tile(group, qtile, 0).tile >= hi - 1 ? 0 : hi;
          }
          while (loadRelaxed(pendingSem) != wanted) {
          }
          fenceAcquire();
        }
        tileMmaWait<Cfg>(dqp);
        if (n0 == nFirst)
          __syncthreads(); // the contributions ranked before this one are in
        float *dst = bs.dqAcc + static_cast<i64>(row) * D + n0 + 2 * (c4 & 2);
#pragma unroll
        for (int nt = 0; nt < kDqN / 8; ++nt) {
          const float s0 = odd ? dqp[nt][0] : dqp[nt][2], s1 = odd ? dqp[nt][1] : dqp[nt][3];
          const float r0 = __shfl_xor_sync(0xffffffffu, s0, 1);
          const float r1 = __shfl_xor_sync(0xffffffffu, s1, 1);
          if (row >= 0) {
            if (odd)
              redAddF32x4(dst + nt * 8, p.scale * r0, p.scale * r1, p.scale * dqp[nt][2],
                          p.scale * dqp[nt][3]);
            else
              redAddF32x4(dst + nt * 8, p.scale * dqp[nt][0], p.scale * dqp[nt][1], p.scale * r0,
                          p.scale * r1);
          }
        }
      }
    }
  };
  // Called by every thread after a barrier that follows the additions.
  auto releasePending = [&] {
    if (FUSE_DQ && threadIdx.x == 0 && pendingSem) {
      __threadfence(); // the additions are performed before the counter moves
      storeRelaxed(pendingSem, pendingValue);
      pendingSem = nullptr;
    }
  };

  float dk[kNtD][4], dv[kNtD][4];
  zeroAcc(dk);
  zeroAcc(dv);
  const float sl2 = p.scale * kLog2e;

  // Key-tile pairs, ping-pong: the warpgroups take turns to issue their
  // phases of products (S^T and dP^T of warpgroup 0, of 1, dV and dK of 0,
  // of 1), so that one's softmax work runs while the other's products do,
  // where two warpgroups started by one barrier would otherwise issue, and
  // then compute, at the same time. Warpgroup w waits for its turn at named
  // barrier 3 + w (256 threads: its own 128 sync, the other's 128 arrive);
  // warpgroup 1 hands warpgroup 0 the first turn (below). One key tile: no
  // code.
  auto turn = [wg] {
    if constexpr (KT == 2)
      asm volatile("bar.sync %0, 256;" ::"r"(3 + wg) : "memory");
  };
  auto pass = [wg] {
    if constexpr (KT == 2)
      asm volatile("bar.arrive %0, 256;" ::"r"(4 - wg) : "memory");
  };
  // The products of one listed query tile `cur` (in buffer `buf`) for this
  // warpgroup's key tile, in two phases of issues, S^T and dP^T, then dV and
  // dK: turn() before each phase and pass() after it.
  auto attendQueryTile = [&](const TileRef cur, int buf) {
    const u32 qTile = aQ + buf * kQTile, doTile = adO + buf * kQTile;
    const float *lseT = sLse + buf * BM, *deltaT = sDelta + buf * BM;
    // Not unrolled: the halves must not be interleaved (that is what the
    // split is for: register pressure).
#pragma unroll 1
    for (int q0 = 0; q0 < BM; q0 += kQSub) {
      // Keeps the compiler from hoisting the K/V fragment loads out of this
      // loop (64 more live registers at d = 128, which then spill).
      asm volatile("" ::: "memory");
      // S^T = K Q^T (16 keys x kQSub queries per warp); then dP^T = V dO^T
      // runs (wgmma) while P^T is computed.
      float st[kNtQ][4], dpt[kNtQ][4];
      zeroAcc(st);
      turn();
      tileMmaIssue<Cfg, BTile::NK, kQSub, kKsD>(st, SmemA{aK}, qTile, q0, 0);
      if (KT == 1 && q0 == 0)
        releasePending(); // the previous tile's additions preceded the barrier
      tileMmaWait<Cfg>(st);
      zeroAcc(dpt);
      tileMmaIssue<Cfg, BTile::NK, kQSub, kKsD>(dpt, SmemA{aV}, doTile, q0, 0);
      pass();
      // P^T; C element (key row, query column).
#pragma unroll
      for (int nt = 0; nt < kNtQ; ++nt)
#pragma unroll
        for (int j = 0; j < 2; ++j) {
          const int qcol = q0 + nt * 8 + 2 * c4 + j;
          const float lq = lseT[qcol];
#pragma unroll
          for (int i = 0; i < 2; ++i)
            st[nt][2 * i + j] = fastExp2(fmaf(st[nt][2 * i + j], sl2, -lq));
        }
      if (!cur.full) {
#pragma unroll
        for (int i = 0; i < 2; ++i) {
          const int kpos = ktile * BN + warp * 16 + g + 8 * i;
#pragma unroll
          for (int nt = 0; nt < kNtQ; ++nt)
#pragma unroll
            for (int j = 0; j < 2; ++j) {
              const int qpos = cur.tile * BM + q0 + nt * 8 + 2 * c4 + j;
              bool ok = kpos < klen && qpos < qlen && S::allowed(group, qpos, kpos) &&
                        sameDocument(docs, S::q_row(group, qpos), S::k_row(group, kpos));
              if (!ok)
                st[nt][2 * i + j] = 0.f;
            }
        }
      }
      // dS^T = P^T o (dP^T - D_q), in place.
      tileMmaWait<Cfg>(dpt);
#pragma unroll
      for (int nt = 0; nt < kNtQ; ++nt)
#pragma unroll
        for (int j = 0; j < 2; ++j) {
          const float dq = deltaT[q0 + nt * 8 + 2 * c4 + j];
#pragma unroll
          for (int i = 0; i < 2; ++i)
            dpt[nt][2 * i + j] = st[nt][2 * i + j] * (dpt[nt][2 * i + j] - dq);
        }
      if constexpr (FUSE_DQ) {
        // dS^T in 16 bits, key-major, for dQ = dS K once the tile is done.
        char *ds = sDs + wg * kDsTile;
#pragma unroll
        for (int nt = 0; nt < kNtQ; ++nt)
#pragma unroll
          for (int i = 0; i < 2; ++i)
            *reinterpret_cast<u32 *>(ds + tileOffset<BM>(warp * 16 + g + 8 * i, (q0 >> 3) + nt) +
                                     c4 * 4) = packFloat2<DT>(dpt[nt][2 * i], dpt[nt][2 * i + 1]);
      }
      // dV += P^T dO and dK += dS^T Q, in flight together.
      turn();
      tileMmaIssue<Cfg, BTile::KN, D, kKsQ>(
          dv, [&](int ks, u32(&a)[4]) { accToA<DT>(a, st[2 * ks], st[2 * ks + 1]); }, doTile, 0,
          q0);
      tileMmaIssue<Cfg, BTile::KN, D, kKsQ>(
          dk, [&](int ks, u32(&a)[4]) { accToA<DT>(a, dpt[2 * ks], dpt[2 * ks + 1]); }, qTile, 0,
          q0);
      pass();
      tileMmaWait<Cfg>(dv, dk);
    }
  };

  if constexpr (KT == 1) {
    const int nTiles = walk.count;
    for (int step = 0; n < nTiles; ++step) {
      const TileRef cur = next;
      const int buf = (DOCS ? step : n) & 1; // without DOCS, step == n
      int after = n + 1;
      if (walk.advance(after, next))
        loadQ(next.tile, buf ^ 1);
      cpAsyncCommit();
      cpAsyncWait<1>();
      tilesReadyForMma<Cfg>();
      __syncthreads();
      attendQueryTile(cur, buf);
      const bool used[1] = {true};
      addDqContribution(cur.tile, used);
      __syncthreads();
      n = after;
    }
  } else {
    // The ascending merge of both key tiles' query-tile lists: a query tile
    // that both hold is loaded once and serves both warpgroups; one that
    // only one holds is computed by that warpgroup while the other waits,
    // taking and passing its turns idle.
    if (wg == 1)
      pass();
    for (int buf = 0; any; buf ^= 1) {
      const PairEntry cur = nextPair;
      const bool last = pairs.done();
      if (!last) {
        nextPair = takeNext(pairs);
        loadQ(nextPair.tile, buf ^ 1);
      }
      cpAsyncCommit();
      cpAsyncWait<1>();
      tilesReadyForMma<Cfg>();
      __syncthreads();
      releasePending(); // the previous tile's additions preceded the barrier
      if (wg == 0 ? cur.used[0] : cur.used[1]) { // warpgroup-uniform
        attendQueryTile(TileRef{cur.tile, wg == 0 ? cur.full[0] : cur.full[1]}, buf);
      } else {
        turn(), pass();
        turn(), pass();
      }
      const bool used[2] = {cur.used[0], cur.used[1]};
      addDqContribution(cur.tile, used);
      __syncthreads(); // buffer `buf` is refilled by the next iteration's prefetch
      if (last)
        break;
    }
    if (wg == 0)
      turn(); // warpgroup 1's last pass
  }
  releasePending(); // the last tile's additions preceded the loop's last barrier
  cpAsyncWait<0>();
  __syncthreads(); // the tiles are reused as staging below

#pragma unroll
  for (int i = 0; i < kNtD; ++i)
#pragma unroll
    for (int j = 0; j < 4; ++j)
      dk[i][j] *= p.scale;
  // The K/V/Q tiles are free: each gradient is staged there in turn, by
  // each warpgroup of a pair in its own part.
  static_assert(KT * kStageBytes<BN, D> <= bwdDkdvSmemBytes(D, Cfg::kTile, KT), "staging fits");
  if (!mine)
    return; // (KT = 2: warpgroup-uniform; the other warpgroup's barriers are its own)
  char *stage = smem + wg * kStageBytes<BN, D>;
  storeGrad<Cfg, AM, KT == 2>(dk, stage, bs.dk, p.dk.stride_t, bs.dkAcc, kRowOf);
  storeGrad<Cfg, AM, KT == 2>(dv, stage, bs.dv, p.dv.stride_t, bs.dvAcc, kRowOf);
}

} // namespace sparta

#endif // SPARTA_ATTENTION_BWD_DKDV_CUH
