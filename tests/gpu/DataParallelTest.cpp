//===- DataParallelTest.cpp - The gradient all-reduce beside the backward -===//
//
//  (a) one rank, a communicator of one (runs on a one-GPU machine): the
//      bucketed all-reduce hooked into the backward, with many small buckets
//      or one, leaves the loss and every gradient bit for bit as a model
//      without it, over two steps; sumOverRanks returns its values;
//  (b) two ranks on two GPUs (threads of this process, one per device): each
//      rank's model trains on its half of the rows; afterwards both hold the
//      same gradient bits, within 1% of each tensor's norm of the gradient one
//      model computes over all the rows (bf16 GEMMs summing over half as many
//      rows), and the mean of their losses is the whole batch's loss.
//
// Skipped without NCCL, (b) with fewer than two GPUs; exits 77 without a
// CUDA driver.
//
//===----------------------------------------------------------------------===//
#include "GpuTestMain.h"
#include "sparta/model/Data.h"
#include "sparta/model/DataParallel.h"
#include "sparta/model/Transformer.h"
#include "sparta/runtime/Nccl.h"

#include <gtest/gtest.h>

#include <unistd.h>

#include <cmath>
#include <filesystem>
#include <thread>

using namespace sparta;
using namespace sparta::model;

namespace {

constexpr int kRows = 4;
constexpr uint64_t kSeed = 5;

ModelConfig tinyConfig() {
  ModelConfig c;
  c.layers = 3, c.dModel = 64, c.heads = 2, c.T = 64;
  std::string pattern = std::string(SPARTA_SOURCE_DIR) + "/patterns/strided.mlir";
  c.patternPath = std::filesystem::exists(pattern) ? pattern : "patterns/strided.mlir";
  c.patternParams = {{"L", 8}};
  return c;
}

std::vector<uint8_t> someRows(int rows, int T) {
  Rng rng(17);
  std::vector<uint8_t> bytes(std::size_t(rows) * (T + 1));
  for (uint8_t &b : bytes) b = uint8_t(97 + rng.below(20));
  return bytes;
}

RendezvousOptions meeting(const std::string &name, int worldSize) {
  RendezvousOptions o;
  o.path = ::testing::TempDir() + "sparta-dp-" + std::to_string(::getpid()) + "-" + name;
  o.worldSize = worldSize;
  o.timeoutSeconds = 60;
  return o;
}

Ranks rankOf(int worldSize, int rank) {
  Ranks r;
  r.worldSize = worldSize, r.rank = rank, r.localRank = rank;
  return r;
}

bool skipWithoutNccl() {
  std::string why;
  if (rt::ncclAvailable(&why)) return false;
  std::printf("NCCL is not available: %s\n", why.c_str());
  return true;
}

TEST(DataParallel, OneRankChangesNothing) {
  if (skipWithoutNccl()) GTEST_SKIP() << "no NCCL";
  const ModelConfig c = tinyConfig();
  const std::vector<uint8_t> tokens = someRows(kRows, c.T);
  Transformer plain(c, kRows, kSeed);
  std::vector<double> plainLosses;
  std::vector<std::vector<float>> plainGradients;
  for (int step = 0; step < 2; ++step) {
    plainLosses.push_back(plain.forwardBackward(tokens.data() + step * (c.T + 1), kRows - step));
    plainGradients.push_back(plain.gradients());
  }
  for (std::size_t bucketBytes : {std::size_t(4096), std::size_t(1) << 30}) {
    SCOPED_TRACE("buckets of " + std::to_string(bucketBytes) + " bytes");
    Transformer model(c, kRows, kSeed);
    DataParallel dp(rankOf(1, 0), meeting("one-" + std::to_string(bucketBytes), 1), model, bucketBytes);
    EXPECT_EQ(dp.buckets().size() > 1, bucketBytes == 4096);
    for (int step = 0; step < 2; ++step) {
      EXPECT_EQ(model.forwardBackward(tokens.data() + step * (c.T + 1), kRows - step), plainLosses[step]);
      EXPECT_EQ(model.gradients(), plainGradients[step]) << "step " << step;
    }
    EXPECT_EQ(dp.sumOverRanks({1.5, -2.0}), (std::vector<double>{1.5, -2.0}));
    EXPECT_EQ(dp.meanOverRanks(3.25), 3.25);
  }
}

TEST(DataParallel, TwoRanksAverageTheWholeBatchsGradient) {
  if (skipWithoutNccl()) GTEST_SKIP() << "no NCCL";
  if (rt::deviceCount() < 2) GTEST_SKIP() << "needs 2 GPUs, this machine has " << rt::deviceCount();
  const ModelConfig c = tinyConfig();
  const std::vector<uint8_t> tokens = someRows(kRows, c.T);
  Transformer whole(c, kRows, kSeed);
  const double wholeLoss = whole.forwardBackward(tokens.data(), kRows);
  const std::vector<float> wholeGradient = whole.gradients();

  const int world = 2, rows = kRows / world;
  std::vector<std::unique_ptr<Transformer>> models(world);
  for (int r = 0; r < world; ++r) {
    rt::DeviceScope device(r);
    models[r] = std::make_unique<Transformer>(c, rows, kSeed);
  }
  std::vector<double> meanLoss(world);
  std::vector<std::vector<float>> gradients(world);
  std::vector<std::string> errors(world);
  std::vector<std::thread> ranks;
  const RendezvousOptions place = meeting("two", world);
  for (int r = 0; r < world; ++r)
    ranks.emplace_back([&, r] {
      try {
        rt::DeviceScope device(r);
        DataParallel dp(rankOf(world, r), place, *models[r], 4096);
        const double loss = models[r]->forwardBackward(tokens.data() + std::size_t(r) * rows * (c.T + 1), rows);
        meanLoss[r] = dp.meanOverRanks(loss);
        gradients[r] = models[r]->gradients();
      } catch (const std::exception &e) {
        errors[r] = e.what();
      }
    });
  for (std::thread &t : ranks) t.join();
  ASSERT_EQ(errors, std::vector<std::string>(world));
  EXPECT_EQ(gradients[0], gradients[1]) << "the ranks' averaged gradients differ";
  EXPECT_EQ(meanLoss[0], meanLoss[1]);
  EXPECT_NEAR(meanLoss[0], wholeLoss, 2e-3 * wholeLoss);
  for (const ParamSpec &p : whole.layout().params) {
    double diff = 0, norm = 0;
    for (int64_t i = p.offset; i < p.offset + p.numel; ++i) {
      diff += std::pow(double(gradients[0][i]) - wholeGradient[i], 2);
      norm += std::pow(double(wholeGradient[i]), 2);
    }
    EXPECT_LE(std::sqrt(diff), 1e-2 * std::sqrt(norm) + 1e-6) << p.name;
  }
}

} // namespace

int main(int argc, char **argv) { return sparta::test::runGpuTests(argc, argv); }
