//===- ModelKernelsCompileTest.cpp - Model kernels compile, no GPU needed --===//
//
// Generates the model kernels for the d_model values the model uses (and the
// extremes the generator accepts), compiles each to CUBIN for sm_80 and
// sm_90a with NVRTC (no GPU needed) and checks ptxas' report: every kernel is
// present and none spills or uses a stack frame. Also checks the generator's
// validation and the cache key's dependence on the configuration.
//
//===----------------------------------------------------------------------===//
#include "sparta/Error.h"
#include "sparta/model/Kernels.h"

#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>
#include <unistd.h>

using namespace sparta;
using namespace sparta::model;

namespace {

struct Case {
  int dModel;
  int vocab;
  const char *arch;
};

void PrintTo(const Case &c, std::ostream *os) { *os << "d_model " << c.dModel << ", vocab " << c.vocab << ", " << c.arch; }

class ModelKernelsCompile : public testing::TestWithParam<Case> {};

TEST_P(ModelKernelsCompile, EveryKernelCompilesWithoutSpills) {
  ModelKernelConfig config;
  config.dModel = GetParam().dModel;
  config.vocab = GetParam().vocab;
  config.arch = GetParam().arch;
  config.useCache = false;
  CompiledModelKernels compiled = compileModelKernels(config);
  EXPECT_FALSE(compiled.module.cubin.empty());
  EXPECT_FALSE(compiled.cacheHit);
  for (const std::string &name : modelKernelNames()) {
    SCOPED_TRACE(name);
    const rt::KernelResources &r = compiled.module.resources(name);
    EXPECT_EQ(r.spillStoreBytes, 0);
    EXPECT_EQ(r.spillLoadBytes, 0);
    EXPECT_EQ(r.stackFrameBytes, 0);
    EXPECT_LE(r.registers, 255);
  }
  EXPECT_EQ(compiled.module.kernels.size(), modelKernelNames().size());
}

std::string caseName(const testing::TestParamInfo<Case> &info) {
  return "d" + std::to_string(info.param.dModel) + "_v" + std::to_string(info.param.vocab) + "_" +
         info.param.arch;
}

INSTANTIATE_TEST_SUITE_P(Configs, ModelKernelsCompile,
                         testing::Values(Case{512, 256, "sm_80"}, Case{512, 256, "sm_90a"},
                                         Case{384, 256, "sm_80"}, Case{384, 256, "sm_90a"},
                                         Case{1024, 256, "sm_90a"}, Case{96, 64, "sm_90a"},
                                         Case{32, 1024, "sm_90a"}),
                         caseName);

TEST(ModelKernelsSource, SpecialisesTheConfiguration) {
  ModelKernelConfig config;
  config.dModel = 384;
  config.layerNormEps = 1e-6f;
  std::string src = generateModelKernelSource(config);
  EXPECT_NE(src.find("constexpr int kDModel = 384;"), std::string::npos);
  EXPECT_NE(src.find("constexpr int kVocab = 256;"), std::string::npos);
  EXPECT_NE(src.find("constexpr float kLayerNormEps = 9.99999997e-07f;"), std::string::npos) << src.substr(0, 4000);
  for (const std::string &name : modelKernelNames())
    EXPECT_NE(src.find(" " + name + "("), std::string::npos) << name;
}

TEST(ModelKernelsSource, RejectsUnsupportedConfigurations) {
  ModelKernelConfig config;
  config.dModel = 500;
  EXPECT_THROW(generateModelKernelSource(config), Error);
  config.dModel = 2048;
  EXPECT_THROW(generateModelKernelSource(config), Error);
  config.dModel = 512;
  config.vocab = 100;
  EXPECT_THROW(generateModelKernelSource(config), Error);
  config.vocab = 256;
  config.layerNormEps = 0.0f;
  EXPECT_THROW(generateModelKernelSource(config), Error);
  config.layerNormEps = 1e-5f;
  config.arch.clear();
  EXPECT_THROW(compileModelKernels(config), Error);
}

TEST(ModelKernelsSource, CacheHitsOnTheSameConfigurationOnly) {
  namespace fs = std::filesystem;
  fs::path dir = fs::temp_directory_path() / ("sparta-model-cache-" + std::to_string(::getpid()));
  fs::remove_all(dir);
  ModelKernelConfig config;
  config.dModel = 256;
  config.arch = "sm_90a";
  config.cacheDir = dir.string();
  CompiledModelKernels first = compileModelKernels(config);
  CompiledModelKernels second = compileModelKernels(config);
  EXPECT_TRUE(second.cacheHit);
  EXPECT_EQ(first.cacheKey, second.cacheKey);
  EXPECT_EQ(first.module.cubin, second.module.cubin);
  config.layerNormEps = 1e-6f;
  CompiledModelKernels other = compileModelKernels(config);
  EXPECT_NE(other.cacheKey, first.cacheKey);
  EXPECT_FALSE(other.cacheHit);
  fs::remove_all(dir);
}

TEST(ModelKernelsSource, DropoutThreshold) {
  EXPECT_EQ(dropoutThreshold(0.0f), 0u);
  EXPECT_EQ(dropoutThreshold(0.5f), 0x80000000u);
  EXPECT_EQ(dropoutThreshold(0.25f), 0x40000000u);
  EXPECT_THROW(dropoutThreshold(1.0f), Error);
  EXPECT_THROW(dropoutThreshold(-0.1f), Error);
}

} // namespace
