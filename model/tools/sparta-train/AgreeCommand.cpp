//===- AgreeCommand.cpp - sparta-train agree: the PyTorch agreement test ---===//
//
//   sparta-train agree --dir DIR [--steps N]
//
// The C++ side of the agreement test (tests/reference/agreement.py,
// docs/reference-model.md, "Exchange directory"): reads DIR/config.json,
// DIR/init.safetensors and DIR/batch.bin, writes the step-0 gradients and loss
// and the loss of every training step; with DIR/val.bin also the validation
// loss after training.
//
//===----------------------------------------------------------------------===//
#include "Train.h"

#include "sparta/model/Json.h"
#include "sparta/model/LrSchedule.h"
#include "sparta/runtime/Cuda.h"

#include <cmath>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>

namespace sparta::train {
namespace {

constexpr int64_t kMaxSteps = 1000000000;

std::string readFile(const std::string &path) {
  std::ifstream f(path, std::ios::binary);
  if (!f) throw Error("cannot read " + path);
  std::ostringstream ss;
  ss << f.rdbuf();
  return ss.str();
}

constexpr double kLn2 = 0.69314718055994530942;

/// {"loss": nats, "bits": bits} as the agreement test reads it (loss.json, val.json).
void writeLossJson(const std::string &path, double nats) {
  std::ofstream f(path);
  f << "{\"loss\": " << jsonNumber(nats) << ", \"bits\": " << jsonNumber(nats / kLn2) << "}\n";
}

/// The PyTorch agreement test's C++ side (docs/reference-model.md, "Exchange directory").
int runAgree(const Arguments &args) {
  requirePositionals(args, 0, "");
  if (!args.has("dir")) throw UsageError("agree needs --dir DIR");
  const std::string dir = args.text("dir");
  JsonValue root = parseJson(readFile(dir + "/config.json"), dir + "/config.json");
  const JsonValue *md = root.find("model") ? root.find("model") : &root;
  const JsonValue *td = root.find("train") ? root.find("train") : &root;
  const std::string where = dir + "/config.json: ";
  // Numbers of the config: finite, and whole counts within [0, max] (never cut to int).
  auto num = [&](const JsonValue *o, const char *k, double def) {
    const JsonValue *v = o->find(k);
    const double x = v && v->isNumber() ? v->number : def;
    if (!std::isfinite(x)) throw Error(where + "'" + k + "' must be a finite number");
    return x;
  };
  auto count = [&](const JsonValue *o, const char *k, double def, int64_t max = INT32_MAX) {
    const double x = num(o, k, def);
    if (!(x >= 0 && x <= double(max) && x == std::floor(x)))
      throw Error(where + "'" + k + "' must be an integer in [0, " + std::to_string(max) + "], not " +
                  jsonNumber(x));
    return int64_t(x);
  };
  auto str = [](const JsonValue *o, const char *k, const std::string &def) {
    const JsonValue *v = o->find(k);
    return v && v->isString() ? v->text : def;
  };
  ModelConfig m;
  m.layers = int(count(md, "layers", 2));
  m.dModel = int(count(md, "d_model", 64));
  m.heads = int(count(md, "heads", 4));
  m.ffMult = int(count(md, "ff_mult", 4));
  m.T = int(count(md, "seq_len", 128));
  m.vocab = int(count(md, "vocab", 256));
  m.dropout = 0.0f;
  std::string pf = str(md, "pattern_file", "");
  if (pf.empty()) pf = "patterns/" + str(md, "pattern", "fixed") + ".mlir";
  m.patternPath = pf;
  if (!std::filesystem::exists(m.patternPath))
    throw Error("pattern file '" + m.patternPath + "' not found (run from the repository root)");
  if (const JsonValue *pp = md->find("pattern_params"))
    for (const auto &[k, v] : pp->members)
      if (k != "T") m.patternParams[k] = count(pp, k.c_str(), 0, INT64_MAX / 2);
  m.headsMode = parseHeadsMode(str(md, "head_mode", "multihead"));
  const std::string pos = str(md, "positional", "text");
  if (pos == "image") {
    m.positions = PositionMode::Image;
    if (count(md, "image_channels", 1) != 1) throw Error("agree: only image_channels 1 is supported");
    m.imageWidth = int(count(md, "image_width", 28));
    m.imageHeight = (m.T + m.imageWidth - 1) / m.imageWidth;
  } else {
    m.positions = PositionMode::Text;
  }
  if (const JsonValue *mf = md->find("mask_files"); mf && !mf->isNull() && !mf->items.empty())
    throw Error("agree: config mask_files are not supported (the C++ side compiles the pattern file)");
  m.validate();
  m.loadPattern();

  const int B = int(count(td, "batch_size", 8));
  const int64_t cfgSteps = count(td, "steps", 200, kMaxSteps);
  const int64_t steps = args.has("steps") ? args.integer("steps") : cfgSteps;
  LrSchedule schedule;
  schedule.peak = num(td, "lr", 1e-3);
  schedule.floor = num(td, "min_lr", 0.0);
  schedule.totalSteps = count(td, "total_steps", double(cfgSteps), kMaxSteps);
  schedule.warmupSteps = count(td, "warmup_steps", 20, kMaxSteps);
  schedule.validate();
  AdamWHyper hyper;
  hyper.beta1 = float(num(td, "beta1", 0.9));
  hyper.beta2 = float(num(td, "beta2", 0.95));
  hyper.eps = float(num(td, "eps", 1e-8));
  hyper.weightDecay = float(num(td, "weight_decay", 0.01));
  const float clip = float(num(td, "clip", 1.0));

  // Batches: batch.bin, U8 (or I32), [S, B, T+1] row-major.
  const std::string dt = str(&root, "batch_dtype", "U8");
  std::string raw = readFile(dir + "/batch.bin");
  const std::size_t row = std::size_t(m.T) + 1, per = row * std::size_t(B);
  std::vector<uint8_t> tokens;
  if (dt == "U8") {
    tokens.assign(raw.begin(), raw.end());
  } else if (dt == "I32") {
    tokens.resize(raw.size() / 4);
    for (std::size_t i = 0; i < tokens.size(); ++i) {
      int32_t v;
      std::memcpy(&v, raw.data() + 4 * i, 4);
      if (v < 0 || v > 255) throw Error("agree: batch token outside 0..255");
      tokens[i] = uint8_t(v);
    }
  } else {
    throw Error("agree: batch_dtype " + dt + " (U8 or I32)");
  }
  if (tokens.empty() || tokens.size() % per) throw Error("agree: batch.bin is not [S, B, T+1]");
  const std::size_t S = tokens.size() / per;

  const ParameterLayout layout = parameterLayout(m);
  const std::vector<float> init =
      parametersFromTensors(layout, readSafetensors(dir + "/init.safetensors"));

  requireDevice();
  Transformer model(m, B, 1);
  model.setParameters(init);
  std::printf("agree: %d layers, d_model %d, %d heads, T %d, %s, %s heads, B %d, %zu batches, %lld steps\n",
              m.layers, m.dModel, m.heads, m.T, m.patternPath.c_str(), headsModeName(m.headsMode), B, S,
              (long long)steps);

  // Step-0 loss and gradients (batch 0, before clipping).
  double loss0 = model.forwardBackward(tokens.data(), B);
  writeSafetensors(dir + "/grads.safetensors", parametersToTensors(layout, model.gradients()));
  writeLossJson(dir + "/loss.json", loss0);
  std::printf("step-0 loss %.6f nats; wrote %s/grads.safetensors, %s/loss.json\n", loss0, dir.c_str(),
              dir.c_str());

  // Training track: step s on batch s mod S, lr schedule.at(s), AdamW step s+1.
  std::ofstream track(dir + "/losses.jsonl");
  for (int64_t s = 0; s < steps; ++s) {
    double loss = model.forwardBackward(tokens.data() + std::size_t(s % int64_t(S)) * per, B);
    hyper.lr = float(schedule.at(s));
    hyper.step = s + 1;
    GradNormResult norm = model.optimizerStep(hyper, clip);
    track << "{\"step\": " << s << ", \"loss\": " << jsonNumber(loss) << ", \"lr\": " << jsonNumber(hyper.lr)
          << ", \"grad_norm\": " << jsonNumber(norm.norm) << "}\n";
    if (!std::isfinite(loss) || norm.nonFinite) {
      std::fprintf(stderr, "sparta-train agree: non-finite loss/gradient at step %lld\n", (long long)s);
      return kExitWorkFailed;
    }
    if (s % 50 == 0 || s == steps - 1)
      std::printf("  step %4lld loss %.4f nats (%.4f bits) lr %.2e |g| %.3f\n", (long long)s, loss,
                  loss / kLn2, hyper.lr, double(norm.norm));
  }
  std::printf("wrote %s/losses.jsonl (%lld steps)\n", dir.c_str(), (long long)steps);

  // Held-out validation windows (val.bin, U8 [V, B, T+1]): mean loss after training.
  if (std::filesystem::exists(dir + "/val.bin")) {
    const std::string val = readFile(dir + "/val.bin");
    if (val.empty() || val.size() % per)
      throw Error("agree: val.bin is not [V, B, T+1] U8 with B = " + std::to_string(B) + ", T = " +
                  std::to_string(m.T));
    const std::size_t V = val.size() / per;
    double sum = 0;
    for (std::size_t v = 0; v < V; ++v)
      sum += model.evaluate(reinterpret_cast<const uint8_t *>(val.data()) + v * per, B);
    const double mean = sum / (double(V) * B * m.T);
    writeLossJson(dir + "/val.json", mean);
    std::printf("validation after %lld steps: %.6f nats (%.4f bits/byte) over %zu windows; wrote %s/val.json\n",
                (long long)steps, mean, mean / kLn2, V * std::size_t(B), dir.c_str());
  }
  return kExitSuccess;
}

} // namespace

SPARTA_COMMAND({"agree", "the C++ side of the agreement test with the PyTorch reference model",
                "--dir DIR [--steps N]",
                {
                    Option::text("dir", "DIR", "the exchange folder (required)"),
                    Option::integer("steps", "N", {0, kMaxSteps}, "training steps")
                        .derivedDefault("config.json's train.steps"),
                },
                runAgree,
                "Reads DIR/config.json, DIR/init.safetensors, DIR/batch.bin; writes\n"
                "DIR/grads.safetensors and DIR/loss.json (step-0 gradients before clipping, loss in\n"
                "nats, batch 0) and DIR/losses.jsonl (one {\"step\", \"loss\"} per step; step s on\n"
                "batch s mod S, dropout 0); with DIR/val.bin (held-out windows, U8 [V, B, T+1]) also\n"
                "DIR/val.json, the mean validation loss after training.\n"});

} // namespace sparta::train
