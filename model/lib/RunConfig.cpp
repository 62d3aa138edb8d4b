//===- RunConfig.cpp - config.json: everything that defines a training run -===//
//
// Written with the model library's JSON helpers (jsonQuote, jsonNumber) and
// read back with its DOM parser; the field list is RunConfig.h's.
//
//===----------------------------------------------------------------------===//
#include "sparta/model/RunConfig.h"

#include "sparta/Error.h"
#include "sparta/model/Json.h"

#include <fstream>
#include <sstream>

namespace sparta::model {

namespace {

constexpr int kVersion = 1;

/// Builds one JSON object, members in insertion order, one per line.
class ObjectWriter {
public:
  explicit ObjectWriter(int indent) : pad_(std::string(size_t(indent), ' ')) {}
  ObjectWriter &raw(const std::string &key, const std::string &json) {
    body_ += (body_.empty() ? "" : ",\n") + pad_ + "  " + jsonQuote(key) + ": " + json;
    return *this;
  }
  ObjectWriter &str(const std::string &key, const std::string &v) { return raw(key, jsonQuote(v)); }
  ObjectWriter &num(const std::string &key, double v) { return raw(key, jsonNumber(v)); }
  ObjectWriter &integer(const std::string &key, int64_t v) { return raw(key, std::to_string(v)); }
  ObjectWriter &flag(const std::string &key, bool v) { return raw(key, v ? "true" : "false"); }
  std::string text() const { return "{\n" + body_ + "\n" + pad_ + "}"; }

private:
  std::string pad_, body_;
};

std::string readText(const std::string &path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw Error("cannot read the pattern file '" + path + "' for config.json");
  std::ostringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

/// Typed, required members of one section; errors name "section.key".
class Section {
public:
  Section(const JsonValue &root, const std::string &name, const std::string &what)
      : name_(name), what_(what) {
    obj_ = root.find(name);
    if (!obj_ || !obj_->isObject()) fail("", "must be an object");
  }
  const JsonValue &get(const std::string &key) const {
    const JsonValue *v = obj_->find(key);
    if (!v) fail(key, "is missing");
    return *v;
  }
  int64_t integer(const std::string &key) const {
    const JsonValue &v = get(key);
    if (!v.isNumber()) fail(key, "must be an integer");
    try {
      return v.asInt();
    } catch (const Error &) {
      fail(key, "must be an integer");
    }
  }
  double num(const std::string &key) const {
    const JsonValue &v = get(key);
    if (!v.isNumber()) fail(key, "must be a number");
    return v.number;
  }
  const std::string &str(const std::string &key) const {
    const JsonValue &v = get(key);
    if (!v.isString()) fail(key, "must be a string");
    return v.text;
  }
  bool flag(const std::string &key) const {
    const JsonValue &v = get(key);
    if (v.kind != JsonValue::Kind::Bool) fail(key, "must be true or false");
    return v.boolean;
  }
  [[noreturn]] void fail(const std::string &key, const std::string &why) const {
    throw Error(what_ + ": " + name_ + (key.empty() ? "" : "." + key) + " " + why);
  }

private:
  const JsonValue *obj_ = nullptr;
  std::string name_, what_;
};

} // namespace

std::string runConfigJson(const TrainerConfig &c, const Dataset &data) {
  const ModelConfig &m = c.model;
  ObjectWriter params(4);
  for (const auto &[k, v] : m.patternParams)
    if (k != "T") params.integer(k, v);
  ObjectWriter model(2);
  model.integer("layers", m.layers)
      .integer("d_model", m.dModel)
      .integer("heads", m.heads)
      .integer("ff_mult", m.ffMult)
      .integer("T", m.T)
      .integer("vocab", m.vocab)
      .str("pattern_file", m.patternPath)
      .str("pattern_source", readText(m.patternPath))
      .raw("pattern_params", m.patternParams.empty() ? "{}" : params.text())
      .str("heads_mode", headsModeName(m.headsMode))
      .num("dropout", m.dropout)
      .flag("recompute", m.recompute)
      .str("positions", m.positions == PositionMode::Image ? "image" : "text")
      .integer("grid_l", m.gridL)
      .integer("image_width", m.imageWidth)
      .integer("image_height", m.imageHeight)
      .num("layer_norm_eps", m.layerNormEps);
  ObjectWriter dataObj(2);
  dataObj.str("spec", c.data)
      .str("path", c.dataPath)
      .str("kind", data.kind == DataKind::Images ? "images" : "text")
      .integer("train_bytes", int64_t(data.train.size()))
      .integer("validation_bytes", int64_t(data.validation.size()))
      .flag("pack", c.pack);
  ObjectWriter opt(2);
  opt.str("name", "adamw")
      .num("lr", c.lr)
      .num("min_lr_ratio", c.minLrRatio)
      .integer("warmup", c.warmup)
      .num("beta1", c.beta1)
      .num("beta2", c.beta2)
      .num("eps", c.eps)
      .num("weight_decay", c.weightDecay)
      .num("clip", c.clip);
  ObjectWriter train(2);
  train.integer("batch", c.batch)
      .integer("steps", c.steps)
      .integer("eval_every", c.evalEvery)
      .integer("eval_rows", c.evalRows)
      .integer("checkpoint_every", c.checkpointEvery)
      .integer("keep_checkpoints", c.keepCheckpoints)
      .num("time_limit_minutes", c.timeLimitMinutes);
  ObjectWriter root(0);
  root.integer("version", kVersion)
      .raw("seed", std::to_string(c.seed))
      .raw("model", model.text())
      .raw("data", dataObj.text())
      .raw("optimizer", opt.text())
      .raw("train", train.text());
  return root.text() + "\n";
}

TrainerConfig runConfigFromJson(const std::string &json, const std::string &what) {
  JsonValue root = parseJson(json, what);
  if (!root.isObject()) throw Error(what + ": a run config must be a JSON object");
  const JsonValue *version = root.find("version");
  if (!version || !version->isNumber() || version->text != std::to_string(kVersion))
    throw Error(what + ": version must be " + std::to_string(kVersion));
  const JsonValue *seed = root.find("seed");
  if (!seed || !seed->isNumber()) throw Error(what + ": seed must be an integer");
  TrainerConfig c;
  try {
    c.seed = seed->asUnsigned();
  } catch (const Error &) {
    throw Error(what + ": seed must be an integer");
  }

  Section m(root, "model", what);
  ModelConfig &mc = c.model;
  mc.layers = int(m.integer("layers"));
  mc.dModel = int(m.integer("d_model"));
  mc.heads = int(m.integer("heads"));
  mc.ffMult = int(m.integer("ff_mult"));
  mc.T = int(m.integer("T"));
  mc.vocab = int(m.integer("vocab"));
  mc.patternPath = m.str("pattern_file");
  m.str("pattern_source"); // required: a config names its pattern's text, not only a path
  const JsonValue &params = m.get("pattern_params");
  if (!params.isObject()) m.fail("pattern_params", "must be an object");
  for (const auto &[k, v] : params.members) {
    if (!v.isNumber()) m.fail("pattern_params." + k, "must be an integer");
    mc.patternParams[k] = v.asInt();
  }
  try {
    mc.headsMode = parseHeadsMode(m.str("heads_mode"));
  } catch (const Error &e) {
    m.fail("heads_mode", std::string("is invalid: ") + e.what());
  }
  mc.dropout = float(m.num("dropout"));
  mc.recompute = m.flag("recompute");
  const std::string &positions = m.str("positions");
  if (positions != "text" && positions != "image") m.fail("positions", "must be \"text\" or \"image\"");
  mc.positions = positions == "image" ? PositionMode::Image : PositionMode::Text;
  mc.gridL = int(m.integer("grid_l"));
  mc.imageWidth = int(m.integer("image_width"));
  mc.imageHeight = int(m.integer("image_height"));
  mc.layerNormEps = float(m.num("layer_norm_eps"));

  Section d(root, "data", what);
  c.data = d.str("spec");
  c.dataPath = d.str("path");
  c.pack = d.flag("pack");

  Section o(root, "optimizer", what);
  if (o.str("name") != "adamw") o.fail("name", "must be \"adamw\"");
  c.lr = o.num("lr");
  c.minLrRatio = o.num("min_lr_ratio");
  c.warmup = o.integer("warmup");
  c.beta1 = float(o.num("beta1"));
  c.beta2 = float(o.num("beta2"));
  c.eps = float(o.num("eps"));
  c.weightDecay = float(o.num("weight_decay"));
  c.clip = float(o.num("clip"));

  Section t(root, "train", what);
  c.batch = int(t.integer("batch"));
  c.steps = t.integer("steps");
  c.evalEvery = t.integer("eval_every");
  c.evalRows = t.integer("eval_rows");
  c.checkpointEvery = t.integer("checkpoint_every");
  c.keepCheckpoints = int(t.integer("keep_checkpoints"));
  c.timeLimitMinutes = t.num("time_limit_minutes");
  return c;
}

void writeRunConfig(const std::string &dir, const std::string &json) {
  AtomicFile file(dir + "/config.json");
  file.write(json);
  file.commit();
}

void writeWeightsWithConfig(const std::string &path, const ParameterLayout &layout,
                            const std::vector<float> &flat, const std::string &configJson) {
  Metadata meta;
  meta.set(kRunConfigKey, configJson);
  writeSafetensors(path, parametersToTensors(layout, flat), meta);
}

} // namespace sparta::model
