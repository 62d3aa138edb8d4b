//===- FileFormatTest.cpp - Hostile JSON, safetensors and checkpoint files --===//
//
// Every input is built here, byte by byte, the way another program (or an
// attacker) could write it: element counts that overflow 64 bits, negative
// dimensions, repeated JSON member names and tensor names, holes between
// tensors, lone surrogate escapes and invalid UTF-8, numbers beyond a double,
// 80k metadata keys that must load in linear time, and files that are no
// regular files (a FIFO, /dev/zero), read in a child with a time and memory
// limit. Each must be refused
// with sparta::Error (or, for the timing, load well within its limit), and the
// writers must refuse to produce such files.
//
//===----------------------------------------------------------------------===//
#include "InChild.h"
#include "TempDir.h"

#include "sparta/Error.h"
#include "sparta/model/Checkpoint.h"
#include "sparta/model/Json.h"

#include <fmt/format.h>
#include <gtest/gtest.h>
#include <zlib.h>

#include <sys/stat.h>

#include <chrono>
#include <cstdint>
#include <cstring>
#include <functional>
#include <string>
#include <vector>

using namespace sparta;
using namespace sparta::model;
using namespace sparta::testing;

namespace {

/// Throws unless `body` throws sparta::Error whose message contains `words`.
template <typename F> void expectError(F &&body, const std::string &words, const std::string &what) {
  try {
    body();
    ADD_FAILURE() << what << ": accepted";
  } catch (const Error &e) {
    EXPECT_NE(std::string(e.what()).find(words), std::string::npos)
        << what << ": the message does not say '" << words << "': " << e.what();
  }
}

double secondsOf(const std::function<void()> &body) {
  auto start = std::chrono::steady_clock::now();
  body();
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

/// A safetensors file: the header, padded to 8 bytes, then `dataBytes` bytes.
std::string safetensors(const std::string &header, size_t dataBytes) {
  std::string h = header;
  while (h.size() % 8)
    h += ' ';
  std::string f(8, '\0');
  uint64_t n = h.size();
  std::memcpy(&f[0], &n, 8);
  return f + h + std::string(dataBytes, '\x01');
}

struct RawTensor {
  std::string name;
  uint32_t dtype;
  std::vector<int64_t> shape;
  size_t bytes;
};

template <typename T> void put(std::string &out, T v) {
  out.append(reinterpret_cast<const char *>(&v), sizeof v);
}

/// A checkpoint file in the format of Checkpoint.h, with a correct checksum
/// and end marker, whatever its fields say.
std::string checkpoint(const std::string &metadataJson, const std::vector<RawTensor> &tensors) {
  std::string f = "SPARTACK";
  put<uint32_t>(f, 1);
  put<uint32_t>(f, 0);
  put<uint64_t>(f, metadataJson.size());
  f += metadataJson;
  put<uint64_t>(f, tensors.size());
  for (const RawTensor &t : tensors) {
    put<uint32_t>(f, uint32_t(t.name.size()));
    f += t.name;
    put<uint32_t>(f, t.dtype);
    put<uint32_t>(f, uint32_t(t.shape.size()));
    for (int64_t d : t.shape)
      put<int64_t>(f, d);
    put<uint64_t>(f, t.bytes);
    f += std::string(t.bytes, '\0');
  }
  put<uint32_t>(f, uint32_t(crc32(0, reinterpret_cast<const Bytef *>(f.data()), uInt(f.size()))));
  put<uint32_t>(f, 0);
  return f + "SPARTEND";
}

const char *kF32 = R"("dtype": "F32")";

} // namespace

TEST(JsonInput, RepeatedMemberNamesAreRefused) {
  expectError([] { parseJson(R"({"a": 1, "a": 2})", "t"); }, "duplicate member name \"a\"", "top");
  expectError([] { parseJson(R"({"x": [{"k": 1, "b": 0, "k": 1}]})", "t"); }, "duplicate", "nested");
  // The same name in two objects is no repetition.
  JsonValue v = parseJson(R"({"a": {"a": 1}, "b": {"a": 2}})", "t");
  EXPECT_EQ(v.find("b")->find("a")->asInt(), 2);
}

TEST(JsonInput, LoneSurrogatesAndInvalidUtf8AreRefused) {
  for (const char *bad : {R"("\ud800")", R"("\udc00")", R"("\ud800x")", R"("\ud800\u0041")",
                          R"("\udbff\ud800")"})
    expectError([&] { parseJson(bad, "t"); }, "unpaired UTF-16 surrogate", bad);
  for (const char *bad : {"\"\xff\"", "\"\xc0\x80\"", "\"\xed\xa0\x80\"", "\"\xf4\x90\x80\x80\"",
                          "\"\xe2\x82\"", "\"\x80\"", "{\"\xc3\": 1}"})
    expectError([&] { parseJson(bad, "t"); }, "invalid UTF-8", bad);
  EXPECT_EQ(parseJson("\"\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80\"", "t").text,
            "\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80");
  EXPECT_EQ(parseJson(R"("\udbff\udfff")", "t").text, "\xf4\x8f\xbf\xbf");
  // The writer never produces what the reader refuses.
  for (const char *bad : {"\xff", "a\xed\xa0\x80", "\xe2\x82"})
    expectError([&] { jsonQuote(bad); }, "not valid UTF-8", bad);
  EXPECT_EQ(jsonQuote("caf\xc3\xa9"), "\"caf\xc3\xa9\"");
}

TEST(JsonInput, NumbersBeyondADoubleAreRefused) {
  for (const char *bad : {"1e999999", "-1e999999", "[1e309]", R"({"n": 2e308})"})
    expectError([&] { parseJson(bad, "t"); }, "out of the range of a double", bad);
  EXPECT_EQ(parseJson("1e-999999", "t").number, 0.0);
  EXPECT_EQ(parseJson("1.5e308", "t").number, 1.5e308);
}

TEST(JsonInput, ManyMembersParseInLinearTime) {
  std::string text = "{";
  for (int i = 0; i < 80000; ++i)
    text += (i ? ",\"key" : "\"key") + std::to_string(i) + "\":\"v\"";
  text += "}";
  JsonValue v;
  double seconds = secondsOf([&] { v = parseJson(text, "t"); });
  EXPECT_EQ(v.members.size(), 80000u);
  EXPECT_LT(seconds, 3.0);
}

TEST(SafetensorsInput, OverflowingAndNegativeShapesAreRefused) {
  const std::string dir = tempDir();
  struct Case {
    const char *shape;
    size_t bytes;
    const char *words;
  } cases[] = {
      {"[4611686018427387904, 4]", 0, "overflows 64 bits"}, // 2^64 elements wrap to 0
      {"[2305843009213693952, 2]", 0, "overflows 64 bits"}, // 2^62 elements, 2^64 bytes
      {"[-1]", 0, "negative dimension"},
      {"[-2, -2]", 16, "negative dimension"}, // a positive product
  };
  for (const Case &c : cases) {
    std::string header = fmt::format(R"({{"a": {{{}, "shape": {}, "data_offsets": [0, {}]}}}})",
                                     kF32, c.shape, c.bytes);
    writeFile(dir + "/bad", safetensors(header, c.bytes));
    expectError([&] { readSafetensors(dir + "/bad"); }, c.words, c.shape);
  }
}

TEST(SafetensorsInput, RepeatedNamesHolesAndOverflowingOffsetsAreRefused) {
  const std::string dir = tempDir();
  struct Case {
    std::string header;
    size_t bytes;
    const char *words;
  } cases[] = {
      {fmt::format(R"({{"a": {{{0}, "shape": [1], "data_offsets": [0, 4]}},
                       "a": {{{0}, "shape": [1], "data_offsets": [4, 8]}}}})",
                   kF32),
       8, "duplicate member name"},
      {fmt::format(R"({{"__metadata__": {{"k": "1", "k": "2"}},
                       "a": {{{0}, "shape": [1], "data_offsets": [0, 4]}}}})",
                   kF32),
       4, "duplicate member name"},
      {fmt::format(R"({{"a": {{{0}, "shape": [1], "data_offsets": [0, 4]}},
                       "b": {{{0}, "shape": [1], "data_offsets": [8, 12]}}}})",
                   kF32),
       12, "belong to no tensor"}, // a hole between
      {fmt::format(R"({{"a": {{{0}, "shape": [1], "data_offsets": [4, 8]}}}})", kF32), 8,
       "belong to no tensor"}, // a hole before
      {fmt::format(R"({{"a": {{{0}, "shape": [1], "data_offsets": [0, 4]}}}})", kF32), 8,
       "belong to no tensor"}, // bytes after the last tensor
      {fmt::format(R"({{"a": {{{0}, "shape": [1], "data_offsets": [0, 1e999999]}}}})", kF32), 4,
       "out of the range of a double"},
      {fmt::format(R"({{"a": {{{0}, "shape": [1e999999], "data_offsets": [0, 4]}}}})", kF32), 4,
       "out of the range of a double"},
      {fmt::format(R"({{"a": {{{0}, "shape": [1], "data_offsets": [0, 4]}}, "__metadata__": {{"k": "\ud800"}}}})",
                   kF32),
       4, "unpaired UTF-16 surrogate"},
  };
  for (const Case &c : cases) {
    writeFile(dir + "/bad", safetensors(c.header, c.bytes));
    expectError([&] { readSafetensors(dir + "/bad"); }, c.words, c.header);
  }
  // Empty tensors take no bytes, wherever they sit.
  writeFile(dir + "/ok", safetensors(fmt::format(R"({{"e": {{{0}, "shape": [0, 3], "data_offsets": [4, 4]}},
      "a": {{{0}, "shape": [1], "data_offsets": [0, 4]}}, "z": {{{0}, "shape": [0], "data_offsets": [0, 0]}}}})",
                                                 kF32),
                                     4));
  EXPECT_EQ(readSafetensors(dir + "/ok").size(), 3u);
}

TEST(SafetensorsInput, WriterRefusesWhatTheReaderWouldRefuse) {
  const std::string dir = tempDir();
  float x = 1;
  std::vector<Tensor> twice = {Tensor::fromF32("w", {1}, &x), Tensor::fromF32("w", {1}, &x)};
  expectError([&] { writeSafetensors(dir + "/w", twice); }, "two tensors are named 'w'", "names");
  std::vector<Tensor> badName = {Tensor::fromF32("w\xff", {1}, &x)};
  expectError([&] { writeSafetensors(dir + "/w", badName); }, "not valid UTF-8", "name");
  Metadata meta;
  meta.set("k", "\xc0\x80");
  expectError([&] { writeSafetensors(dir + "/w", {Tensor::fromF32("w", {1}, &x)}, meta); },
              "not valid UTF-8", "metadata");
  Tensor overflowing{"o", DType::F32, {int64_t(1) << 62, 4}, {}};
  expectError([&] { writeSafetensors(dir + "/w", {overflowing}); }, "overflows 64 bits", "shape");
}

TEST(SafetensorsInput, ManyMetadataKeysLoadInLinearTime) {
  const std::string path = tempDir() + "/many.safetensors";
  std::string header = R"({"__metadata__": {)";
  for (int i = 0; i < 80000; ++i)
    header += (i ? ",\"key" : "\"key") + std::to_string(i) + "\":\"" + std::to_string(i) + "\"";
  header += fmt::format(R"(}}, "a": {{{}, "shape": [1], "data_offsets": [0, 4]}}}})", kF32);
  writeFile(path, safetensors(header, 4));
  Metadata meta;
  double seconds = secondsOf([&] { readSafetensors(path, &meta); });
  EXPECT_EQ(meta.entries().size(), 80000u);
  EXPECT_EQ(meta.get("key79999"), "79999");
  EXPECT_LT(seconds, 3.0);
}

TEST(CheckpointInput, OverflowingNegativeAndRepeatedTensorsAreRefused) {
  const std::string path = tempDir() + "/bad.ckpt";
  struct Case {
    std::string what;
    std::string meta;
    std::vector<RawTensor> tensors;
    const char *words;
  } cases[] = {
      {"2^64 elements", "{}", {{"a", 0, {int64_t(1) << 62, 4}, 0}}, "overflows 64 bits"},
      {"2^64 bytes", "{}", {{"a", 0, {int64_t(1) << 61, 2}, 0}}, "overflows 64 bits"},
      {"negative", "{}", {{"a", 0, {-2, -2}, 16}}, "negative dimension"},
      {"repeated name", "{}", {{"a", 0, {1}, 4}, {"a", 0, {1}, 4}}, "two tensors are named 'a'"},
      {"repeated key", R"({"step": "1", "step": "2"})", {}, "duplicate member name"},
      {"lone surrogate", R"({"s": "\udc00"})", {}, "unpaired UTF-16 surrogate"},
      {"invalid UTF-8", "{\"s\": \"\xff\"}", {}, "invalid UTF-8"},
  };
  for (const Case &c : cases) {
    writeFile(path, checkpoint(c.meta, c.tensors));
    expectError([&] { loadCheckpoint(path); }, c.words, c.what);
  }
  // The builder writes what loadCheckpoint reads, so the refusals above are
  // about the fields alone.
  writeFile(path, checkpoint(R"({"step": "1"})", {{"a", 0, {1}, 4}, {"b", 0, {0, 5}, 0}}));
  EXPECT_EQ(loadCheckpoint(path).tensors.size(), 2u);
}

TEST(CheckpointInput, WriterRefusesRepeatedNamesAndInvalidUtf8) {
  const std::string path = tempDir() + "/w.ckpt";
  float x = 1;
  Checkpoint twice;
  twice.tensors = {Tensor::fromF32("w", {1}, &x), Tensor::fromF32("w", {1}, &x)};
  expectError([&] { saveCheckpoint(path, twice); }, "two tensors are named 'w'", "names");
  Checkpoint badMeta;
  badMeta.meta.set("k\xff", "v");
  expectError([&] { saveCheckpoint(path, badMeta); }, "not valid UTF-8", "metadata key");
}

TEST(CheckpointInput, ManyMetadataKeysLoadInLinearTime) {
  const std::string path = tempDir() + "/many.ckpt";
  std::string meta = "{";
  for (int i = 0; i < 80000; ++i)
    meta += (i ? ",\"key" : "\"key") + std::to_string(i) + "\":\"" + std::to_string(i) + "\"";
  writeFile(path, checkpoint(meta + "}", {}));
  Checkpoint back;
  double seconds = secondsOf([&] { back = loadCheckpoint(path); });
  EXPECT_EQ(back.meta.entries().size(), 80000u);
  EXPECT_EQ(back.meta.getInt("key79999"), 79999);
  EXPECT_LT(seconds, 3.0);
}

TEST(FileInput, FifosAndDevicesAreRefusedWithoutBlockingOrReadingForever) {
  const std::string fifo = tempDir() + "/fifo";
  ASSERT_EQ(::mkfifo(fifo.c_str(), 0600), 0);
  for (const std::string &path : {fifo, std::string("/dev/zero")}) {
    auto refused = [&](const std::function<void()> &read) {
      return inChild([&] {
        try {
          read();
        } catch (const Error &e) {
          return std::string(e.what()).find("not a regular file") != std::string::npos;
        }
        return false;
      });
    };
    EXPECT_EQ(refused([&] { loadCheckpoint(path); }), std::optional<bool>(true)) << path;
    EXPECT_EQ(refused([&] { readSafetensors(path); }), std::optional<bool>(true)) << path;
  }
}
