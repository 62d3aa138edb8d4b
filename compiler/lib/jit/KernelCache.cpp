//===- KernelCache.cpp - On-disk kernel cache with trusted, checked entries ===//
//
// Entry layout (little-endian):
//   "SPARTAKC"  u32 version (2)
//   blob key, then the entry's blobs               (blob: u64 size, bytes):
//     kernels (<key>.kernels)  blob ptx, blob cubin, blob log
//     tuning record (<key>.tune) blob text
//   SHA-256 of every byte before it (32 bytes)
//
// The folder checks and the entry checks are what make it safe to load code
// from disk on a machine shared with other users; see KernelCache.h.
//
//===----------------------------------------------------------------------===//
#include "sparta/KernelCache.h"

#include <llvm/ADT/ArrayRef.h>
#include <llvm/ADT/StringRef.h>
#include <llvm/Support/SHA256.h>

#include <fmt/format.h>

#include <array>
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fcntl.h>
#include <mutex>
#include <random>
#include <set>
#include <sys/stat.h>
#include <unistd.h>

namespace sparta {
namespace {

constexpr char kMagic[8] = {'S', 'P', 'A', 'R', 'T', 'A', 'K', 'C'};
constexpr uint32_t kFormatVersion = 2;
constexpr size_t kDigestBytes = 32;

std::array<uint8_t, kDigestBytes> sha256(const std::string &data) {
  return llvm::SHA256::hash(
      llvm::ArrayRef<uint8_t>(reinterpret_cast<const uint8_t *>(data.data()), data.size()));
}

void appendBlob(std::string &out, const void *data, uint64_t size) {
  out.append(reinterpret_cast<const char *>(&size), sizeof(size));
  out.append(static_cast<const char *>(data), size);
}

bool readBlob(const std::string &in, size_t &pos, size_t end, std::string &out) {
  uint64_t size;
  if (end - pos < sizeof(size))
    return false;
  std::memcpy(&size, in.data() + pos, sizeof(size));
  pos += sizeof(size);
  if (end - pos < size)
    return false;
  out.assign(in.data() + pos, size);
  pos += size;
  return true;
}

/// Says once per folder and process why the cache is not used.
void warnOnce(const std::string &directory, const std::string &why) {
  static std::mutex mutex;
  static std::set<std::string> warned;
  std::lock_guard<std::mutex> lock(mutex);
  if (warned.insert(directory).second)
    std::fprintf(stderr, "sparta: warning: not using the kernel cache '%s': %s; compiling without it\n",
                 directory.c_str(), why.c_str());
}

/// Why `path` cannot hold cache entries, or "" when it can: it must be a
/// directory (links followed) owned by the effective user that neither its
/// group nor others can write. ENOENT is reported as "absent".
std::string untrustedBecause(const std::string &path, bool *absent = nullptr) {
  struct stat st;
  if (::stat(path.c_str(), &st) != 0) {
    if (absent)
      *absent = errno == ENOENT;
    return std::strerror(errno);
  }
  if (!S_ISDIR(st.st_mode))
    return "it is not a directory";
  if (st.st_uid != ::geteuid())
    return fmt::format("it is owned by uid {}, not by this user (uid {})", st.st_uid, ::geteuid());
  if (st.st_mode & (S_IWGRP | S_IWOTH))
    return fmt::format("it is writable by {} (mode {:04o})",
                       st.st_mode & S_IWOTH ? "others" : "its group", st.st_mode & 07777);
  return "";
}

/// Creates the folders of `path` that do not exist (0700) and checks each one
/// it creates; returns why it failed, or "".
std::string makeDirectories(const std::string &path) {
  for (size_t slash = path.find('/', 1);; slash = path.find('/', slash + 1)) {
    std::string prefix = path.substr(0, slash);
    if (!prefix.empty() && prefix.back() != '/') {
      if (::mkdir(prefix.c_str(), 0700) == 0) {
        if (std::string why = untrustedBecause(prefix); !why.empty())
          return fmt::format("'{}', which it created: {}", prefix, why);
      } else if (errno != EEXIST) {
        return fmt::format("cannot create '{}': {}", prefix, std::strerror(errno));
      }
    }
    if (slash == std::string::npos)
      return "";
  }
}

/// The whole content of the regular file `path` if it is one, owned by this
/// user and at most kMaxEntryBytes long. Never follows a link, never blocks
/// on a FIFO or a device.
std::optional<std::string> readEntryFile(const std::string &path) {
  int fd = ::open(path.c_str(), O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
  if (fd < 0)
    return std::nullopt;
  struct stat st;
  std::optional<std::string> data;
  if (::fstat(fd, &st) == 0 && S_ISREG(st.st_mode) && st.st_uid == ::geteuid() &&
      uint64_t(st.st_size) <= KernelCache::kMaxEntryBytes) {
    std::string bytes(size_t(st.st_size), '\0');
    size_t got = 0;
    while (got < bytes.size()) {
      ssize_t n = ::read(fd, bytes.data() + got, bytes.size() - got);
      if (n < 0 && errno == EINTR)
        continue;
      if (n <= 0)
        break;
      got += size_t(n);
    }
    if (got == bytes.size())
      data = std::move(bytes);
  }
  ::close(fd);
  return data;
}

} // namespace

std::string digest(const std::vector<std::string> &parts) {
  llvm::SHA256 hasher;
  for (const std::string &part : parts) {
    hasher.update(std::to_string(part.size()) + ":");
    hasher.update(llvm::StringRef(part));
  }
  std::string hex;
  for (uint8_t byte : hasher.final())
    hex += fmt::format("{:02x}", byte);
  return hex;
}

KernelCache::KernelCache(std::string directory)
    : directory_(directory.empty() ? defaultDirectory() : std::move(directory)) {}

std::string KernelCache::defaultDirectory() {
  // The XDG Base Directory rules: a relative path is invalid and ignored.
  auto absolute = [](const char *name) -> const char * {
    const char *value = std::getenv(name);
    return value && value[0] == '/' ? value : nullptr;
  };
  if (const char *dir = std::getenv("SPARTA_CACHE_DIR"); dir && *dir)
    return dir;
  if (const char *xdg = absolute("XDG_CACHE_HOME"))
    return std::string(xdg) + "/sparta";
  if (const char *home = absolute("HOME"))
    return std::string(home) + "/.cache/sparta";
  // No home to keep it in: a folder of this user's own. Another user who
  // made it first owns it, and then the checks refuse it.
  return fmt::format("/tmp/sparta-cache-{}", ::geteuid());
}

std::string KernelCache::entryPath(const std::string &key) const {
  return directory_ + "/" + key + ".kernels";
}

std::string KernelCache::recordPath(const std::string &key) const {
  return directory_ + "/" + key + ".tune";
}

std::optional<std::vector<std::string>> KernelCache::loadBlobs(const std::string &path,
                                                               const std::string &key,
                                                               size_t count) const {
  bool absent = false;
  if (std::string why = untrustedBecause(directory_, &absent); !why.empty()) {
    if (!absent) // nothing stored yet is an ordinary miss
      warnOnce(directory_, why);
    return std::nullopt;
  }
  std::optional<std::string> data = readEntryFile(path);
  const size_t header = sizeof(kMagic) + sizeof(uint32_t);
  if (!data || data->size() < header + kDigestBytes ||
      std::memcmp(data->data(), kMagic, sizeof(kMagic)) != 0)
    return std::nullopt;
  uint32_t version;
  std::memcpy(&version, data->data() + sizeof(kMagic), sizeof(version));
  const size_t end = data->size() - kDigestBytes;
  std::array<uint8_t, kDigestBytes> stored;
  std::memcpy(stored.data(), data->data() + end, kDigestBytes);
  if (version != kFormatVersion || sha256(data->substr(0, end)) != stored)
    return std::nullopt; // truncated or corrupted: the caller rebuilds it
  std::string storedKey;
  size_t pos = header;
  if (!readBlob(*data, pos, end, storedKey))
    return std::nullopt;
  std::vector<std::string> blobs(count);
  for (std::string &blob : blobs)
    if (!readBlob(*data, pos, end, blob))
      return std::nullopt;
  // An entry copied or renamed from another key is someone else's code.
  if (pos != end || storedKey != key)
    return std::nullopt;
  return blobs;
}

std::optional<CacheEntry> KernelCache::load(const std::string &key) const {
  std::optional<std::vector<std::string>> blobs = loadBlobs(entryPath(key), key, 3);
  if (!blobs)
    return std::nullopt;
  const std::string &cubin = (*blobs)[1];
  return CacheEntry{std::move((*blobs)[0]), std::vector<char>(cubin.begin(), cubin.end()),
                    std::move((*blobs)[2])};
}

std::optional<std::string> KernelCache::loadRecord(const std::string &key) const {
  std::optional<std::vector<std::string>> blobs = loadBlobs(recordPath(key), key, 1);
  if (!blobs)
    return std::nullopt;
  return std::move((*blobs)[0]);
}

bool KernelCache::store(const std::string &key, const CacheEntry &entry) const {
  return storeBlobs(entryPath(key), key,
                    {entry.ptx, std::string(entry.cubin.begin(), entry.cubin.end()), entry.log});
}

bool KernelCache::storeRecord(const std::string &key, const std::string &text) const {
  return storeBlobs(recordPath(key), key, {text});
}

bool KernelCache::storeBlobs(const std::string &path, const std::string &key,
                             const std::vector<std::string> &blobs) const {
  std::string why = makeDirectories(directory_);
  if (why.empty())
    why = untrustedBecause(directory_);
  if (!why.empty()) {
    warnOnce(directory_, why);
    return false;
  }
  std::string data(kMagic, sizeof(kMagic));
  data.append(reinterpret_cast<const char *>(&kFormatVersion), sizeof(kFormatVersion));
  appendBlob(data, key.data(), key.size());
  for (const std::string &blob : blobs)
    appendBlob(data, blob.data(), blob.size());
  std::array<uint8_t, kDigestBytes> checksum = sha256(data);
  data.append(reinterpret_cast<const char *>(checksum.data()), checksum.size());
  if (data.size() > kMaxEntryBytes)
    return false; // it could never be read back

  // Write a private temporary file, flush it to disk, then rename it over the
  // entry: readers see either the old entry, nothing, or the complete new one.
  std::string temp = fmt::format("{}.tmp.{}.{}", path, ::getpid(), std::random_device{}());
  int fd = ::open(temp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
  if (fd < 0) {
    warnOnce(directory_, fmt::format("cannot create '{}': {}", temp, std::strerror(errno)));
    return false;
  }
  size_t written = 0;
  while (written < data.size()) {
    ssize_t n = ::write(fd, data.data() + written, data.size() - written);
    if (n < 0 && errno == EINTR)
      continue;
    if (n <= 0) {
      int err = n < 0 ? errno : ENOSPC;
      ::close(fd);
      ::unlink(temp.c_str());
      warnOnce(directory_, fmt::format("cannot write '{}': {}", temp, std::strerror(err)));
      return false;
    }
    written += size_t(n);
  }
  ::fsync(fd);
  ::close(fd);
  if (std::rename(temp.c_str(), path.c_str()) != 0) {
    int err = errno;
    ::unlink(temp.c_str());
    warnOnce(directory_, fmt::format("cannot install '{}': {}", path, std::strerror(err)));
    return false;
  }
  return true;
}

} // namespace sparta
