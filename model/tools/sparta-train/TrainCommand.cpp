//===- TrainCommand.cpp - sparta-train train: train the Sparse Transformer -===//
//
//   sparta-train --data gcide --pattern patterns/fixed.mlir --set L=64 --set c=16
//                --T 4096 --layers 8 --d-model 512 --heads 8 --batch 8 --steps 2000
//                --lr 1e-3 --eval-every 200 --out runs/gcide
//   sparta-train --data fashion-mnist --pattern patterns/strided.mlir --set L=28 ...
//
// The command line becomes a TrainerConfig (trainerConfig), every input is
// checked without the GPU (checkInputs: the config, the pattern, the data, the
// checkpoint to resume from), and only then does the run touch the device.
// An option is one row of trainOptions() and one line of trainerConfig().
//
// Several GPUs: one process per GPU, each with --world-size N and its --rank
// (or a launcher's variables, Ranks.h) and the same --rendezvous FILE; rank
// 0 prints and writes the files, every rank prints its own errors.
//
//===----------------------------------------------------------------------===//
#include "Train.h"

#include "sparta/Frontend.h"
#include "sparta/model/Trainer.h"
#include "sparta/runtime/Cuda.h"
#include "sparta/runtime/Nccl.h"

#include <cstdio>
#include <filesystem>
#include <optional>

namespace sparta::train {
namespace {

/// What --data chooses for the options not given.
struct DataDefaults {
  const char *pattern;
  int64_t T;
  ParamBindings params;
};
const DataDefaults kTextDefaults{"patterns/fixed.mlir", 4096, {{"L", 64}, {"c", 16}}};
const DataDefaults kImageDefaults{"patterns/strided.mlir", 784, {{"L", 28}}};
constexpr const char *kImageData = "fashion-mnist";

std::string bindingsText(const ParamBindings &params) {
  std::string text;
  for (const auto &[name, value] : params)
    text += (text.empty() ? "" : " ") + name + "=" + std::to_string(value);
  return text;
}

constexpr int64_t kMaxT = int64_t(1) << 20;
constexpr int64_t kMaxCount = 1000000000; // steps, intervals, rows
constexpr int64_t kMaxRanks = 65536;

std::vector<Option> trainOptions() {
  return {
      Option::text("data", "SPEC", std::string("gcide, ") + kImageData +
                                       " or the path of any file of bytes")
          .byDefault("gcide"),
      Option::text("data-path", "PATH",
                   "where gcide (the .dict.dz file; with --pack its .index beside it) or "
                   "fashion-mnist (the folder of idx files) are, when not where Debian installs them"),
      Option::flag("pack", "rows of whole documents (gcide's entries) at multiples of the pattern's "
                           "translation period; the attention stays within each document"),
      Option::text("pattern", "FILE", "attention pattern file")
          .derivedDefault(std::string(kTextDefaults.pattern) + ", " + kImageDefaults.pattern +
                          " for " + kImageData),
      Option::text("set", "NAME=VALUE", "pattern parameter; T is --T")
          .repeatable()
          .derivedDefault(bindingsText(kTextDefaults.params) + ", " +
                          bindingsText(kImageDefaults.params) + " for " + kImageData +
                          ", none with --pattern"),
      Option::text("heads-mode", "MODE", "multihead, merged or interleaved").byDefault("multihead"),
      Option::integer("T", "N", {16, kMaxT}, "sequence length, a multiple of 16")
          .derivedDefault(std::to_string(kTextDefaults.T) + ", " + std::to_string(kImageDefaults.T) +
                          " for " + kImageData),
      Option::integer("layers", "N", {1, 256}, "transformer layers").byDefault("8"),
      Option::integer("d-model", "N", {32, 1024}, "model width, a multiple of 32").byDefault("512"),
      Option::integer("heads", "N", {1, 32}, "attention heads; d-model/heads is 32, 64 or 128")
          .byDefault("8"),
      Option::integer("ff-mult", "N", {1, 16}, "feed-forward width / d-model").byDefault("4"),
      Option::real("dropout", "P", {0, 1, false, true}, "dropout probability").byDefault("0"),
      Option::flag("recompute", "recompute activations in the backward pass (less memory)"),
      Option::integer("batch", "B", {1, 4096}, "sequences per step").byDefault("8"),
      Option::integer("steps", "S", {1, kMaxCount}, "training steps").byDefault("1000"),
      Option::real("lr", "X", {0, 1, true, false}, "peak learning rate").byDefault("1e-3"),
      Option::integer("warmup", "N", {0, kMaxCount}, "linear warm-up steps")
          .derivedDefault("steps/10, at most 100"),
      Option::real("min-lr-ratio", "R", {0, 1}, "the cosine decays to lr * R").byDefault("0.1"),
      Option::real("weight-decay", "W", {0, 1}, "AdamW weight decay").byDefault("0.01"),
      Option::real("clip", "C", {0, 1e6, true, false}, "global gradient-norm clip").byDefault("1"),
      Option::integer("eval-every", "N", {0, kMaxCount}, "evaluate every N steps, 0: only at the end")
          .byDefault("200"),
      Option::integer("eval-rows", "N", {0, kMaxCount},
                      "validation rows per evaluation, 0: the whole validation split")
          .byDefault("128"),
      Option::integer("checkpoint-every", "N", {0, kMaxCount},
                      "checkpoint every N steps, 0: at every evaluation")
          .byDefault("0"),
      Option::integer("keep", "N", {1, 1000}, "checkpoints kept").byDefault("3"),
      Option::text("out", "DIR",
                   "output folder (required): metrics.jsonl, loss.png, checkpoints/, "
                   "model.safetensors"),
      Option::flag("resume", "continue from the newest checkpoint in DIR/checkpoints"),
      Option::real("time-limit", "MIN", {0, 1e6},
                   "stop (checkpoint + evaluation) after MIN minutes, 0: no limit")
          .byDefault("0"),
      Option::integer("seed", "N", {0, INT64_MAX}, "seed of the weights, batches and dropout")
          .byDefault("1"),
      Option::flag("quiet", "no live progress line"),
      Option::integer("world-size", "N", {1, kMaxRanks}, "data-parallel ranks, one process and GPU each")
          .derivedDefault("$WORLD_SIZE (torchrun), $SLURM_NTASKS (Slurm), else 1"),
      Option::integer("rank", "R", {0, kMaxRanks - 1}, "this process's rank, 0 to N-1")
          .derivedDefault("$RANK, $SLURM_PROCID"),
      Option::integer("local-rank", "R", {0, kMaxRanks - 1}, "this process's rank on its host: its GPU")
          .derivedDefault("$LOCAL_RANK, $SLURM_LOCALID, else the rank"),
      Option::text("rendezvous", "FILE",
                   "with N > 1: where the ranks meet, a path every rank sees (rank 0 writes it)"),
      Option::real("rendezvous-timeout", "SEC", {0, 1e6, true, false}, "how long ranks wait for each other")
          .byDefault("300"),
      Option::integer("bucket-mib", "M", {1, 4096}, "gradient all-reduce bucket size in MiB").byDefault("25"),
  };
}

/// The run the command line asks for. Reads no file.
TrainerConfig trainerConfig(const Arguments &args) {
  requirePositionals(args, 0, "");
  TrainerConfig t;
  t.data = args.text("data");
  t.dataPath = args.has("data-path") ? args.text("data-path") : "";
  t.pack = args.has("pack");
  const bool images = t.data == kImageData;
  const DataDefaults &defaults = images ? kImageDefaults : kTextDefaults;
  ModelConfig &m = t.model;
  m.patternPath = args.has("pattern") ? args.text("pattern") : defaults.pattern;
  if (args.has("set")) {
    for (const std::string &binding : args.values("set"))
      if (binding.rfind("T=", 0) == 0)
        throw UsageError("--set " + binding + ": T is the model's sequence length, set by --T");
    m.patternParams = parseBindings(args.values("set"));
  } else if (!args.has("pattern")) {
    m.patternParams = defaults.params;
  }
  m.T = args.has("T") ? args.integer<int>("T") : int(defaults.T);
  m.layers = args.integer<int>("layers");
  m.dModel = args.integer<int>("d-model");
  m.heads = args.integer<int>("heads");
  m.ffMult = args.integer<int>("ff-mult");
  m.dropout = float(args.real("dropout"));
  m.recompute = args.has("recompute");
  m.headsMode = parseHeadsMode(args.text("heads-mode"));
  m.positions = images ? PositionMode::Image : PositionMode::Text;
  t.batch = args.integer<int>("batch");
  t.steps = args.integer("steps");
  t.lr = args.real("lr");
  t.warmup = args.has("warmup") ? args.integer("warmup") : std::min<int64_t>(100, t.steps / 10);
  t.minLrRatio = args.real("min-lr-ratio");
  t.weightDecay = float(args.real("weight-decay"));
  t.clip = float(args.real("clip"));
  t.evalEvery = args.integer("eval-every");
  t.evalRows = args.integer("eval-rows");
  t.checkpointEvery = args.integer("checkpoint-every");
  t.keepCheckpoints = args.integer<int>("keep");
  if (!args.has("out"))
    throw UsageError("--out DIR is required");
  t.outDir = args.text("out");
  t.resume = args.has("resume");
  t.timeLimitMinutes = args.real("time-limit");
  t.seed = args.integer<uint64_t>("seed");
  t.progress = !args.has("quiet");
  RankOptions ranks;
  if (args.has("world-size")) ranks.worldSize = args.integer<int>("world-size");
  if (args.has("rank")) ranks.rank = args.integer<int>("rank");
  if (args.has("local-rank")) ranks.localRank = args.integer<int>("local-rank");
  t.ranks = resolveRanks(ranks, launcherEnvironment());
  t.rendezvous = args.has("rendezvous") ? args.text("rendezvous") : "";
  t.rendezvousTimeoutSeconds = args.real("rendezvous-timeout");
  t.bucketBytes = args.integer<std::size_t>("bucket-mib") << 20;
  return t;
}

/// Everything a run reads, checked before the GPU: the config, the pattern,
/// the data (returned, so that it is read once) and the checkpoint to resume
/// from. Throws sparta::Error naming the problem.
Dataset checkInputs(const TrainerConfig &t) {
  t.validate();
  if (t.ranks.distributed()) rt::requireNccl("--world-size > 1");
  t.model.loadPattern();
  Dataset data = loadTrainingData(t.data, t.dataPath, t.pack);
  const int64_t period = packPeriod(t, data);
  // The samplers check that the data holds windows of T+1 bytes (or images of
  // T pixels), or with --pack documents to pack.
  const BatchSampler trainRows(data, Split::Train, t.batch, t.model.T, 0, period);
  const EvalBatches validationRows(data, Split::Validation, t.batch, t.model.T, t.evalRows, period);
  if (t.resume) {
    const std::string dir = t.outDir + "/checkpoints";
    std::optional<std::string> latest;
    if (std::filesystem::is_directory(dir))
      latest = CheckpointRotation(dir, t.keepCheckpoints).latest();
    if (!latest)
      throw Error("--resume: no checkpoint in " + dir);
    checkResumable(loadCheckpoint(*latest), t.model, t.pack);
  }
  return data;
}

double mib(std::size_t b) { return double(b) / 1048576.0; }

/// A rank other than 0: the same run, silent but for its own errors.
int trainAsOtherRank(const TrainerConfig &t, const Dataset &data) {
  requireDevice();
  rt::DeviceScope device(rankDevice(t.ranks, rt::deviceCount()));
  Trainer trainer(t, &data);
  const TrainResult r = trainer.run();
  if (r.failedStep > 0) {
    std::fprintf(stderr, "sparta-train: rank %d: %s\n", t.ranks.rank, r.message.c_str());
    return kExitWorkFailed;
  }
  return r.stopSignal ? kExitInterrupted : kExitSuccess;
}

int runTrain(const Arguments &args) {
  const TrainerConfig t = trainerConfig(args);
  const ModelConfig &m = t.model;
  const bool talks = t.ranks.writesFiles(); // rank 0 prints for the run
  // A resumed run that already reached --steps has nothing to train: say so
  // before reading the data.
  if (auto done = finishedRun(t)) {
    if (talks) std::printf("%s\n", done->describe(t).c_str());
    return kExitSuccess;
  }
  const Dataset data = checkInputs(t);
  if (!talks) return trainAsOtherRank(t, data);

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
  std::printf("data: %s, %zu training bytes, %zu validation bytes\n", data.name.c_str(), data.train.size(),
              data.validation.size());
  if (t.pack)
    std::printf("packed rows: %zu training and %zu validation documents, each starting at a multiple of %lld\n",
                data.trainDocuments.size(), data.validationDocuments.size(), (long long)packPeriod(t, data));
  if (t.ranks.distributed())
    std::printf("ranks: %d (from %s), each %lld of the %d rows of a batch\n", t.ranks.worldSize,
                t.ranks.source.c_str(), (long long)(t.batch / t.ranks.worldSize), t.batch);
  std::fflush(stdout);

  requireDevice();
  std::optional<rt::DeviceScope> device;
  if (t.ranks.distributed()) device.emplace(rankDevice(t.ranks, rt::deviceCount()));
  const auto freeBefore = rt::Context::get().memoryInfo().first;
  Trainer trainer(t, &data);
  std::printf("device: %s\n", rt::Context::get().device().name.c_str());
  std::fflush(stdout);
  TrainResult r = trainer.run();
  const auto freeAfter = rt::Context::get().memoryInfo().first;
  std::printf("device memory in use by the run: %.1f MiB\n", mib(freeBefore - freeAfter));
  if (r.failedStep > 0) {
    std::fprintf(stderr, "sparta-train: %s\n", r.message.c_str());
    return kExitWorkFailed;
  }
  if (r.stopSignal) {
    std::fprintf(stderr, "sparta-train: %s; continue with --resume\n", r.message.c_str());
    return kExitInterrupted;
  }
  std::printf("done: steps %lld-%lld, %.1f s training, %.0f tokens/s, validation %.4f %s\n",
              (long long)r.firstStep, (long long)r.lastStep, r.trainSeconds, r.tokensPerSec,
              r.validationBits, data.unitName());
  std::printf("files: %s/metrics.jsonl, %s/loss.png, %s\n", t.outDir.c_str(), t.outDir.c_str(),
              r.lastCheckpoint.c_str());
  return kExitSuccess;
}

} // namespace

SPARTA_COMMAND({"train", "train a model and write metrics, a loss curve and checkpoints (the default)",
                "[--data gcide|fashion-mnist|FILE] --out DIR [OPTIONS]", trainOptions(), runTrain});

} // namespace sparta::train
