//===- RendezvousTest.cpp - Ranks meeting through a file (threads here) ---===//
//
// Rendezvous.h: every rank receives rank 0's token and the files are gone
// afterwards; a rank that never comes, a rank 0 that never writes, a file
// written for another world size, a file left from an earlier run and a file
// sparta did not write each end in a message that says so.
//
//===----------------------------------------------------------------------===//
#include "sparta/model/Rendezvous.h"

#include "ErrorOf.h"
#include "TempDir.h"

#include <gtest/gtest.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <thread>

using namespace sparta::model;
using sparta::testing::errorOf;
using sparta::testing::TempDir;

namespace {

std::vector<uint8_t> someToken() {
  std::vector<uint8_t> token(128);
  for (size_t i = 0; i < token.size(); ++i) token[i] = uint8_t(i * 37 + 11);
  return token;
}

RendezvousOptions inDir(const TempDir &dir, int worldSize, double timeoutSeconds) {
  RendezvousOptions o;
  o.path = (dir.path / "rendezvous").string();
  o.worldSize = worldSize;
  o.timeoutSeconds = timeoutSeconds;
  return o;
}

TEST(Rendezvous, EveryRankGetsRankZerosToken) {
  TempDir dir;
  const RendezvousOptions o = inDir(dir, 4, 30);
  const std::vector<uint8_t> token = someToken();
  std::vector<std::vector<uint8_t>> received(o.worldSize);
  std::vector<std::string> errors(o.worldSize);
  std::vector<std::thread> ranks;
  // The other ranks start first and wait; rank 0 comes a little later.
  for (int r = 1; r < o.worldSize; ++r)
    ranks.emplace_back([&, r] { errors[r] = errorOf([&] { received[r] = joinRendezvous(o, r); }); });
  std::this_thread::sleep_for(std::chrono::milliseconds(100));
  publishRendezvous(o, token);
  for (std::thread &t : ranks) t.join();
  for (int r = 1; r < o.worldSize; ++r) {
    EXPECT_EQ(errors[r], "") << "rank " << r;
    EXPECT_EQ(received[r], token) << "rank " << r;
  }
  EXPECT_TRUE(std::filesystem::is_empty(dir.path)) << "the rendezvous and marker files are removed";
}

TEST(Rendezvous, MissingRanksAreNamed) {
  TempDir dir;
  std::thread rank2([&] { joinRendezvous(inDir(dir, 4, 5), 2); });
  const RendezvousOptions o = inDir(dir, 4, 0.5);
  EXPECT_EQ(errorOf([&] { publishRendezvous(o, someToken()); }),
            "ranks 1, 3 of 4 did not join through the rendezvous file " + o.path +
                " within 0.5 s (are they running, with the same --rendezvous, on a file system every rank sees?)");
  rank2.join();
  EXPECT_TRUE(std::filesystem::is_empty(dir.path));
}

TEST(Rendezvous, NoRankZero) {
  TempDir dir;
  const RendezvousOptions o = inDir(dir, 2, 0.2);
  EXPECT_EQ(errorOf([&] { joinRendezvous(o, 1); }),
            "rank 1 of 2: rank 0 wrote no rendezvous file " + o.path +
                " within 0.2 s (is rank 0 running, with the same --rendezvous, on a file system every rank sees?)");
}

TEST(Rendezvous, DifferentWorldSizes) {
  TempDir dir;
  const RendezvousOptions rank0 = inDir(dir, 4, 0.5), rank1 = inDir(dir, 2, 5);
  std::string publishError;
  std::thread publisher([&] { publishError = errorOf([&] { publishRendezvous(rank0, someToken()); }); });
  EXPECT_EQ(errorOf([&] { joinRendezvous(rank1, 1); }),
            "rank 1 of 2: the rendezvous file " + rank0.path +
                " was written by a rank 0 started with world size 4; every rank must be started with the same "
                "world size");
  publisher.join();
  EXPECT_NE(publishError.find("ranks 1, 2, 3 of 4 did not join"), std::string::npos) << publishError;
}

TEST(Rendezvous, LeftoverOrForeignFile) {
  TempDir dir;
  const RendezvousOptions o = inDir(dir, 2, 1);
  std::ofstream(o.path) << "not a token\n";
  EXPECT_EQ(errorOf([&] { publishRendezvous(o, someToken()); }),
            "rendezvous file " + o.path +
                " already exists (left by a run that did not finish starting?); remove it and start every rank "
                "again");
  EXPECT_EQ(errorOf([&] { joinRendezvous(o, 1); }),
            "rendezvous file " + o.path + " was not written by sparta (first line 'not a token')");
}

} // namespace
