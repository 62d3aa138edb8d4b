//===- Plan.h - How a pattern is computed: components and tile schedules --===//
//
// The planner turns each head mask of a ConcretePattern into *components*.
// A component is one part of the mask that a single kernel launch computes
// with one index map on each side and one tile schedule (tiling.h). A mask
// that is a union of parts needing different index maps (merged strided:
// local band + strided transpose) becomes several components; each (i, j) pair
// belongs to exactly one of them (later components exclude what earlier ones
// cover), and the kernels merge the partial results with their log-sum-exp.
//
// Closed-form schedules (band, prefix) need no data; irregular components use
// explicit tile lists (kTable) built here and emitted as constant arrays.
// Each component has its own tile shape (query x key positions), chosen among
// the shapes the kernels are built for (tiling::kKernelTileShapes).
//
//===----------------------------------------------------------------------===//
#pragma once

#include "sparta/Pattern.h"

#include "sparta/tiling.h"

#include <cstdint>
#include <map>
#include <string>
#include <vector>

namespace sparta {

struct PlanComponent {
  /// Kernel-name fragment, e.g. "band", "stride", "summary", "table".
  std::string name;
  /// What this component computes, e.g. "stride(128) minus band(0, 128)".
  std::string description;
  /// Index maps, tile shape and schedule. For kTable components the table
  /// pointers are not set here: use hostSchedule().
  tiling::TileSchedule schedule{};
  /// The exact set of pairs of this component, in original coordinates: the
  /// pairs of `part` (one operand of the head's union) that no earlier
  /// component covers, i.e. that are in none of `excluded`. Partial tiles of
  /// table components evaluate it (covers()); band and prefix components use
  /// schedule.allowed, which is equivalent in mapped coordinates.
  Mask part;
  std::vector<Mask> excluded;
  /// The pattern's domain: causal (pairs j <= i) or bidirectional.
  bool causal = true;
  /// Tile lists of a kTable component (TableData layout, see tiling.h).
  std::vector<int> fwdOffsets, fwdEntries, bwdOffsets, bwdEntries;
  /// Why a kTable component has no closed form (empty otherwise).
  std::string fallbackReason;

  /// The schedule with its table pointers aimed at this component's vectors.
  tiling::TileSchedule hostSchedule() const;
  /// Whether the CTAs' tile lists differ widely in length: on either side the
  /// longest list is at least 1.5 times the mean over the existing tiles
  /// (causal attention: 2; bands and strided groups: about 1). The kernels
  /// then start the heaviest blocks of every head first (kLongestFirst in the
  /// generated schedules, docs/device-library.md).
  bool unevenLists() const;
  /// The forward over query-tile pairs (attention_fwd_pairs.cuh: two
  /// adjacent 64-row query tiles per CTA, the merge of their key-tile lists):
  /// the fraction of the two warpgroups' steps that compute, i.e. the sum of
  /// the pairs' list lengths over twice their merged lengths (1 where every
  /// pair's lists agree; causal attention about 1, a chunk of two tiles
  /// 0.75, a band of 65 keys 2/3, one tile per group 1/2). 0 for other tile
  /// edges or where no query tile meets a key tile.
  double pairedQueryUse() const;
  /// Whether the forward kernel of this component takes query-tile pairs
  /// when the choice is automatic on sm_90a: head dim 128, 64-row tiles and
  /// pairedQueryUse() of at least kMinPairedUse. (At d = 128 an
  /// unpaired CTA's 80 KB of shared memory holds an SM to 2 warpgroups, a
  /// paired one's 96 KB to 4: 1.2 times faster on dense causal, 1-3 % on
  /// chunks and bands of 2/3 use; at d = 64 registers allow 4 warpgroups
  /// either way, and the pairs were slower, docs/performance.md.) Below
  /// 0.6 (a group of one tile: its CTA's second warpgroup idles) the CTAs
  /// would not gain.
  bool pairsQueryTiles(int headDim) const;
  static constexpr double kMinPairedUse = 0.6;
  /// The same fraction for the dK/dV pass over key-tile pairs
  /// (attention_bwd_dkdv's KT = 2: two adjacent key tiles, the merge of their
  /// query-tile lists).
  double pairedKeyUse() const;
  /// Whether the dK/dV kernel of this component takes key-tile pairs when
  /// the choice is automatic on sm_90a: head dim 128, 64-row tiles and
  /// pairedKeyUse() of at least kMinPairedUse.
  bool pairsKeyTiles(int headDim) const;
  /// Whether (i, j), original coordinates, is computed by this component
  /// (reference semantics of part minus excluded, in the domain of `causal`).
  bool covers(int64_t T, int64_t i, int64_t j) const;
};

struct HeadPlan {
  /// Heads h with h % numMasks == maskIndex use this plan.
  int64_t maskIndex = 0;
  Mask mask;
  /// In launch order; empty when the mask allows nothing (the output is zero).
  std::vector<PlanComponent> components;
};

struct PlanOptions {
  /// The tile shapes to choose from, per component; empty: the kernels'
  /// shapes (tiling::kKernelTileShapes).
  std::vector<tiling::TileShape> shapes;
  /// Only M x M tiles (studies and tests of other tile edges).
  static PlanOptions square(int M) { return PlanOptions{{tiling::TileShape{M, M}}}; }
};

struct Plan {
  std::string patternName;
  int64_t T = 0;
  std::map<std::string, int64_t> params; // the pattern's other parameter values (not T)
  bool causal = true;                    // false: a bidirectional pattern
  std::vector<HeadPlan> heads;           // one per mask of the pattern
};

/// Plans every head mask of `pattern`.
Plan planPattern(const ConcretePattern &pattern, const PlanOptions &options = {});

/// Work accounting: score elements the plan computes (each listed tile counts
/// its whole shape, padding included) and allowed pairs, summed over the
/// pattern's masks.
struct WorkReport {
  int64_t computedElements = 0;
  int64_t allowedPairs = 0;
  int64_t fullTiles = 0, partialTiles = 0;
  double ratio() const {
    return allowedPairs ? double(computedElements) / double(allowedPairs) : 0.0;
  }
};
WorkReport measureWork(const Plan &plan);

/// The score elements a component's kernels compute per head (measureWork's
/// computedElements for that component) from its lists' lengths alone:
/// O(query tiles), where measureWork visits every listed tile pair
/// (quadratic in T for dense attention), so that planning stays fast at any T.
int64_t computedElements(const PlanComponent &component);

/// The plan as readable text (the `--emit=plan` stage).
std::string printPlan(const Plan &plan);

} // namespace sparta
