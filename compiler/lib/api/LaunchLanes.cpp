//===- LaunchLanes.cpp - The launch sequences of a call and their order ----===//
#include "sparta/LaunchLanes.h"

#include <algorithm>

namespace sparta {
namespace {

/// The sequence of a kernel: two per mask, its dQ kernels and the others.
size_t slot(const KernelInfo &info) {
  return size_t(2 * info.maskIndex + (info.role == KernelRole::BwdDq ? 1 : 0));
}

/// The matrix products per score element of a kernel (forward: S and PV;
/// dK/dV: S, dP, dV and dK; dQ: S, dP and dQ).
int productsOf(KernelRole role) {
  return role == KernelRole::Forward ? 2 : role == KernelRole::BwdDq ? 3 : 4;
}

} // namespace

int64_t headsServed(int64_t H, int mask, int numMasks) {
  return H > mask ? (H - mask + numMasks - 1) / numMasks : 0;
}

LaunchLanes::LaunchLanes(const std::vector<KernelInfo> &kernels, int numMasks, int64_t H,
                         std::initializer_list<KernelRole> roles)
    : roles_(roles), lane_(size_t(2 * numMasks), -1) {
  std::vector<double> work;
  for (const KernelInfo &info : kernels) {
    if (!takes(info))
      continue;
    int &lane = lane_.at(slot(info));
    if (lane < 0) {
      lane = int(work.size());
      work.push_back(0);
    }
    work[size_t(lane)] += double(info.work) * productsOf(info.role) *
                          double(headsServed(H, info.maskIndex, numMasks));
  }
  count = int(work.size());
  for (int i = 0; i < count; ++i)
    order_.push_back(i);
  std::stable_sort(order_.begin(), order_.end(),
                   [&](int x, int y) { return work[size_t(x)] > work[size_t(y)]; });
}

bool LaunchLanes::takes(const KernelInfo &info) const {
  return info.maskIndex >= 0 && std::find(roles_.begin(), roles_.end(), info.role) != roles_.end();
}

int LaunchLanes::operator()(const KernelInfo &info) const {
  return takes(info) ? lane_.at(slot(info)) : -1;
}

std::vector<std::pair<const KernelInfo *, int>>
LaunchLanes::queue(const std::vector<KernelInfo> &kernels) const {
  std::vector<std::pair<const KernelInfo *, int>> out;
  for (const int lane : order_)
    for (const KernelInfo &info : kernels)
      if ((*this)(info) == lane)
        out.emplace_back(&info, lane);
  return out;
}

} // namespace sparta
