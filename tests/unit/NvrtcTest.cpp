//===- NvrtcTest.cpp - NVRTC driver and device library, no GPU needed ------===//
//
// Compiles every attention kernel instance the GPU tests use, for sm_80 and
// sm_90a, to CUBIN (NVRTC needs no GPU), and checks ptxas' report: the
// forward kernels must not spill for any head dim up to 128. Also covers the
// driver's error reporting and the ptxas report parser.
//
//===----------------------------------------------------------------------===//
#include "../gpu/AttentionTestCases.h"

#include "sparta/Error.h"
#include "sparta/runtime/AttentionLaunch.h"
#include "sparta/runtime/Cuda.h"
#include "sparta/runtime/Nvrtc.h"

#include <gtest/gtest.h>

#include <cstdio>
#include <future>

using namespace sparta;
using namespace sparta::rt;

TEST(Nvrtc, Version) {
  std::string v = nvrtcVersion();
  EXPECT_NE(v.find('.'), std::string::npos) << v;
}

TEST(Nvrtc, DeviceLibraryIsEmbedded) {
  EXPECT_NE(deviceLibraryHeader("sparta/params.h"), nullptr);
  EXPECT_NE(deviceLibraryHeader("sparta/attention.cuh"), nullptr);
  EXPECT_NE(deviceLibraryHeader("sparta/schedule.cuh"), nullptr);
  EXPECT_EQ(deviceLibraryHeader("sparta/nope.cuh"), nullptr);
}

TEST(Nvrtc, ArchNames) {
  DeviceInfo h100;
  h100.major = 9;
  h100.minor = 0;
  EXPECT_EQ(h100.arch(), "sm_90a");
  DeviceInfo a100;
  a100.major = 8;
  a100.minor = 0;
  EXPECT_EQ(a100.arch(), "sm_80");
  EXPECT_EQ(archNumber("sm_90a"), 90);
  EXPECT_EQ(archNumber("sm_86"), 86);
  EXPECT_THROW(archNumber("compute_90"), Error);
}

TEST(Nvrtc, CudaAvailableNeverThrows) {
  std::string why;
  bool ok = cudaAvailable(&why);
  EXPECT_TRUE(ok || !why.empty());
}

TEST(Nvrtc, CompileErrorQuotesTheGeneratedLine) {
  const std::string src = "#include <sparta/params.h>\n"
                          "extern \"C\" __global__ void k(int *p) {\n"
                          "  *p = undeclared_thing + 1;\n"
                          "}\n";
  try {
    compileCuda(src, "broken.cu", CompileOptions{});
    FAIL() << "expected a compile error";
  } catch (const Error &e) {
    std::string msg = e.what();
    EXPECT_NE(msg.find("broken.cu(3)"), std::string::npos) << msg;
    EXPECT_NE(msg.find("*p = undeclared_thing + 1;"), std::string::npos) << msg;
    EXPECT_NE(msg.find("sm_80"), std::string::npos) << msg;
  }
}

TEST(Nvrtc, PtxasReportParser) {
  const std::string log =
      "ptxas info    : 0 bytes gmem\n"
      "ptxas info    : Compiling entry function 'kern_a' for 'sm_90a'\n"
      "ptxas info    : Function properties for kern_a\n"
      "    8 bytes stack frame, 4 bytes spill stores, 12 bytes spill loads\n"
      "ptxas info    : Used 168 registers, used 1 barriers, 8 bytes smem, 904 bytes cmem[0]\n"
      "ptxas info    : Compiling entry function 'kern_b' for 'sm_90a'\n"
      "ptxas info    : Function properties for kern_b\n"
      "    0 bytes stack frame, 0 bytes spill stores, 0 bytes spill loads\n"
      "ptxas info    : Used 32 registers, used 0 barriers, 400 bytes cmem[0]\n";
  auto ks = parsePtxasReport(log);
  ASSERT_EQ(ks.size(), 2u);
  EXPECT_EQ(ks[0].name, "kern_a");
  EXPECT_EQ(ks[0].registers, 168);
  EXPECT_EQ(ks[0].spillStoreBytes, 4);
  EXPECT_EQ(ks[0].spillLoadBytes, 12);
  EXPECT_EQ(ks[0].stackFrameBytes, 8);
  EXPECT_EQ(ks[0].staticSharedBytes, 8);
  EXPECT_EQ(ks[0].constantBytes, 904);
  EXPECT_EQ(ks[1].registers, 32);
}

TEST(Nvrtc, HostAndDeviceAgreeOnParams) {
  // params.h is compiled by both sides; these sizes are part of the ABI.
  EXPECT_EQ(sizeof(TensorArg), 32u);
  EXPECT_EQ(sizeof(HeadArgs), 24u);
  EXPECT_EQ(sizeof(AttnFwdParams), 4 * 32 + 3 * 8 + 24 + 8u); // lse, o_acc, doc_ids
  EXPECT_EQ(fwdSmemBytes(128, 64), 80 * 1024 + kSmemAlign);
  EXPECT_EQ((Cfg<64, DType::BF16, 64>::kFwdSmem), fwdSmemBytes(64, 64));
  // Query-tile pairs: a second Q tile, K and V shared.
  EXPECT_EQ(fwdSmemBytes(128, 64, 2), 96 * 1024 + kSmemAlign);
  // Smaller tiles take less shared memory: whole rows at d <= 64; at d = 128
  // the second panel stays 64 rows after the first (tile_io.cuh).
  EXPECT_EQ(fwdSmemBytes(64, 16), 5 * 16 * 128 + kSmemAlign);
  EXPECT_EQ(fwdSmemBytes(128, 32), 5 * (64 * 128 + 32 * 128) + kSmemAlign);
  EXPECT_EQ((Cfg<32, DType::FP16, 16>::kThreads), 32);
  EXPECT_EQ((Cfg<128, DType::BF16, 32>::kThreads), 64);
}

namespace {
struct Variant {
  int d;
  bool half;
  std::string arch;
};
} // namespace

// Every kernel instance of the GPU tests, both archs: all must compile, and
// the forward kernels must not spill. Prints the register table.
TEST(Nvrtc, AllTestKernelsCompileWithoutForwardSpills) {
  const auto cases = sparta::test::allCases();
  std::vector<Variant> variants;
  for (const char *arch : {"sm_80", "sm_90a"})
    for (int d : {32, 64, 128})
      for (bool half : {false, true})
        variants.push_back({d, half, arch});
  std::vector<std::future<CompiledModule>> jobs;
  for (const Variant &v : variants)
    jobs.push_back(std::async(std::launch::async, [&cases, v] {
      CompileOptions o;
      o.arch = v.arch;
      return compileCuda(sparta::test::moduleSource(cases, v.d, v.half, rt::archHasWgmma(v.arch)),
                         "attention_test_d" + std::to_string(v.d) + ".cu", o);
    }));
  for (size_t i = 0; i < variants.size(); ++i) {
    const Variant &v = variants[i];
    CompiledModule m;
    ASSERT_NO_THROW(m = jobs[i].get()) << v.arch << " d=" << v.d;
    EXPECT_FALSE(m.cubin.empty());
    EXPECT_FALSE(m.ptx.empty());
    ASSERT_FALSE(m.kernels.empty());
    std::printf("%s d=%d %s: %zu kernels\n", v.arch.c_str(), v.d, v.half ? "fp16" : "bf16",
                m.kernels.size());
    for (const KernelResources &k : m.kernels) {
      const bool fwd = k.name.find("_fwd_") != std::string::npos;
      // One line per kernel kind is enough for the report; all are checked.
      if (k.name.rfind("causal_s", 0) == 0 || k.name.rfind("u3_band", 0) == 0 ||
          k.name.rfind("bwd_", 0) == 0 || k.name == "convert_acc")
        std::printf("  %-28s regs %3d  spill st/ld %d/%d  stack %d\n", k.name.c_str(), k.registers,
                    k.spillStoreBytes, k.spillLoadBytes, k.stackFrameBytes);
      if (fwd) {
        EXPECT_EQ(k.spillStoreBytes, 0) << k.name << " " << v.arch << " d=" << v.d;
        EXPECT_EQ(k.spillLoadBytes, 0) << k.name << " " << v.arch << " d=" << v.d;
      }
      if (k.spillStoreBytes || k.spillLoadBytes)
        std::printf("  NOTE %s spills %d/%d bytes\n", k.name.c_str(), k.spillStoreBytes,
                    k.spillLoadBytes);
    }
  }
}
