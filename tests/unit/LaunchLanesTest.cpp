//===- LaunchLanesTest.cpp - Which launches of a call overlap, in what order ===//
//
// LaunchLanes (LaunchLanes.h) needs no GPU: kernels of one sequence share a
// lane and keep their order, the dK/dV and dQ kernels of a mask get lanes of
// their own, utility kernels get none, and the lanes are queued with the
// most work first (over the heads each mask serves). On a generated kernel set, the summary head of `fixed`
// (the long one) is queued before its chunk head.
//
//===----------------------------------------------------------------------===//
#include "sparta/CodeGen.h"
#include "sparta/Frontend.h"
#include "sparta/LaunchLanes.h"
#include "sparta/Plan.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace sparta {
namespace {

KernelInfo kernel(const std::string &name, KernelRole role, int mask, int component,
                  int64_t work) {
  KernelInfo info{name, role, mask, component};
  info.work = work;
  return info;
}

std::vector<std::string> names(const std::vector<std::pair<const KernelInfo *, int>> &queue) {
  std::vector<std::string> out;
  for (const auto &[info, lane] : queue)
    out.push_back(info->name + "@" + std::to_string(lane));
  return out;
}

TEST(LaunchLanes, HeadsServedByAMask) {
  EXPECT_EQ(headsServed(8, 1, 2), 4); // heads 1, 3, 5, 7
  EXPECT_EQ(headsServed(5, 0, 2), 3); // heads 0, 2, 4
  EXPECT_EQ(headsServed(5, 1, 2), 2); // heads 1, 3
  EXPECT_EQ(headsServed(1, 1, 2), 0); // no head 1
  EXPECT_EQ(headsServed(3, 0, 1), 3);
}

TEST(LaunchLanes, ForwardMasksAreLanesQueuedByWork) {
  const std::vector<KernelInfo> kernels = {
      kernel("m0_band", KernelRole::Forward, 0, 0, 100),
      kernel("m0_stride", KernelRole::Forward, 0, 1, 100),
      kernel("m1_summary", KernelRole::Forward, 1, 0, 1000),
      kernel("m0_band_dkdv", KernelRole::BwdDkDv, 0, 0, 100),
      kernel("preprocess", KernelRole::BwdPreprocess, -1, -1, 0),
  };
  const LaunchLanes lanes(kernels, 2, 8, {KernelRole::Forward});
  EXPECT_EQ(lanes.count, 2);
  EXPECT_EQ(lanes(kernels[0]), lanes(kernels[1])); // one mask: one sequence
  EXPECT_NE(lanes(kernels[0]), lanes(kernels[2]));
  EXPECT_EQ(lanes(kernels[3]), -1); // not a forward kernel
  EXPECT_EQ(lanes(kernels[4]), -1);
  // Mask 1's 1000 elements first, then mask 0's 200 in their order.
  EXPECT_EQ(names(lanes.queue(kernels)),
            (std::vector<std::string>{"m1_summary@1", "m0_band@0", "m0_stride@0"}));
}

TEST(LaunchLanes, BackwardHasADkdvAndADqLanePerMask) {
  const std::vector<KernelInfo> kernels = {
      kernel("m0_dkdv", KernelRole::BwdDkDv, 0, 0, 100),
      kernel("m0_dq", KernelRole::BwdDq, 0, 0, 100),
      kernel("m1_a_dkdv", KernelRole::BwdDkDv, 1, 0, 50),
      kernel("m1_a_dq", KernelRole::BwdDq, 1, 0, 50),
      kernel("m1_b_dkdv", KernelRole::BwdDkDv, 1, 1, 40),
      kernel("m1_b_dq", KernelRole::BwdDq, 1, 1, 40),
      kernel("convert", KernelRole::Convert, -1, -1, 0),
  };
  const LaunchLanes lanes(kernels, 2, 8, {KernelRole::BwdDkDv, KernelRole::BwdDq});
  EXPECT_EQ(lanes.count, 4);
  EXPECT_EQ(lanes(kernels[2]), lanes(kernels[4])); // mask 1's dK/dV kernels: one sequence
  EXPECT_EQ(lanes(kernels[3]), lanes(kernels[5]));
  EXPECT_NE(lanes(kernels[2]), lanes(kernels[3])); // dK/dV and dQ apart
  EXPECT_EQ(lanes(kernels[6]), -1);
  // Work x products: m0 dK/dV 400, m1 dK/dV 360, m0 dQ 300, m1 dQ 270.
  EXPECT_EQ(names(lanes.queue(kernels)),
            (std::vector<std::string>{"m0_dkdv@0", "m1_a_dkdv@2", "m1_b_dkdv@2", "m0_dq@1",
                                      "m1_a_dq@3", "m1_b_dq@3"}));
}

TEST(LaunchLanes, MasksWithoutHeadsGoLast) {
  // H = 1 of 2 masks: mask 1 serves no head, whatever its kernels' work.
  const std::vector<KernelInfo> kernels = {
      kernel("m0", KernelRole::Forward, 0, 0, 10),
      kernel("m1", KernelRole::Forward, 1, 0, 1000),
  };
  const LaunchLanes lanes(kernels, 2, 1, {KernelRole::Forward});
  EXPECT_EQ(names(lanes.queue(kernels)), (std::vector<std::string>{"m0@0", "m1@1"}));
}

TEST(LaunchLanes, FixedQueuesItsSummaryHeadFirst) {
  const ConcretePattern pattern = loadPattern(std::string(SPARTA_SOURCE_DIR) +
                                                  "/patterns/fixed.mlir",
                                              {{"T", 3072}, {"L", 64}, {"c", 16}});
  const Plan plan = planPattern(pattern);
  const KernelSource source = generateKernels(plan, KernelOptions{});
  for (const KernelInfo &info : source.kernels) {
    if (info.maskIndex < 0)
      continue; // utility kernels
    EXPECT_GT(info.work, 0) << info.name;
  }
  const LaunchLanes lanes(source.kernels, int(plan.heads.size()), 8, {KernelRole::Forward});
  ASSERT_EQ(lanes.count, 2);
  const auto queue = lanes.queue(source.kernels);
  ASSERT_FALSE(queue.empty());
  EXPECT_NE(queue.front().first->name.find("summary"), std::string::npos) << queue.front().first->name;
}

} // namespace
} // namespace sparta
