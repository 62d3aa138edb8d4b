//===- KernelCache.cpp - On-disk kernel cache with atomic, checked entries ===//
#include "sparta/KernelCache.h"

#include "sparta/Error.h"

#include <fmt/format.h>

#include <cerrno>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <fcntl.h>
#include <fstream>
#include <random>
#include <sstream>
#include <sys/stat.h>
#include <unistd.h>

namespace sparta {
namespace {

constexpr char kMagic[8] = {'S', 'P', 'A', 'R', 'T', 'A', 'K', 'C'};
constexpr uint32_t kFormatVersion = 1;

uint64_t fnv1a(const std::string &data, uint64_t h) {
  for (unsigned char c : data) {
    h ^= c;
    h *= 0x100000001b3ULL;
  }
  return h;
}

void appendBlob(std::string &out, const void *data, uint64_t size) {
  out.append(reinterpret_cast<const char *>(&size), sizeof(size));
  out.append(static_cast<const char *>(data), size);
}

bool readBlob(const std::string &in, size_t &pos, std::string &out) {
  uint64_t size;
  if (in.size() - pos < sizeof(size))
    return false;
  std::memcpy(&size, in.data() + pos, sizeof(size));
  pos += sizeof(size);
  if (in.size() - pos < size)
    return false;
  out.assign(in.data() + pos, size);
  pos += size;
  return true;
}

void makeDirectories(const std::string &path) {
  for (size_t slash = path.find('/', 1);; slash = path.find('/', slash + 1)) {
    std::string prefix = path.substr(0, slash);
    if (mkdir(prefix.c_str(), 0755) != 0 && errno != EEXIST)
      throw Error(fmt::format("cannot create kernel cache directory '{}': {}", prefix,
                              std::strerror(errno)));
    if (slash == std::string::npos)
      return;
  }
}

} // namespace

std::string digest(const std::vector<std::string> &parts) {
  uint64_t a = 0xcbf29ce484222325ULL, b = 0x84222325cbf29ce4ULL;
  for (const std::string &part : parts) {
    std::string framed = std::to_string(part.size()) + ":" + part;
    a = fnv1a(framed, a);
    b = fnv1a(framed, b ^ (a >> 7));
  }
  return fmt::format("{:016x}{:016x}", a, b);
}

KernelCache::KernelCache(std::string directory)
    : directory_(directory.empty() ? defaultDirectory() : std::move(directory)) {}

std::string KernelCache::defaultDirectory() {
  if (const char *dir = std::getenv("SPARTA_CACHE_DIR"); dir && *dir)
    return dir;
  if (const char *xdg = std::getenv("XDG_CACHE_HOME"); xdg && *xdg)
    return std::string(xdg) + "/sparta";
  if (const char *home = std::getenv("HOME"); home && *home)
    return std::string(home) + "/.cache/sparta";
  return "/tmp/sparta-cache";
}

std::string KernelCache::entryPath(const std::string &key) const {
  return directory_ + "/" + key + ".kernels";
}

std::optional<CacheEntry> KernelCache::load(const std::string &key) const {
  std::ifstream file(entryPath(key), std::ios::binary);
  if (!file)
    return std::nullopt;
  std::stringstream buffer;
  buffer << file.rdbuf();
  const std::string data = buffer.str();
  const size_t header = sizeof(kMagic) + sizeof(uint32_t) + 2 * sizeof(uint64_t);
  if (data.size() < header || std::memcmp(data.data(), kMagic, sizeof(kMagic)) != 0)
    return std::nullopt;
  uint32_t version;
  uint64_t length, checksum;
  std::memcpy(&version, data.data() + 8, 4);
  std::memcpy(&length, data.data() + 12, 8);
  std::memcpy(&checksum, data.data() + 20, 8);
  std::string payload = data.substr(header);
  if (version != kFormatVersion || payload.size() != length ||
      fnv1a(payload, 0xcbf29ce484222325ULL) != checksum)
    return std::nullopt; // truncated or corrupted: the caller rebuilds it
  CacheEntry entry;
  std::string cubin;
  size_t pos = 0;
  if (!readBlob(payload, pos, entry.ptx) || !readBlob(payload, pos, cubin) ||
      !readBlob(payload, pos, entry.log) || pos != payload.size())
    return std::nullopt;
  entry.cubin.assign(cubin.begin(), cubin.end());
  return entry;
}

void KernelCache::store(const std::string &key, const CacheEntry &entry) const {
  makeDirectories(directory_);
  std::string payload;
  appendBlob(payload, entry.ptx.data(), entry.ptx.size());
  appendBlob(payload, entry.cubin.data(), entry.cubin.size());
  appendBlob(payload, entry.log.data(), entry.log.size());
  uint64_t length = payload.size(), checksum = fnv1a(payload, 0xcbf29ce484222325ULL);
  std::string data(kMagic, sizeof(kMagic));
  data.append(reinterpret_cast<const char *>(&kFormatVersion), 4);
  data.append(reinterpret_cast<const char *>(&length), 8);
  data.append(reinterpret_cast<const char *>(&checksum), 8);
  data += payload;

  // Write a private temporary file, flush it to disk, then rename it over the
  // entry: readers see either the old entry, nothing, or the complete new one.
  std::string temp = fmt::format("{}.tmp.{}.{}", entryPath(key), getpid(), std::random_device{}());
  int fd = ::open(temp.c_str(), O_WRONLY | O_CREAT | O_EXCL, 0644);
  if (fd < 0)
    throw Error(fmt::format("cannot write kernel cache entry '{}': {}", temp, std::strerror(errno)));
  size_t written = 0;
  while (written < data.size()) {
    ssize_t n = ::write(fd, data.data() + written, data.size() - written);
    if (n < 0 && errno == EINTR)
      continue;
    if (n <= 0) {
      int err = errno;
      ::close(fd);
      ::unlink(temp.c_str());
      throw Error(fmt::format("cannot write kernel cache entry '{}': {}", temp, std::strerror(err)));
    }
    written += size_t(n);
  }
  ::fsync(fd);
  ::close(fd);
  if (std::rename(temp.c_str(), entryPath(key).c_str()) != 0) {
    int err = errno;
    ::unlink(temp.c_str());
    throw Error(fmt::format("cannot install kernel cache entry '{}': {}", entryPath(key),
                            std::strerror(err)));
  }
}

} // namespace sparta
