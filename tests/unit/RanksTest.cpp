//===- RanksTest.cpp - Ranks from options and launchers; the batch split --===//
//
// Ranks.h: the command line over torchrun's variables over Slurm's, the
// messages for a missing or impossible rank, the rows each rank takes of a
// global batch (disjoint, in order, covering it, the same rows as the
// one-GPU sampler's batch) and the device of a local rank.
//
//===----------------------------------------------------------------------===//
#include "sparta/model/Ranks.h"

#include "ErrorOf.h"
#include "sparta/model/Data.h"

#include <gtest/gtest.h>

using namespace sparta::model;
using sparta::testing::errorOf;

namespace {

using Env = std::map<std::string, std::string>;

TEST(Ranks, NothingGivenIsOneRank) {
  Ranks r = resolveRanks({}, {});
  EXPECT_EQ(r.worldSize, 1);
  EXPECT_EQ(r.rank, 0);
  EXPECT_EQ(r.localRank, 0);
  EXPECT_FALSE(r.distributed());
  EXPECT_TRUE(r.writesFiles());
}

TEST(Ranks, CommandLineWinsOverTheEnvironment) {
  RankOptions o;
  o.worldSize = 4, o.rank = 3;
  Ranks r = resolveRanks(o, {{"WORLD_SIZE", "8"}, {"RANK", "5"}, {"LOCAL_RANK", "1"}});
  EXPECT_EQ(r.worldSize, 4);
  EXPECT_EQ(r.rank, 3);
  EXPECT_EQ(r.localRank, 1); // not given on the command line: torchrun's
  EXPECT_EQ(r.source, "--world-size");
  EXPECT_FALSE(r.writesFiles());
  o.localRank = 2;
  EXPECT_EQ(resolveRanks(o, {{"LOCAL_RANK", "1"}}).localRank, 2);
}

TEST(Ranks, TorchrunBeforeSlurm) {
  const Env torchrun{{"WORLD_SIZE", "8"}, {"RANK", "6"}, {"LOCAL_RANK", "2"}};
  Env both = torchrun;
  both.insert({{"SLURM_NTASKS", "16"}, {"SLURM_PROCID", "9"}, {"SLURM_LOCALID", "1"}});
  for (const Env &env : {torchrun, both}) {
    Ranks r = resolveRanks({}, env);
    EXPECT_EQ(r.worldSize, 8);
    EXPECT_EQ(r.rank, 6);
    EXPECT_EQ(r.localRank, 2);
    EXPECT_EQ(r.source, "WORLD_SIZE (torchrun)");
  }
  Ranks slurm = resolveRanks({}, {{"SLURM_NTASKS", "16"}, {"SLURM_PROCID", "9"}, {"SLURM_LOCALID", "1"}});
  EXPECT_EQ(slurm.worldSize, 16);
  EXPECT_EQ(slurm.rank, 9);
  EXPECT_EQ(slurm.localRank, 1);
  EXPECT_EQ(slurm.source, "SLURM_NTASKS (Slurm)");
}

TEST(Ranks, LocalRankDefaultsToTheRank) {
  RankOptions o;
  o.worldSize = 2, o.rank = 1;
  EXPECT_EQ(resolveRanks(o, {}).localRank, 1);
}

TEST(Ranks, BadCombinationsAreNamed) {
  RankOptions o;
  o.worldSize = 2;
  EXPECT_EQ(errorOf([&] { resolveRanks(o, {}); }),
            "a world size of 2 (from --world-size) needs this process's rank: --rank R, or RANK (torchrun) "
            "or SLURM_PROCID (Slurm) in the environment");
  o.rank = 2;
  EXPECT_EQ(errorOf([&] { resolveRanks(o, {}); }),
            "rank 2 (from --rank) does not exist in a world of 2 (from --world-size); ranks are 0 to 1");
  EXPECT_EQ(errorOf([&] { resolveRanks({}, {{"WORLD_SIZE", "4"}, {"RANK", "4"}}); }),
            "rank 4 (from RANK (torchrun)) does not exist in a world of 4 (from WORLD_SIZE (torchrun)); "
            "ranks are 0 to 3");
  EXPECT_EQ(errorOf([&] { resolveRanks({}, {{"WORLD_SIZE", "two"}, {"RANK", "0"}}); }),
            "WORLD_SIZE='two' is not a non-negative integer");
  EXPECT_EQ(errorOf([&] { resolveRanks({}, {{"SLURM_NTASKS", "2"}, {"SLURM_PROCID", "-1"}}); }),
            "SLURM_PROCID='-1' is not a non-negative integer");
  RankOptions zero;
  zero.worldSize = 0;
  EXPECT_NE(errorOf([&] { resolveRanks(zero, {}); }).find("does not exist in a world of 0"), std::string::npos);
  RankOptions local;
  local.worldSize = 2, local.rank = 0, local.localRank = 2;
  EXPECT_EQ(errorOf([&] { resolveRanks(local, {}); }), "local rank 2 is outside a world of 2");
}

TEST(RankRows, DisjointInOrderAndCovering) {
  for (int64_t batch : {1, 2, 8, 12, 64})
    for (int world : {1, 2, 3, 4, 8}) {
      if (batch % world) continue;
      int64_t next = 0;
      for (int r = 0; r < world; ++r) {
        RowRange rows = rankRows(batch, world, r);
        EXPECT_EQ(rows.begin, next) << batch << " / " << world << " rank " << r;
        EXPECT_EQ(rows.count(), batch / world);
        next = rows.end;
      }
      EXPECT_EQ(next, batch);
    }
}

TEST(RankRows, BatchNotDivisibleByTheWorld) {
  EXPECT_EQ(errorOf([] { rankRows(6, 4, 0); }),
            "the batch of 6 rows cannot be split over 4 ranks: --batch must be a multiple of the world size "
            "(each rank trains on batch / world-size rows)");
  EXPECT_EQ(errorOf([] { rankRows(8, 2, 2); }), "rank 2 does not exist in a world of 2");
}

// The ranks' rows of each global batch, put together, are the one-GPU run's batch.
TEST(RankRows, ShardsOfTheSamplersBatchesAreTheOneGpuBatches) {
  Dataset data;
  for (int i = 0; i < 5000; ++i) data.train.push_back(uint8_t(i * 7919 % 251));
  const int64_t B = 8, T = 32;
  const int world = 4;
  BatchSampler oneGpu(data, Split::Train, B, T, 42);
  std::vector<BatchSampler> ranks;
  for (int r = 0; r < world; ++r) ranks.emplace_back(data, Split::Train, B, T, 42);
  for (int step = 0; step < 5; ++step) {
    const Batch whole = oneGpu.next();
    std::vector<uint8_t> joined;
    for (int r = 0; r < world; ++r) {
      const Batch global = ranks[r].next();
      const RowRange rows = rankRows(B, world, r);
      joined.insert(joined.end(), global.row(rows.begin), global.row(rows.end));
    }
    EXPECT_EQ(joined, whole.tokens) << "step " << step;
  }
}

TEST(RankDevice, LocalRankOrTheOnlyDevice) {
  Ranks r;
  r.worldSize = 8, r.rank = 5, r.localRank = 3;
  EXPECT_EQ(rankDevice(r, 4), 3);
  EXPECT_EQ(rankDevice(r, 8), 3);
  EXPECT_EQ(rankDevice(r, 1), 0);
  EXPECT_EQ(errorOf([&] { rankDevice(r, 2); }),
            "local rank 3 needs CUDA device 3, but this process sees 2 (start at most that many ranks per "
            "host, or pass --local-rank)");
}

} // namespace
