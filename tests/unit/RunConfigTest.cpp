//===- RunConfigTest.cpp - config.json, weights with config, finished runs -===//
//
// config.json written and read back field by field (the model rebuilt from it
// has the same parameter layout), the weights file that carries it in its
// metadata, the messages for a damaged config, and the file-only check that
// a resumed run is already finished (no GPU involved).
//
//===----------------------------------------------------------------------===//
#include "TempDir.h"

#include "sparta/Error.h"
#include "sparta/model/Json.h"
#include "sparta/model/Metrics.h"
#include "sparta/model/RunConfig.h"

#include <gtest/gtest.h>

#include <cmath>

using namespace sparta;
using namespace sparta::model;
using namespace sparta::testing;

namespace {

std::string patternFile(const std::string &name) {
  return std::string(SPARTA_SOURCE_DIR) + "/patterns/" + name;
}

/// Every field away from its default, with values that do not round nicely.
TrainerConfig unusualConfig() {
  TrainerConfig t;
  ModelConfig &m = t.model;
  m.layers = 3, m.dModel = 96, m.heads = 3, m.ffMult = 2, m.T = 96;
  m.patternPath = patternFile("fixed.mlir");
  m.patternParams = {{"L", 16}, {"c", 4}};
  m.headsMode = HeadsMode::Interleaved;
  m.dropout = 0.1f, m.recompute = true, m.gridL = 12, m.layerNormEps = 1e-6f;
  t.data = "some/file.bin", t.dataPath = "/data/x", t.pack = true;
  t.batch = 5, t.steps = 777, t.lr = 1.5e-3 / 7, t.minLrRatio = 0.3, t.warmup = 33;
  t.beta1 = 0.85f, t.beta2 = 0.975f, t.eps = 1e-7f, t.weightDecay = 0.0123f, t.clip = 0.7f;
  t.evalEvery = 50, t.evalRows = 0, t.checkpointEvery = 25, t.keepCheckpoints = 2;
  t.timeLimitMinutes = 2.5;
  t.seed = 18446744073709551557ull; // above 2^63: must stay exact
  return t;
}

Dataset someText() {
  Dataset d;
  d.name = "some/file.bin";
  d.train.assign(1000, 'a');
  d.validation.assign(100, 'b');
  return d;
}

TEST(RunConfig, RoundTripsEveryField) {
  const TrainerConfig a = unusualConfig();
  const std::string json = runConfigJson(a, someText());
  TrainerConfig b = runConfigFromJson(json, "config.json");
  EXPECT_EQ(b.model.toKeyValues(), a.model.toKeyValues());
  EXPECT_EQ(b.model.layerNormEps, a.model.layerNormEps);
  EXPECT_EQ(b.model.dropout, a.model.dropout);
  EXPECT_EQ(b.data, a.data);
  EXPECT_EQ(b.dataPath, a.dataPath);
  EXPECT_EQ(b.pack, a.pack);
  EXPECT_EQ(b.batch, a.batch);
  EXPECT_EQ(b.steps, a.steps);
  EXPECT_EQ(b.lr, a.lr);
  EXPECT_EQ(b.minLrRatio, a.minLrRatio);
  EXPECT_EQ(b.warmup, a.warmup);
  EXPECT_EQ(b.beta1, a.beta1);
  EXPECT_EQ(b.beta2, a.beta2);
  EXPECT_EQ(b.eps, a.eps);
  EXPECT_EQ(b.weightDecay, a.weightDecay);
  EXPECT_EQ(b.clip, a.clip);
  EXPECT_EQ(b.evalEvery, a.evalEvery);
  EXPECT_EQ(b.evalRows, a.evalRows);
  EXPECT_EQ(b.checkpointEvery, a.checkpointEvery);
  EXPECT_EQ(b.keepCheckpoints, a.keepCheckpoints);
  EXPECT_EQ(b.timeLimitMinutes, a.timeLimitMinutes);
  EXPECT_EQ(b.seed, a.seed);

  // The model rebuilt from the file has the same parameters.
  ParameterLayout la = parameterLayout(a.model), lb = parameterLayout(b.model);
  ASSERT_EQ(la.params.size(), lb.params.size());
  for (size_t i = 0; i < la.params.size(); ++i) {
    EXPECT_EQ(la.params[i].name, lb.params[i].name);
    EXPECT_EQ(la.params[i].shape, lb.params[i].shape);
  }
  // The pattern's text travels with it.
  JsonValue root = parseJson(json, "config.json");
  EXPECT_EQ(root.find("model")->find("pattern_source")->text,
            readFile(patternFile("fixed.mlir")));
  EXPECT_EQ(root.find("data")->find("train_bytes")->asInt(), 1000);
  EXPECT_EQ(root.find("data")->find("kind")->text, "text");
}

TEST(RunConfig, WeightsCarryTheConfig) {
  TempDir dir;
  TrainerConfig t = unusualConfig();
  const std::string json = runConfigJson(t, someText());
  const ParameterLayout layout = parameterLayout(t.model);
  const std::vector<float> flat = initParameters(t.model, 5);
  const std::string path = (dir.path / "model.safetensors").string();
  writeWeightsWithConfig(path, layout, flat, json);

  Metadata meta;
  std::vector<Tensor> tensors = readSafetensors(path, &meta);
  ASSERT_TRUE(meta.has(kRunConfigKey));
  EXPECT_EQ(meta.get(kRunConfigKey), json);
  // The weights file alone rebuilds the model and its weights.
  TrainerConfig back = runConfigFromJson(meta.get(kRunConfigKey), path);
  std::vector<float> again = parametersFromTensors(parameterLayout(back.model), tensors);
  EXPECT_EQ(again, flat);

  writeRunConfig(dir.path.string(), json);
  EXPECT_EQ(readFile(dir.path / "config.json"), json);
}

TEST(RunConfig, DamagedFilesAreNamed) {
  const std::string good = runConfigJson(unusualConfig(), someText());
  auto message = [](const std::string &json) {
    try {
      runConfigFromJson(json, "runs/x/config.json");
    } catch (const Error &e) {
      return std::string(e.what());
    }
    return std::string("no error");
  };
  auto replaced = [&](const std::string &from, const std::string &to) {
    std::string s = good;
    size_t at = s.find(from);
    EXPECT_NE(at, std::string::npos) << from;
    return s.replace(at, from.size(), to);
  };
  EXPECT_EQ(message(replaced("\"layers\": 3", "\"layers\": \"3\"")),
            "runs/x/config.json: model.layers must be an integer");
  EXPECT_EQ(message(replaced("\"layers\": 3,", "")), "runs/x/config.json: model.layers is missing");
  EXPECT_EQ(message(replaced("\"recompute\": true", "\"recompute\": 1")),
            "runs/x/config.json: model.recompute must be true or false");
  EXPECT_EQ(message(replaced("\"lr\": ", "\"learning_rate\": ")),
            "runs/x/config.json: optimizer.lr is missing");
  EXPECT_EQ(message(replaced("\"version\": 1", "\"version\": 2")), "runs/x/config.json: version must be 1");
  EXPECT_EQ(message(replaced("\"positions\": \"text\"", "\"positions\": \"audio\"")),
            "runs/x/config.json: model.positions must be \"text\" or \"image\"");
  EXPECT_EQ(message(replaced("\"name\": \"adamw\"", "\"name\": \"sgd\"")),
            "runs/x/config.json: optimizer.name must be \"adamw\"");
  EXPECT_EQ(message(replaced("\"pack\": true", "\"pack\": \"yes\"")),
            "runs/x/config.json: data.pack must be true or false");
  EXPECT_EQ(message("[1]"), "runs/x/config.json: a run config must be a JSON object");
  EXPECT_NE(message("{\"version\": 1,").find("runs/x/config.json"), std::string::npos);
}

/// A run directory as the trainer leaves it: a checkpoint of `step` and the
/// metrics with an evaluation at that step.
TrainerConfig runDirectory(const std::string &dir, int64_t step, const char *kind) {
  TrainerConfig t;
  t.outDir = dir;
  t.steps = step;
  t.resume = true;
  Checkpoint c;
  c.meta.setInt("step", step);
  c.meta.set("data_kind", kind);
  CheckpointRotation(dir + "/checkpoints", 3).save(step, c);
  MetricsWriter metrics(dir + "/metrics.jsonl");
  MetricsRecord r;
  r.step = step, r.loss = 1.0, r.bits = 1.25;
  metrics.write(r);
  r.split = "validation", r.bits = 1.5;
  metrics.write(r);
  return t;
}

TEST(FinishedRun, ANewestCheckpointAtTheStepsIsFinished) {
  TempDir dir;
  TrainerConfig t = runDirectory(dir.path.string(), 700, "text");
  std::optional<FinishedRun> done = finishedRun(t);
  ASSERT_TRUE(done);
  EXPECT_EQ(done->step, 700);
  ASSERT_TRUE(done->validationBits);
  EXPECT_EQ(*done->validationBits, 1.5);
  EXPECT_EQ(done->describe(t), "the run in " + t.outDir + " is already finished: its newest checkpoint (" +
                                   t.outDir + "/checkpoints/step-0000000700.ckpt) is of step 700 and --steps "
                                   "is 700; final validation 1.5 bits/byte. Nothing to train; give a larger "
                                   "--steps to continue it.");
  t.steps = 500; // past the steps counts as finished too
  EXPECT_TRUE(finishedRun(t));
  t.steps = 701; // more steps: the run goes on
  EXPECT_FALSE(finishedRun(t));
  t.steps = 700, t.resume = false; // a fresh run is never "finished"
  EXPECT_FALSE(finishedRun(t));
}

TEST(FinishedRun, ImagesAndMissingMetrics) {
  TempDir dir;
  TrainerConfig t = runDirectory(dir.path.string(), 40, "images");
  std::filesystem::remove(dir.path / "metrics.jsonl");
  std::optional<FinishedRun> done = finishedRun(t);
  ASSERT_TRUE(done);
  EXPECT_FALSE(done->validationBits);
  EXPECT_EQ(done->unit, "bits/dim");
  EXPECT_EQ(done->describe(t).find("final validation"), std::string::npos);
  // No checkpoints directory: nothing is finished (the trainer reports the missing checkpoint).
  TrainerConfig empty = t;
  empty.outDir = (dir.path / "none").string();
  EXPECT_FALSE(finishedRun(empty));
  EXPECT_FALSE(std::filesystem::exists(empty.outDir)); // and nothing was created
}

/// A checkpoint as the trainer writes it for `model`, without a GPU.
Checkpoint checkpointOf(const ModelConfig &model) {
  Checkpoint c;
  c.meta.setInt("step", 3);
  for (const char *state : {"sampler_state", "dropout_seed", "dropout_offset"}) c.meta.setU64(state, 1);
  for (const auto &[k, v] : model.toKeyValues()) c.meta.set("model." + k, v);
  const ParameterLayout layout = parameterLayout(model);
  c.tensors = parametersToTensors(layout, initParameters(model, 1));
  std::vector<float> zeros(size_t(layout.totalElements), 0.f);
  c.tensors.push_back(Tensor::fromF32("optimizer.m", {layout.totalElements}, zeros.data()));
  c.tensors.push_back(Tensor::fromF32("optimizer.v", {layout.totalElements}, zeros.data()));
  return c;
}

TEST(Packing, AResumeKeepsThePackSetting) {
  const ModelConfig model = unusualConfig().model;
  Checkpoint old = checkpointOf(model); // before --pack existed: no "pack" key, unpacked
  EXPECT_NO_THROW(checkResumable(old, model, false));
  const std::string toPacked = "the checkpoint's run does not pack documents (--pack) and this one "
                               "does: resume with the setting the run started with";
  try {
    checkResumable(old, model, true);
    FAIL() << "expected sparta::Error";
  } catch (const Error &e) {
    EXPECT_EQ(e.what(), toPacked);
  }
  Checkpoint packed = checkpointOf(model);
  packed.meta.setInt("pack", 1);
  EXPECT_NO_THROW(checkResumable(packed, model, true));
  try {
    checkResumable(packed, model, false);
    FAIL() << "expected sparta::Error";
  } catch (const Error &e) {
    EXPECT_EQ(std::string(e.what()), "the checkpoint's run packs documents (--pack) and this one does "
                                     "not: resume with the setting the run started with");
  }
}

TEST(Packing, PeriodOfThePatternAndWhatCannotPack) {
  TrainerConfig t = unusualConfig(); // fixed, L = 16: period 16
  Dataset text = someText();
  text.hasDocuments = true;
  t.pack = false;
  EXPECT_EQ(packPeriod(t, text), 0) << "unpacked without --pack";
  t.pack = true;
  EXPECT_EQ(packPeriod(t, text), 16);
  auto error = [&](const TrainerConfig &config, const Dataset &data) {
    try {
      packPeriod(config, data);
    } catch (const Error &e) {
      return std::string(e.what());
    }
    return std::string("no error");
  };
  Dataset plain = someText();
  EXPECT_EQ(error(t, plain), "--pack needs text made of documents, as gcide (one per dictionary entry, "
                             "from its dictd index) is; 'some/file.bin' has none");
  Dataset images = someText();
  images.kind = DataKind::Images, images.name = "fashion-mnist";
  EXPECT_EQ(error(t, images), "--pack packs text documents; fashion-mnist is images (one per row already)");
  TrainerConfig global = t;
  global.model.patternPath = patternFile("longformer.mlir");
  global.model.patternParams = {{"L", 16}};
  EXPECT_EQ(error(global, text).rfind("--pack: pattern 'longformer' cannot pack documents: mask 0 (", 0), 0u)
      << error(global, text);
}

} // namespace
