//===- KernelCacheTest.cpp - The on-disk kernel cache and its use ----------===//
//
// Round trips, damaged entries (truncated, flipped byte, wrong magic) read as
// misses, concurrent writers never leave a torn entry, and compileKernels hits
// the cache on the second call, rebuilds a damaged entry and bypasses the
// cache with useCache = false. NVRTC runs here without a GPU.
//
// On a shared machine: an entry filed under another key, a FIFO, a link to
// /dev/zero, a device node and an oversized file are misses that neither block
// nor exhaust memory (checked in a child process with a time and memory
// limit); a folder that others can write or another user owns is refused with
// one warning; a folder that cannot be written is a warning, never an error.
//
//===----------------------------------------------------------------------===//
#include "InChild.h"
#include "TempDir.h"

#include "sparta/Compiler.h"
#include "sparta/Error.h"
#include "sparta/Frontend.h"
#include "sparta/KernelCache.h"

#include <gtest/gtest.h>

#include <fcntl.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <functional>
#include <optional>
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

/// What `body` writes to stderr.
std::string stderrOf(const std::function<void()> &body) {
  ::testing::internal::CaptureStderr();
  body();
  return ::testing::internal::GetCapturedStderr();
}

int countOf(const std::string &text, const std::string &word) {
  int n = 0;
  for (size_t at = text.find(word); at != std::string::npos; at = text.find(word, at + 1))
    ++n;
  return n;
}

TEST(KernelCache, EntryFiledUnderAnotherKeyIsNotLoaded) {
  TempDir dir;
  KernelCache cache(dir.path.string());
  cache.store("key-a", sampleEntry('a'));
  // A complete, checksummed entry planted where another key's entry belongs.
  fs::copy_file(cache.entryPath("key-a"), cache.entryPath("key-b"));
  EXPECT_FALSE(cache.load("key-b").has_value());
  EXPECT_TRUE(cache.load("key-a").has_value());
}

TEST(KernelCache, EntriesThatAreNoRegularFileAreMissesThatNeitherBlockNorExhaustMemory) {
  TempDir dir;
  KernelCache cache(dir.path.string());
  cache.store("k", sampleEntry('f'));
  const std::string entry = cache.entryPath("k");
  auto isMiss = [&] { return !cache.load("k").has_value(); };

  fs::remove(entry);
  ASSERT_EQ(::mkfifo(entry.c_str(), 0600), 0);
  EXPECT_EQ(inChild(isMiss), std::optional<bool>(true)) << "a FIFO";

  fs::remove(entry);
  fs::create_symlink("/dev/zero", entry);
  EXPECT_EQ(inChild(isMiss), std::optional<bool>(true)) << "a link to /dev/zero";

  // As root, /dev/zero's own device node in the folder.
  fs::remove(entry);
  if (::mknod(entry.c_str(), S_IFCHR | 0600, makedev(1, 5)) == 0) {
    EXPECT_EQ(inChild(isMiss), std::optional<bool>(true)) << "a device node";
  }

  // A sparse file one byte above the bound: refused before it is read.
  fs::remove(entry);
  int fd = ::open(entry.c_str(), O_WRONLY | O_CREAT, 0600);
  ASSERT_GE(fd, 0);
  ASSERT_EQ(::ftruncate(fd, off_t(KernelCache::kMaxEntryBytes + 1)), 0);
  ::close(fd);
  EXPECT_EQ(inChild(isMiss, 20, rlim_t(KernelCache::kMaxEntryBytes / 2)), std::optional<bool>(true))
      << "an oversized file";

  // A link to a valid entry is not followed either.
  fs::remove(entry);
  cache.store("other", sampleEntry('g'));
  fs::create_symlink(cache.entryPath("other"), entry);
  EXPECT_FALSE(cache.load("k").has_value());
  // The next store replaces whatever stood there.
  EXPECT_TRUE(cache.store("k", sampleEntry('f')));
  EXPECT_TRUE(cache.load("k").has_value());
}

TEST(KernelCache, FolderWritableByOthersIsRefusedWithOneWarning) {
  for (mode_t mode : {mode_t(0777), mode_t(0770)}) {
    TempDir dir;
    const std::string folder = (dir.path / "cache").string();
    KernelCache cache(folder);
    ASSERT_TRUE(cache.store("k", sampleEntry('w')));
    ASSERT_EQ(::chmod(folder.c_str(), mode), 0);
    std::string warnings = stderrOf([&] {
      EXPECT_FALSE(cache.load("k").has_value());
      EXPECT_FALSE(cache.store("k2", sampleEntry('w')));
      EXPECT_FALSE(cache.load("k").has_value());
    });
    EXPECT_EQ(countOf(warnings, "warning"), 1) << warnings;
    EXPECT_NE(warnings.find(mode == 0777 ? "writable by others (mode 0777)"
                                         : "writable by its group (mode 0770)"),
              std::string::npos)
        << warnings;
    EXPECT_FALSE(fs::exists(cache.entryPath("k2")));
  }
}

TEST(KernelCache, FolderOwnedByAnotherUserIsRefused) {
  if (::geteuid() != 0)
    GTEST_SKIP() << "handing a folder to another user needs root";
  TempDir dir;
  const std::string folder = (dir.path / "theirs").string();
  KernelCache cache(folder);
  ASSERT_TRUE(cache.store("k", sampleEntry('o')));
  ASSERT_EQ(::chown(folder.c_str(), 65534, 65534), 0);
  std::string warnings = stderrOf([&] {
    EXPECT_FALSE(cache.load("k").has_value());
    EXPECT_FALSE(cache.store("k2", sampleEntry('o')));
  });
  EXPECT_EQ(countOf(warnings, "warning"), 1) << warnings;
  EXPECT_NE(warnings.find("owned by uid 65534"), std::string::npos) << warnings;
  // An entry another user owns is refused in a folder of one's own, too.
  TempDir mine;
  KernelCache own(mine.path.string());
  ASSERT_TRUE(own.store("k", sampleEntry('o')));
  ASSERT_EQ(::chown(own.entryPath("k").c_str(), 65534, 65534), 0);
  EXPECT_FALSE(own.load("k").has_value());
}

TEST(KernelCache, FoldersItCreatesArePrivate) {
  TempDir dir;
  KernelCache cache((dir.path / "a" / "b").string());
  ::umask(0);
  bool stored = cache.store("k", sampleEntry('p'));
  ::umask(022);
  ASSERT_TRUE(stored);
  for (const fs::path &p : {dir.path / "a", dir.path / "a" / "b"})
    EXPECT_EQ(fs::status(p).permissions(), fs::perms::owner_all) << p;
  EXPECT_EQ(fs::status(cache.entryPath("k")).permissions(),
            fs::perms::owner_read | fs::perms::owner_write);
}

TEST(KernelCache, UnwritableFolderIsAWarningNotAnError) {
  TempDir dir;
  writeFile(dir.path / "file", "x");
  fs::create_symlink(dir.path / "nowhere", dir.path / "dangling");
  for (const fs::path &folder : {dir.path / "file" / "sub", dir.path / "dangling"}) {
    KernelCache cache(folder.string());
    std::string warnings = stderrOf([&] { EXPECT_FALSE(cache.store("k", sampleEntry('c'))); });
    EXPECT_EQ(countOf(warnings, "warning"), 1) << warnings;
    EXPECT_NE(warnings.find(folder.string()), std::string::npos) << warnings;
  }

  // Read-only: root writes anywhere, so a child process that is another user
  // tries it.
  const fs::path readOnly = dir.path / "ro";
  fs::create_directory(readOnly);
  ASSERT_EQ(::chmod(dir.path.c_str(), 0755), 0);
  ASSERT_EQ(::chmod(readOnly.c_str(), 0555), 0);
  bool root = ::geteuid() == 0;
  if (root) {
    ASSERT_EQ(::chown(readOnly.c_str(), 65534, 65534), 0);
  }
  std::optional<bool> refused = inChild([&] {
    if (root && (::setgid(65534) != 0 || ::setuid(65534) != 0))
      return false;
    KernelCache cache(readOnly.string());
    std::string warnings = stderrOf([&] { cache.store("k", sampleEntry('r')); });
    return !fs::exists(cache.entryPath("k")) && countOf(warnings, "Permission denied") == 1;
  });
  EXPECT_EQ(refused, std::optional<bool>(true));
}

TEST(KernelCache, DefaultFolderIsTheUsersOwn) {
  struct Saved {
    const char *name;
    std::optional<std::string> value;
  };
  std::vector<Saved> saved;
  for (const char *name : {"SPARTA_CACHE_DIR", "XDG_CACHE_HOME", "HOME"}) {
    const char *v = std::getenv(name);
    saved.push_back({name, v ? std::optional<std::string>(v) : std::nullopt});
    ::unsetenv(name);
  }
  const std::string perUser = "/tmp/sparta-cache-" + std::to_string(::geteuid());
  EXPECT_EQ(KernelCache::defaultDirectory(), perUser);
  ::setenv("HOME", "relative", 1);
  ::setenv("XDG_CACHE_HOME", "also/relative", 1);
  EXPECT_EQ(KernelCache::defaultDirectory(), perUser);
  ::setenv("HOME", "/home/u", 1);
  EXPECT_EQ(KernelCache::defaultDirectory(), "/home/u/.cache/sparta");
  ::setenv("XDG_CACHE_HOME", "/xdg", 1);
  EXPECT_EQ(KernelCache::defaultDirectory(), "/xdg/sparta");
  ::setenv("SPARTA_CACHE_DIR", "/explicit", 1);
  EXPECT_EQ(KernelCache::defaultDirectory(), "/explicit");
  for (const Saved &s : saved) {
    if (s.value)
      ::setenv(s.name, s.value->c_str(), 1);
    else
      ::unsetenv(s.name);
  }
}

TEST(KernelCache, DigestIsSha256OfTheFramedParts) {
  // printf '3:abc' | sha256sum; printf '1:a1:b' | sha256sum
  EXPECT_EQ(digest({"abc"}), "aab5f9ae99b2e38fb462025c8f72f570c9c811705d2a4277dc855d7fa293fe97");
  EXPECT_EQ(digest({"a", "b"}), "facdde7abf1eac5b301273ab2e282f79bab0100f058833a7b8bdf9f80741e149");
  EXPECT_NE(digest({"a", "b"}), digest({"ab"}));
  EXPECT_NE(digest({"ab", "c"}), digest({"a", "bc"}));
}

TEST(KernelCache, KeyCoversTheNvrtcFlags) {
  rt::CompileOptions base;
  const std::string key = kernelCacheKey("source", base);
  EXPECT_EQ(kernelCacheKey("source", base), key);
  EXPECT_NE(kernelCacheKey("source2", base), key);
  rt::CompileOptions lineInfo = base, extra = base, arch = base, ptx = base;
  lineInfo.lineInfo = true;
  extra.extraFlags = {"--maxrregcount=128"};
  arch.arch = "sm_90a";
  ptx.wantCubin = false;
  for (const rt::CompileOptions *o : {&lineInfo, &extra, &arch, &ptx})
    EXPECT_NE(kernelCacheKey("source", *o), key);
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
