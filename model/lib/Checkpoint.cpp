//===- Checkpoint.cpp - Checkpoints, atomic files and safetensors ---------===//
//
// Checkpoints are written as a stream (no second copy of a multi-hundred-MB
// state in memory) and read whole, because the checksum has to be verified
// before any tensor is trusted. The byte-level helpers assume a little-endian
// host, like every machine the trainer runs on (x86-64, AArch64).
//
//===----------------------------------------------------------------------===//
#include "sparta/model/Checkpoint.h"

#include "sparta/Error.h"
#include "sparta/model/Json.h"

#include <fmt/format.h>
#include <zlib.h>

#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

namespace sparta::model {

static_assert(__BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__, "checkpoints assume a little-endian host");

namespace {

constexpr char kMagic[9] = "SPARTACK";
constexpr char kEndMagic[9] = "SPARTEND";
constexpr uint32_t kVersion = 1;
constexpr size_t kTrailerBytes = 16;

std::function<void(uint64_t)> &writeHook() {
  static std::function<void(uint64_t)> hook;
  return hook;
}

std::string systemError() { return std::strerror(errno); }

uint32_t crc32Of(uint32_t crc, const void *data, size_t bytes) {
  const auto *p = static_cast<const Bytef *>(data);
  // zlib's crc32 takes a uInt length; feed large buffers in pieces.
  while (bytes > 0) {
    uInt n = uInt(std::min<size_t>(bytes, 1u << 30));
    crc = uint32_t(::crc32(crc, p, n));
    p += n;
    bytes -= n;
  }
  return crc;
}

/// Bounds-checked little-endian reads over a loaded file.
struct Cursor {
  const std::vector<uint8_t> &bytes;
  size_t pos, end;
  const std::string &path;

  void need(size_t n) {
    if (n > end - pos)
      throw Error(
          fmt::format("checkpoint '{}' is malformed: a field at byte {} runs past the end of "
                      "the data",
                      path, pos));
  }
  template <typename T> T read() {
    need(sizeof(T));
    T v;
    std::memcpy(&v, bytes.data() + pos, sizeof(T));
    pos += sizeof(T);
    return v;
  }
  std::string readString(size_t n) {
    need(n);
    std::string s(reinterpret_cast<const char *>(bytes.data() + pos), n);
    pos += n;
    return s;
  }
};

/// Writes the fields of a checkpoint through an AtomicFile, keeping the CRC.
struct CrcWriter {
  AtomicFile &file;
  uint32_t crc = 0;
  void write(const void *data, size_t n) {
    crc = crc32Of(crc, data, n);
    file.write(data, n);
  }
  template <typename T> void put(T v) { write(&v, sizeof v); }
};

std::string metadataJson(const Metadata &meta) {
  std::string json = "{";
  for (const auto &[key, value] : meta.entries()) {
    if (json.size() > 1)
      json += ",";
    json += jsonQuote(key) + ":" + jsonQuote(value);
  }
  return json + "}";
}

Metadata metadataFromJson(const JsonValue &v, const std::string &what) {
  if (!v.isObject())
    throw Error(fmt::format("{}: the metadata is not a JSON object", what));
  Metadata meta;
  for (const auto &[key, value] : v.members) {
    if (!value.isString())
      throw Error(fmt::format("{}: metadata value '{}' is not a string", what, key));
    meta.set(key, value.text);
  }
  return meta;
}

} // namespace

std::vector<uint8_t> readFileBytes(const std::string &path, const char *what) {
  // O_NONBLOCK: opening a FIFO must not wait for a writer; fstat then refuses
  // it, a device (/dev/zero never ends) and a directory.
  int fd = ::open(path.c_str(), O_RDONLY | O_NONBLOCK | O_CLOEXEC);
  if (fd < 0)
    throw Error(fmt::format("cannot open {} '{}': {}", what, path, systemError()));
  struct stat st;
  if (::fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
    ::close(fd);
    throw Error(fmt::format("cannot read {} '{}': not a regular file", what, path));
  }
  std::vector<uint8_t> bytes(size_t(st.st_size));
  size_t got = 0;
  while (got < bytes.size()) {
    ssize_t n = ::read(fd, bytes.data() + got, bytes.size() - got);
    if (n < 0 && errno == EINTR)
      continue;
    if (n < 0) {
      std::string message = systemError();
      ::close(fd);
      throw Error(fmt::format("cannot read {} '{}': {}", what, path, message));
    }
    if (n == 0)
      break; // the file shrank while being read
    got += size_t(n);
  }
  ::close(fd);
  bytes.resize(got);
  return bytes;
}

//===----------------------------------------------------------------------===//
// Checkpoint files
//===----------------------------------------------------------------------===//

const Tensor *Checkpoint::find(const std::string &name) const {
  for (const Tensor &t : tensors)
    if (t.name == name)
      return &t;
  return nullptr;
}

const Tensor &Checkpoint::get(const std::string &name) const {
  if (const Tensor *t = find(name))
    return *t;
  throw Error(fmt::format("the checkpoint holds no tensor named '{}'", name));
}

void saveCheckpoint(const std::string &path, const Checkpoint &ckpt) {
  checkTensors(ckpt.tensors);
  AtomicFile file(path);
  CrcWriter w{file};
  w.write(kMagic, 8);
  w.put<uint32_t>(kVersion);
  w.put<uint32_t>(0);
  std::string meta = metadataJson(ckpt.meta);
  w.put<uint64_t>(meta.size());
  w.write(meta.data(), meta.size());
  w.put<uint64_t>(ckpt.tensors.size());
  for (const Tensor &t : ckpt.tensors) {
    w.put<uint32_t>(uint32_t(t.name.size()));
    w.write(t.name.data(), t.name.size());
    w.put<uint32_t>(uint32_t(t.dtype));
    w.put<uint32_t>(uint32_t(t.shape.size()));
    for (int64_t d : t.shape)
      w.put<int64_t>(d);
    w.put<uint64_t>(t.data.size());
    w.write(t.data.data(), t.data.size());
  }
  uint32_t crc = w.crc;
  file.write(&crc, 4);
  uint32_t zero = 0;
  file.write(&zero, 4);
  file.write(kEndMagic, 8);
  file.commit();
}

Checkpoint loadCheckpoint(const std::string &path) {
  std::vector<uint8_t> bytes = readFileBytes(path, "checkpoint");
  if (bytes.size() < 8 || std::memcmp(bytes.data(), kMagic, 8) != 0)
    throw Error(fmt::format("'{}' is not a sparta checkpoint (bad magic number)", path));
  size_t size = bytes.size();
  if (size < 32 + kTrailerBytes || std::memcmp(bytes.data() + size - 8, kEndMagic, 8) != 0)
    throw Error(fmt::format("checkpoint '{}' is truncated ({} bytes, no end marker): it was not "
                            "written completely",
                            path, size));
  uint32_t stored;
  std::memcpy(&stored, bytes.data() + size - kTrailerBytes, 4);
  uint32_t actual = crc32Of(0, bytes.data(), size - kTrailerBytes);
  if (stored != actual)
    throw Error(fmt::format("checkpoint '{}' is corrupted: checksum {:08x} does not match the "
                            "stored {:08x}",
                            path, actual, stored));

  Cursor c{bytes, 8, size - kTrailerBytes, path};
  uint32_t version = c.read<uint32_t>();
  if (version != kVersion)
    throw Error(fmt::format("checkpoint '{}' has format version {}; this build reads version {}",
                            path, version, kVersion));
  c.read<uint32_t>();
  Checkpoint ckpt;
  std::string meta = c.readString(c.read<uint64_t>());
  ckpt.meta = metadataFromJson(parseJson(meta, "metadata of " + path), path);
  uint64_t count = c.read<uint64_t>();
  for (uint64_t i = 0; i < count; ++i) {
    Tensor t;
    t.name = c.readString(c.read<uint32_t>());
    uint32_t dtype = c.read<uint32_t>();
    if (dtype > uint32_t(DType::U64))
      throw Error(
          fmt::format("checkpoint '{}': tensor '{}' has unknown dtype {}", path, t.name, dtype));
    t.dtype = DType(dtype);
    uint32_t rank = c.read<uint32_t>();
    c.need(size_t(rank) * 8);
    for (uint32_t d = 0; d < rank; ++d)
      t.shape.push_back(c.read<int64_t>());
    uint64_t n = c.read<uint64_t>();
    c.need(n);
    t.data.assign(bytes.begin() + c.pos, bytes.begin() + c.pos + n);
    c.pos += n;
    ckpt.tensors.push_back(std::move(t));
  }
  if (c.pos != c.end)
    throw Error(fmt::format("checkpoint '{}' is malformed: {} unexpected bytes after the tensors",
                            path, c.end - c.pos));
  // Negative or overflowing shapes, sizes that do not match them, repeated
  // names: a checksum says only that the bytes are the ones written.
  try {
    checkTensors(ckpt.tensors);
  } catch (const Error &e) {
    throw Error(fmt::format("checkpoint '{}' is malformed: {}", path, e.what()));
  }
  return ckpt;
}

//===----------------------------------------------------------------------===//
// Atomic files
//===----------------------------------------------------------------------===//

void setAtomicWriteHookForTesting(std::function<void(uint64_t)> hook) {
  writeHook() = std::move(hook);
}

AtomicFile::AtomicFile(std::string target) : path(std::move(target)) {
  temp = fmt::format("{}.tmp-{}", path, ::getpid());
  file = std::fopen(temp.c_str(), "wb");
  if (!file)
    throw Error(fmt::format("cannot create '{}': {}", temp, systemError()));
  std::setvbuf(file, nullptr, _IOFBF, 1 << 20);
}

AtomicFile::~AtomicFile() {
  if (file) {
    std::fclose(file);
    std::remove(temp.c_str());
  }
}

void AtomicFile::write(const void *data, size_t bytes) {
  if (!file)
    throw Error(fmt::format("'{}' was already committed", path));
  if (bytes && std::fwrite(data, 1, bytes, file) != bytes)
    throw Error(fmt::format("cannot write '{}': {}", temp, systemError()));
  written += bytes;
  if (writeHook())
    writeHook()(written);
}

void AtomicFile::commit() {
  if (!file)
    throw Error(fmt::format("'{}' was already committed", path));
  // The data must be on disk before the rename publishes it: otherwise a
  // power loss could leave the new name pointing at an empty file.
  if (std::fflush(file) != 0 || ::fsync(::fileno(file)) != 0)
    throw Error(fmt::format("cannot write '{}': {}", temp, systemError()));
  std::FILE *f = file;
  file = nullptr;
  if (std::fclose(f) != 0) {
    std::remove(temp.c_str());
    throw Error(fmt::format("cannot write '{}': {}", temp, systemError()));
  }
  if (std::rename(temp.c_str(), path.c_str()) != 0) {
    std::string message = systemError();
    std::remove(temp.c_str());
    throw Error(fmt::format("cannot rename '{}' to '{}': {}", temp, path, message));
  }
  // The rename itself is durable only once the directory is synced.
  size_t slash = path.rfind('/');
  std::string dir = slash == std::string::npos ? "." : slash == 0 ? "/" : path.substr(0, slash);
  int fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY);
  if (fd >= 0) {
    ::fsync(fd);
    ::close(fd);
  }
}

//===----------------------------------------------------------------------===//
// Rotation
//===----------------------------------------------------------------------===//

CheckpointRotation::CheckpointRotation(std::string directory, int keep)
    : dir(std::move(directory)), keep(keep) {
  if (keep < 1)
    throw Error(fmt::format("must keep at least one checkpoint (got {})", keep));
  if (::mkdir(dir.c_str(), 0755) != 0 && errno != EEXIST)
    throw Error(fmt::format("cannot create checkpoint directory '{}': {}", dir, systemError()));
}

std::vector<std::string> CheckpointRotation::list() const {
  std::vector<std::pair<int64_t, std::string>> found;
  if (DIR *d = ::opendir(dir.c_str())) {
    while (dirent *e = ::readdir(d)) {
      std::string name = e->d_name;
      long long step;
      char tail;
      // Exactly "step-<digits>.ckpt": temporary files carry a ".tmp-" suffix.
      if (name.size() == 20 && std::sscanf(name.c_str(), "step-%10lld.ckp%c", &step, &tail) == 2 &&
          tail == 't')
        found.emplace_back(step, dir + "/" + name);
    }
    ::closedir(d);
  }
  std::sort(found.begin(), found.end());
  std::vector<std::string> paths;
  for (auto &f : found)
    paths.push_back(std::move(f.second));
  return paths;
}

std::optional<std::string> CheckpointRotation::latest() const {
  std::vector<std::string> all = list();
  if (all.empty())
    return std::nullopt;
  return all.back();
}

std::string CheckpointRotation::save(int64_t step, const Checkpoint &ckpt) {
  if (step < 0 || step > 9999999999ll)
    throw Error(fmt::format("checkpoint step {} is out of range", step));
  std::string path = fmt::format("{}/step-{:010}.ckpt", dir, step);
  saveCheckpoint(path, ckpt);
  std::vector<std::string> all = list();
  for (size_t i = 0; i + size_t(keep) < all.size(); ++i)
    std::remove(all[i].c_str());
  // Temporary files of writers that crashed (a different pid, or this one
  // before an exception) are never completed: drop them.
  if (DIR *d = ::opendir(dir.c_str())) {
    std::vector<std::string> stale;
    while (dirent *e = ::readdir(d)) {
      std::string name = e->d_name;
      if (name.rfind("step-", 0) == 0 && name.find(".ckpt.tmp-") != std::string::npos)
        stale.push_back(dir + "/" + name);
    }
    ::closedir(d);
    for (const std::string &s : stale)
      std::remove(s.c_str());
  }
  return path;
}

} // namespace sparta::model
