//===- TransformerTest.cpp - The GPU Sparse Transformer and its trainer ----===//
//
//  (a) loss and every parameter gradient of a tiny model against the CPU fp32
//      reference (TransformerReference.h), for multi-head / interleaved heads,
//      text / image positions, with and without dropout;
//  (b) recompute on and off give bit-identical losses and gradients;
//  (c) a run interrupted after a checkpoint and resumed reproduces the
//      uninterrupted run's losses bit for bit;
//  (d) the training loss falls on GCIDE within 50 steps (skipped when the
//      file is missing; SPARTA_GCIDE overrides its path);
//  (e) a NaN injected into the weights stops training at that step, keeping
//      the previous step's checkpoint;
//  (f) SIGTERM during a step: the step finishes, its checkpoint is written,
//      the resumed run reproduces the uninterrupted one bit for bit (losses,
//      validation, final weights), and resuming the finished run trains
//      nothing and leaves its files as they were.
//
// Tolerance of (a): the GPU stores every activation in bf16 (relative
// rounding 2^-9) and the reference keeps fp32; through 2 blocks the
// gradients of a tensor differ from the reference by ~1% of its norm. The
// bound is 4% of the tensor's L2 norm (plus 1e-6 absolute for tensors whose
// gradient is ~0) and 2e-3 relative on the loss.
//
// Exits 77 (skipped) without a CUDA driver.
//
//===----------------------------------------------------------------------===//
#include "GpuTestMain.h"
#include "TransformerChecks.h"
#include "sparta/Float16.h"
#include "sparta/Error.h"
#include "sparta/model/KernelReference.h"
#include "sparta/model/Metrics.h"
#include "sparta/model/RunConfig.h"
#include "sparta/model/Trainer.h"
#include "sparta/model/Transformer.h"
#include "sparta/model/TransformerReference.h"
#include "sparta/runtime/Cuda.h"

#include <gtest/gtest.h>

#include <cmath>
#include <csignal>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

using namespace sparta;
using namespace sparta::model;
using namespace sparta::model::test;

namespace {

ModelConfig tinyConfig() {
  ModelConfig c;
  c.layers = 2, c.dModel = 64, c.heads = 2, c.ffMult = 4, c.T = 64;
  c.patternPath = patternFile("strided.mlir");
  c.patternParams = {{"L", 8}};
  c.dropout = 0.f;
  return c;
}

/// Text-like bytes: deterministic, with structure a model can learn.
std::vector<uint8_t> sampleBytes(int rows, int T, uint64_t seed) {
  Rng rng(seed);
  const std::string words[] = {"the ", "of ", "a ", "sparse ", "transformer ", "attends ", "to ",
                               "bytes", ". ", "\n"};
  std::vector<uint8_t> out;
  std::string text;
  while (int(text.size()) < rows * (T + 1)) text += words[rng.below(10)];
  return std::vector<uint8_t>(text.begin(), text.begin() + rows * (T + 1));
}

Dataset syntheticText(size_t bytes) {
  Dataset d;
  d.name = "synthetic";
  std::vector<uint8_t> all = sampleBytes(int(bytes / 65), 64, 99);
  d.train.assign(all.begin(), all.begin() + all.size() * 8 / 10);
  d.validation.assign(all.begin() + all.size() * 8 / 10, all.begin() + all.size() * 9 / 10);
  d.test.assign(all.begin() + all.size() * 9 / 10, all.end());
  return d;
}

struct Case {
  const char *name;
  HeadsMode mode;
  PositionMode positions;
  float dropout;
  const char *pattern;
};

class TransformerGradientTest : public testing::TestWithParam<Case> {};

TEST_P(TransformerGradientTest, MatchesCpuReference) {
  const Case &tc = GetParam();
  ModelConfig c = tinyConfig();
  c.headsMode = tc.mode;
  c.positions = tc.positions;
  c.imageWidth = 8, c.imageHeight = 8;
  c.dropout = tc.dropout;
  c.patternPath = patternFile(tc.pattern);
  if (std::string(tc.pattern).rfind("fixed", 0) == 0) c.patternParams = {{"L", 8}, {"c", 2}};
  const int B = 2;
  // Weights on the bf16 grid, so both sides use the same values; twice
  // the init so that every path carries a visible gradient.
  std::vector<float> params = initParameters(c, 7);
  for (float &x : params) x = sparta::bf16Value(sparta::bf16Bits(x * 2.f));
  std::vector<uint8_t> tokens = sampleBytes(B, c.T, 3);

  Transformer gpu(c, B);
  gpu.setParameters(params);
  const uint64_t seed = 1234, offset = 40;
  double loss = gpu.forwardBackward(tokens.data(), B, seed, offset);
  std::vector<float> grads = gpu.gradients();
  ReferenceResult want = referenceForwardBackward(c, params, tokens.data(), B, seed, offset);

  EXPECT_NEAR(loss, want.loss, 2e-3 * want.loss) << "loss";
  const auto [worst, worstName] = expectGradientsNear(gpu.layout(), grads, want.grads);
  std::printf("[%s] loss gpu %.6f ref %.6f; worst gradient error %.4f (%s)\n", tc.name, loss,
              want.loss, worst, worstName.c_str());
}

INSTANTIATE_TEST_SUITE_P(
    Tiny, TransformerGradientTest,
    testing::Values(Case{"multihead", HeadsMode::Multihead, PositionMode::Text, 0.f, "strided.mlir"},
                    Case{"interleaved_dropout", HeadsMode::Interleaved, PositionMode::Text, 0.1f,
                         "strided.mlir"},
                    Case{"merged_image", HeadsMode::Merged, PositionMode::Image, 0.f,
                         "fixed_merged.mlir"}),
    [](const testing::TestParamInfo<Case> &info) { return std::string(info.param.name); });

TEST(Transformer, RecomputeGivesIdenticalGradients) {
  ModelConfig c = tinyConfig();
  c.dropout = 0.1f;
  const int B = 2;
  std::vector<uint8_t> tokens = sampleBytes(B, c.T, 5);
  Transformer plain(c, B, 11);
  double l1 = plain.forwardBackward(tokens.data(), B, 77, 3);
  c.recompute = true;
  Transformer rec(c, B, 11);
  double l2v = rec.forwardBackward(tokens.data(), B, 77, 3);
  EXPECT_EQ(l1, l2v);
  EXPECT_EQ(plain.gradients(), rec.gradients());
  // Memory at a training-sized configuration (planned bytes, exact).
  ModelConfig big;
  big.layers = 8, big.dModel = 512, big.heads = 8, big.T = 4096;
  big.patternPath = patternFile("fixed.mlir");
  big.patternParams = {{"L", 64}, {"c", 16}};
  MemoryReport off = plannedMemory(big, 8);
  big.recompute = true;
  MemoryReport on = plannedMemory(big, 8);
  std::printf("activations saved for backward, 8x512, T=4096, B=8: %.1f MiB without recompute, "
              "%.1f MiB with (%.2fx less)\n",
              off.activations / 1048576.0, on.activations / 1048576.0,
              double(off.activations) / double(on.activations));
  EXPECT_LT(on.activations * 3, off.activations);
}

TrainerConfig smallTrainer(const std::string &dir) {
  TrainerConfig t;
  t.model = tinyConfig();
  t.model.dropout = 0.1f;
  t.batch = 4;
  t.steps = 6;
  t.lr = 3e-3;
  t.warmup = 2;
  t.evalEvery = 3;
  t.evalRows = 8;
  t.checkpointEvery = 3;
  t.outDir = dir;
  t.progress = false;
  t.seed = 21;
  return t;
}

TEST(Trainer, ResumeReproducesLosses) {
  Dataset data = syntheticText(200000);
  const std::string root = testing::TempDir() + "/sparta-resume";
  std::filesystem::remove_all(root);
  TrainResult full = Trainer(smallTrainer(root + "/full"), &data).run();
  ASSERT_EQ(full.losses.size(), 6u);

  TrainerConfig first = smallTrainer(root + "/split");
  first.stopAfter = 3;
  TrainResult a = Trainer(first, &data).run();
  ASSERT_EQ(a.lastStep, 3);
  TrainerConfig second = smallTrainer(root + "/split");
  second.resume = true;
  TrainResult b = Trainer(second, &data).run();
  ASSERT_EQ(b.firstStep, 4);
  ASSERT_EQ(b.losses.size(), 3u);
  for (int i = 0; i < 3; ++i)
    EXPECT_EQ(b.losses[i], full.losses[3 + i]) << "step " << 4 + i;
  EXPECT_EQ(b.validationBits, full.validationBits);
  // The metrics file reads as one run: 6 training records.
  int train = 0;
  for (const MetricsRecord &r : readMetrics(root + "/split/metrics.jsonl")) train += r.split == "train";
  EXPECT_EQ(train, 6);
}

std::string fileText(const std::string &path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

TEST(Trainer, SignalStopsAfterTheStepAndResumesExactly) {
  Dataset data = syntheticText(200000);
  const std::string root = testing::TempDir() + "/sparta-signal";
  std::filesystem::remove_all(root);
  TrainResult full = Trainer(smallTrainer(root + "/full"), &data).run();
  ASSERT_EQ(full.losses.size(), 6u);

  // The signal arrives before step 2 has run: step 2 completes, then the run stops.
  TrainerConfig first = smallTrainer(root + "/split");
  first.beforeStep = [](int64_t step, Transformer &) {
    if (step == 2) std::raise(SIGTERM);
  };
  TrainResult a = Trainer(first, &data).run();
  EXPECT_EQ(a.stopSignal, SIGTERM);
  ASSERT_EQ(a.lastStep, 2);
  EXPECT_EQ(a.failedStep, 0);
  EXPECT_NE(a.message.find("SIGTERM received: stopped after step 2"), std::string::npos) << a.message;
  ASSERT_EQ(a.lastCheckpoint, root + "/split/checkpoints/step-0000000002.ckpt");
  EXPECT_EQ(loadCheckpoint(a.lastCheckpoint).meta.getInt("step"), 2);
  EXPECT_FALSE(std::filesystem::exists(root + "/split/model.safetensors")); // not a final state
  EXPECT_TRUE(std::filesystem::exists(root + "/split/config.json"));
  for (int i = 0; i < 2; ++i) EXPECT_EQ(a.losses[i], full.losses[i]);

  TrainerConfig second = smallTrainer(root + "/split");
  second.resume = true;
  TrainResult b = Trainer(second, &data).run();
  EXPECT_EQ(b.stopSignal, 0);
  ASSERT_EQ(b.firstStep, 3);
  ASSERT_EQ(b.losses.size(), 4u);
  for (int i = 0; i < 4; ++i) EXPECT_EQ(b.losses[i], full.losses[2 + i]) << "step " << 3 + i;
  EXPECT_EQ(b.validationBits, full.validationBits);
  Metadata meta;
  std::vector<Tensor> resumed = readSafetensors(root + "/split/model.safetensors", &meta);
  std::vector<Tensor> uninterrupted = readSafetensors(root + "/full/model.safetensors");
  ASSERT_EQ(resumed.size(), uninterrupted.size());
  for (size_t i = 0; i < resumed.size(); ++i) EXPECT_EQ(resumed[i].data, uninterrupted[i].data) << resumed[i].name;
  // The final weights name their model.
  EXPECT_EQ(runConfigFromJson(meta.get(kRunConfigKey), "model.safetensors").model.toKeyValues(),
            smallTrainer("").model.toKeyValues());

  // Resuming the finished run: nothing trained, no file touched.
  const std::string metricsBefore = fileText(root + "/split/metrics.jsonl");
  const auto weightsTime = std::filesystem::last_write_time(root + "/split/model.safetensors");
  ASSERT_TRUE(finishedRun(second));
  TrainResult c = Trainer(second, &data).run();
  EXPECT_TRUE(c.alreadyFinished);
  EXPECT_TRUE(c.losses.empty());
  EXPECT_EQ(c.lastStep, 6);
  EXPECT_EQ(c.validationBits, full.validationBits);
  EXPECT_EQ(fileText(root + "/split/metrics.jsonl"), metricsBefore);
  EXPECT_EQ(std::filesystem::last_write_time(root + "/split/model.safetensors"), weightsTime);
}

TEST(Trainer, LossFallsOnGcide) {
  const std::string path = gcidePath();
  if (!std::filesystem::exists(path)) GTEST_SKIP() << "no GCIDE at " << path;
  expectLossFallsOnGcide(path, false, "GCIDE");
}

TEST(Trainer, NonFiniteStopsAtTheStep) {
  Dataset data = syntheticText(200000);
  const std::string dir = testing::TempDir() + "/sparta-nan";
  std::filesystem::remove_all(dir);
  TrainerConfig t = smallTrainer(dir);
  t.checkpointEvery = 1;
  t.beforeStep = [](int64_t step, Transformer &m) {
    if (step != 3) return;
    std::vector<float> p = m.parameters();
    p[m.layout().get("blocks.1.mlp.fc1.weight").offset + 5] = std::nanf("");
    m.setParameters(p);
  };
  TrainResult r = Trainer(t, &data).run();
  EXPECT_EQ(r.failedStep, 3);
  EXPECT_EQ(r.lastStep, 2);
  EXPECT_NE(r.message.find("step 3"), std::string::npos) << r.message;
  EXPECT_NE(r.lastCheckpoint.find("step-"), std::string::npos);
  Checkpoint last = loadCheckpoint(r.lastCheckpoint);
  EXPECT_EQ(last.meta.getInt("step"), 2);
  std::printf("%s\n", r.message.c_str());

  // An infinite learning rate is refused up front.
  TrainerConfig bad = smallTrainer("");
  bad.lr = INFINITY;
  EXPECT_THROW(Trainer(bad, &data).run(), Error);
}

} // namespace

int main(int argc, char **argv) { return sparta::test::runGpuTests(argc, argv); }
