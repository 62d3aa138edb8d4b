//===- GpuTestMain.h - The main() of every GPU test program ----------------===//
//
// A GPU test program exits 77 (CTest's SKIP_RETURN_CODE for label `gpu`) with a
// clear message when there is no usable CUDA driver or device, so the suites
// skip cleanly on CI and development machines.
//
//===----------------------------------------------------------------------===//
#pragma once

#include "sparta/runtime/Cuda.h"

#include <gtest/gtest.h>

#include <cstdio>
#include <string>

namespace sparta::test {

constexpr int kSkipped = 77;

/// False (after printing why) when no GPU can be used.
inline bool gpuAvailable() {
  std::string why;
  if (rt::cudaAvailable(&why))
    return true;
  std::printf("skipped: no CUDA driver or device (%s)\n", why.c_str());
  return false;
}

/// The whole main() of a GPU test program.
inline int runGpuTests(int argc, char **argv) {
  ::testing::InitGoogleTest(&argc, argv);
  if (!gpuAvailable())
    return kSkipped;
  return RUN_ALL_TESTS();
}

} // namespace sparta::test
