//===- schedule.cuh - The Schedule concept: index maps and tile lists ------===//
//
// A Schedule describes ONE mask component of one head (set) to the attention
// kernels: which rows each CTA owns, how mapped positions map to token rows,
// and which tiles each tile meets. The code generator emits one struct per
// component with every constant inlined; the kernels are templates over it.
//
// Mapped spaces. The query side and the key side each have an index map: a
// set of *groups*, group g holding positions 0 .. len(g)-1, and position p of
// group g standing for token row q_row(g, p) (resp. k_row). Tiles are
// kBlockM (queries) / kBlockN (keys) consecutive positions of ONE group;
// query tile i of group g covers positions [i*kBlockM, (i+1)*kBlockM).
// Query and key share the group index: a query of group g only meets keys of
// key group g (every pattern of the paper maps this way: identity maps have
// one group; the strided transpose has group = column for both sides; the
// summary gather has one group of summary keys).
//
// Example (strided transpose, stride L): group = col in [0, L),
//   q_len(col) = k_len(col) = (T - col + L - 1) / L,
//   q_row(col, r) = k_row(col, r) = r * L + col.
//
// Required members (all static; device functions are __device__, and should
// be __forceinline__ when closed-form):
//
//   static constexpr int kBlockM, kBlockN;  // tile sizes planned for; must
//                                           // equal the kernel Cfg's
//   static constexpr int kNumQBlocks;       // grid.x of fwd and dq launches
//   static constexpr int kNumKBlocks;       // grid.x of dkdv launches
//   static constexpr bool kLongestFirst;    // the lists' lengths differ widely
//                                           // (causal-like): see Order below
//   int2 q_block(int bid);  // bid in [0, kNumQBlocks) -> (group, query tile)
//   int2 k_block(int bid);  // bid in [0, kNumKBlocks) -> (group, key tile)
//   int2 q_pair_block(int pid, int w); // only for attention_fwd_pairs (64-row
//                           // tiles): pid in [0, TileSchedule::numQPairs())
//                           // -> (group, query tile w of the pair), the tile
//                           // < 0 where the pair has one tile
//   int2 k_pair_block(int pid, int w); // only for the dK/dV pass over key-tile
//                           // pairs: the same on the key side, pid in
//                           // [0, TileSchedule::numKPairs())
//   int  q_len(int g);      // valid query positions of group g
//   int  k_len(int g);      // valid key positions of group g
//   int  q_row(int g, int pos);  // token row of a query position (pos < q_len)
//   int  k_row(int g, int pos);  // token row of a key position   (pos < k_len)
//   int2 q_rows(int g, int pos0, int pos1); // (x, y): bounds of the rows of
//   int2 k_rows(int g, int pos0, int pos1); // positions pos0..pos1 (< len)
//   int  fwd_count(int g, int qtile);            // key tiles met by a query tile
//   TileRef fwd_tile(int g, int qtile, int n);   // n-th of them, n < fwd_count
//   int  bwd_count(int g, int ktile);            // query tiles met by a key tile
//   TileRef bwd_tile(int g, int ktile, int n);   // n-th of them
//   bool allowed(int g, int qpos, int kpos);     // the element predicate in
//                                                // mapped coordinates
//
// Contract:
//  * q_block/k_block may return a tile that starts at or past q_len/k_len of
//    its group (a rectangular enumeration of ragged groups): that CTA exits
//    at once and writes nothing. Every existing tile must appear exactly once.
//  * The query map of every component is a bijection onto [0, T): the CTAs of
//    a forward launch together own every row, so MergeMode First/Single write
//    every row (rows whose tile meets no key tile get O = 0, lse = -inf).
//  * The key map need only be injective (summary gather covers few rows):
//    rows it misses receive no gradient from this component, so a partial key
//    map needs AccMode::Accumulate.
//  * The tiles listed for a query tile are distinct and ascending; bwd lists
//    are exactly the transpose of the fwd lists (same pairs, same `full`
//    flags).
//  * q_pair_block(pid, 0) and (pid, 1) are two tiles of one group (tile 1
//    is the one before tile 0, or none); over every pid they name each
//    existing query tile exactly once, as q_block does.
//  * k_pair_block(pid, 0) and (pid, 1) are key tiles t and t - 1 (or none)
//    of one group, t descending with pid as k_block's tiles do, and the t
//    of every pair of a group have one parity (the ordered dQ additions find
//    the pair of a key tile by it: pairTurn, attention_bwd_common.cuh).
//  * k_block enumerates each group's key tiles in descending tile order
//    (bid increasing): the dK/dV pass adds its dQ contributions to a query
//    tile in descending key-tile order and a CTA waits only for CTAs of
//    lower block index (attention_bwd_common.cuh).
//  * TileRef.full == 1 promises that every (qpos, kpos) of the tile pair with
//    qpos < q_len(g) has kpos < k_len(g) and allowed(g, qpos, kpos): the
//    kernel then runs no mask code. Otherwise (full == 0) the kernel
//    evaluates, per element, kpos < k_len && qpos < q_len && allowed(...).
//    Tiles touching a group's ragged end on the key side are thus partial.
//  * Pairs of a union already covered by an earlier component must be
//    excluded by allowed() (and by the tile lists) of the later one.
//  * q_rows/k_rows bound every row of the positions: x <= row <= y. They are
//    exact (first and last row) where rows ascend with the position, which
//    every map but the packed strided one does (IndexMap::rowSpan, tiling.h);
//    packed documents (documents.h) skip tile pairs by these bounds.
//
// Closed-form schedules compute the counts and tiles arithmetically (causal:
// fwd_count = qtile + 1, tile n = n, full = n < qtile); irregular ones read
// CSR tables from __constant__ or static const __device__ arrays.
//
// Order: kernels process tiles in list order; for causal-like work, emitting
// q_block so that the heaviest query tiles come first (bid 0 = last tile)
// balances the tail of the grid; with kLongestFirst the kernels also start
// block 0 of every (batch, head) row before block 1 of any (gridSlot,
// attention_fwd.cuh), and the dK/dV pass without FUSE_DQ takes its blocks
// reversed (ascending key tiles, the heaviest first); the FUSE_DQ pass keeps
// each row's blocks together (attention_bwd_dkdv.cuh). k_block's own order
// is fixed by the contract.
//
//===----------------------------------------------------------------------===//
#ifndef SPARTA_SCHEDULE_CUH
#define SPARTA_SCHEDULE_CUH

#include "sparta/params.h"

namespace sparta {

/// One entry of a tile list: the tile index in the other side's mapped group
/// and whether it is full (no mask code needed).
struct TileRef {
  int tile;
  int full;
};

/// Compile-time checks of the parts of the concept the compiler can see, for
/// a kernel of configuration Cfg (params.h).
template <typename S, typename Cfg> struct ScheduleChecks {
  static_assert(S::kBlockM == Cfg::kBlockM && S::kBlockN == Cfg::kBlockN,
                "the schedule was planned for other tile sizes than the kernel's Cfg");
  static_assert(S::kNumQBlocks >= 0 && S::kNumKBlocks >= 0, "block counts");
  static constexpr bool ok = true;
};

/// The token row of position tile * edge + r of group g on the query side
/// (QUERY, edge kBlockM) or the key side (edge kBlockN), or -1 at and past
/// len, the group's length on that side: the row function of the tile loaders
/// and stores, which the kernels wrap in a lambda over their own tile.
template <typename S, bool QUERY>
__device__ __forceinline__ int tileRow(int g, int tile, int len, int r) {
  int pos = tile * (QUERY ? S::kBlockM : S::kBlockN) + r;
  if constexpr (QUERY)
    return pos < len ? S::q_row(g, pos) : -1;
  else
    return pos < len ? S::k_row(g, pos) : -1;
}

/// ceil(a / b) for non-negative a, positive b.
SPARTA_HD constexpr int ceilDiv(int a, int b) { return (a + b - 1) / b; }

} // namespace sparta

#endif // SPARTA_SCHEDULE_CUH
