//===- LaunchLanes.h - Which launches of a call overlap, in what order -----===//
//
// A kernel set's launches form sequences that do not depend on one another:
// each head mask's forward kernels (the masks serve disjoint heads), and, in
// the backward, each mask's dK/dV kernels and, apart from them, its dQ
// kernels (they write different gradients). Within a sequence the kernels
// merge or accumulate into the same rows, so they keep their order.
// SparseAttention runs each sequence on a lane of its own (rt::Lanes) and
// queues the lanes with the most work first (score elements times products
// per element, over the heads served), so that the shorter sequences fill
// the SMs that the longest one's last wave leaves idle instead of holding
// them while it starts.
//
//===----------------------------------------------------------------------===//
#pragma once

#include "sparta/CodeGen.h"

#include <cstdint>
#include <initializer_list>
#include <utility>
#include <vector>

namespace sparta {

/// The heads h = mask, mask + numMasks, ... < H that the launches of head
/// mask `mask` serve: how many there are.
int64_t headsServed(int64_t H, int mask, int numMasks);

class LaunchLanes {
public:
  /// The lanes of the kernels of `kernels` whose role is one of `roles`
  /// (Forward, or BwdDkDv and BwdDq), for H heads of a pattern of numMasks
  /// masks.
  LaunchLanes(const std::vector<KernelInfo> &kernels, int numMasks, int64_t H,
              std::initializer_list<KernelRole> roles);
  /// The lane of `info`; -1 where its role is not one of the lanes' roles.
  int operator()(const KernelInfo &info) const;
  /// The lanes' kernels of `kernels` with their lanes, in the order to queue
  /// them: lane by lane, the most work first, each lane's kernels in order.
  std::vector<std::pair<const KernelInfo *, int>> queue(const std::vector<KernelInfo> &kernels) const;

  int count = 0; // lanes

private:
  bool takes(const KernelInfo &info) const;
  std::vector<KernelRole> roles_;
  std::vector<int> lane_;  // by (mask, dQ or not)
  std::vector<int> order_; // the lanes, the most work first
};

} // namespace sparta
