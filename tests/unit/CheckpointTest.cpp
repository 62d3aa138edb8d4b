//===- CheckpointTest.cpp - Round trips, crashes, corruption, safetensors -===//
//
// The crash test forks a writer that SIGKILLs itself half-way through a
// checkpoint (through the AtomicFile test hook, so the kill lands mid-write
// every time) and checks that the previous checkpoint is intact and is still
// the one a resume would pick.
//
//===----------------------------------------------------------------------===//
#include "TempDir.h"

#include "sparta/model/Checkpoint.h"
#include "sparta/Error.h"
#include "sparta/model/Json.h"

#include <gtest/gtest.h>

#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmath>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <limits>
#include <sstream>

using namespace sparta;
using namespace sparta::model;
using namespace sparta::testing;

namespace {

bool exists(const std::string &path) {
  struct stat st;
  return ::stat(path.c_str(), &st) == 0;
}

/// A checkpoint with awkward floats, several dtypes and tricky metadata.
Checkpoint sample(int64_t step, size_t floats = 1000) {
  Checkpoint c;
  c.meta.setInt("step", step);
  c.meta.setU64("rng", std::numeric_limits<uint64_t>::max() - 12345);
  c.meta.setDouble("lr", 0.1 + 0.2);
  c.meta.set("config", "{\"layers\": 8,\n \"name\": \"caf\xC3\xA9\\tx\"}");
  std::vector<float> w(floats);
  for (size_t i = 0; i < w.size(); ++i)
    w[i] = std::sin(float(i) * 0.37f + float(step)) * 1e-3f;
  w[0] = -0.0f;
  w[1] = std::numeric_limits<float>::infinity();
  w[2] = std::numeric_limits<float>::denorm_min();
  w[3] = std::numeric_limits<float>::quiet_NaN();
  c.tensors.push_back(Tensor::fromF32("blocks.0.attn.w", {int64_t(floats / 10), 10}, w.data()));
  std::vector<uint16_t> h = {0x3F80, 0xBF80, 0x7FC0, 0x0001};
  c.tensors.push_back(Tensor::fromBf16("emb.bf16", {2, 2}, h.data()));
  Tensor steps{"adam.step", DType::I64, {}, std::vector<uint8_t>(8)};
  std::memcpy(steps.data.data(), &step, 8);
  c.tensors.push_back(steps);
  c.tensors.push_back(Tensor{"empty", DType::U8, {0, 3}, {}});
  return c;
}

void expectSame(const Checkpoint &a, const Checkpoint &b) {
  ASSERT_EQ(a.tensors.size(), b.tensors.size());
  for (size_t i = 0; i < a.tensors.size(); ++i) {
    EXPECT_EQ(a.tensors[i].name, b.tensors[i].name);
    EXPECT_EQ(a.tensors[i].dtype, b.tensors[i].dtype);
    EXPECT_EQ(a.tensors[i].shape, b.tensors[i].shape);
    EXPECT_TRUE(a.tensors[i].data == b.tensors[i].data) << a.tensors[i].name << " differs";
  }
  EXPECT_EQ(a.meta.entries(), b.meta.entries());
}

} // namespace

TEST(Checkpoint, RoundTripIsBitExact) {
  std::string path = tempDir() + "/a.ckpt";
  Checkpoint c = sample(42);
  saveCheckpoint(path, c);
  Checkpoint back = loadCheckpoint(path);
  expectSame(c, back);
  EXPECT_EQ(back.meta.getInt("step"), 42);
  EXPECT_EQ(back.meta.getU64("rng"), std::numeric_limits<uint64_t>::max() - 12345);
  EXPECT_EQ(back.meta.getDouble("lr"), 0.1 + 0.2); // exactly, not approximately
  EXPECT_EQ(back.get("emb.bf16").toF32()[1], -1.0f);
  EXPECT_THROW(back.get("missing"), Error);
  EXPECT_THROW(back.meta.getInt("config"), Error);
  EXPECT_THROW(back.meta.get("nope"), Error);
  EXPECT_FALSE(exists(path + ".tmp-" + std::to_string(getpid())));
}

TEST(Checkpoint, TruncationAndCorruptionAreDetected) {
  std::string dir = tempDir(), path = dir + "/c.ckpt";
  saveCheckpoint(path, sample(1));
  std::string good = readFile(path);
  for (size_t cut : {size_t(0), size_t(5), size_t(40), good.size() / 2, good.size() - 1}) {
    writeFile(path, good.substr(0, cut));
    try {
      loadCheckpoint(path);
      ADD_FAILURE() << "a file cut at " << cut << " bytes loaded";
    } catch (const Error &e) {
      std::string m = e.what();
      EXPECT_TRUE(m.find("truncated") != std::string::npos ||
                  m.find("not a sparta checkpoint") != std::string::npos)
          << m;
    }
  }
  for (size_t at : {size_t(9), size_t(30), good.size() / 2, good.size() - 17}) {
    std::string bad = good;
    bad[at] ^= 0x20;
    writeFile(path, bad);
    try {
      loadCheckpoint(path);
      ADD_FAILURE() << "a file with byte " << at << " flipped loaded";
    } catch (const Error &e) {
      EXPECT_NE(std::string(e.what()).find("corrupted"), std::string::npos) << e.what();
    }
  }
  EXPECT_THROW(loadCheckpoint(dir + "/none.ckpt"), Error);
  writeFile(path, good);
  EXPECT_NO_THROW(loadCheckpoint(path));
}

TEST(Checkpoint, CrashDuringWriteKeepsThePreviousCheckpoint) {
  std::string dir = tempDir();
  CheckpointRotation rotation(dir, 3);
  Checkpoint old = sample(100);
  std::string oldPath = rotation.save(100, old);
  std::string target = dir + "/step-0000000200.ckpt";
  // The child replaces the only checkpoint in place (the worst case) and
  // dies after 1 MB of the 4 MB file.
  pid_t pid = fork();
  ASSERT_GE(pid, 0);
  if (pid == 0) {
    setAtomicWriteHookForTesting([](uint64_t written) {
      if (written > (1u << 20))
        raise(SIGKILL);
    });
    saveCheckpoint(oldPath, sample(999, 1 << 20)); // 4 MB of floats
    _exit(0);                                      // not reached
  }
  int status = 0;
  ASSERT_EQ(waitpid(pid, &status, 0), pid);
  ASSERT_TRUE(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL) << "the writer was not killed";
  std::string temp = oldPath + ".tmp-" + std::to_string(pid);
  ASSERT_TRUE(exists(temp)) << "the killed writer left no partial temporary file";
  EXPECT_THROW(loadCheckpoint(temp), Error);
  expectSame(old, loadCheckpoint(oldPath));
  EXPECT_EQ(rotation.latest(), oldPath);
  EXPECT_EQ(rotation.list().size(), 1u);
  // The next save cleans the dead writer's leftovers.
  rotation.save(200, sample(200));
  EXPECT_FALSE(exists(temp));
  EXPECT_EQ(rotation.latest(), target);
}

TEST(Checkpoint, FailedWriteLeavesTargetUntouched) {
  std::string dir = tempDir(), path = dir + "/x.ckpt";
  EXPECT_THROW(saveCheckpoint(dir + "/no/such/dir/x.ckpt", sample(1)), Error);
  writeFile(path, "previous");
  {
    AtomicFile f(path);
    f.write("half of a new file");
    // destroyed without commit(): as if an exception unwound the writer
  }
  EXPECT_EQ(readFile(path), "previous");
  EXPECT_FALSE(exists(path + ".tmp-" + std::to_string(getpid())));
  Checkpoint bad = sample(1);
  bad.tensors[0].data.pop_back(); // size no longer matches the shape
  EXPECT_THROW(saveCheckpoint(path, bad), Error);
  EXPECT_EQ(readFile(path), "previous");
}

TEST(Checkpoint, RotationKeepsTheLastN) {
  std::string dir = tempDir();
  CheckpointRotation rotation(dir, 3);
  EXPECT_FALSE(rotation.latest().has_value());
  for (int64_t step : {10, 20, 30, 40, 50})
    rotation.save(step, sample(step, 10));
  std::vector<std::string> all = rotation.list();
  ASSERT_EQ(all.size(), 3u);
  EXPECT_EQ(all[0], dir + "/step-0000000030.ckpt");
  EXPECT_EQ(all[2], dir + "/step-0000000050.ckpt");
  EXPECT_EQ(loadCheckpoint(*rotation.latest()).meta.getInt("step"), 50);
  EXPECT_THROW(CheckpointRotation(dir, 0), Error);
}

TEST(Bf16, RoundsToNearestEven) {
  EXPECT_EQ(bf16Bits(1.0f), 0x3F80);
  EXPECT_EQ(bf16Bits(-2.0f), 0xC000);
  auto fromBits = [](uint32_t b) {
    float f;
    std::memcpy(&f, &b, 4);
    return f;
  };
  EXPECT_EQ(bf16Bits(fromBits(0x3F808000)), 0x3F80); // tie, even stays
  EXPECT_EQ(bf16Bits(fromBits(0x3F818000)), 0x3F82); // tie, odd rounds up
  EXPECT_EQ(bf16Bits(fromBits(0x3F808001)), 0x3F81);
  EXPECT_EQ(bf16Bits(std::numeric_limits<float>::infinity()), 0x7F80);
  EXPECT_TRUE(std::isnan(bf16Value(bf16Bits(std::numeric_limits<float>::quiet_NaN()))));
  EXPECT_EQ(bf16Value(0x4049), 3.140625f);
}

TEST(Safetensors, RoundTripWithAValidHeader) {
  std::string path = tempDir() + "/w.safetensors";
  std::vector<float> a = {1.5f, -2.25f, 3.0f, 0.0f, 1e-8f, -7.0f};
  std::vector<uint16_t> b = {bf16Bits(0.5f), bf16Bits(-1.0f), bf16Bits(3.0f)};
  std::vector<Tensor> tensors = {Tensor::fromF32("layer.w", {2, 3}, a.data()),
                                 Tensor::fromBf16("layer.b", {3}, b.data()),
                                 Tensor::fromF32("scalar", {}, a.data())};
  Metadata meta;
  meta.set("format", "pt");
  writeSafetensors(path, tensors, meta);

  std::string file = readFile(path);
  uint64_t n;
  std::memcpy(&n, file.data(), 8);
  EXPECT_EQ(n % 8, 0u);
  EXPECT_EQ(file.size(), 8 + n + 24 + 6 + 4);
  JsonValue header = parseJson(file.substr(8, n), "header");
  ASSERT_TRUE(header.isObject());
  EXPECT_EQ(header.find("__metadata__")->find("format")->text, "pt");
  const JsonValue *w = header.find("layer.w"), *bias = header.find("layer.b");
  ASSERT_TRUE(w && bias);
  EXPECT_EQ(w->find("dtype")->text, "F32");
  EXPECT_EQ(bias->find("dtype")->text, "BF16");
  EXPECT_EQ(w->find("shape")->items.size(), 2u);
  EXPECT_EQ(w->find("data_offsets")->items[0].asInt(), 0);
  EXPECT_EQ(w->find("data_offsets")->items[1].asInt(), 24);
  EXPECT_EQ(bias->find("data_offsets")->items[0].asInt(), 24);
  EXPECT_EQ(bias->find("data_offsets")->items[1].asInt(), 30);
  EXPECT_EQ(std::memcmp(file.data() + 8 + n + 24, b.data(), 6), 0);

  Metadata backMeta;
  std::vector<Tensor> back = readSafetensors(path, &backMeta);
  ASSERT_EQ(back.size(), 3u);
  for (size_t i = 0; i < 3; ++i) {
    EXPECT_EQ(back[i].name, tensors[i].name);
    EXPECT_EQ(back[i].shape, tensors[i].shape);
    EXPECT_TRUE(back[i].data == tensors[i].data);
  }
  EXPECT_EQ(back[1].toF32(), (std::vector<float>{0.5f, -1.0f, 3.0f}));
  EXPECT_EQ(backMeta.get("format"), "pt");
}

TEST(Safetensors, ReadsForeignHeadersAndRejectsBadOnes) {
  std::string dir = tempDir();
  auto make = [&](const std::string &header, size_t dataBytes) {
    std::string f(8, '\0');
    uint64_t n = header.size();
    std::memcpy(&f[0], &n, 8);
    return f + header + std::string(dataBytes, '\x01');
  };
  // Whitespace, member order different from data order, metadata last.
  writeFile(dir + "/ok", make(R"({ "b": {"dtype": "F32", "shape": [1], "data_offsets": [4, 8]},
      "a": {"dtype": "BF16", "shape": [2], "data_offsets": [0, 4]}, "__metadata__": {"k": "v"} })",
                         8));
  std::vector<Tensor> t = readSafetensors(dir + "/ok");
  ASSERT_EQ(t.size(), 2u);
  EXPECT_EQ(t[0].name, "a");
  EXPECT_EQ(t[1].name, "b");

  const char *bad[] = {
      R"({"a": {"dtype": "F32", "shape": [3], "data_offsets": [0, 8]}})",  // size != shape
      R"({"a": {"dtype": "F32", "shape": [4], "data_offsets": [0, 16]}})", // past the end
      R"({"a": {"dtype": "Q4", "shape": [2], "data_offsets": [0, 8]}})",   // unknown dtype
      R"({"a": {"dtype": "F32", "shape": [2]}})",                          // no offsets
      R"({"a": {"dtype": "F32", "shape": [1], "data_offsets": [0, 4]},
          "b": {"dtype": "F32", "shape": [1], "data_offsets": [2, 6]}})",  // overlap
      R"({"a": )",                                                         // broken JSON
  };
  for (const char *h : bad) {
    writeFile(dir + "/bad", make(h, 8));
    EXPECT_THROW(readSafetensors(dir + "/bad"), Error) << h;
  }
  std::string huge(8, '\xff');
  writeFile(dir + "/bad", huge);
  EXPECT_THROW(readSafetensors(dir + "/bad"), Error);
}
