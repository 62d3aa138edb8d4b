//===- KernelCache.h - Compiled kernel sets, in memory and on disk --------===//
//
// NVRTC takes seconds; loading a cached module takes milliseconds. Entries are
// keyed by a SHA-256 digest of everything the compiled code depends on (see
// kernelCacheKey in Compiler.h: the generated source, which is a function of
// the pattern, its parameters and the kernel options; the NVRTC flags, target
// arch included; NVRTC's version; the device library; sparta's version).
//
// On disk each entry is one file, <dir>/<key>.kernels (a tuning record of
// the autotuner: <dir>/<key>.tune), written to a temporary
// name and renamed into place, so concurrent processes never see half an
// entry. Each entry holds its own key and a SHA-256 of its bytes: a file that
// is truncated, damaged or filed under another key is treated as a miss and
// rebuilt.
//
// The cache runs code it reads, so it trusts only a folder that no one but
// the user can write: the folder must be a directory owned by the effective
// user and not writable by group or others, and so must every folder the
// cache creates on the way to it (created 0700). Entries are read only from
// regular files owned by the user, opened without following links or
// blocking, and no larger than kMaxEntryBytes. A folder that fails these
// checks, or one that cannot be created or written, costs the cache and
// nothing else: a warning on stderr (once per folder and process) says why,
// and the caller compiles as if there were no cache.
//
//===----------------------------------------------------------------------===//
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace sparta {

struct CacheEntry {
  std::string ptx;
  std::vector<char> cubin;
  std::string log; // NVRTC log, including the ptxas resource report
};

class KernelCache {
public:
  /// Entries above this size are neither written nor read.
  static constexpr uint64_t kMaxEntryBytes = uint64_t(1) << 30;

  /// `directory` empty: defaultDirectory().
  explicit KernelCache(std::string directory = "");

  /// $SPARTA_CACHE_DIR, else $XDG_CACHE_HOME/sparta, else
  /// $HOME/.cache/sparta, else a folder of the user's own,
  /// /tmp/sparta-cache-<uid> (relative XDG_CACHE_HOME and HOME are ignored).
  static std::string defaultDirectory();

  const std::string &directory() const { return directory_; }
  std::string entryPath(const std::string &key) const;

  /// The entry for `key`, or nothing when it is absent, damaged, stored under
  /// another key or in a folder the cache does not trust (then with a warning).
  std::optional<CacheEntry> load(const std::string &key) const;
  /// Writes the entry atomically, creating the folder when needed. Returns
  /// false, after a warning on stderr, when the folder is not trusted or
  /// cannot be written; never throws for that.
  bool store(const std::string &key, const CacheEntry &entry) const;

  /// Tuning records (Autotune.h): a short text kept with the same checks as
  /// the kernels, in <dir>/<key>.tune.
  std::string recordPath(const std::string &key) const;
  std::optional<std::string> loadRecord(const std::string &key) const;
  bool storeRecord(const std::string &key, const std::string &text) const;

private:
  std::optional<std::vector<std::string>> loadBlobs(const std::string &path,
                                                    const std::string &key, size_t count) const;
  bool storeBlobs(const std::string &path, const std::string &key,
                  const std::vector<std::string> &blobs) const;
  std::string directory_;
};

/// The SHA-256 digest of `parts` as 64 hex digits. Each part is framed as its
/// decimal length, ':', its bytes, so no two lists of parts share a digest.
std::string digest(const std::vector<std::string> &parts);

} // namespace sparta
