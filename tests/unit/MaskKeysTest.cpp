//===- MaskKeysTest.cpp - The decoder's mask rows and head-to-mask map ----===//
//
// The key lists the sampling decoder uploads (Decoder.h's maskKeys, built
// from MaskRows.h's bit rows) must hold exactly the keys MaskSemantics.h's
// allowed() admits, for every causal pattern file and T not a multiple of 64; and
// each heads mode maps a (layer, head) to the mask the training kernels use.
//
//===----------------------------------------------------------------------===//
#include "sparta/Frontend.h"
#include "sparta/MaskSemantics.h"
#include "sparta/model/Decoder.h"

#include <gtest/gtest.h>

#include <filesystem>

using namespace sparta;
using namespace sparta::model;

namespace {

TEST(MaskKeys, EveryPatternFileMatchesAllowed) {
  int files = 0;
  for (const auto &entry : std::filesystem::directory_iterator(std::string(SPARTA_SOURCE_DIR) + "/patterns")) {
    const int64_t T = 150;
    ParamBindings params{{"T", T}, {"L", 12}};
    if (entry.path().filename().string().rfind("image_", 0) == 0) { // a grid of H x W = T
      params["H"] = 10;
      params["W"] = 15;
    }
    ConcretePattern pattern = loadPattern(entry.path().string(), params);
    if (!pattern.causal)
      continue; // the decoder samples autoregressive models (ModelConfig refuses these)
    MaskKeys mk = maskKeys(pattern.heads, T);
    ASSERT_EQ(mk.T, T);
    ASSERT_EQ(mk.rowStart.size(), pattern.heads.size() * std::size_t(T + 1)) << entry.path();
    for (std::size_t m = 0; m < pattern.heads.size(); ++m)
      for (int64_t i = 0; i < T; ++i) {
        std::vector<int32_t> expected;
        for (int64_t j = 0; j < T; ++j)
          if (allowed(pattern.heads[m], T, i, j)) expected.push_back(int32_t(j));
        const int64_t *start = mk.rowStart.data() + m * std::size_t(T + 1) + i;
        std::vector<int32_t> got(mk.keys.begin() + start[0], mk.keys.begin() + start[1]);
        ASSERT_EQ(got, expected) << entry.path() << " mask " << m << " row " << i;
      }
    EXPECT_EQ(mk.rowStart.back(), int64_t(mk.keys.size()));
    ++files;
  }
  EXPECT_GE(files, 6);
}

TEST(MaskKeys, HeadsModesPickTheTrainingMasks) {
  ModelConfig c;
  c.headsMode = HeadsMode::Multihead;
  EXPECT_EQ(headMaskIndex(c, 2, 3, 0), 0);
  EXPECT_EQ(headMaskIndex(c, 2, 3, 5), 1);
  c.headsMode = HeadsMode::Interleaved;
  EXPECT_EQ(headMaskIndex(c, 2, 3, 0), 1);
  EXPECT_EQ(headMaskIndex(c, 2, 4, 5), 0);
  c.headsMode = HeadsMode::Merged;
  EXPECT_EQ(headMaskIndex(c, 1, 3, 5), 0);
}

} // namespace
