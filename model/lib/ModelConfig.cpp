//===- ModelConfig.cpp - Model configuration, parameter layout, init -------===//
#include "sparta/model/ModelConfig.h"

#include "sparta/Error.h"
#include "sparta/model/Data.h"

#include <cmath>
#include <cstdlib>
#include <map>

namespace sparta::model {

const char *headsModeName(HeadsMode mode) {
  switch (mode) {
  case HeadsMode::Multihead: return "multihead";
  case HeadsMode::Merged: return "merged";
  case HeadsMode::Interleaved: return "interleaved";
  }
  return "?";
}

HeadsMode parseHeadsMode(const std::string &name) {
  if (name == "multihead") return HeadsMode::Multihead;
  if (name == "merged") return HeadsMode::Merged;
  if (name == "interleaved") return HeadsMode::Interleaved;
  throw Error("unknown heads mode '" + name + "' (expected multihead, merged or interleaved)");
}

int ModelConfig::textL() const {
  if (gridL > 0) return gridL;
  auto it = patternParams.find("L");
  return it == patternParams.end() ? 0 : int(it->second);
}

ParamBindings ModelConfig::bindings() const {
  ParamBindings b = patternParams;
  b["T"] = T;
  return b;
}

void ModelConfig::validate() const {
  auto bad = [](const std::string &m) { throw Error("model config: " + m); };
  if (layers < 1) bad("layers must be >= 1 (got " + std::to_string(layers) + ")");
  if (dModel < 32 || dModel > 1024 || dModel % 32 != 0)
    bad("d_model must be a multiple of 32 in [32, 1024] (got " + std::to_string(dModel) + ")");
  if (heads < 1 || dModel % heads != 0)
    bad("heads (" + std::to_string(heads) + ") must divide d_model (" + std::to_string(dModel) + ")");
  int dh = headDim();
  if (dh != 32 && dh != 64 && dh != 128)
    bad("head dim d_model/heads must be 32, 64 or 128 (got " + std::to_string(dh) + ")");
  if (ffMult < 1 || ffMult > 16) bad("ff multiplier must be in [1, 16] (got " + std::to_string(ffMult) + ")");
  if (T < 16 || T % 16 != 0) bad("T must be a positive multiple of 16 (got " + std::to_string(T) + ")");
  if (vocab != 256) bad("vocab must be 256 (byte-level model; got " + std::to_string(vocab) + ")");
  if (patternPath.empty()) bad("no pattern file");
  auto t = patternParams.find("T");
  if (t != patternParams.end() && t->second != T)
    bad("pattern parameter T=" + std::to_string(t->second) + " differs from T=" + std::to_string(T));
  if (!(dropout >= 0.f && dropout < 1.f)) bad("dropout must be in [0, 1)");
  if (!(layerNormEps > 0.f)) bad("layer-norm epsilon must be > 0");
  if (positions == PositionMode::Text) {
    int L = textL();
    if (L < 1) bad("text position embeddings need the grid row length L (pattern parameter L or gridL)");
    if (L > T) bad("grid row length L=" + std::to_string(L) + " exceeds T=" + std::to_string(T));
  } else {
    if (imageWidth < 1 || imageHeight < 1) bad("image width and height must be >= 1");
    if (int64_t(imageWidth) * imageHeight != T)
      bad("image positions need T = width * height (" + std::to_string(imageWidth) + "x" +
          std::to_string(imageHeight) + " != " + std::to_string(T) + ")");
  }
}

ConcretePattern ModelConfig::loadPattern() const {
  ConcretePattern pattern = sparta::loadPattern(patternPath, bindings());
  if (pattern.T != T) throw Error("pattern T differs from the model's T");
  // The model predicts each token from the ones before it.
  if (!pattern.causal)
    throw Error("the model is autoregressive, but " + patternPath +
                " is bidirectional: its queries would see the tokens they predict");
  if (headsMode == HeadsMode::Merged && pattern.heads.size() != 1)
    throw Error("heads mode 'merged' needs a pattern with one (union) mask; " + patternPath + " has " +
                std::to_string(pattern.heads.size()) +
                " (use its _merged variant, e.g. patterns/fixed_merged.mlir)");
  return pattern;
}

std::vector<std::pair<std::string, std::string>> ModelConfig::toKeyValues() const {
  std::vector<std::pair<std::string, std::string>> kv = {
      {"layers", std::to_string(layers)},
      {"d_model", std::to_string(dModel)},
      {"heads", std::to_string(heads)},
      {"ff_mult", std::to_string(ffMult)},
      {"T", std::to_string(T)},
      {"vocab", std::to_string(vocab)},
      {"pattern", patternPath},
      {"heads_mode", headsModeName(headsMode)},
      {"dropout", std::to_string(dropout)},
      {"recompute", recompute ? "1" : "0"},
      {"positions", positions == PositionMode::Text ? "text" : "image"},
      {"grid_l", std::to_string(gridL)},
      {"image_width", std::to_string(imageWidth)},
      {"image_height", std::to_string(imageHeight)},
  };
  std::string params;
  for (const auto &[k, v] : patternParams)
    params += (params.empty() ? "" : ",") + k + "=" + std::to_string(v);
  kv.push_back({"pattern_params", params});
  return kv;
}

ModelConfig ModelConfig::fromKeyValues(const std::vector<std::pair<std::string, std::string>> &kv) {
  std::map<std::string, std::string> m(kv.begin(), kv.end());
  auto get = [&](const char *k) -> const std::string & {
    auto it = m.find(k);
    if (it == m.end()) throw Error(std::string("model config: missing key '") + k + "'");
    return it->second;
  };
  auto num = [&](const char *k) {
    const std::string &s = get(k);
    char *end = nullptr;
    long v = std::strtol(s.c_str(), &end, 10);
    if (s.empty() || *end) throw Error(std::string("model config: key '") + k + "' is not an integer: " + s);
    return int(v);
  };
  ModelConfig c;
  c.layers = num("layers");
  c.dModel = num("d_model");
  c.heads = num("heads");
  c.ffMult = num("ff_mult");
  c.T = num("T");
  c.vocab = num("vocab");
  c.patternPath = get("pattern");
  c.headsMode = parseHeadsMode(get("heads_mode"));
  c.dropout = std::strtof(get("dropout").c_str(), nullptr);
  c.recompute = get("recompute") == "1";
  c.positions = get("positions") == "image" ? PositionMode::Image : PositionMode::Text;
  c.gridL = num("grid_l");
  c.imageWidth = num("image_width");
  c.imageHeight = num("image_height");
  const std::string &params = get("pattern_params");
  size_t pos = 0;
  while (pos < params.size()) {
    size_t comma = params.find(',', pos);
    if (comma == std::string::npos) comma = params.size();
    std::string item = params.substr(pos, comma - pos);
    size_t eq = item.find('=');
    if (eq == std::string::npos) throw Error("model config: bad pattern parameter '" + item + "'");
    c.patternParams[item.substr(0, eq)] = std::strtoll(item.c_str() + eq + 1, nullptr, 10);
    pos = comma + 1;
  }
  return c;
}

const ParamSpec &ParameterLayout::get(const std::string &name) const {
  int i = index(name);
  if (i < 0) throw Error("no parameter named '" + name + "'");
  return params[i];
}

int ParameterLayout::index(const std::string &name) const {
  for (size_t i = 0; i < params.size(); ++i)
    if (params[i].name == name) return int(i);
  return -1;
}

ParameterLayout parameterLayout(const ModelConfig &c) {
  c.validate();
  ParameterLayout layout;
  const int64_t D = c.dModel, F = c.hidden(), V = c.vocab;
  const float std = 0.02f;
  const float projStd = 0.02f * std::sqrt(1.0f / (2.0f * c.layers));
  auto add = [&](std::string name, std::vector<int64_t> shape, InitKind init, float s) {
    ParamSpec p;
    p.name = std::move(name);
    p.shape = std::move(shape);
    p.numel = 1;
    for (int64_t e : p.shape) p.numel *= e;
    p.init = init;
    p.std = init == InitKind::Normal ? s : 0.f;
    p.decay = p.shape.size() == 2;
    p.offset = layout.totalElements;
    layout.totalElements += (p.numel + 7) / 8 * 8;
    layout.parameterCount += p.numel;
    layout.params.push_back(std::move(p));
  };
  add("tok_emb", {V, D}, InitKind::Normal, std);
  if (c.positions == PositionMode::Text) {
    int64_t L = c.textL();
    add("pos_emb.row", {(c.T + L - 1) / L, D}, InitKind::Normal, 0.01f);
    add("pos_emb.col", {L, D}, InitKind::Normal, 0.01f);
  } else {
    add("pos_emb.row", {c.imageHeight, D}, InitKind::Normal, 0.01f);
    add("pos_emb.col", {c.imageWidth, D}, InitKind::Normal, 0.01f);
    add("pos_emb.channel", {1, D}, InitKind::Normal, 0.01f);
  }
  for (int l = 0; l < c.layers; ++l) {
    std::string b = "blocks." + std::to_string(l) + ".";
    add(b + "ln1.weight", {D}, InitKind::Ones, 0);
    add(b + "ln1.bias", {D}, InitKind::Zeros, 0);
    add(b + "attn.qkv.weight", {3 * D, D}, InitKind::Normal, std);
    add(b + "attn.qkv.bias", {3 * D}, InitKind::Zeros, 0);
    add(b + "attn.proj.weight", {D, D}, InitKind::Normal, projStd);
    add(b + "attn.proj.bias", {D}, InitKind::Zeros, 0);
    add(b + "ln2.weight", {D}, InitKind::Ones, 0);
    add(b + "ln2.bias", {D}, InitKind::Zeros, 0);
    add(b + "mlp.fc1.weight", {F, D}, InitKind::Normal, std);
    add(b + "mlp.fc1.bias", {F}, InitKind::Zeros, 0);
    add(b + "mlp.fc2.weight", {D, F}, InitKind::Normal, projStd);
    add(b + "mlp.fc2.bias", {D}, InitKind::Zeros, 0);
  }
  add("ln_f.weight", {D}, InitKind::Ones, 0);
  add("ln_f.bias", {D}, InitKind::Zeros, 0);
  add("head.weight", {V, D}, InitKind::Normal, std);
  return layout;
}

std::vector<float> initParameters(const ModelConfig &config, uint64_t seed) {
  ParameterLayout layout = parameterLayout(config);
  std::vector<float> flat(layout.totalElements, 0.f);
  Rng rng(seed);
  const double twoPi = 6.283185307179586476925286766559;
  for (const ParamSpec &p : layout.params) {
    float *dst = flat.data() + p.offset;
    for (int64_t i = 0; i < p.numel; ++i) {
      switch (p.init) {
      case InitKind::Ones: dst[i] = 1.f; break;
      case InitKind::Zeros: dst[i] = 0.f; break;
      case InitKind::Normal: {
        double u1 = rng.uniform(), u2 = rng.uniform();
        double z = std::sqrt(-2.0 * std::log(1.0 - u1)) * std::cos(twoPi * u2);
        dst[i] = float(z * p.std);
        break;
      }
      }
    }
  }
  return flat;
}

std::vector<Tensor> parametersToTensors(const ParameterLayout &layout, const std::vector<float> &flat,
                                        const std::string &prefix) {
  if (int64_t(flat.size()) != layout.totalElements)
    throw Error("parameter buffer holds " + std::to_string(flat.size()) + " floats, layout needs " +
                std::to_string(layout.totalElements));
  std::vector<Tensor> out;
  for (const ParamSpec &p : layout.params)
    out.push_back(Tensor::fromF32(prefix + p.name, p.shape, flat.data() + p.offset));
  return out;
}

std::vector<float> parametersFromTensors(const ParameterLayout &layout,
                                         const std::vector<Tensor> &tensors,
                                         const std::string &prefix) {
  std::map<std::string, const Tensor *> byName;
  for (const Tensor &t : tensors) byName[t.name] = &t;
  std::vector<float> flat(layout.totalElements, 0.f);
  for (const ParamSpec &p : layout.params) {
    auto it = byName.find(prefix + p.name);
    if (it == byName.end()) throw Error("missing parameter tensor '" + prefix + p.name + "'");
    if (it->second->shape != p.shape) {
      std::string want, got;
      for (int64_t e : p.shape) want += (want.empty() ? "" : ",") + std::to_string(e);
      for (int64_t e : it->second->shape) got += (got.empty() ? "" : ",") + std::to_string(e);
      throw Error("parameter '" + p.name + "' has shape [" + got + "], expected [" + want + "]");
    }
    std::vector<float> v = it->second->toF32();
    std::copy(v.begin(), v.end(), flat.begin() + p.offset);
  }
  return flat;
}

} // namespace sparta::model
