//===- planned_schedule.cuh - The Schedule concept over a planned TileSchedule
//
// Generated kernels describe each component by a small Spec struct:
//
//   struct Spec {
//     static constexpr int kBlockM, kBlockN;           // the component's tile shape
//     static constexpr int kNumQBlocks, kNumKBlocks;   // from the plan
//     static constexpr bool kLongestFirst;             // lists of uneven length
//     static constexpr int kScheduleKind;              // get().kind (tiling.h)
//     static sparta::tiling::TileSchedule get();       // literal fields
//     static bool covers(int i, int j);                // table components:
//   };                                                 //   the exact predicate
//
// and PlannedSchedule<Spec> turns it into the Schedule the kernels expect
// (schedule.cuh). All schedule arithmetic lives in tiling.h, shared with the
// planner and the CPU executor; since get() returns literals, NVRTC folds it.
// The tile lists come from tiling.h's grid-box or flat functions, chosen by
// kScheduleKind at compile time rather than by get().kind: NVRTC optimizes a
// function before inlining it, so a branch on the kind, dead as it is once
// folded, still changed the flat schedules' code (7 more registers in the
// band forward kernel, spills in document kernels).
//
//===----------------------------------------------------------------------===//
#ifndef SPARTA_PLANNED_SCHEDULE_CUH
#define SPARTA_PLANNED_SCHEDULE_CUH

#include "sparta/schedule.cuh"
#include "sparta/tiling.h"

namespace sparta {

template <class Spec> struct PlannedSchedule {
  static constexpr int kBlockM = Spec::kBlockM;
  static constexpr int kBlockN = Spec::kBlockN;
  static constexpr int kNumQBlocks = Spec::kNumQBlocks;
  static constexpr int kNumKBlocks = Spec::kNumKBlocks;
  static constexpr bool kLongestFirst = Spec::kLongestFirst;
  static_assert(Spec::kScheduleKind >= tiling::kBand && Spec::kScheduleKind <= tiling::kGridBox,
                "kScheduleKind names a tiling::ScheduleKind");

  // Groups interleaved and the last (heaviest, for causal-like schedules)
  // tiles of each group first, so the grid's tail is made of light tiles.
  __device__ __forceinline__ static int2 q_block(int bid) {
    const tiling::TileSchedule s = Spec::get();
    const int groups = s.q.groups();
    return make_int2(bid % groups, s.qTilesPerGroup() - 1 - bid / groups);
  }
  // Query-tile pairs (attention_fwd_pairs.cuh): pair pid holds tiles
  // t and t - 1 of one group, t = tiles - 1 - 2 (pid / groups), in the same
  // interleaved, heaviest-first order; w = 1 gets a tile < 0 (none) where a
  // group has an odd number of tiles. pid < TileSchedule::numQPairs().
  __device__ __forceinline__ static int2 q_pair_block(int pid, int w) {
    const tiling::TileSchedule s = Spec::get();
    const int groups = s.q.groups();
    return make_int2(pid % groups, s.qTilesPerGroup() - 1 - 2 * (pid / groups) - w);
  }
  // Key-tile pairs (attention_bwd_dkdv's KT = 2): pair pid holds tiles t and
  // t - 1 of one group, t = tiles - 1 - 2 (pid / groups): descending, as
  // k_block. pid < TileSchedule::numKPairs().
  __device__ __forceinline__ static int2 k_pair_block(int pid, int w) {
    const tiling::TileSchedule s = Spec::get();
    const int groups = s.k.groups();
    return make_int2(pid % groups, s.kTilesPerGroup() - 1 - 2 * (pid / groups) - w);
  }
  // Key tiles of each group in descending order (the dQ accumulation order,
  // schedule.cuh).
  __device__ __forceinline__ static int2 k_block(int bid) {
    const tiling::TileSchedule s = Spec::get();
    const int groups = s.k.groups();
    return make_int2(bid % groups, s.kTilesPerGroup() - 1 - bid / groups);
  }
  __device__ __forceinline__ static int q_len(int g) { return Spec::get().q.len(g); }
  __device__ __forceinline__ static int k_len(int g) { return Spec::get().k.len(g); }
  __device__ __forceinline__ static int q_row(int g, int pos) { return Spec::get().q.row(g, pos); }
  __device__ __forceinline__ static int k_row(int g, int pos) { return Spec::get().k.row(g, pos); }
  __device__ __forceinline__ static int2 q_rows(int g, int pos0, int pos1) {
    const tiling::RowSpan r = Spec::get().q.rowSpan(g, pos0, pos1);
    return make_int2(r.first, r.last);
  }
  __device__ __forceinline__ static int2 k_rows(int g, int pos0, int pos1) {
    const tiling::RowSpan r = Spec::get().k.rowSpan(g, pos0, pos1);
    return make_int2(r.first, r.last);
  }
  static constexpr bool kBox = Spec::kScheduleKind == tiling::kGridBox;
  __device__ __forceinline__ static TileRef ref(tiling::TileRef t) {
    return TileRef{t.tile, t.full ? 1 : 0};
  }
  __device__ __forceinline__ static int fwd_count(int g, int qt) {
    if constexpr (kBox)
      return Spec::get().boxFwdCount(qt);
    else
      return Spec::get().flatFwdCount(g, qt);
  }
  __device__ __forceinline__ static TileRef fwd_tile(int g, int qt, int n) {
    if constexpr (kBox)
      return ref(Spec::get().boxFwdTile(qt, n));
    else
      return ref(Spec::get().flatFwdTile(g, qt, n));
  }
  __device__ __forceinline__ static int bwd_count(int g, int kt) {
    if constexpr (kBox)
      return Spec::get().boxBwdCount(kt);
    else
      return Spec::get().flatBwdCount(g, kt);
  }
  __device__ __forceinline__ static TileRef bwd_tile(int g, int kt, int n) {
    if constexpr (kBox)
      return ref(Spec::get().boxBwdTile(kt, n));
    else
      return ref(Spec::get().flatBwdTile(g, kt, n));
  }
  __device__ __forceinline__ static bool allowed(int g, int qpos, int kpos) {
    const tiling::TileSchedule s = Spec::get();
    if constexpr (kBox)
      return s.boxAllowed(qpos, kpos);
    else
      return s.kind == tiling::kTable ? Spec::covers(s.q.row(g, qpos), s.k.row(g, kpos))
                                      : s.flatAllowed(g, qpos, kpos);
  }
};

} // namespace sparta

#endif // SPARTA_PLANNED_SCHEDULE_CUH
