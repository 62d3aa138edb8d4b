//===- NcclTest.cpp - NCCL opened at run time, without a GPU --------------===//
//
// Nccl.h on the CPU: whether the library loads is a probe that never throws;
// once it is loaded NCCL_NVLS_ENABLE is 0 whatever it was before; the error
// for a missing library names it and what it was needed for; where NCCL is
// installed, ncclGetUniqueId (which needs no GPU) gives fresh ids. The
// collectives themselves are in tests/train/data_parallel_gpu.py.
//
//===----------------------------------------------------------------------===//
#include "sparta/runtime/Nccl.h"

#include "sparta/Error.h"

#include <gtest/gtest.h>

#include <cstdlib>

using namespace sparta::rt;

namespace {

// One test: the library is opened once per process, so the environment has
// to be set before the first probe.
TEST(Nccl, LoadedAtRunTimeWithMulticastOff) {
  setenv("NCCL_NVLS_ENABLE", "1", 1);
  std::string why;
  const bool available = ncclAvailable(&why);
  ASSERT_NE(std::getenv("NCCL_NVLS_ENABLE"), nullptr);
  EXPECT_STREQ(std::getenv("NCCL_NVLS_ENABLE"), "0") << "forced off before NCCL reads it";
  if (!available) {
    EXPECT_FALSE(why.empty());
    try {
      requireNccl("--world-size > 1");
      FAIL() << "requireNccl passed without NCCL";
    } catch (const sparta::Error &e) {
      const std::string message = e.what();
      EXPECT_EQ(message.rfind("NCCL not found (", 0), 0u) << message;
      EXPECT_NE(message.find("): needed for --world-size > 1; " + why), std::string::npos) << message;
    }
    GTEST_SKIP() << "NCCL is not installed here: " << why;
  }
  EXPECT_NO_THROW(requireNccl("--world-size > 1"));
  const NcclUniqueId a = ncclNewUniqueId(), b = ncclNewUniqueId();
  EXPECT_NE(a.bytes, NcclUniqueId{}.bytes);
  EXPECT_NE(a.bytes, b.bytes);
}

} // namespace
