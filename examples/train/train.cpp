//===- train.cpp - sparta-train: train and sample the Sparse Transformer ---===//
//
//   sparta-train --data gcide --pattern patterns/fixed.mlir --set L=64 --set c=16
//                --T 4096 --layers 8 --d-model 512 --heads 8 --batch 8 --steps 2000
//                --lr 1e-3 --eval-every 200 --out runs/gcide
//   sparta-train --data fashion-mnist --pattern patterns/strided.mlir --set L=28 ...
//   sparta-train sample --checkpoint runs/gcide [--length 500] [--prompt TEXT]
//
// `sparta-train --help` lists every option. Exit status: 0 done (or a resumed
// run that was already finished), 1 error, 2 bad options, 3 training stopped on
// a non-finite loss/gradient/weight, 4 stopped by SIGINT/SIGTERM after writing
// a checkpoint (continue with --resume).
//
//===----------------------------------------------------------------------===//
#include "sparta/Error.h"
#include "sparta/Frontend.h"
#include "sparta/model/Decoder.h"
#include "sparta/model/Json.h"
#include "sparta/model/Metrics.h"
#include "sparta/model/LrSchedule.h"
#include "sparta/model/Trainer.h"
#include "sparta/runtime/Cuda.h"

#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <functional>
#include <map>
#include <string>
#include <vector>

using namespace sparta;
using namespace sparta::model;

namespace {

struct UsageError : std::runtime_error {
  using std::runtime_error::runtime_error;
};

const char *kUsage = R"(usage:
  sparta-train [train] --data gcide|fashion-mnist|FILE --out DIR [options]
  sparta-train sample --checkpoint DIR|FILE [options]
  sparta-train agree --dir DIR [--steps N]

agree (the PyTorch agreement test, tests/reference/agreement.py, docs/reference-model.md):
  reads DIR/config.json, DIR/init.safetensors, DIR/batch.bin; writes DIR/grads.safetensors
  and DIR/loss.json (step-0 gradients before clipping, loss in nats, batch 0) and
  DIR/losses.jsonl (one {"step","loss"} per step; step s on batch s mod S, dropout 0);
  with DIR/val.bin (held-out windows, U8 [V, B, T+1]) also DIR/val.json, the mean
  validation loss after training
  --dir DIR  --steps N [config train.steps]

training options (defaults in brackets):
  --data SPEC           gcide, fashion-mnist or any file of bytes [gcide]
  --data-path PATH      where gcide (the .dict.dz) / fashion-mnist (the idx dir) are
  --pattern FILE        attention pattern [patterns/fixed.mlir; strided for images]
  --set NAME=VALUE      pattern parameter (repeatable) [L=64 c=16; L=28 for images]
  --heads-mode MODE     multihead | merged | interleaved [multihead]
  --T N                 sequence length [4096; 784 for images]
  --layers N [8]  --d-model N [512]  --heads N [8]  --ff-mult N [4]
  --dropout P [0]       --recompute       recompute activations in the backward
  --batch B [8]  --steps S [1000]  --lr X [1e-3]  --warmup N [100]
  --min-lr-ratio R [0.1]  --weight-decay W [0.01]  --clip C [1.0]
  --eval-every N [200]  --eval-rows N [128, 0 = whole validation split]
  --checkpoint-every N [= eval-every]  --keep N [3]
  --out DIR             metrics.jsonl, loss.png, checkpoints/, model.safetensors
  --resume              continue from the newest checkpoint in DIR
  --time-limit MIN      stop (checkpoint + evaluation) after MIN minutes
  --seed N [1]  --quiet (no progress line)

sample options:
  --checkpoint DIR|FILE a checkpoint, or a run directory (its newest checkpoint)
  --length N [400]  --prompt TEXT  --temperature X [1.0]  --seed N [1]
  --count N [16] (images)  --png FILE [samples.png] (images)
  --method cached|full  a key/value cache, one step per byte [cached]; or a forward over
                        the whole window per byte; the rate goes to stderr
)";

/// Options as NAME -> values; flags have an empty value.
class Args {
public:
  Args(int argc, char **argv, int first, const std::map<std::string, bool> &known) {
    for (int i = first; i < argc; ++i) {
      std::string a = argv[i];
      if (a == "--help" || a == "-h") throw UsageError("");
      if (a.rfind("--", 0) != 0) throw UsageError("unexpected argument '" + a + "'");
      std::string name = a.substr(2), value;
      auto eq = name.find('=');
      if (eq != std::string::npos && name != "set") value = name.substr(eq + 1), name = name.substr(0, eq);
      auto it = known.find(name);
      if (it == known.end()) throw UsageError("unknown option '--" + name + "'");
      if (it->second && eq == std::string::npos) {
        if (i + 1 >= argc) throw UsageError("option '--" + name + "' needs a value");
        value = argv[++i];
      }
      values[name].push_back(value);
    }
  }
  bool has(const std::string &n) const { return values.count(n) > 0; }
  std::string str(const std::string &n, const std::string &def) const {
    return has(n) ? values.at(n).back() : def;
  }
  const std::vector<std::string> &all(const std::string &n) const {
    static const std::vector<std::string> none;
    return has(n) ? values.at(n) : none;
  }
  int64_t integer(const std::string &n, int64_t def) const {
    if (!has(n)) return def;
    const std::string &s = values.at(n).back();
    char *end = nullptr;
    long long v = std::strtoll(s.c_str(), &end, 10);
    if (s.empty() || *end) throw UsageError("--" + n + " needs an integer, got '" + s + "'");
    return v;
  }
  double real(const std::string &n, double def) const {
    if (!has(n)) return def;
    const std::string &s = values.at(n).back();
    char *end = nullptr;
    double v = std::strtod(s.c_str(), &end);
    if (s.empty() || *end) throw UsageError("--" + n + " needs a number, got '" + s + "'");
    return v;
  }

private:
  std::map<std::string, std::vector<std::string>> values;
};

double mib(std::size_t b) { return double(b) / 1048576.0; }

int train(const Args &a) {
  TrainerConfig t;
  t.data = a.str("data", "gcide");
  t.dataPath = a.str("data-path", "");
  const bool images = t.data == "fashion-mnist";
  ModelConfig &m = t.model;
  m.patternPath = a.str("pattern", images ? "patterns/strided.mlir" : "patterns/fixed.mlir");
  if (a.has("set")) {
    try {
      m.patternParams = parseBindings(a.all("set"));
    } catch (const Error &e) {
      throw UsageError(e.what());
    }
  } else {
    m.patternParams = images ? ParamBindings{{"L", 28}} : ParamBindings{{"L", 64}, {"c", 16}};
    if (a.has("pattern")) m.patternParams.clear();
  }
  m.T = int(a.integer("T", images ? 784 : 4096));
  m.patternParams.erase("T");
  m.layers = int(a.integer("layers", 8));
  m.dModel = int(a.integer("d-model", 512));
  m.heads = int(a.integer("heads", 8));
  m.ffMult = int(a.integer("ff-mult", 4));
  m.dropout = float(a.real("dropout", 0));
  m.recompute = a.has("recompute");
  try {
    m.headsMode = parseHeadsMode(a.str("heads-mode", "multihead"));
  } catch (const Error &e) {
    throw UsageError(e.what());
  }
  m.positions = images ? PositionMode::Image : PositionMode::Text;
  t.batch = int(a.integer("batch", 8));
  t.steps = a.integer("steps", 1000);
  t.lr = a.real("lr", 1e-3);
  t.warmup = a.integer("warmup", std::min<int64_t>(100, t.steps / 10));
  t.minLrRatio = a.real("min-lr-ratio", 0.1);
  t.weightDecay = float(a.real("weight-decay", 0.01));
  t.clip = float(a.real("clip", 1.0));
  t.evalEvery = a.integer("eval-every", 200);
  t.evalRows = a.integer("eval-rows", 128);
  t.checkpointEvery = a.integer("checkpoint-every", 0);
  t.keepCheckpoints = int(a.integer("keep", 3));
  t.outDir = a.str("out", "");
  t.resume = a.has("resume");
  t.timeLimitMinutes = a.real("time-limit", 0);
  t.seed = uint64_t(a.integer("seed", 1));
  t.progress = !a.has("quiet");
  if (t.outDir.empty()) throw UsageError("--out DIR is required");
  if (!std::filesystem::exists(m.patternPath))
    throw UsageError("pattern file '" + m.patternPath + "' not found");
  try {
    t.validate();
  } catch (const Error &e) {
    throw UsageError(e.what());
  }
  if (auto done = finishedRun(t)) {
    std::printf("%s\n", done->describe(t).c_str());
    return 0;
  }

  ParameterLayout layout = parameterLayout(m);
  ModelConfig other = m;
  other.recompute = !m.recompute;
  MemoryReport mem = plannedMemory(m, t.batch), alt = plannedMemory(other, t.batch);
  std::printf("model: %d layers, d_model %d, %d heads (dim %d), ff %d, T %d, %s %s, %s heads; %lld parameters\n",
              m.layers, m.dModel, m.heads, m.headDim(), m.hidden(), m.T, m.patternPath.c_str(),
              m.toKeyValues().back().second.c_str(), headsModeName(m.headsMode),
              (long long)layout.parameterCount);
  std::printf("memory (MiB): parameters %.1f, optimizer %.1f, activations %.1f (%.1f with recompute %s), scratch %.1f\n",
              mib(mem.parameters), mib(mem.optimizer), mib(mem.activations), mib(alt.activations),
              m.recompute ? "off" : "on", mib(mem.scratch));
  std::fflush(stdout);

  std::string why;
  if (!rt::cudaAvailable(&why)) throw Error("no CUDA device: " + why);
  const auto freeBefore = rt::Context::get().memoryInfo().first;
  Trainer trainer(t);
  std::printf("data: %s, %zu training bytes, %zu validation bytes; device %s\n", trainer.data().name.c_str(),
              trainer.data().train.size(), trainer.data().validation.size(),
              rt::Context::get().device().name.c_str());
  std::fflush(stdout);
  TrainResult r = trainer.run();
  const auto freeAfter = rt::Context::get().memoryInfo().first;
  std::printf("device memory in use by the run: %.1f MiB\n", mib(freeBefore - freeAfter));
  if (r.failedStep > 0) {
    std::fprintf(stderr, "sparta-train: %s\n", r.message.c_str());
    return 3;
  }
  if (r.stopSignal) {
    std::fprintf(stderr, "sparta-train: %s; continue with --resume\n", r.message.c_str());
    return 4;
  }
  std::printf("done: steps %lld-%lld, %.1f s training, %.0f tokens/s, validation %.4f %s\n",
              (long long)r.firstStep, (long long)r.lastStep, r.trainSeconds, r.tokensPerSec,
              r.validationBits, trainer.data().unitName());
  std::printf("files: %s/metrics.jsonl, %s/loss.png, %s\n", t.outDir.c_str(), t.outDir.c_str(),
              r.lastCheckpoint.c_str());
  return 0;
}

int sample(const Args &a) {
  const std::string method = a.str("method", "cached");
  if (method != "cached" && method != "full") throw UsageError("--method must be cached or full");
  const bool cached = method == "cached";
  std::string path = a.str("checkpoint", "");
  if (path.empty()) throw UsageError("sample needs --checkpoint DIR|FILE");
  if (std::filesystem::is_directory(path)) {
    std::string dir = std::filesystem::exists(path + "/checkpoints") ? path + "/checkpoints" : path;
    auto latest = CheckpointRotation(dir, 1 << 30).latest();
    if (!latest) throw Error("no checkpoint in " + dir);
    path = *latest;
  }
  Checkpoint ckpt = loadCheckpoint(path);
  SampleOptions opt;
  opt.temperature = a.real("temperature", 1.0);
  opt.seed = uint64_t(a.integer("seed", 1));
  const bool images = ckpt.meta.has("data_kind") && ckpt.meta.get("data_kind") == "images";
  // The rate of the sampling alone (the model is loaded and compiled before).
  auto reportRate = [&](std::chrono::steady_clock::time_point start, std::size_t bytes) {
    const double sec = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    std::fprintf(stderr, "sampled %zu bytes in %.2f s (%.0f bytes/s, %s)\n", bytes, sec, bytes / sec,
                 method.c_str());
  };
  if (images) {
    int count = int(a.integer("count", 16));
    if (count < 1 || count > 256) throw UsageError("--count must be in [1, 256]");
    auto model = loadModel(ckpt, count);
    const uint8_t startByte = uint8_t(ckpt.meta.getInt("start_byte"));
    const auto start = std::chrono::steady_clock::now();
    std::vector<uint8_t> px = cached ? sampleImagesCached(*model, count, startByte, opt)
                                     : sampleImages(*model, count, startByte, opt);
    reportRate(start, px.size());
    std::string png = a.str("png", "samples.png");
    int w = model->config().imageWidth, h = model->config().imageHeight;
    writeImageGrid(png, px, count, w, h, 0, 4);
    std::printf("wrote %d samples to %s\n", count, png.c_str());
  } else {
    auto model = loadModel(ckpt, 1);
    std::string prompt = a.str("prompt", "");
    int length = int(a.integer("length", 400));
    if (length < 1) throw UsageError("--length must be >= 1");
    const std::vector<uint8_t> promptBytes(prompt.begin(), prompt.end());
    const auto start = std::chrono::steady_clock::now();
    std::vector<uint8_t> out = cached ? sampleTextCached(*model, promptBytes, length, opt)
                                      : sampleText(*model, promptBytes, length, opt);
    reportRate(start, out.size());
    std::fwrite(prompt.data(), 1, prompt.size(), stdout);
    std::fwrite(out.data(), 1, out.size(), stdout);
    std::fputc('\n', stdout);
  }
  return 0;
}


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
int agree(const Args &a) {
  const std::string dir = a.str("dir", "");
  if (dir.empty()) throw UsageError("agree needs --dir DIR");
  JsonValue root = parseJson(readFile(dir + "/config.json"), dir + "/config.json");
  const JsonValue *md = root.find("model") ? root.find("model") : &root;
  const JsonValue *td = root.find("train") ? root.find("train") : &root;
  auto num = [](const JsonValue *o, const char *k, double def) {
    const JsonValue *v = o->find(k);
    return v && v->isNumber() ? v->number : def;
  };
  auto str = [](const JsonValue *o, const char *k, const std::string &def) {
    const JsonValue *v = o->find(k);
    return v && v->isString() ? v->text : def;
  };
  ModelConfig m;
  m.layers = int(num(md, "layers", 2));
  m.dModel = int(num(md, "d_model", 64));
  m.heads = int(num(md, "heads", 4));
  m.ffMult = int(num(md, "ff_mult", 4));
  m.T = int(num(md, "seq_len", 128));
  m.vocab = int(num(md, "vocab", 256));
  m.dropout = 0.0f;
  std::string pf = str(md, "pattern_file", "");
  if (pf.empty()) pf = "patterns/" + str(md, "pattern", "fixed") + ".mlir";
  m.patternPath = pf;
  if (!std::filesystem::exists(m.patternPath))
    throw Error("pattern file '" + m.patternPath + "' not found (run from the repository root)");
  if (const JsonValue *pp = md->find("pattern_params"))
    for (const auto &[k, v] : pp->members)
      if (k != "T") m.patternParams[k] = int64_t(v.number);
  m.headsMode = parseHeadsMode(str(md, "head_mode", "multihead"));
  const std::string pos = str(md, "positional", "text");
  if (pos == "image") {
    m.positions = PositionMode::Image;
    if (int(num(md, "image_channels", 1)) != 1) throw Error("agree: only image_channels 1 is supported");
    m.imageWidth = int(num(md, "image_width", 28));
    m.imageHeight = (m.T + m.imageWidth - 1) / m.imageWidth;
  } else {
    m.positions = PositionMode::Text;
  }
  if (const JsonValue *mf = md->find("mask_files"); mf && !mf->isNull() && !mf->items.empty())
    throw Error("agree: config mask_files are not supported (the C++ side compiles the pattern file)");
  m.validate();

  const int B = int(num(td, "batch_size", 8));
  const int64_t cfgSteps = int64_t(num(td, "steps", 200));
  const int64_t steps = a.integer("steps", cfgSteps);
  LrSchedule schedule;
  schedule.peak = num(td, "lr", 1e-3);
  schedule.floor = num(td, "min_lr", 0.0);
  schedule.totalSteps = int64_t(num(td, "total_steps", double(cfgSteps)));
  schedule.warmupSteps = int64_t(num(td, "warmup_steps", 20));
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

  std::string why;
  if (!rt::cudaAvailable(&why)) throw Error("no CUDA device: " + why);
  Transformer model(m, B, 1);
  const ParameterLayout &layout = model.layout();
  model.setParameters(parametersFromTensors(layout, readSafetensors(dir + "/init.safetensors")));
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
      return 3;
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
  return 0;
}

} // namespace

int main(int argc, char **argv) {
  const std::map<std::string, bool> trainOpts = {
      {"data", true}, {"data-path", true}, {"pattern", true}, {"set", true}, {"heads-mode", true},
      {"T", true}, {"layers", true}, {"d-model", true}, {"heads", true}, {"ff-mult", true},
      {"dropout", true}, {"recompute", false}, {"batch", true}, {"steps", true}, {"lr", true},
      {"warmup", true}, {"min-lr-ratio", true}, {"weight-decay", true}, {"clip", true},
      {"eval-every", true}, {"eval-rows", true}, {"checkpoint-every", true}, {"keep", true},
      {"out", true}, {"resume", false}, {"time-limit", true}, {"seed", true}, {"quiet", false}};
  const std::map<std::string, bool> sampleOpts = {
      {"checkpoint", true}, {"length", true}, {"prompt", true}, {"temperature", true},
      {"seed", true}, {"count", true}, {"png", true}, {"method", true}};
  try {
    int first = 1;
    std::string mode = "train";
    if (argc > 1 && (std::strcmp(argv[1], "sample") == 0 || std::strcmp(argv[1], "train") == 0 ||
                     std::strcmp(argv[1], "agree") == 0))
      mode = argv[1], first = 2;
    if (mode == "agree") return agree(Args(argc, argv, first, {{"dir", true}, {"steps", true}}));
    if (mode == "sample") return sample(Args(argc, argv, first, sampleOpts));
    return train(Args(argc, argv, first, trainOpts));
  } catch (const UsageError &e) {
    if (!*e.what()) {
      std::fputs(kUsage, stdout);
      return 0;
    }
    std::fprintf(stderr, "sparta-train: %s (sparta-train --help lists the options)\n", e.what());
    return 2;
  } catch (const std::exception &e) {
    std::fprintf(stderr, "sparta-train: %s\n", e.what());
    return 1;
  }
}
