//===- LrScheduleTest.cpp - Linear warm-up and cosine decay of the rate -----===//
//
// Values computed by hand from the formula in LrSchedule.h.
//
//===----------------------------------------------------------------------===//
#include "sparta/model/LrSchedule.h"
#include "sparta/Error.h"

#include <gtest/gtest.h>

#include <cmath>

using namespace sparta;
using namespace sparta::model;

namespace {
LrSchedule make(double peak, double floor, int64_t warmup, int64_t total) {
  LrSchedule s;
  s.peak = peak;
  s.floor = floor;
  s.warmupSteps = warmup;
  s.totalSteps = total;
  return s;
}
} // namespace

TEST(Schedule, WarmupIsLinear) {
  LrSchedule s = make(1e-3, 1e-5, 100, 1101);
  EXPECT_DOUBLE_EQ(s.at(0), 1e-5);  // 1e-3 * 1/100
  EXPECT_DOUBLE_EQ(s.at(49), 5e-4); // 1e-3 * 50/100
  EXPECT_DOUBLE_EQ(s.at(99), 1e-3); // the last warm-up step reaches the peak
  for (int64_t i = 1; i < 100; ++i)
    EXPECT_GT(s.at(i), s.at(i - 1));
}

TEST(Schedule, CosineDecaysToTheFloor) {
  // 1000 decay steps: p = (step - 100) / 1000.
  LrSchedule s = make(1e-3, 1e-5, 100, 1101);
  EXPECT_DOUBLE_EQ(s.at(100), 1e-3);                                                  // p = 0
  EXPECT_DOUBLE_EQ(s.at(600), 1e-5 + (1e-3 - 1e-5) * 0.5);                            // p = 1/2
  EXPECT_NEAR(s.at(350), 1e-5 + (1e-3 - 1e-5) * (1 + std::cos(M_PI / 4)) / 2, 1e-15); // p = 1/4
  EXPECT_NEAR(s.at(850), 1e-5 + (1e-3 - 1e-5) * (1 + std::cos(3 * M_PI / 4)) / 2, 1e-15);
  EXPECT_DOUBLE_EQ(s.at(1100), 1e-5); // the last step
  EXPECT_DOUBLE_EQ(s.at(5000), 1e-5); // and after it
  for (int64_t i = 101; i <= 1100; ++i)
    EXPECT_LE(s.at(i), s.at(i - 1));
}

TEST(Schedule, EdgeCases) {
  LrSchedule noWarmup = make(2.0, 0, 0, 3);
  EXPECT_DOUBLE_EQ(noWarmup.at(0), 2.0);
  EXPECT_DOUBLE_EQ(noWarmup.at(1), 1.0);
  EXPECT_DOUBLE_EQ(noWarmup.at(2), 0.0);
  LrSchedule allWarmup = make(1.0, 0.1, 4, 5); // nothing left to decay over
  EXPECT_DOUBLE_EQ(allWarmup.at(0), 0.25);
  EXPECT_DOUBLE_EQ(allWarmup.at(4), 1.0);
  LrSchedule one = make(1.0, 0.0, 0, 1);
  EXPECT_DOUBLE_EQ(one.at(0), 1.0);
}

TEST(Schedule, BadParametersAreRejected) {
  EXPECT_THROW(make(0, 0, 0, 10).validate(), Error);
  EXPECT_THROW(make(NAN, 0, 0, 10).validate(), Error);
  EXPECT_THROW(make(1, 2, 0, 10).validate(), Error); // floor above peak
  EXPECT_THROW(make(1, -1, 0, 10).validate(), Error);
  EXPECT_THROW(make(1, 0, 10, 10).validate(), Error); // warm-up as long as the run
  EXPECT_THROW(make(1, 0, -1, 10).validate(), Error);
  EXPECT_THROW(make(1, 0, 0, 0).validate(), Error);
  EXPECT_THROW(make(1, 0, 0, 10).at(-1), Error);
  try {
    make(1, 0, 20, 10).validate();
  } catch (const Error &e) {
    EXPECT_NE(std::string(e.what()).find("warm-up"), std::string::npos) << e.what();
  }
}
