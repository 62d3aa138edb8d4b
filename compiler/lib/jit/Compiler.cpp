//===- Compiler.cpp - Plan, generate, compile, cache -----------------------===//
#include "sparta/Compiler.h"

#include "sparta/KernelCache.h"

#include <map>
#include <mutex>

#ifndef SPARTA_VERSION
#error "SPARTA_VERSION must be defined by the build"
#endif

namespace sparta {
namespace {

/// Everything the compiled code depends on besides the generated source.
std::string deviceLibraryDigest() {
  static const std::string value = [] {
    std::vector<std::string> parts;
    for (const rt::EmbeddedHeader &header : rt::deviceLibraryHeaders()) {
      parts.push_back(header.name);
      parts.push_back(header.contents);
    }
    return digest(parts);
  }();
  return value;
}

/// Process-wide cache of compiled modules: a model builds one kernel set per
/// layer configuration, and layers share configurations.
std::mutex memoryCacheMutex;
std::map<std::string, rt::CompiledModule> &memoryCache() {
  static std::map<std::string, rt::CompiledModule> cache;
  return cache;
}

rt::CompiledModule moduleFromEntry(const CacheEntry &entry, const std::string &programName,
                                   const std::string &arch) {
  rt::CompiledModule module;
  module.programName = programName;
  module.arch = arch;
  module.ptx = entry.ptx;
  module.cubin = entry.cubin;
  module.log = entry.log;
  module.kernels = rt::parsePtxasReport(entry.log);
  return module;
}

} // namespace

const char *spartaVersion() { return SPARTA_VERSION; }

KernelSource generateForPattern(const ConcretePattern &pattern, const CompileOptions &options,
                                Plan *planOut) {
  checkKernelOptions(options.kernel);
  Plan plan = planPattern(pattern, options.plan);
  KernelSource source = generateKernels(plan, options.kernel);
  if (planOut)
    *planOut = std::move(plan);
  return source;
}

std::string kernelCacheKey(const std::string &source, const rt::CompileOptions &nvrtc) {
  std::vector<std::string> parts = {spartaVersion(), rt::nvrtcVersion(), deviceLibraryDigest(),
                                    nvrtc.arch, nvrtc.wantCubin ? "cubin" : "ptx"};
  for (const std::string &flag : rt::nvrtcFlags(nvrtc))
    parts.push_back(flag);
  parts.push_back(source);
  return digest(parts);
}

CachedModule compileCached(const std::string &source, const std::string &programName,
                           const std::string &arch, bool wantCubin, bool useCache,
                           const std::string &cacheDir) {
  rt::CompileOptions nvrtc;
  nvrtc.arch = arch;
  nvrtc.wantCubin = wantCubin;
  CachedModule result;
  result.cacheKey = kernelCacheKey(source, nvrtc);
  if (useCache) {
    std::lock_guard<std::mutex> lock(memoryCacheMutex);
    auto it = memoryCache().find(result.cacheKey);
    if (it != memoryCache().end()) {
      result.module = it->second;
      result.cacheHit = true;
      return result;
    }
  }
  KernelCache disk(cacheDir);
  if (useCache) {
    if (std::optional<CacheEntry> entry = disk.load(result.cacheKey)) {
      result.module = moduleFromEntry(*entry, programName, arch);
      result.cacheHit = true;
    }
  }
  if (!result.cacheHit) {
    result.module = rt::compileCuda(source, programName, nvrtc);
    // A cache that cannot be written has warned; the compile stands.
    if (useCache)
      disk.store(result.cacheKey, CacheEntry{result.module.ptx, result.module.cubin, result.module.log});
  }
  if (useCache) {
    std::lock_guard<std::mutex> lock(memoryCacheMutex);
    memoryCache().emplace(result.cacheKey, result.module);
  }
  return result;
}

CompiledKernels compileKernels(const ConcretePattern &pattern, const CompileOptions &options) {
  CompiledKernels result;
  result.source = generateForPattern(pattern, options, &result.plan);
  CachedModule compiled =
      compileCached(result.source.source, result.source.name + ".cu", options.kernel.arch,
                    options.wantCubin, options.useCache, options.cacheDir);
  result.module = std::move(compiled.module);
  result.cacheKey = std::move(compiled.cacheKey);
  result.cacheHit = compiled.cacheHit;
  return result;
}

} // namespace sparta
