//===- KernelCacheTest.cpp - The on-disk kernel cache and its use ----------===//
//
// Round trips, damaged entries (truncated, flipped byte, wrong magic) read as
// misses, concurrent writers never leave a torn entry, and compileKernels hits
// the cache on the second call, rebuilds a damaged entry and bypasses the
// cache with useCache = false. NVRTC runs here without a GPU.
//
//===----------------------------------------------------------------------===//
#include "TempDir.h"

#include "sparta/Compiler.h"
#include "sparta/Error.h"
#include "sparta/Frontend.h"
#include "sparta/KernelCache.h"

#include <gtest/gtest.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <thread>

namespace sparta {
namespace {

namespace fs = std::filesystem;
using namespace sparta::testing;

CacheEntry sampleEntry(char fill) {
  CacheEntry e;
  e.ptx = std::string(1000, fill) + ".entry kernel";
  e.cubin.assign(4096, fill);
  e.log = "ptxas info    : Used 32 registers";
  return e;
}

TEST(KernelCache, RoundTrip) {
  TempDir dir;
  KernelCache cache(dir.path.string() + "/nested/dir");
  EXPECT_FALSE(cache.load("k1").has_value());
  cache.store("k1", sampleEntry('a'));
  std::optional<CacheEntry> e = cache.load("k1");
  ASSERT_TRUE(e.has_value());
  EXPECT_EQ(e->ptx, sampleEntry('a').ptx);
  EXPECT_EQ(e->cubin, sampleEntry('a').cubin);
  EXPECT_EQ(e->log, sampleEntry('a').log);
  // No temporary files are left behind.
  int files = 0;
  for (const auto &f : fs::directory_iterator(dir.path / "nested/dir"))
    files += f.is_regular_file();
  EXPECT_EQ(files, 1);
}

TEST(KernelCache, DamagedEntriesAreMisses) {
  TempDir dir;
  KernelCache cache(dir.path.string());
  cache.store("k", sampleEntry('b'));
  const fs::path file = cache.entryPath("k");
  const std::string good = readFile(file);

  writeFile(file, good.substr(0, good.size() / 2)); // truncated
  EXPECT_FALSE(cache.load("k").has_value());
  std::string flipped = good;
  flipped[flipped.size() - 100] ^= 0x20; // one byte of the payload
  writeFile(file, flipped);
  EXPECT_FALSE(cache.load("k").has_value());
  std::string badMagic = good;
  badMagic[0] = 'X';
  writeFile(file, badMagic);
  EXPECT_FALSE(cache.load("k").has_value());
  writeFile(file, "");
  EXPECT_FALSE(cache.load("k").has_value());
  writeFile(file, good);
  EXPECT_TRUE(cache.load("k").has_value());
}

TEST(KernelCache, ConcurrentWritersNeverTearAnEntry) {
  TempDir dir;
  KernelCache cache(dir.path.string());
  std::vector<std::thread> writers;
  for (char c : {'p', 'q', 'r', 's'})
    writers.emplace_back([&, c] {
      for (int n = 0; n < 20; ++n)
        cache.store("same-key", sampleEntry(c));
    });
  bool torn = false;
  std::thread reader([&] {
    for (int n = 0; n < 200; ++n)
      if (std::optional<CacheEntry> e = cache.load("same-key"))
        torn |= e->cubin.size() != 4096 || e->ptx[0] != e->cubin[0];
  });
  for (std::thread &t : writers)
    t.join();
  reader.join();
  EXPECT_FALSE(torn);
  EXPECT_TRUE(cache.load("same-key").has_value());
}

TEST(KernelCache, UnwritableDirectoryIsAnError) {
  TempDir dir;
  writeFile(dir.path / "file", "x");
  KernelCache cache((dir.path / "file" / "sub").string()); // a file stands in the way
  EXPECT_THROW(cache.store("k", sampleEntry('c')), Error);
}

TEST(KernelCache, DigestCoversEveryPartAndTheirBoundaries) {
  EXPECT_EQ(digest({"a", "b"}), digest({"a", "b"}));
  EXPECT_NE(digest({"a", "b"}), digest({"ab"}));
  EXPECT_NE(digest({"a", "b"}), digest({"a", "c"}));
  EXPECT_NE(digest({"ab", "c"}), digest({"a", "bc"}));
  EXPECT_EQ(digest({"x"}).size(), 32u);
}

TEST(CompileKernels, SecondCallHitsDamagedEntryIsRebuiltNoCacheBypasses) {
  TempDir dir;
  ConcretePattern pattern =
      loadPattern(std::string(SPARTA_SOURCE_DIR) + "/patterns/local.mlir", {{"T", 256}, {"L", 16}});
  CompileOptions options;
  options.cacheDir = dir.path.string();
  options.kernel.arch = "sm_80";

  CompiledKernels first = compileKernels(pattern, options);
  EXPECT_FALSE(first.cacheHit);
  EXPECT_FALSE(first.module.cubin.empty());
  EXPECT_TRUE(fs::exists(KernelCache(options.cacheDir).entryPath(first.cacheKey)));

  CompiledKernels second = compileKernels(pattern, options); // in-memory hit
  EXPECT_TRUE(second.cacheHit);
  EXPECT_EQ(second.module.cubin, first.module.cubin);

  // Another arch is another key.
  CompileOptions other = options;
  other.kernel.arch = "sm_90a";
  EXPECT_NE(compileKernels(pattern, other).cacheKey, first.cacheKey);

  // Bypassing the cache recompiles and writes nothing.
  TempDir scratch;
  const fs::path empty = scratch.path / "cache"; // does not exist; bypassing must not create it
  CompileOptions bypass = options;
  bypass.useCache = false;
  bypass.cacheDir = empty.string();
  CompiledKernels fresh = compileKernels(pattern, bypass);
  EXPECT_FALSE(fresh.cacheHit);
  EXPECT_FALSE(fs::exists(empty));
  EXPECT_EQ(fresh.module.kernels.size(), first.module.kernels.size());
}

} // namespace
} // namespace sparta
