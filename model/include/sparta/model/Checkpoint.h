//===- Checkpoint.h - Checkpoints, atomic files and safetensors -----------===//
//
// A checkpoint is a list of named tensors (weights, optimizer moments) plus
// key/value metadata (step, config, RNG and data-sampler states). The binary
// format is self-describing and checksummed:
//
//   "SPARTACK"  u32 version (1)  u32 0
//   u64 M, M bytes of metadata JSON (an object of string values)
//   u64 N, then N times:
//     u32 name bytes, name, u32 dtype (DType), u32 rank, i64 shape[rank],
//     u64 data bytes, data
//   u32 CRC-32 of every byte before it, u32 0, "SPARTEND"
//
// All integers are little-endian. Files are written through AtomicFile: a
// temporary file in the same directory, fsync, rename over the target, fsync
// of the directory. A crash at any moment leaves either the old file or the
// new one, never a mixture; a truncated or corrupted file is refused on load
// with a message that says which, and so is one whose fields have no single
// meaning (negative or 64-bit-overflowing shapes, two tensors of one name).
//
// Safetensors (the format PyTorch's `safetensors` package reads) is supported
// for exchanging weights with the reference: u64 header length, a JSON header
// {name: {dtype, shape, data_offsets}}, the raw little-endian data.
//
//===----------------------------------------------------------------------===//
#pragma once

#include "sparta/Float16.h"

#include <cstdint>
#include <cstdio>
#include <functional>
#include <optional>
#include <string>
#include <unordered_map>
#include <utility>
#include <vector>

namespace sparta::model {

enum class DType : uint32_t { F32 = 0, BF16 = 1, F16 = 2, I32 = 3, I64 = 4, U8 = 5, U64 = 6 };
size_t dtypeSize(DType dtype);
/// The safetensors spelling ("F32", "BF16", ...).
const char *dtypeName(DType dtype);
/// The inverse of dtypeName; throws sparta::Error for an unsupported dtype.
DType parseDType(const std::string &name);

struct Tensor {
  std::string name;
  DType dtype = DType::F32;
  std::vector<int64_t> shape;
  std::vector<uint8_t> data; // numel() * dtypeSize(dtype) bytes, little-endian

  /// The element count; throws sparta::Error naming the tensor when a
  /// dimension is negative or the count overflows 64 bits.
  int64_t numel() const;
  /// numel() * dtypeSize(dtype), with the same checks.
  int64_t byteCount() const;
  /// A tensor holding a copy of `values` (numel(shape) elements).
  static Tensor fromF32(std::string name, std::vector<int64_t> shape, const float *values);
  static Tensor fromBf16(std::string name, std::vector<int64_t> shape, const uint16_t *values);
  /// The values as floats (F32 copied, BF16 widened); throws for other dtypes.
  std::vector<float> toF32() const;
};

/// Throws sparta::Error when a tensor's data does not match its shape and
/// dtype, or when two tensors have the same name.
void checkTensors(const std::vector<Tensor> &tensors);

/// String key/value pairs, in insertion order. Numbers are stored as their
/// exact decimal text, so 64-bit RNG states and doubles round-trip exactly.
class Metadata {
public:
  void set(const std::string &key, std::string value);
  void setInt(const std::string &key, int64_t value);
  void setU64(const std::string &key, uint64_t value);
  void setDouble(const std::string &key, double value);

  bool has(const std::string &key) const;
  /// These throw sparta::Error naming the key when it is missing or malformed.
  const std::string &get(const std::string &key) const;
  int64_t getInt(const std::string &key) const;
  uint64_t getU64(const std::string &key) const;
  double getDouble(const std::string &key) const;

  const std::vector<std::pair<std::string, std::string>> &entries() const { return items; }

private:
  std::vector<std::pair<std::string, std::string>> items;
  std::unordered_map<std::string, size_t> index; // key -> its position in items
};

struct Checkpoint {
  Metadata meta;
  std::vector<Tensor> tensors;

  /// The tensor named `name`, or nullptr.
  const Tensor *find(const std::string &name) const;
  /// The tensor named `name`; throws sparta::Error naming it when absent.
  const Tensor &get(const std::string &name) const;
};

/// Writes `ckpt` to `path` atomically. Throws sparta::Error (naming the file
/// and the system error) when it cannot; the previous file is then untouched.
void saveCheckpoint(const std::string &path, const Checkpoint &ckpt);
/// Reads and verifies a checkpoint; throws sparta::Error saying whether the
/// file is missing, not a checkpoint, truncated or corrupted (bad checksum).
Checkpoint loadCheckpoint(const std::string &path);

/// Keeps the last `keep` checkpoints of a run in `dir` as step-NNNNNNNNNN.ckpt.
class CheckpointRotation {
public:
  CheckpointRotation(std::string dir, int keep);
  /// Saves atomically, then deletes all but the newest `keep` checkpoints and
  /// any temporary files a crashed writer left. Returns the path written.
  std::string save(int64_t step, const Checkpoint &ckpt);
  /// Checkpoint paths, oldest step first (temporary files excluded).
  std::vector<std::string> list() const;
  /// The newest checkpoint, if any.
  std::optional<std::string> latest() const;

private:
  std::string dir;
  int keep;
};

/// Writes a file atomically: data goes to "<path>.tmp-<pid>" and commit()
/// makes it appear at `path` durably. Destroying an uncommitted AtomicFile
/// removes the temporary file and leaves `path` as it was.
class AtomicFile {
public:
  explicit AtomicFile(std::string path);
  ~AtomicFile();
  AtomicFile(const AtomicFile &) = delete;
  AtomicFile &operator=(const AtomicFile &) = delete;

  void write(const void *data, size_t bytes);
  void write(const std::string &s) { write(s.data(), s.size()); }
  /// Flushes, fsyncs, renames over the target and fsyncs the directory.
  void commit();
  const std::string &tempPath() const { return temp; }

private:
  std::string path, temp;
  std::FILE *file = nullptr;
  uint64_t written = 0;
};

/// Called by AtomicFile::write with the bytes written so far; tests install
/// one that kills the process to simulate a crash in the middle of a write.
void setAtomicWriteHookForTesting(std::function<void(uint64_t bytesWritten)> hook);

/// The bytes of the regular file at `path` (links followed). Throws
/// sparta::Error naming `what` and `path` when it cannot be opened or read, or
/// is no regular file (a FIFO, a device such as /dev/zero, a directory).
std::vector<uint8_t> readFileBytes(const std::string &path, const char *what);

/// Safetensors, F32/BF16 (and F16, I32, I64, U8, U64). `metadata` goes to the
/// header's "__metadata__" object (string values, as the format requires).
void writeSafetensors(const std::string &path, const std::vector<Tensor> &tensors,
                      const Metadata &metadata = {});
std::vector<Tensor> readSafetensors(const std::string &path, Metadata *metadata = nullptr);

} // namespace sparta::model
