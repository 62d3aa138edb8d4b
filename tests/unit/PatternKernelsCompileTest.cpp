//===- PatternKernelsCompileTest.cpp - Every pattern's kernels build clean -===//
//
// For every file in patterns/, both dtypes, d in {64, 128} and both targets
// (sm_80, sm_90a), plus sm_90a with fuseDq, the whole kernel set (forward,
// dK/dV, dQ, preprocess, convert) is planned, generated and compiled to CUBIN
// with NVRTC, without a GPU. A compile error fails, and so does any spill:
// every configuration sparta ships is meant to be spill-free; a fused set must
// have no dQ kernel. The cache is bypassed so that NVRTC really runs. Compiles
// run on one thread per core. The kernel sets for packed documents
// (KernelOptions::documents) of the packable patterns are held to the same.
//
//===----------------------------------------------------------------------===//
#include "sparta/Compiler.h"
#include "sparta/Frontend.h"
#include "sparta/runtime/AttentionLaunch.h"

#include <gtest/gtest.h>

#include <atomic>
#include <mutex>
#include <thread>

namespace sparta {
namespace {

struct Config {
  std::string file;
  ElementType dtype;
  int headDim;
  std::string arch;
  bool fuseDq = false;
  bool documents = false;
};

std::string label(const Config &c) {
  return c.file + " " + toString(c.dtype) + " d=" + std::to_string(c.headDim) + " " + c.arch +
         (c.fuseDq ? " fuseDq" : "") + (c.documents ? " documents" : "");
}

/// Compiles every configuration (one thread per core) and fails on what the
/// file comment says; returns the number of kernels checked.
int compileAll(const std::vector<Config> &configs) {
  std::mutex mutex;
  std::vector<std::string> failures;
  int kernelsChecked = 0;
  std::atomic<size_t> next{0};
  auto worker = [&] {
    for (size_t n = next++; n < configs.size(); n = next++) {
      const Config &c = configs[n];
      try {
        ParamBindings params{{"T", 1000}, {"L", 32}};
        if (c.file.rfind("fixed", 0) == 0)
          params["c"] = 4;
        if (c.file.rfind("image", 0) == 0) { // a grid of H x W = T
          params["H"] = 25;
          params["W"] = 40;
        }
        ConcretePattern pattern =
            loadPattern(std::string(SPARTA_SOURCE_DIR) + "/patterns/" + c.file, params);
        CompileOptions options;
        options.kernel = KernelOptions{c.headDim, c.dtype, c.arch, c.fuseDq, c.documents};
        options.useCache = false;
        CompiledKernels compiled = compileKernels(pattern, options);
        std::lock_guard<std::mutex> lock(mutex);
        if (compiled.module.cubin.empty())
          failures.push_back(label(c) + ": no CUBIN");
        for (const KernelInfo &info : compiled.source.kernels) {
          const rt::KernelResources &r = compiled.module.resources(info.name);
          ++kernelsChecked;
          // Fusion needs 64-row tiles in every component (CodeGen.h).
          bool all64 = true;
          for (const HeadPlan &head : compiled.plan.heads)
            for (const PlanComponent &component : head.components)
              all64 &= component.schedule.qTile == 64;
          if (c.fuseDq && all64 && info.role == KernelRole::BwdDq)
            failures.push_back(label(c) + ": " + info.name + " is a dQ kernel in a fused set");
          if (r.spillStoreBytes || r.spillLoadBytes)
            failures.push_back(label(c) + ": " + info.name + " spills " +
                               std::to_string(r.spillStoreBytes) + "/" +
                               std::to_string(r.spillLoadBytes) + " bytes");
        }
      } catch (const std::exception &e) {
        std::lock_guard<std::mutex> lock(mutex);
        failures.push_back(label(c) + ": " + e.what());
      }
    }
  };
  std::vector<std::thread> threads;
  for (unsigned t = 0; t < std::max(1u, std::thread::hardware_concurrency()); ++t)
    threads.emplace_back(worker);
  for (std::thread &t : threads)
    t.join();
  for (const std::string &f : failures)
    ADD_FAILURE() << f;
  std::printf("compiled %zu kernel sets, %d kernels, %zu failures\n", configs.size(), kernelsChecked,
              failures.size());
  return kernelsChecked;
}

TEST(PatternKernels, EveryConfigurationCompilesWithoutSpills) {
  const char *files[] = {"strided.mlir", "strided_merged.mlir", "fixed.mlir", "fixed_merged.mlir",
                         "dense.mlir",   "local.mlir",          "longformer.mlir", "bigbird.mlir",
                         // bidirectional: bands with keys after the query, a table of a grid window
                         "longformer_bidir.mlir", "image_window.mlir"};
  std::vector<Config> configs;
  for (const char *file : files)
    for (ElementType dtype : {ElementType::BF16, ElementType::FP16})
      for (int d : {64, 128})
        for (const char *arch : {"sm_80", "sm_90a"})
          for (bool fuse : {false, true})
            if (!fuse || rt::archHasWgmma(arch))
              configs.push_back(Config{file, dtype, d, arch, fuse});
  // 120 kernel sets; at least 5 kernels each (the fused ones have no dQ kernel).
  EXPECT_EQ(configs.size(), 120u);
  EXPECT_GE(compileAll(configs), 120 * 4);
}

// The document test costs registers: the sets built for documents, at both
// head dims, both targets and fused, bf16 (the dtype changes no register use
// of the document code).
TEST(PatternKernels, DocumentKernelSetsCompileWithoutSpills) {
  const char *files[] = {"strided.mlir", "strided_merged.mlir", "fixed.mlir",
                         "fixed_merged.mlir", "dense.mlir", "local.mlir"};
  std::vector<Config> configs;
  for (const char *file : files)
    for (int d : {64, 128})
      for (const char *arch : {"sm_80", "sm_90a"})
        for (bool fuse : {false, true})
          if (!fuse || rt::archHasWgmma(arch))
            configs.push_back(Config{file, ElementType::BF16, d, arch, fuse, true});
  EXPECT_EQ(configs.size(), 36u);
  EXPECT_GE(compileAll(configs), 36 * 4);
}

} // namespace
} // namespace sparta
