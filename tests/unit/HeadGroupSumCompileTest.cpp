//===- HeadGroupSumCompileTest.cpp - The grouped-kv gradient sum compiles -===//
//
// SparseAttention compiles head_group_sum.cuh with every kernel set; NVRTC must
// take it for every head dim, dtype and target, to a CUBIN without spills.
//
//===----------------------------------------------------------------------===//
#include "sparta/Compiler.h"
#include "sparta/SparseAttention.h"

#include <gtest/gtest.h>

namespace sparta {
namespace {

TEST(HeadGroupSum, EveryConfigurationCompilesWithoutSpills) {
  int compiled = 0;
  for (int d : {32, 64, 128})
    for (ElementType dtype : {ElementType::BF16, ElementType::FP16})
      for (const char *arch : {"sm_80", "sm_90a"}) {
        const HeadGroupSumKernel kernel = headGroupSumKernel(d, dtype);
        const std::string label = kernel.name + " " + arch;
        CachedModule module = compileCached(kernel.source, kernel.name, arch, /*wantCubin=*/true,
                                            /*useCache=*/false, "");
        EXPECT_FALSE(module.module.cubin.empty()) << label;
        const rt::KernelResources &r = module.module.resources(kernel.name);
        EXPECT_EQ(r.spillStoreBytes + r.spillLoadBytes, 0) << label;
        ++compiled;
      }
  EXPECT_EQ(compiled, 12);
}

} // namespace
} // namespace sparta
