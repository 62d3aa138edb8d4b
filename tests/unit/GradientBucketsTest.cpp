//===- GradientBucketsTest.cpp - Gradient buckets in backward order -------===//
//
// GradientBuckets.h: every parameter's stage; the buckets tile the flat
// gradient buffer exactly (contiguous, disjoint, padding included), are sent
// in backward order (last layer first), hold at most the size limit unless a
// single parameter is larger, and are the same every time.
//
//===----------------------------------------------------------------------===//
#include "sparta/model/GradientBuckets.h"

#include "sparta/Error.h"

#include <gtest/gtest.h>

#include <set>

using namespace sparta::model;

namespace {

ModelConfig textModel(int layers) {
  ModelConfig c;
  c.layers = layers, c.dModel = 128, c.heads = 2, c.T = 256;
  c.patternParams = {{"L", 16}, {"c", 4}};
  return c;
}

TEST(GradientBuckets, StagesFollowTheBackward) {
  const int N = 3;
  EXPECT_EQ(backwardStage("head.weight", N), 0);
  EXPECT_EQ(backwardStage("ln_f.bias", N), 0);
  EXPECT_EQ(backwardStage("blocks.2.mlp.fc2.weight", N), 1);
  EXPECT_EQ(backwardStage("blocks.0.ln1.weight", N), 3);
  EXPECT_EQ(backwardStage("tok_emb", N), 4);
  EXPECT_EQ(backwardStage("pos_emb.channel", N), 4);
  EXPECT_EQ(backwardStageCount(N), 5);
  EXPECT_THROW(backwardStage("blocks.3.ln1.weight", N), sparta::Error);
  EXPECT_THROW(backwardStage("blocks.x.ln1.weight", N), sparta::Error);
  EXPECT_THROW(backwardStage("unknown", N), sparta::Error);
}

void expectTiling(const ParameterLayout &layout, int layers, std::size_t maxBytes) {
  SCOPED_TRACE("limit " + std::to_string(maxBytes) + " bytes");
  const std::vector<GradientBucket> buckets = gradientBuckets(layout, layers, maxBytes);
  ASSERT_FALSE(buckets.empty());
  // Sent from the top of the buffer down, each ending where the one before began.
  int64_t top = layout.totalElements;
  int stage = 0;
  std::set<int> seen;
  for (const GradientBucket &b : buckets) {
    EXPECT_EQ(b.end, top);
    EXPECT_LT(b.begin, b.end);
    top = b.begin;
    EXPECT_GE(b.readyStage, stage);
    stage = b.readyStage;
    EXPECT_TRUE(b.bytes() <= maxBytes || b.params.size() == 1) << b.bytes();
    int64_t low = b.end;
    for (int i : b.params) {
      const ParamSpec &p = layout.params[i];
      EXPECT_TRUE(seen.insert(i).second) << p.name << " in two buckets";
      EXPECT_LE(backwardStage(p.name, layers), b.readyStage) << p.name;
      EXPECT_LT(p.offset, low) << p.name << " taken out of order";
      low = p.offset;
      EXPECT_GE(p.offset, b.begin);
      EXPECT_LE(p.offset + p.numel, b.end);
    }
    EXPECT_EQ(low, b.begin);
  }
  EXPECT_EQ(top, 0);
  EXPECT_EQ(seen.size(), layout.params.size());
}

TEST(GradientBuckets, TileTheBufferInBackwardOrder) {
  for (int layers : {1, 2, 5}) {
    const ParameterLayout layout = parameterLayout(textModel(layers));
    for (std::size_t limit : {std::size_t(1), std::size_t(4096), std::size_t(300000), std::size_t(1) << 20,
                              std::size_t(1) << 30})
      expectTiling(layout, layers, limit);
  }
  ModelConfig images = textModel(2);
  images.positions = PositionMode::Image, images.T = 784, images.patternParams = {{"L", 28}};
  expectTiling(parameterLayout(images), 2, 100000);
}

TEST(GradientBuckets, LastLayerFirst) {
  const int N = 4;
  const ParameterLayout layout = parameterLayout(textModel(N));
  // A bucket per parameter: the order of the backward itself.
  const std::vector<GradientBucket> buckets = gradientBuckets(layout, N, 1);
  ASSERT_EQ(buckets.size(), layout.params.size());
  EXPECT_EQ(layout.params[buckets.front().params[0]].name, "head.weight");
  EXPECT_EQ(layout.params[buckets[3].params[0]].name, "blocks.3.mlp.fc2.bias");
  EXPECT_EQ(layout.params[buckets.back().params[0]].name, "tok_emb");
  // One bucket for everything: sent after the embeddings, the last stage.
  const std::vector<GradientBucket> one = gradientBuckets(layout, N, std::size_t(1) << 40);
  ASSERT_EQ(one.size(), 1u);
  EXPECT_EQ(one[0].readyStage, embeddingStage(N));
  EXPECT_EQ(one[0].bytes(), std::size_t(layout.totalElements) * sizeof(float));
}

TEST(GradientBuckets, SizeLimitGroupsLayers) {
  const int N = 6;
  const ParameterLayout layout = parameterLayout(textModel(N));
  const int64_t layerElements = layout.get("blocks.1.ln1.weight").offset - layout.get("blocks.0.ln1.weight").offset;
  const std::size_t twoLayers = std::size_t(2 * layerElements) * sizeof(float);
  const std::vector<GradientBucket> buckets = gradientBuckets(layout, N, twoLayers);
  // Head + layer 5 (+ part of layer 4) first; no bucket over the limit.
  for (const GradientBucket &b : buckets) EXPECT_LE(b.bytes(), twoLayers);
  EXPECT_GE(buckets.size(), std::size_t(N / 2));
  EXPECT_LE(buckets.size(), std::size_t(N / 2 + 2));
  EXPECT_EQ(gradientBuckets(layout, N, twoLayers).size(), buckets.size());
  for (size_t i = 0; i < buckets.size(); ++i) {
    const GradientBucket again = gradientBuckets(layout, N, twoLayers)[i];
    EXPECT_EQ(again.begin, buckets[i].begin);
    EXPECT_EQ(again.params, buckets[i].params);
  }
  EXPECT_THROW(gradientBuckets(layout, N, 0), sparta::Error);
}

} // namespace
