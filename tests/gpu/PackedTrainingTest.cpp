//===- PackedTrainingTest.cpp - The GPU Transformer and trainer on packed rows //
//
//  (a) loss and every parameter gradient of a tiny model on packed rows
//      (DocumentPacker) against the CPU fp32 reference with the same
//      documents (TransformerReference.h), for a pattern of period 8 (fixed,
//      multihead) and one of period 1 (strided, interleaved, dropout 0.1);
//      the bound is TransformerTest's (4% of a tensor's gradient norm, 2e-3
//      relative on the loss);
//  (b) the trainer with pack on: a run interrupted after a checkpoint and
//      resumed reproduces the uninterrupted run's losses and validation bit
//      for bit, and the packed validation is over the counted targets;
//  (c) packed rows with no document per row, or no target to take the mean
//      over, are refused with what is wrong;
//  (d) the training loss falls on GCIDE's entries within 50 steps (skipped
//      when the file or its index is missing; SPARTA_GCIDE overrides the
//      .dict.dz path, its .index beside it).
//
// Exits 77 (skipped) without a CUDA driver.
//
//===----------------------------------------------------------------------===//
#include "GpuTestMain.h"
#include "TransformerChecks.h"
#include "sparta/Error.h"
#include "sparta/Float16.h"
#include "sparta/model/Packer.h"
#include "sparta/model/Trainer.h"
#include "sparta/model/Transformer.h"
#include "sparta/model/TransformerReference.h"

#include <gtest/gtest.h>

#include <cmath>
#include <cstdio>
#include <filesystem>
#include <string>
#include <vector>

using namespace sparta;
using namespace sparta::model;
using namespace sparta::model::test;

namespace {

/// Text of words with documents of 2 to 40 bytes between gaps of one byte
/// (rows of T = 64 then hold several),
/// in train (80%) and validation (20%).
Dataset documentedText(size_t bytes, uint64_t seed) {
  Rng rng(seed);
  const std::string words[] = {"the ", "of ", "a ", "sparse ", "transformer ", "attends ", "to ",
                               "bytes", ". ", "\n"};
  std::string text;
  while (text.size() < bytes) text += words[rng.below(10)];
  Dataset d;
  d.name = "documents";
  d.hasDocuments = true;
  const size_t trainBytes = bytes * 8 / 10;
  d.train.assign(text.begin(), text.begin() + trainBytes);
  d.validation.assign(text.begin() + trainBytes, text.begin() + bytes);
  auto cut = [&](const std::vector<uint8_t> &split, std::vector<DocumentRange> &docs) {
    for (int64_t at = 0; at + 2 <= int64_t(split.size());) {
      int64_t length = std::min<int64_t>(2 + int64_t(rng.below(39)), int64_t(split.size()) - at);
      docs.push_back({at, length});
      at += length + 1;
    }
  };
  cut(d.train, d.trainDocuments);
  cut(d.validation, d.validationDocuments);
  return d;
}

struct Case {
  const char *name;
  HeadsMode mode;
  float dropout;
  const char *pattern;
  ParamBindings params;
  int64_t period;
};

class PackedGradientTest : public testing::TestWithParam<Case> {};

TEST_P(PackedGradientTest, MatchesCpuReference) {
  const Case &tc = GetParam();
  ModelConfig c;
  c.layers = 2, c.dModel = 64, c.heads = 2, c.ffMult = 4, c.T = 64;
  c.headsMode = tc.mode;
  c.dropout = tc.dropout;
  c.patternPath = patternFile(tc.pattern);
  c.patternParams = tc.params;
  const int B = 3;
  std::vector<float> params = initParameters(c, 7);
  for (float &x : params) x = sparta::bf16Value(sparta::bf16Bits(x * 2.f));
  Dataset data = documentedText(20000, 3);
  DocumentPacker packer(data, Split::Train, c.T, tc.period);
  Batch batch;
  packer.fill({0, 11, 40}, true, batch);
  ASSERT_GT(batch.documents, 1) << "rows of several documents";
  const PackedRows packed = batch.packedRows(0, double(batch.targets));

  Transformer gpu(c, B);
  gpu.setParameters(params);
  const uint64_t seed = 1234, offset = 40;
  double loss = gpu.forwardBackward(batch.tokens.data(), B, seed, offset, &packed);
  std::vector<float> grads = gpu.gradients();
  ReferenceResult want =
      referenceForwardBackward(c, params, batch.tokens.data(), B, seed, offset, &packed);
  EXPECT_NEAR(loss, want.loss, 2e-3 * want.loss) << "loss";
  const auto [worst, worstName] = expectGradientsNear(gpu.layout(), grads, want.grads);
  // The evaluation's sum is the same loss over the counted targets.
  double sum = gpu.evaluate(batch.tokens.data(), B, &packed);
  if (tc.dropout == 0.f) {
    EXPECT_NEAR(sum / double(batch.targets), loss, 1e-6 * loss);
  }
  // The attention keeps to the documents: the same rows and targets as one
  // document per row give another loss.
  std::vector<int32_t> wholeRows;
  for (int r = 0; r < B; ++r) wholeRows.insert(wholeRows.end(), {0, c.T});
  const PackedRows oneDocument{1, wholeRows.data(), batch.counted.data(), double(batch.targets)};
  double mixed = gpu.evaluate(batch.tokens.data(), B, &oneDocument);
  EXPECT_GT(std::fabs(mixed - sum), 1e-3 * sum);
  std::printf("[%s] %lld documents per row, %lld of %d targets count; loss gpu %.6f ref %.6f; "
              "worst gradient error %.4f (%s)\n",
              tc.name, (long long)batch.documents, (long long)batch.targets, B * c.T, loss,
              want.loss, worst, worstName.c_str());
}

INSTANTIATE_TEST_SUITE_P(
    Tiny, PackedGradientTest,
    testing::Values(Case{"fixed_multihead", HeadsMode::Multihead, 0.f, "fixed.mlir",
                         {{"L", 8}, {"c", 2}}, 8},
                    Case{"strided_interleaved_dropout", HeadsMode::Interleaved, 0.1f,
                         "strided.mlir", {{"L", 8}}, 1}),
    [](const testing::TestParamInfo<Case> &info) { return std::string(info.param.name); });

TrainerConfig packedTrainer(const std::string &dir) {
  TrainerConfig t;
  t.model.layers = 2, t.model.dModel = 64, t.model.heads = 2, t.model.T = 64;
  t.model.patternPath = patternFile("fixed.mlir");
  t.model.patternParams = {{"L", 8}, {"c", 2}};
  t.model.dropout = 0.1f;
  t.pack = true;
  t.batch = 4, t.steps = 6, t.lr = 3e-3, t.warmup = 2;
  t.evalEvery = 3, t.evalRows = 8, t.checkpointEvery = 3;
  t.outDir = dir;
  t.progress = false;
  t.seed = 21;
  return t;
}

TEST(PackedTrainer, ResumeReproducesLossesAndValidation) {
  Dataset data = documentedText(200000, 5);
  const std::string root = testing::TempDir() + "/sparta-packed-resume";
  std::filesystem::remove_all(root);
  TrainResult full = Trainer(packedTrainer(root + "/full"), &data).run();
  ASSERT_EQ(full.losses.size(), 6u);
  for (double l : full.losses) EXPECT_TRUE(std::isfinite(l));
  TrainerConfig first = packedTrainer(root + "/split");
  first.stopAfter = 3;
  ASSERT_EQ(Trainer(first, &data).run().lastStep, 3);
  TrainerConfig second = packedTrainer(root + "/split");
  second.resume = true;
  TrainResult b = Trainer(second, &data).run();
  ASSERT_EQ(b.losses.size(), 3u);
  for (int i = 0; i < 3; ++i) EXPECT_EQ(b.losses[i], full.losses[3 + i]) << "step " << 4 + i;
  EXPECT_EQ(b.validationBits, full.validationBits);
  EXPECT_TRUE(std::isfinite(full.validationBits));
  // The checkpoint says the run packs; an unpacked resume is refused.
  TrainerConfig unpacked = packedTrainer(root + "/split");
  unpacked.resume = true, unpacked.pack = false, unpacked.steps = 9;
  EXPECT_THROW(Trainer(unpacked, &data).run(), Error);
  std::printf("packed run: losses %.4f .. %.4f, validation %.4f bits/byte\n", full.losses.front(),
              full.losses.back(), full.validationBits);
}

TEST(PackedRows, WithoutDocumentsOrCountedTargetsAreRefused) {
  ModelConfig c;
  c.layers = 1, c.dModel = 64, c.heads = 2, c.T = 64;
  c.patternPath = patternFile("fixed.mlir");
  c.patternParams = {{"L", 8}, {"c", 2}};
  Transformer gpu(c, 1);
  gpu.setParameters(initParameters(c, 3));
  std::vector<uint8_t> tokens(c.T + 1, 'a');
  std::vector<int32_t> cu = {0, c.T};
  std::vector<uint8_t> counted(c.T, 1);
  auto expectError = [&](const PackedRows &rows, const std::string &message) {
    try {
      gpu.forwardBackward(tokens.data(), 1, 1, 0, &rows);
      ADD_FAILURE() << "no error; expected: " << message;
    } catch (const Error &e) {
      EXPECT_NE(std::string(e.what()).find(message), std::string::npos) << e.what();
    }
  };
  expectError(PackedRows{0, cu.data(), counted.data(), double(c.T)},
              "packed rows need at least one document per row (got 0)");
  expectError(PackedRows{1, cu.data(), counted.data(), 0.0},
              "which must be positive (got 0");
}

TEST(PackedTrainer, LossFallsOnGcideEntries) {
  const std::string path = gcidePath();
  if (!std::filesystem::exists(path) || !std::filesystem::exists(dictIndexPath(path)))
    GTEST_SKIP() << "no GCIDE with its index at " << path << " (and " << dictIndexPath(path) << ")";
  expectLossFallsOnGcide(path, true, "GCIDE entries, packed");
}

} // namespace

int main(int argc, char **argv) { return sparta::test::runGpuTests(argc, argv); }
