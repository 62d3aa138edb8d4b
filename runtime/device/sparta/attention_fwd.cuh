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
// Packed documents (p.doc_ids, documents.h), in kernels built with DOCS: key
// tiles whose documents the query tile's do not meet are passed over, loads
// included; pairs that mix documents run the mask code with the document
// test per element. Without DOCS the kernel has no document code (the test
// costs registers), and doc_ids is ignored.
//
// Generated wrapper (the code generator emits one per kernel):
//
//   #include <sparta/attention_fwd.cuh>
//   struct Sched0 { ... };  // see schedule.cuh
//   using Cfg0 = sparta::Cfg<64, sparta::DType::BF16, 32>;  // d, dtype, tile
//   extern "C" __global__ void __launch_bounds__(Cfg0::kThreads)
//   sparta_fwd_h0(const sparta::AttnFwdParams p) {
//     sparta::attention_fwd<Cfg0, Sched0, sparta::MergeMode::Single, false>(p);
//   }               // (true: the kernel set for packed documents)
//
// launched with grid (Sched0::kNumQBlocks, batch * heads_in_launch), block
// Cfg0::kThreads, dynamic shared memory fwdSmemBytes(d, tile) (d = 128 needs
// the function's max-dynamic-shared-memory attribute raised above 48 KB).
//
//===----------------------------------------------------------------------===//
#ifndef SPARTA_ATTENTION_FWD_CUH
#define SPARTA_ATTENTION_FWD_CUH

#include "sparta/documents.h"
#include "sparta/schedule.cuh"
#include "sparta/tile_mma.cuh"

namespace sparta {

/// Index of (b, h, t) in the dense [B, num_heads, T] fp32 side tensors.
SPARTA_DEVICE i64 rowIndex(const HeadArgs &ha, int b, int h, int t) {
  return (static_cast<i64>(b) * ha.num_heads + h) * ha.seq_len + t;
}

/// Element (b, h, t = 0, 0) of a 16-bit [B, H, T, d] tensor view.
SPARTA_DEVICE u16 *headSlice(const TensorArg &t, int b, int h) {
  return static_cast<u16 *>(t.ptr) + b * t.stride_b + h * t.stride_h;
}

/// Decodes a (batch, head) row of the launch, in [0, batch * heads_in_launch),
/// into (batch, head) for this launch's head set.
SPARTA_DEVICE int2 batchHead(const HeadArgs &ha, unsigned row) {
  const unsigned n = ha.heads_in_launch, b = row / n, s = row - b * n;
  return make_int2(b, ha.head_offset + ha.head_step * static_cast<int>(s));
}

/// A tile kernel's CTA: its block of the Schedule's enumeration (the argument
/// of q_block / k_block) and its (batch, head) row. The grid is (blocks,
/// batch * heads_in_launch), and CTAs start in linear block-index order (x
/// fastest). Where S::kLongestFirst (lists of very different lengths, the
/// longest first: causal-like schedules), the slot reads that index with the
/// row varying fastest, so that block 0 of every row starts first, then
/// block 1 of every row, and so on: the launch runs longest first over all
/// its heads, and its tail is light tiles of every head, not the heaviest
/// tiles of the last one. Otherwise (lists of about one length) each row's
/// blocks stay together, which keeps the CTAs that share key tiles close in
/// time. (The launch code keeps blocks x rows below 2^31.)
struct GridSlot {
  int block;
  unsigned row;
};
template <typename S> SPARTA_DEVICE GridSlot gridSlot() {
  if constexpr (!S::kLongestFirst)
    return GridSlot{static_cast<int>(blockIdx.x), blockIdx.y};
  const unsigned id = blockIdx.y * gridDim.x + blockIdx.x, block = id / gridDim.y;
  return GridSlot{static_cast<int>(block), id - block * gridDim.y};
}

// ---- Packed documents (documents.h) -----------------------------------------------
/// A CTA's walk over its tile list, the forward list of its query tile (FWD)
/// or the backward list of its key tile, under packed documents: next(n) is
/// the entry to run at index n or after, n advanced to it (to `count` when
/// none is left); without documents (docs null) entry n itself. With them, a
/// pair whose documents do not meet those of the CTA's own tile is passed over when
/// SKIP, and runs as a partial pair otherwise (where every listed pair must
/// run: the fused dQ's counters); a pair within one document keeps its flag.
/// Every thread of the CTA takes the same decisions.
/// (The CTA's own span is read again for each listed tile, not kept: two
/// registers live through the loop made the d = 128 dQ kernel spill.)
template <typename S, bool FWD, bool SKIP = true> struct TileWalk {
  const i32 *docs; // null: no documents
  int group, tile, count;

  SPARTA_DEVICE TileWalk(const i32 *docIds, int g, int t)
      : docs(docIds), group(g), tile(t), count(FWD ? S::fwd_count(g, t) : S::bwd_count(g, t)) {}

  /// The documents of tile t of group g on the query side (or the key side).
  SPARTA_DEVICE static documents::Span docsOf(const i32 *docs, int g, int t, bool query) {
    const int rows = query ? S::kBlockM : S::kBlockN, len = query ? S::q_len(g) : S::k_len(g);
    const int a = t * rows, z = min(len, a + rows) - 1;
    if (z < a)
      return documents::noRows();
    const int2 r = query ? S::q_rows(g, a, z) : S::k_rows(g, a, z);
    return documents::Span{__ldg(docs + r.x), __ldg(docs + r.y)};
  }
  SPARTA_DEVICE TileRef at(int n) const {
    return FWD ? S::fwd_tile(group, tile, n) : S::bwd_tile(group, tile, n);
  }
  SPARTA_DEVICE TileRef next(int &n) const {
    TileRef t = at(n);
    if (docs) {
      for (;;) {
        const int full = documents::pairFull(docsOf(docs, group, tile, FWD),
                                             docsOf(docs, group, t.tile, !FWD), t.full);
        if (full != documents::kSkip || !SKIP) {
          t.full = full == documents::kSkip ? 0 : full;
          break;
        }
        if (++n == count)
          break;
        t = at(n);
      }
    }
    return t;
  }
  /// next(n) into `t` where n is still in the list; whether an entry is left.
  SPARTA_DEVICE bool advance(int &n, TileRef &t) const {
    if (n >= count)
      return false;
    t = next(n);
    return n < count;
  }
};

/// Barrier over the 128 threads of warpgroup w (ids 1 and 2; 0 is
/// __syncthreads').
SPARTA_DEVICE void warpgroupSync(int w) {
  asm volatile("bar.sync %0, 128;" ::"r"(w + 1) : "memory");
}

/// The merged walk over the tile lists of a CTA's two tiles, which share one
/// group: the key-tile lists of two query tiles (FWD, q_pair_block) or the
/// query-tile lists of two key tiles (k_pair_block, schedule.cuh). Both lists
/// ascend, and so does the merge. Every thread keeps both cursors, so all
/// take the same decisions without exchanging them.
template <typename S, bool FWD> struct PairWalk {
  int group, tile[2], count[2], n[2];
  TileRef at[2]; // entry n[w] of list w, where n[w] < count[w]

  SPARTA_DEVICE void start(int w, int t, bool exists) {
    tile[w] = t, n[w] = 0;
    count[w] = exists ? (FWD ? S::fwd_count(group, t) : S::bwd_count(group, t)) : 0;
    if (count[w] > 0)
      at[w] = entry(t, 0);
  }
  /// Entry n of tile t's list.
  SPARTA_DEVICE TileRef entry(int t, int n) const {
    return FWD ? S::fwd_tile(group, t, n) : S::bwd_tile(group, t, n);
  }
  SPARTA_DEVICE bool live(int w) const { return n[w] < count[w]; }
  SPARTA_DEVICE bool done() const { return !live(0) && !live(1); }
  /// Whether list w's current entry is the merge's next (the other list's,
  /// if live, is not smaller).
  SPARTA_DEVICE bool takes(int w) const {
    const int o = 1 - w;
    if (!live(w))
      return false;
    if (!live(o))
      return true;
    return at[w].tile <= at[o].tile;
  }
  SPARTA_DEVICE void step(int w) {
    if (++n[w] < count[w])
      at[w] = entry(tile[w], n[w]);
  }
};

/// One entry of the merged stream: the tile and, per warpgroup, whether its
/// list holds it (and with which `full` flag).
struct PairEntry {
  int tile;
  bool used[2];
  int full[2];
};

template <typename S, bool FWD> SPARTA_DEVICE PairEntry takeNext(PairWalk<S, FWD> &walk) {
  PairEntry e;
#pragma unroll
  for (int w = 0; w < 2; ++w) {
    e.used[w] = walk.takes(w);
    e.full[w] = walk.at[w].full;
  }
  e.tile = e.used[0] ? walk.at[0].tile : walk.at[1].tile;
#pragma unroll
  for (int w = 0; w < 2; ++w)
    if (e.used[w])
      walk.step(w);
  return e;
}

/// The document test of one element (rows valid): true without documents.
SPARTA_DEVICE bool sameDocument(const i32 *docs, int qrow, int krow) {
  return !docs || __ldg(docs + qrow) == __ldg(docs + krow);
}

/// The document test of a thread's C-fragment elements of a partial pair, as
/// bits: bit nt * 2 + j of bits[i] says whether column position
/// col0 + nt * 8 + j (< colLen) lies in the document of row position
/// row0 + 8 i (< rowLen); rowOf and colOf give token rows. The dQ kernel
/// computes it before a tile's products, so that its loads hold no registers
/// next to the accumulators (per element, the d = 128 kernel spilled); the
/// forward, held to 128 registers, spills with the two words live through the
/// products instead, and tests per element (sameDocument).
template <int NT, typename RowOf, typename ColOf>
SPARTA_DEVICE void documentBits(const i32 *docs, int row0, int rowLen, RowOf rowOf, int col0,
                                int colLen, ColOf colOf, u32 (&bits)[2]) {
  static_assert(2 * NT <= 32, "one bit per column of the fragment");
  int rowDoc[2];
#pragma unroll
  for (int i = 0; i < 2; ++i) {
    const int pos = row0 + 8 * i;
    rowDoc[i] = pos < rowLen ? __ldg(docs + rowOf(pos)) : -1;
    bits[i] = 0u;
  }
#pragma unroll
  for (int nt = 0; nt < NT; ++nt)
#pragma unroll
    for (int j = 0; j < 2; ++j) {
      const int pos = col0 + nt * 8 + j;
      const int doc = pos < colLen ? __ldg(docs + colOf(pos)) : -2;
#pragma unroll
      for (int i = 0; i < 2; ++i)
        bits[i] |= u32(doc == rowDoc[i]) << (2 * nt + j);
    }
}

namespace fwd {
// The steps of the forward that every forward kernel shares (this file's and
// the two-warpgroup one of attention_fwd_pairs.cuh), for the 16 rows of one
// warp: rows qpos0 (i = 0) and qpos0 + 8 (i = 1) of the thread, in the
// C-fragment layout of mma.cuh.

/// The running softmax state and O accumulators of a warp's rows.
template <int D> struct RowState {
  float o[D / 8][4];
  float m[2]; // running max, scaled to base 2
  float l[2]; // this thread's share of the row sum
};

template <int D> SPARTA_DEVICE void initRows(RowState<D> &r) {
  zeroAcc(r.o);
  r.m[0] = r.m[1] = negInf();
  r.l[0] = r.l[1] = 0.f;
}

/// One listed key tile `cur` (of group `group`) for the warp's rows: S = Q K^T
/// from the query tile aQ and the key tile at kTile, the element test on
/// partial pairs, the online softmax, O += P V from the value tile at vTile.
/// qpos0 is the thread's first row position (tile start + 16 warp + lane / 4).
template <typename Cfg, typename S, bool DOCS>
SPARTA_DEVICE void attendTile(RowState<Cfg::kHeadDim> &r, u32 aQ, u32 kTile, u32 vTile,
                              TileRef cur, int group, int qpos0, int qlen, int klen,
                              const i32 *docs, float sl2) {
  constexpr int D = Cfg::kHeadDim;
  constexpr DType DT = Cfg::kDType;
  constexpr int BN = Cfg::kBlockN;
  constexpr int kNtS = BN / 8;  // n-tiles of S per warp
  constexpr int kNtO = D / 8;   // n-tiles of O per warp
  constexpr int kKsQK = D / 16; // k-steps of Q K^T
  constexpr int kKsPV = BN / 16;
  const int c4 = threadIdx.x & 3;

  // S = Q K^T for this warp's 16 rows x BN keys.
  float s[kNtS][4];
  zeroAcc(s);
  tileMma<Cfg, BTile::NK, BN, kKsQK>(s, SmemA{aQ}, kTile, 0, 0);

  // Partial tiles only: the element predicate plus the bounds.
  if (!cur.full) {
#pragma unroll
    for (int i = 0; i < 2; ++i) {
      const int qpos = qpos0 + 8 * i;
#pragma unroll
      for (int nt = 0; nt < kNtS; ++nt)
#pragma unroll
        for (int j = 0; j < 2; ++j) {
          const int kpos = cur.tile * BN + nt * 8 + 2 * c4 + j;
          bool ok = kpos < klen && qpos < qlen && S::allowed(group, qpos, kpos) &&
                    (!DOCS || sameDocument(docs, S::q_row(group, qpos), S::k_row(group, kpos)));
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
    const float mNew = fmaxf(r.m[i], mx);
    // A row with nothing allowed so far keeps m = -inf; subtracting 0 then
    // keeps every exp2 argument -inf (-> 0) instead of NaN.
    const float mUse = mNew == negInf() ? 0.f : mNew;
    const float alpha = fastExp2(r.m[i] - mUse);
    r.m[i] = mNew;
    r.l[i] *= alpha;
#pragma unroll
    for (int nt = 0; nt < kNtO; ++nt) {
      r.o[nt][2 * i] *= alpha;
      r.o[nt][2 * i + 1] *= alpha;
    }
#pragma unroll
    for (int nt = 0; nt < kNtS; ++nt)
#pragma unroll
      for (int j = 0; j < 2; ++j) {
        float e = fastExp2(fmaf(s[nt][2 * i + j], sl2, -mUse));
        s[nt][2 * i + j] = e;
        r.l[i] += e;
      }
  }

  // O += P V: P's accumulators are the A fragments of the k-steps over keys.
  tileMma<Cfg, BTile::KN, D, kKsPV>(
      r.o, [&](int ks, u32(&a)[4]) { accToA<DT>(a, s[2 * ks], s[2 * ks + 1]); }, vTile, 0, 0);
}

/// The epilogue of a query tile: normalize, lse, merge by MergeMode, store.
/// The THREADS threads that own the tile (tid among them; warp: the warp's
/// index among them) call it; sQ is the tile's own Q tile, free now, which
/// stages O, and sync() the barrier over those threads.
template <typename Cfg, MergeMode MM, int THREADS, typename RowOf, typename Sync>
SPARTA_DEVICE void finishRows(const AttnFwdParams &p, int b, int h, RowState<Cfg::kHeadDim> &r,
                              char *sQ, int warp, int tid, RowOf qRowOf, Sync sync) {
  constexpr int D = Cfg::kHeadDim;
  constexpr DType DT = Cfg::kDType;
  constexpr int kNtO = D / 8;
  const int lane = threadIdx.x & 31, g = lane >> 2, c4 = lane & 3;
  float lse[2];
  int rows[2];
#pragma unroll
  for (int i = 0; i < 2; ++i) {
    const float l = quadSum(r.l[i]);
    const float inv = l > 0.f ? 1.f / l : 0.f;
    lse[i] = l > 0.f ? (r.m[i] + fastLog2(l)) * kLn2 : negInf();
#pragma unroll
    for (int nt = 0; nt < kNtO; ++nt) {
      r.o[nt][2 * i] *= inv;
      r.o[nt][2 * i + 1] *= inv;
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
        r.o[nt][2 * i] = fmaf(wa, prev.x, wb * r.o[nt][2 * i]);
        r.o[nt][2 * i + 1] = fmaf(wa, prev.y, wb * r.o[nt][2 * i + 1]);
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
            make_float2(r.o[nt][2 * i], r.o[nt][2 * i + 1]);
    }
  } else {
    // Stage through shared memory (the Q tile is free now) so that global
    // stores are 16-byte, row-contiguous.
    accToTile<D, DT>(sQ, warp * 16, r.o);
    sync();
    storeTile<Cfg::kBlockM, D, THREADS>(headSlice(p.o, b, h), p.o.stride_t, sQ, qRowOf, tid);
  }
}
} // namespace fwd

template <typename Cfg, typename S, MergeMode MM, bool DOCS = false>
SPARTA_DEVICE void attention_fwd(const AttnFwdParams &p) {
  static_assert(ScheduleChecks<S, Cfg>::ok, "");
  constexpr int D = Cfg::kHeadDim;
  constexpr int BM = Cfg::kBlockM, BN = Cfg::kBlockN, NT = Cfg::kThreads;
  constexpr int kTileBytes = tileBytes(BM, D); // = tileBytes(BN, D): square tiles
  static_assert(5 * kTileBytes + kSmemAlign == Cfg::kFwdSmem, "the layout below");

  char *smem = kernelSmem();
  char *sQ = smem;
  char *sK = smem + kTileBytes;     // 2 buffers
  char *sV = smem + 3 * kTileBytes; // 2 buffers
  const u32 aQ = smemAddr(sQ), aK = smemAddr(sK), aV = smemAddr(sV);

  const GridSlot slot = gridSlot<S>();
  const int2 qb = S::q_block(slot.block);
  const int group = qb.x, qtile = qb.y;
  const int qlen = S::q_len(group);
  if (qtile * BM >= qlen)
    return; // an empty slot of a rectangular enumeration (CTA-uniform)
  const int klen = S::k_len(group);
  const int2 bh = batchHead(p.heads, slot.row);
  const int b = bh.x, h = bh.y;
  const int warp = threadIdx.x >> 5, lane = threadIdx.x & 31;
  const int g = lane >> 2;

  const u16 *qBase = headSlice(p.q, b, h), *kBase = headSlice(p.k, b, h),
            *vBase = headSlice(p.v, b, h);
  auto qRowOf = [&](int r) { return tileRow<S, true>(group, qtile, qlen, r); };
  auto loadKV = [&](int ktile, int buf) {
    auto kRowOf = [&](int r) { return tileRow<S, false>(group, ktile, klen, r); };
    loadTilePairAsync<BN, D, NT>(aK + buf * kTileBytes, kBase, p.k.stride_t, aV + buf * kTileBytes,
                                 vBase, p.v.stride_t, kRowOf);
  };

  // Key tiles whose documents the query tile's do not meet are passed over.
  const TileWalk<S, true> walk(DOCS ? p.doc_ids : nullptr, group, qtile);
  const i32 *docs = walk.docs; // DOCS false: no document code at all
  const int nTiles = walk.count;
  int n = 0;
  TileRef next = {0, 0};
  if (walk.advance(n, next)) {
    loadTileAsync<BM, D, NT>(aQ, qBase, p.q.stride_t, qRowOf);
    loadKV(next.tile, 0);
  }
  cpAsyncCommit();

  fwd::RowState<D> rs;
  fwd::initRows(rs);
  const float sl2 = p.scale * kLog2e;

  for (int step = 0; n < nTiles; ++step) {
    const TileRef cur = next;
    const int buf = (DOCS ? step : n) & 1; // without DOCS, step == n
    int after = n + 1;
    if (after < nTiles) { // (not walk.advance: that spilled the plain kernel)
      next = walk.next(after);
      if (after < nTiles)
        loadKV(next.tile, buf ^ 1);
    }
    cpAsyncCommit();
    cpAsyncWait<1>();
    tilesReadyForMma<Cfg>();
    __syncthreads();
    fwd::attendTile<Cfg, S, DOCS>(rs, aQ, aK + buf * kTileBytes, aV + buf * kTileBytes,
                                  cur, group, qtile * BM + warp * 16 + g, qlen, klen, docs, sl2);
    __syncthreads(); // buffer `buf` is refilled by the next iteration's prefetch
    n = after;
  }
  cpAsyncWait<0>();

  fwd::finishRows<Cfg, MM, NT>(p, b, h, rs, sQ, warp, threadIdx.x, qRowOf,
                               [] { __syncthreads(); });
}

} // namespace sparta

#endif // SPARTA_ATTENTION_FWD_CUH
