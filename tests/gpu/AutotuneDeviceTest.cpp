//===- AutotuneDeviceTest.cpp - Autotuning on the GPU ------------------------===//
//
// A tuned construction times every candidate once, stores its choice in the
// kernel cache (a tuning record holding each candidate's time), and a second
// construction reads the record instead of timing; the tuned kernels are the
// forced edge's kernels, so their outputs and gradients are bit-identical to
// those of a config that forces the chosen edge. Numerics of every forced
// edge are SparseAttentionTest's (TileShapes).
//
//===----------------------------------------------------------------------===//
#include "GpuTestMain.h"
#include "sparta/Autotune.h"
#include "sparta/Frontend.h"
#include "sparta/KernelCache.h"
#include "sparta/SparseAttention.h"

#include <gtest/gtest.h>

#include <stdlib.h> // mkdtemp

#include <algorithm>
#include <filesystem>
#include <random>
#include <sstream>

namespace sparta {
namespace {

std::string sourcePath(const std::string &file) {
  const char *root = std::getenv("SPARTA_SOURCE_DIR");
  return std::string(root && *root ? root : SPARTA_SOURCE_DIR) + "/" + file;
}

/// Every component's tile edge, in launch order.
std::vector<int> tilesOf(const SparseAttention &attention) {
  std::vector<int> tiles;
  for (const HeadPlan &head : attention.kernels().plan.heads)
    for (const PlanComponent &component : head.components)
      tiles.push_back(component.schedule.qTile);
  return tiles;
}

/// o, dq, dk, dv of one forward + backward on fixed random inputs, as bits.
std::vector<std::vector<uint16_t>> runOnce(SparseAttention &attention, int64_t B, int64_t H,
                                           int d) {
  const int64_t T = attention.T();
  const size_t count = size_t(B * H * T * d), bytes = count * 2;
  std::mt19937 rng(11);
  std::uniform_int_distribution<int> bits(0x3c00, 0x3fff); // fp16/bf16 values in [1, 2) or so
  std::vector<uint16_t> host(count);
  rt::DeviceBuffer q(bytes), k(bytes), v(bytes), dO(bytes), o(bytes), dq(bytes), dk(bytes),
      dv(bytes), lse(size_t(B * H * T) * 4);
  for (rt::DeviceBuffer *buffer : {&q, &k, &v, &dO}) {
    for (uint16_t &x : host)
      x = uint16_t(bits(rng)) ^ uint16_t(rng() & 0x8000); // random sign
    buffer->upload(host.data(), bytes);
  }
  auto view = [&](const rt::DeviceBuffer &b) { return TensorView::bhtd(b.ptr(), B, H, T, d); };
  rt::Stream stream;
  attention.forward(view(q), view(k), view(v), view(o), lse.ptr(), stream);
  attention.backward(view(q), view(k), view(v), view(o), lse.ptr(), view(dO), view(dq), view(dk),
                     view(dv), stream);
  stream.synchronize();
  std::vector<std::vector<uint16_t>> out;
  for (const rt::DeviceBuffer *buffer : {&o, &dq, &dk, &dv}) {
    out.emplace_back(count);
    buffer->download(out.back().data(), bytes);
  }
  return out;
}

TEST(Autotune, TimesOnceStoresTheChoiceAndRunsTheChosenKernels) {
  std::string dirTemplate = ::testing::TempDir() + "sparta-autotune-XXXXXX";
  ASSERT_NE(mkdtemp(dirTemplate.data()), nullptr);
  const std::filesystem::path dir = dirTemplate;

  // Fashion-MNIST-shaped strided attention: three candidates (the planner's
  // 32x32, forced 64 and 16).
  const ConcretePattern pattern =
      loadPattern(sourcePath("patterns/strided.mlir"), {{"T", 784}, {"L", 28}});
  AttentionConfig config;
  config.cacheDir = (dir / "cache").string();
  config.autotune = Autotune::On;
  const std::vector<int> candidates = autotuneCandidates(pattern, config);
  ASSERT_GE(candidates.size(), 2u);

  SparseAttention tuned(pattern, config);

  // The record names a candidate and holds one time per candidate.
  const rt::DeviceInfo &device = rt::Context::get().device();
  const std::string key = autotuneRecordKey(pattern, config, device.name, device.arch());
  const KernelCache cache(config.cacheDir);
  std::optional<std::string> record = cache.loadRecord(key);
  ASSERT_TRUE(record.has_value()) << "no tuning record at " << cache.recordPath(key);
  std::optional<int> chosen = parseTuningRecord(*record, candidates);
  ASSERT_TRUE(chosen.has_value()) << *record;
  std::istringstream lines(*record);
  int timings = 0;
  for (std::string word; lines >> word;)
    if (word == "timing") {
      int tile = -1;
      double ms = 0;
      lines >> tile >> ms;
      EXPECT_NE(std::find(candidates.begin(), candidates.end(), tile), candidates.end()) << tile;
      EXPECT_GT(ms, 0.0) << "tile " << tile;
      ++timings;
    }
  EXPECT_EQ(timings, int(candidates.size())) << *record;

  // A second tuned construction reads the record.
  TileChoice again = autotuneTile(pattern, config);
  EXPECT_TRUE(again.fromRecord);
  EXPECT_TRUE(again.timings.empty());
  EXPECT_EQ(again.tile, *chosen);

  // The tuned kernels are the chosen edge's.
  AttentionConfig forced = config;
  forced.autotune = Autotune::Off;
  forced.tile = *chosen;
  SparseAttention reference(pattern, forced);
  EXPECT_EQ(tilesOf(tuned), tilesOf(reference));
  EXPECT_TRUE(runOnce(tuned, 2, 4, 64) == runOnce(reference, 2, 4, 64))
      << "the tuned kernels' outputs differ from those of tile " << *chosen;

  std::error_code ignored;
  std::filesystem::remove_all(dir, ignored);
}

} // namespace
} // namespace sparta

int main(int argc, char **argv) { return sparta::test::runGpuTests(argc, argv); }
