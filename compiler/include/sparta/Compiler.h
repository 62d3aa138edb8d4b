//===- Compiler.h - From a pattern to loaded-ready kernels ------------------===//
//
// The whole pipeline behind `sparta compile` and the runtime: plan the
// instantiated pattern, generate CUDA C++, compile it with NVRTC (or find it in
// the kernel cache) and return every stage, so each can be inspected.
//
//===----------------------------------------------------------------------===//
#pragma once

#include "sparta/CodeGen.h"
#include "sparta/Plan.h"
#include "sparta/runtime/Nvrtc.h"

#include <string>

namespace sparta {

struct CompileOptions {
  PlanOptions plan;         // the tile shapes the planner may choose
  KernelOptions kernel;
  bool useCache = true;     // false: always run NVRTC, never read or write the cache
  std::string cacheDir;     // empty: KernelCache::defaultDirectory()
  bool wantCubin = true;    // false: PTX only
};

struct CompiledKernels {
  Plan plan;
  KernelSource source;
  rt::CompiledModule module; // PTX, CUBIN, NVRTC log, ptxas resources per kernel
  std::string cacheKey;
  bool cacheHit = false;
};

/// sparta's version, part of every cache key.
const char *spartaVersion();

/// The cache key of `source` compiled with `nvrtc`: a digest of sparta's
/// version, NVRTC's version, the device library, the NVRTC flags and the source.
std::string kernelCacheKey(const std::string &source, const rt::CompileOptions &nvrtc);

/// A translation unit compiled with NVRTC through the kernel cache (memory,
/// then disk, then NVRTC). Every generated kernel source of sparta — the
/// attention kernel sets and the model's kernels — goes through here.
struct CachedModule {
  rt::CompiledModule module;
  std::string cacheKey;
  bool cacheHit = false;
};
CachedModule compileCached(const std::string &source, const std::string &programName,
                           const std::string &arch, bool wantCubin, bool useCache,
                           const std::string &cacheDir);

/// Plans (options.plan) and generates code (options.kernel), no NVRTC; cheap.
KernelSource generateForPattern(const ConcretePattern &pattern, const CompileOptions &options,
                                Plan *planOut = nullptr);

/// The full pipeline. Throws sparta::Error (bad options, NVRTC errors quoting
/// the generated source); a cache that cannot be used only warns.
CompiledKernels compileKernels(const ConcretePattern &pattern, const CompileOptions &options);

} // namespace sparta
