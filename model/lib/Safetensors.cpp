//===- Safetensors.cpp - Tensors, metadata, dtypes and safetensors files --===//
//
// The host-side tensor container of Checkpoint.h and the safetensors format
// that exchanges weights with the PyTorch reference (tests/reference/). The
// reader validates every header field against the file before trusting it: a
// header is data from elsewhere. Shapes are checked for negative dimensions and
// 64-bit overflow, names are unique (the JSON reader refuses a repeated name)
// and the tensors tile the data without holes or overlaps.
//
//===----------------------------------------------------------------------===//
#include "sparta/model/Checkpoint.h"

#include "sparta/Error.h"
#include "sparta/model/Json.h"

#include <fmt/format.h>

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <string_view>
#include <unordered_set>

namespace sparta::model {

namespace {

struct DTypeInfo {
  DType dtype;
  const char *name;
  size_t size;
};
constexpr DTypeInfo kDTypes[] = {
    {DType::F32, "F32", 4}, {DType::BF16, "BF16", 2}, {DType::F16, "F16", 2},
    {DType::I32, "I32", 4}, {DType::I64, "I64", 8},   {DType::U8, "U8", 1},
    {DType::U64, "U64", 8},
};

} // namespace

size_t dtypeSize(DType dtype) {
  for (const auto &d : kDTypes)
    if (d.dtype == dtype)
      return d.size;
  throw Error(fmt::format("unknown dtype {}", uint32_t(dtype)));
}

const char *dtypeName(DType dtype) {
  for (const auto &d : kDTypes)
    if (d.dtype == dtype)
      return d.name;
  return "?";
}

DType parseDType(const std::string &name) {
  for (const auto &d : kDTypes)
    if (name == d.name)
      return d.dtype;
  throw Error(
      fmt::format("unsupported dtype '{}' (supported: F32, BF16, F16, I32, I64, U8, U64)", name));
}

namespace {

std::string shapeText(const std::vector<int64_t> &shape) {
  std::string text;
  for (int64_t d : shape)
    text += (text.empty() ? "" : ", ") + std::to_string(d);
  return "[" + text + "]";
}

} // namespace

int64_t Tensor::numel() const {
  int64_t n = 1;
  for (int64_t d : shape) {
    if (d < 0)
      throw Error(fmt::format("tensor '{}' has a negative dimension in shape {}", name,
                              shapeText(shape)));
    if (__builtin_mul_overflow(n, d, &n))
      throw Error(fmt::format("tensor '{}': the element count of shape {} overflows 64 bits", name,
                              shapeText(shape)));
  }
  return n;
}

int64_t Tensor::byteCount() const {
  int64_t bytes;
  if (__builtin_mul_overflow(numel(), int64_t(dtypeSize(dtype)), &bytes))
    throw Error(fmt::format("tensor '{}': the byte count of shape {} overflows 64 bits", name,
                            shapeText(shape)));
  return bytes;
}

Tensor Tensor::fromF32(std::string name, std::vector<int64_t> shape, const float *values) {
  Tensor t{std::move(name), DType::F32, std::move(shape), {}};
  t.data.resize(size_t(t.byteCount()));
  std::memcpy(t.data.data(), values, t.data.size());
  return t;
}

Tensor Tensor::fromBf16(std::string name, std::vector<int64_t> shape, const uint16_t *values) {
  Tensor t{std::move(name), DType::BF16, std::move(shape), {}};
  t.data.resize(size_t(t.byteCount()));
  std::memcpy(t.data.data(), values, t.data.size());
  return t;
}

void checkTensors(const std::vector<Tensor> &tensors) {
  std::unordered_set<std::string_view> names;
  for (const Tensor &t : tensors) {
    if (int64_t(t.data.size()) != t.byteCount())
      throw Error(fmt::format("tensor '{}' holds {} bytes but its shape and dtype need {}", t.name,
                              t.data.size(), t.byteCount()));
    if (!names.insert(t.name).second)
      throw Error(fmt::format("two tensors are named '{}'", t.name));
  }
}

std::vector<float> Tensor::toF32() const {
  std::vector<float> out(static_cast<size_t>(numel()));
  if (dtype == DType::F32) {
    std::memcpy(out.data(), data.data(), out.size() * 4);
  } else if (dtype == DType::BF16) {
    for (size_t i = 0; i < out.size(); ++i) {
      uint16_t v;
      std::memcpy(&v, data.data() + 2 * i, 2);
      out[i] = bf16Value(v);
    }
  } else {
    throw Error(fmt::format("tensor '{}' is {}, not F32 or BF16", name, dtypeName(dtype)));
  }
  return out;
}

//===----------------------------------------------------------------------===//
// Metadata
//===----------------------------------------------------------------------===//

void Metadata::set(const std::string &key, std::string value) {
  auto [it, added] = index.emplace(key, items.size());
  if (added)
    items.emplace_back(key, std::move(value));
  else
    items[it->second].second = std::move(value);
}
void Metadata::setInt(const std::string &key, int64_t value) { set(key, std::to_string(value)); }
void Metadata::setU64(const std::string &key, uint64_t value) { set(key, std::to_string(value)); }
void Metadata::setDouble(const std::string &key, double value) {
  // "{}" is fmt's shortest round-trip form; "nan"/"inf" read back via strtod.
  set(key, fmt::format("{}", value));
}

bool Metadata::has(const std::string &key) const { return index.count(key) != 0; }

const std::string &Metadata::get(const std::string &key) const {
  auto it = index.find(key);
  if (it == index.end())
    throw Error(fmt::format("the checkpoint metadata has no '{}'", key));
  return items[it->second].second;
}

int64_t Metadata::getInt(const std::string &key) const {
  const std::string &s = get(key);
  char *end = nullptr;
  errno = 0;
  long long v = std::strtoll(s.c_str(), &end, 10);
  if (s.empty() || *end || errno)
    throw Error(fmt::format("checkpoint metadata '{}' = '{}' is not an integer", key, s));
  return v;
}

uint64_t Metadata::getU64(const std::string &key) const {
  const std::string &s = get(key);
  char *end = nullptr;
  errno = 0;
  unsigned long long v = std::strtoull(s.c_str(), &end, 10);
  if (s.empty() || s[0] == '-' || *end || errno)
    throw Error(fmt::format("checkpoint metadata '{}' = '{}' is not an unsigned integer", key, s));
  return v;
}

double Metadata::getDouble(const std::string &key) const {
  const std::string &s = get(key);
  char *end = nullptr;
  double v = std::strtod(s.c_str(), &end);
  if (s.empty() || *end)
    throw Error(fmt::format("checkpoint metadata '{}' = '{}' is not a number", key, s));
  return v;
}

//===----------------------------------------------------------------------===//
// Safetensors
//===----------------------------------------------------------------------===//

void writeSafetensors(const std::string &path, const std::vector<Tensor> &tensors,
                      const Metadata &metadata) {
  std::string header = "{";
  if (!metadata.entries().empty()) {
    header += "\"__metadata__\":{";
    bool first = true;
    for (const auto &[k, v] : metadata.entries()) {
      header += (first ? "" : ",") + jsonQuote(k) + ":" + jsonQuote(v);
      first = false;
    }
    header += "}";
  }
  checkTensors(tensors);
  uint64_t offset = 0;
  for (const Tensor &t : tensors) {
    if (t.name == "__metadata__")
      throw Error("a safetensors tensor cannot be named '__metadata__'");
    std::string shape;
    for (int64_t d : t.shape)
      shape += (shape.empty() ? "" : ",") + std::to_string(d);
    header += fmt::format("{}{}:{{\"dtype\":\"{}\",\"shape\":[{}],\"data_offsets\":[{},{}]}}",
                          header.size() > 1 ? "," : "", jsonQuote(t.name), dtypeName(t.dtype),
                          shape, offset, offset + t.data.size());
    offset += t.data.size();
  }
  header += "}";
  // Padding with spaces keeps the data 8-byte aligned for readers that map it.
  while (header.size() % 8)
    header += ' ';
  AtomicFile file(path);
  uint64_t n = header.size();
  file.write(&n, 8);
  file.write(header);
  for (const Tensor &t : tensors)
    file.write(t.data.data(), t.data.size());
  file.commit();
}

std::vector<Tensor> readSafetensors(const std::string &path, Metadata *metadata) {
  std::vector<uint8_t> bytes = readFileBytes(path, "safetensors file");

  auto bad = [&](const std::string &why) {
    return Error(fmt::format("'{}' is not a valid safetensors file: {}", path, why));
  };
  uint64_t headerBytes = 0;
  if (bytes.size() < 8)
    throw bad("shorter than its 8-byte header length");
  std::memcpy(&headerBytes, bytes.data(), 8);
  if (headerBytes > bytes.size() - 8)
    throw bad(fmt::format("header length {} exceeds the file size {}", headerBytes, bytes.size()));
  JsonValue header = parseJson(std::string(bytes.begin() + 8, bytes.begin() + 8 + headerBytes),
                               "safetensors header of " + path);
  if (!header.isObject())
    throw bad("the header is not a JSON object");
  size_t dataStart = 8 + headerBytes;
  uint64_t dataBytes = bytes.size() - dataStart;

  std::vector<std::pair<uint64_t, Tensor>> found;
  for (const auto &[name, entry] : header.members) {
    if (name == "__metadata__") {
      if (!entry.isObject())
        throw bad("__metadata__ is not an object");
      for (const auto &[k, v] : entry.members) {
        if (!v.isString())
          throw bad(fmt::format("__metadata__ value '{}' is not a string", k));
        if (metadata)
          metadata->set(k, v.text);
      }
      continue;
    }
    const JsonValue *dtype = entry.find("dtype");
    const JsonValue *shape = entry.find("shape");
    const JsonValue *offsets = entry.find("data_offsets");
    if (!dtype || !dtype->isString() || !shape || !shape->isArray() || !offsets ||
        !offsets->isArray() || offsets->items.size() != 2)
      throw bad(fmt::format("tensor '{}' lacks dtype, shape or data_offsets", name));
    Tensor t;
    t.name = name;
    t.dtype = parseDType(dtype->text);
    for (const JsonValue &d : shape->items)
      t.shape.push_back(d.asInt());
    int64_t need;
    try {
      need = t.byteCount();
    } catch (const Error &e) {
      throw bad(e.what());
    }
    uint64_t begin = offsets->items[0].asUnsigned(), end = offsets->items[1].asUnsigned();
    if (begin > end || end > dataBytes)
      throw bad(fmt::format("tensor '{}' has data_offsets [{}, {}] outside the {} data bytes", name,
                            begin, end, dataBytes));
    if (end - begin != uint64_t(need))
      throw bad(fmt::format("tensor '{}' spans {} bytes but its shape and dtype need {}", name,
                            end - begin, need));
    t.data.assign(bytes.begin() + dataStart + begin, bytes.begin() + dataStart + end);
    found.emplace_back(begin, std::move(t));
  }
  // File order, which is also what the writer's order was. The tensors tile
  // the data exactly, as the format requires: a hole or an overlap means the
  // header describes some other file.
  std::stable_sort(found.begin(), found.end(), [](const auto &a, const auto &b) {
    return std::pair(a.first, a.second.data.size()) < std::pair(b.first, b.second.data.size());
  });
  uint64_t covered = 0;
  for (size_t i = 0; i < found.size(); ++i) {
    if (found[i].first < covered)
      throw bad(fmt::format("tensors '{}' and '{}' overlap", found[i - 1].second.name,
                            found[i].second.name));
    if (found[i].first > covered)
      throw bad(fmt::format("data bytes [{}, {}) before tensor '{}' belong to no tensor", covered,
                            found[i].first, found[i].second.name));
    covered = found[i].first + found[i].second.data.size();
  }
  if (covered != dataBytes)
    throw bad(fmt::format("data bytes [{}, {}) at the end belong to no tensor", covered, dataBytes));
  std::vector<Tensor> tensors;
  for (auto &f : found)
    tensors.push_back(std::move(f.second));
  return tensors;
}

} // namespace sparta::model
