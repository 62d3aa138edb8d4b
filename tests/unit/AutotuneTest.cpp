//===- AutotuneTest.cpp - Autotuning's decisions that need no GPU -----------===//
//
// When tuning runs (the config, SPARTA_AUTOTUNE and its refusal of bad
// values), which candidates it times (one per distinct kernel set: a forced
// edge that gives the planner's code is not timed twice), the record's key
// and text, and the kernel cache's tuning records (round trip, damaged or
// moved records read as misses). The timing itself runs in the GPU suite
// (SparseAttentionTest's Autotune test).
//
//===----------------------------------------------------------------------===//
#include "PatternCases.h"
#include "TempDir.h"

#include "sparta/Autotune.h"
#include "sparta/Error.h"
#include "sparta/KernelCache.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <set>

namespace sparta {
namespace {

/// Sets SPARTA_AUTOTUNE for one scope (unset: nullptr), restoring it after.
class AutotuneEnv {
public:
  explicit AutotuneEnv(const char *value) {
    if (const char *old = std::getenv("SPARTA_AUTOTUNE"))
      old_ = old;
    value ? ::setenv("SPARTA_AUTOTUNE", value, 1) : ::unsetenv("SPARTA_AUTOTUNE");
  }
  ~AutotuneEnv() {
    old_ ? ::setenv("SPARTA_AUTOTUNE", old_->c_str(), 1) : ::unsetenv("SPARTA_AUTOTUNE");
  }

private:
  std::optional<std::string> old_;
};

/// The tile edges the planner gives the components of `pattern`.
std::set<int> plannedTiles(const ConcretePattern &pattern) {
  Plan plan;
  generateForPattern(pattern, compileOptionsFor(AttentionConfig{}, "sm_90a"), &plan);
  std::set<int> tiles;
  for (const HeadPlan &head : plan.heads)
    for (const PlanComponent &component : head.components)
      tiles.insert(component.schedule.qTile);
  return tiles;
}

TEST(Autotune, RequestedOnlyWhenAskedAndNoTileIsForced) {
  AttentionConfig config;
  {
    AutotuneEnv env(nullptr);
    EXPECT_FALSE(autotuneRequested(config));
  }
  {
    AutotuneEnv env("0");
    EXPECT_FALSE(autotuneRequested(config));
  }
  {
    AutotuneEnv env("1");
    EXPECT_TRUE(autotuneRequested(config));
    config.autotune = Autotune::Off;
    EXPECT_FALSE(autotuneRequested(config));
    config.autotune = Autotune::Environment;
    config.tile = 32; // a forced edge is never tuned
    EXPECT_FALSE(autotuneRequested(config));
  }
  AutotuneEnv env(nullptr);
  config.tile = 0;
  config.autotune = Autotune::On;
  EXPECT_TRUE(autotuneRequested(config));
}

TEST(Autotune, BadEnvironmentValueIsAnErrorThatSaysWhatIsExpected) {
  AutotuneEnv env("yes");
  try {
    autotuneRequested(AttentionConfig{});
    FAIL() << "SPARTA_AUTOTUNE=yes was accepted";
  } catch (const Error &error) {
    EXPECT_NE(std::string(error.what()).find("SPARTA_AUTOTUNE='yes': expected 1"),
              std::string::npos)
        << error.what();
  }
}

TEST(Autotune, CandidatesAreThePlannerFirstAndEachDistinctForcedEdge) {
  // Fashion-MNIST strided (the planner takes 32 for both components), dense
  // causal (64 everywhere) and fixed (32 for the chunks, 64 for the summary).
  for (const auto &[name, params] :
       {std::pair{"strided", testing::Params{784, 28, 7}}, std::pair{"dense", testing::Params{4096, 64, 16}},
        std::pair{"fixed", testing::Params{784, 28, 7}}}) {
    SCOPED_TRACE(name);
    const ConcretePattern pattern = testing::loadPatternFile(name, params);
    const std::vector<int> candidates = autotuneCandidates(pattern, AttentionConfig{});
    ASSERT_FALSE(candidates.empty());
    EXPECT_EQ(candidates.front(), 0);
    const std::set<int> planned = plannedTiles(pattern);
    for (int tile : {64, 32, 16}) {
      const bool timed = std::count(candidates.begin(), candidates.end(), tile) == 1;
      // A forced edge gives the planner's code exactly when the planner chose
      // that edge for every component.
      const bool same = planned == std::set<int>{tile};
      EXPECT_EQ(timed, !same) << "tile " << tile;
    }
  }
}

TEST(Autotune, RecordKeyNamesTheDeviceAndTheKernels) {
  const ConcretePattern a = testing::loadPatternFile("strided", {784, 28, 7});
  const ConcretePattern b = testing::loadPatternFile("strided", {1024, 32, 8});
  const AttentionConfig config;
  const std::string key = autotuneRecordKey(a, config, "NVIDIA H200", "sm_90a");
  EXPECT_EQ(key, autotuneRecordKey(a, config, "NVIDIA H200", "sm_90a"));
  EXPECT_NE(key, autotuneRecordKey(a, config, "NVIDIA H100 80GB HBM3", "sm_90a"));
  EXPECT_NE(key, autotuneRecordKey(b, config, "NVIDIA H200", "sm_90a"));
  AttentionConfig fp16 = config;
  fp16.dtype = ElementType::FP16;
  EXPECT_NE(key, autotuneRecordKey(a, fp16, "NVIDIA H200", "sm_90a"));
}

TEST(Autotune, RecordTextRoundTripsAndRejectsWhatItDoesNotName) {
  TileChoice choice;
  choice.tile = 32;
  choice.timings = {{0, 0.5f}, {64, 0.7f}, {32, 0.4f}};
  const std::string text = formatTuningRecord(choice);
  EXPECT_EQ(parseTuningRecord(text, {0, 64, 32, 16}), std::optional<int>(32));
  EXPECT_EQ(parseTuningRecord(text, {0, 64, 16}), std::nullopt); // 32 is not a candidate now
  EXPECT_EQ(parseTuningRecord("", {0, 32}), std::nullopt);
  EXPECT_EQ(parseTuningRecord("sparta tuning record 1\ntile x\n", {0, 32}), std::nullopt);
  EXPECT_EQ(parseTuningRecord("sparta tuning record 2\ntile 32\n", {0, 32}), std::nullopt);
}

TEST(KernelCacheRecords, RoundTripDamagedAndMovedRecordsAreMisses) {
  testing::TempDir dir;
  const KernelCache cache((dir.path / "cache").string());
  const std::string key(64, 'a'), other(64, 'b');
  EXPECT_EQ(cache.loadRecord(key), std::nullopt);
  ASSERT_TRUE(cache.storeRecord(key, "sparta tuning record 1\ntile 16\n"));
  EXPECT_EQ(cache.loadRecord(key), std::optional<std::string>("sparta tuning record 1\ntile 16\n"));
  EXPECT_EQ(cache.load(key), std::nullopt); // a record is not a kernel entry

  // Moved under another key: someone else's record.
  std::filesystem::copy_file(cache.recordPath(key), cache.recordPath(other));
  EXPECT_EQ(cache.loadRecord(other), std::nullopt);

  // A flipped byte fails the checksum.
  std::string bytes = testing::readFile(cache.recordPath(key));
  bytes[bytes.size() / 2] ^= 1;
  testing::writeFile(cache.recordPath(key), bytes);
  EXPECT_EQ(cache.loadRecord(key), std::nullopt);
}

} // namespace
} // namespace sparta
