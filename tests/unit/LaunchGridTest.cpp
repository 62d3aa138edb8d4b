//===- LaunchGridTest.cpp - The tile kernels' grids the launch code refuses ===//
//
// validateBlocks (AttentionLaunch.h) runs before every tile kernel's launch;
// it needs no GPU: an empty schedule and a grid of 2^31 CTAs or more (which
// the kernels' int CTA numbering cannot count) are refused with the kernel's
// name.
//
//===----------------------------------------------------------------------===//
#include "sparta/Error.h"
#include "sparta/runtime/AttentionLaunch.h"

#include <gtest/gtest.h>

#include <string>

namespace sparta::rt {
namespace {

HeadArgs heads(int batch, int headsInLaunch) {
  HeadArgs h{};
  h.batch = batch;
  h.num_heads = headsInLaunch;
  h.seq_len = 1;
  h.head_offset = 0;
  h.head_step = 1;
  h.heads_in_launch = headsInLaunch;
  return h;
}

std::string refusal(const HeadArgs &h, int blocks) {
  try {
    validateBlocks(h, blocks, "k_fwd");
  } catch (const Error &e) {
    return e.what();
  }
  return "";
}

TEST(LaunchGrid, EmptySchedulesAreRefused) {
  EXPECT_EQ(refusal(heads(2, 8), 0), "kernel 'k_fwd': the schedule has 0 blocks");
}

TEST(LaunchGrid, GridsOf2To31CtasAreRefused) {
  // 2^16 blocks x 2^15 rows = 2^31 CTAs: one too many.
  EXPECT_EQ(refusal(heads(64, 512), 1 << 16),
            "kernel 'k_fwd': 65536 blocks x 32768 (batch, head) rows is more than 2^31 - 1 CTAs");
  EXPECT_EQ(refusal(heads(64, 512), (1 << 16) - 1), "");
  EXPECT_EQ(refusal(heads(2, 8), 4194304), "");
}

} // namespace
} // namespace sparta::rt
