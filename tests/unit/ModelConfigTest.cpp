//===- ModelConfigTest.cpp - Model config validation, layout, init ---------===//
#include "sparta/Error.h"
#include "sparta/model/ModelConfig.h"
#include "sparta/model/Transformer.h"

#include <gtest/gtest.h>

#include <cmath>
#include <set>

using namespace sparta;
using namespace sparta::model;

namespace {

ModelConfig base() {
  ModelConfig c;
  c.layers = 2, c.dModel = 128, c.heads = 2, c.ffMult = 4, c.T = 256;
  c.patternPath = "patterns/fixed.mlir";
  c.patternParams = {{"L", 16}, {"c", 4}};
  return c;
}

void expectError(const ModelConfig &c, const std::string &needle) {
  try {
    c.validate();
    FAIL() << "no error; expected one mentioning '" << needle << "'";
  } catch (const Error &e) {
    EXPECT_NE(std::string(e.what()).find(needle), std::string::npos) << e.what();
  }
}

TEST(ModelConfig, ValidationErrorsNameTheField) {
  EXPECT_NO_THROW(base().validate());
  ModelConfig c = base();
  c.layers = 0;
  expectError(c, "layers");
  c = base(), c.dModel = 100;
  expectError(c, "d_model");
  c = base(), c.heads = 3;
  expectError(c, "heads");
  c = base(), c.heads = 8; // head dim 16
  expectError(c, "head dim");
  c = base(), c.T = 100;
  expectError(c, "T must");
  c = base(), c.vocab = 512;
  expectError(c, "vocab");
  c = base(), c.dropout = 1.0f;
  expectError(c, "dropout");
  c = base(), c.patternParams.erase("L");
  expectError(c, "grid row length");
  c = base(), c.patternParams["T"] = 512;
  expectError(c, "differs");
  c = base(), c.positions = PositionMode::Image; // 28x28 != 256
  expectError(c, "width * height");
  c = base(), c.ffMult = 0;
  expectError(c, "ff multiplier");
  EXPECT_THROW(parseHeadsMode("both"), Error);
  EXPECT_EQ(parseHeadsMode("interleaved"), HeadsMode::Interleaved);
}

TEST(ModelConfig, BidirectionalPatternsAreRefused) {
  ModelConfig c = base();
  c.patternPath = std::string(SPARTA_SOURCE_DIR) + "/patterns/longformer_bidir.mlir";
  c.patternParams = {{"L", 16}};
  try {
    c.loadPattern();
    FAIL() << "a bidirectional pattern was accepted";
  } catch (const Error &e) {
    EXPECT_NE(std::string(e.what()).find("is bidirectional"), std::string::npos) << e.what();
  }
}

TEST(ModelConfig, KeyValuesRoundTrip) {
  ModelConfig c = base();
  c.headsMode = HeadsMode::Interleaved;
  c.dropout = 0.25f;
  c.recompute = true;
  ModelConfig d = ModelConfig::fromKeyValues(c.toKeyValues());
  EXPECT_EQ(d.toKeyValues(), c.toKeyValues());
  EXPECT_EQ(d.patternParams, c.patternParams);
  EXPECT_EQ(d.headsMode, HeadsMode::Interleaved);
}

TEST(ModelConfig, ParameterNamesShapesAndCount) {
  ModelConfig c = base();
  ParameterLayout layout = parameterLayout(c);
  const int64_t D = 128, F = 512, V = 256, N = 2, L = 16;
  // tok, 2 pos, 12 per block, ln_f x2, head
  ASSERT_EQ(layout.params.size(), size_t(3 + 12 * N + 3));
  EXPECT_EQ(layout.get("tok_emb").shape, (std::vector<int64_t>{V, D}));
  EXPECT_EQ(layout.get("pos_emb.row").shape, (std::vector<int64_t>{256 / L, D}));
  EXPECT_EQ(layout.get("pos_emb.col").shape, (std::vector<int64_t>{L, D}));
  EXPECT_EQ(layout.get("blocks.1.attn.qkv.weight").shape, (std::vector<int64_t>{3 * D, D}));
  EXPECT_EQ(layout.get("blocks.1.attn.qkv.bias").shape, (std::vector<int64_t>{3 * D}));
  EXPECT_EQ(layout.get("blocks.0.attn.proj.weight").shape, (std::vector<int64_t>{D, D}));
  EXPECT_EQ(layout.get("blocks.0.mlp.fc1.weight").shape, (std::vector<int64_t>{F, D}));
  EXPECT_EQ(layout.get("blocks.0.mlp.fc2.weight").shape, (std::vector<int64_t>{D, F}));
  EXPECT_EQ(layout.get("head.weight").shape, (std::vector<int64_t>{V, D}));
  EXPECT_EQ(layout.index("pos_emb.channel"), -1);
  int64_t perBlock = 4 * D + (3 * D * D + 3 * D) + (D * D + D) + (F * D + F) + (D * F + D);
  EXPECT_EQ(layout.parameterCount, V * D + (256 / L) * D + L * D + N * perBlock + 2 * D + V * D);
  std::set<std::string> names;
  for (const ParamSpec &p : layout.params) {
    EXPECT_TRUE(names.insert(p.name).second) << p.name;
    EXPECT_EQ(p.offset % 8, 0) << p.name;
    EXPECT_EQ(p.decay, p.shape.size() == 2) << p.name;
  }
  // T not a multiple of L: ceil(T/L) rows.
  c.patternParams["L"] = 48;
  EXPECT_EQ(parameterLayout(c).get("pos_emb.row").shape[0], 6);
  // Images: row, col, channel.
  c = base(), c.T = 784, c.positions = PositionMode::Image;
  c.patternPath = "patterns/strided.mlir", c.patternParams = {{"L", 28}};
  ParameterLayout img = parameterLayout(c);
  EXPECT_EQ(img.get("pos_emb.row").shape, (std::vector<int64_t>{28, D}));
  EXPECT_EQ(img.get("pos_emb.col").shape, (std::vector<int64_t>{28, D}));
  EXPECT_EQ(img.get("pos_emb.channel").shape, (std::vector<int64_t>{1, D}));
  auto pos = positionIndices(c);
  ASSERT_EQ(pos.size(), 3u);
  EXPECT_EQ(pos[0].divisor, 28);
  EXPECT_EQ(pos[1].modulus, 28);
}

TEST(ModelConfig, InitStatistics) {
  ModelConfig c = base();
  c.layers = 4;
  ParameterLayout layout = parameterLayout(c);
  std::vector<float> a = initParameters(c, 5), b = initParameters(c, 5), other = initParameters(c, 6);
  EXPECT_EQ(a, b);
  EXPECT_NE(a, other);
  auto stats = [&](const std::string &name, double &mean, double &sd) {
    const ParamSpec &p = layout.get(name);
    double s = 0, s2 = 0;
    for (int64_t i = 0; i < p.numel; ++i) s += a[p.offset + i], s2 += double(a[p.offset + i]) * a[p.offset + i];
    mean = s / p.numel;
    sd = std::sqrt(s2 / p.numel - mean * mean);
  };
  double m, sd;
  stats("blocks.0.attn.qkv.weight", m, sd);
  EXPECT_NEAR(m, 0, 1e-3);
  EXPECT_NEAR(sd, 0.02, 0.02 * 0.03);
  stats("blocks.3.mlp.fc2.weight", m, sd);
  EXPECT_NEAR(sd, 0.02 * std::sqrt(1.0 / 8), 0.02 * std::sqrt(1.0 / 8) * 0.03);
  stats("blocks.2.attn.proj.weight", m, sd);
  EXPECT_NEAR(sd, 0.02 * std::sqrt(1.0 / 8), 0.02 * std::sqrt(1.0 / 8) * 0.05);
  stats("pos_emb.col", m, sd);
  EXPECT_NEAR(sd, 0.01, 0.01 * 0.1);
  stats("tok_emb", m, sd);
  EXPECT_NEAR(sd, 0.02, 0.02 * 0.05);
  const ParamSpec &ln = layout.get("blocks.1.ln2.weight"), &bias = layout.get("blocks.1.mlp.fc1.bias");
  for (int64_t i = 0; i < ln.numel; ++i) EXPECT_EQ(a[ln.offset + i], 1.f);
  for (int64_t i = 0; i < bias.numel; ++i) EXPECT_EQ(a[bias.offset + i], 0.f);
  // Padding stays zero.
  for (size_t i = 0; i + 1 < layout.params.size(); ++i)
    for (int64_t j = layout.params[i].offset + layout.params[i].numel; j < layout.params[i + 1].offset; ++j)
      EXPECT_EQ(a[j], 0.f);
}

TEST(ModelConfig, TensorsRoundTripAndShapeErrors) {
  ModelConfig c = base();
  ParameterLayout layout = parameterLayout(c);
  std::vector<float> a = initParameters(c, 1);
  std::vector<Tensor> t = parametersToTensors(layout, a);
  EXPECT_EQ(parametersFromTensors(layout, t), a);
  t[2].shape = {1, 2};
  EXPECT_THROW(parametersFromTensors(layout, t), Error);
  t.pop_back();
  EXPECT_THROW(parametersFromTensors(layout, t), Error);
}

TEST(ModelConfig, PlannedMemoryRecomputeSavesActivations) {
  ModelConfig c = base();
  c.layers = 8;
  MemoryReport off = plannedMemory(c, 4);
  c.recompute = true;
  MemoryReport on = plannedMemory(c, 4);
  EXPECT_EQ(off.parameters, on.parameters);
  EXPECT_LT(on.activations * 2, off.activations);
}

} // namespace
