//===- StopSignalTest.cpp - SIGINT/SIGTERM recorded, not fatal, in a scope -===//
//
// The trainer's side of a signal (StopSignal.h): inside a scope the first
// SIGINT/SIGTERM is only recorded (the process goes on), a second one kills
// (checked in a death test, a child process), and the handlers in place before
// the scope come back after it.
//
//===----------------------------------------------------------------------===//
#include "sparta/model/StopSignal.h"

#include <gtest/gtest.h>

#include <csignal>

using namespace sparta::model;

namespace {

volatile std::sig_atomic_t customHandlerSaw = 0;
extern "C" void customHandler(int signal) { customHandlerSaw = signal; }

TEST(StopSignal, FirstSignalIsRecordedNotFatal) {
  for (int signal : {SIGINT, SIGTERM}) {
    StopSignalScope scope;
    EXPECT_EQ(stopSignal(), 0);
    ASSERT_EQ(std::raise(signal), 0);
    EXPECT_EQ(stopSignal(), signal) << stopSignalName(signal);
  }
  EXPECT_EQ(stopSignalName(SIGINT), "SIGINT");
  EXPECT_EQ(stopSignalName(SIGTERM), "SIGTERM");
}

TEST(StopSignal, ANewScopeStartsClear) {
  {
    StopSignalScope scope;
    std::raise(SIGTERM);
    EXPECT_EQ(stopSignal(), SIGTERM);
  }
  StopSignalScope again;
  EXPECT_EQ(stopSignal(), 0);
}

TEST(StopSignal, SecondSignalKills) {
  for (int signal : {SIGINT, SIGTERM})
    EXPECT_EXIT(
        {
          StopSignalScope scope;
          std::raise(signal);
          if (stopSignal() != signal) std::_Exit(10);
          std::raise(signal);
          std::_Exit(11); // not reached: the second signal has the default action
        },
        ::testing::KilledBySignal(signal), "");
}

TEST(StopSignal, PreviousHandlersAreRestored) {
  auto *before = std::signal(SIGTERM, customHandler);
  {
    StopSignalScope scope;
    std::raise(SIGTERM);
    EXPECT_EQ(customHandlerSaw, 0);
  }
  std::raise(SIGTERM);
  EXPECT_EQ(customHandlerSaw, SIGTERM);
  std::signal(SIGTERM, before);
}

} // namespace
