//===- KernelCache.h - Compiled kernel sets, in memory and on disk --------===//
//
// NVRTC takes seconds; loading a cached module takes milliseconds. Entries are
// keyed by a digest of everything the compiled code depends on (see
// Compiler.cpp: the generated source, which is a function of the pattern, its
// parameters and the kernel options; the target arch; NVRTC's version; the
// device library; sparta's version).
//
// On disk each entry is one file, <dir>/<key>.kernels, written to a temporary
// name and renamed into place, so concurrent processes never see half an
// entry. A file that is truncated or fails its checksum is treated as a miss
// and rebuilt.
//
//===----------------------------------------------------------------------===//
#pragma once

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
  /// `directory` empty: defaultDirectory().
  explicit KernelCache(std::string directory = "");

  /// $SPARTA_CACHE_DIR, else $XDG_CACHE_HOME/sparta, else $HOME/.cache/sparta.
  static std::string defaultDirectory();

  const std::string &directory() const { return directory_; }
  std::string entryPath(const std::string &key) const;

  /// The entry for `key`, or nothing when it is absent or damaged.
  std::optional<CacheEntry> load(const std::string &key) const;
  /// Writes the entry atomically; throws sparta::Error when the directory
  /// cannot be written.
  void store(const std::string &key, const CacheEntry &entry) const;

private:
  std::string directory_;
};

/// A 128-bit digest of `parts` as 32 hex digits (FNV-1a based; not for security).
std::string digest(const std::vector<std::string> &parts);

} // namespace sparta
