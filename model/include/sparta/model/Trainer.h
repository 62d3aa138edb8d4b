//===- Trainer.h - Training loop, evaluation, checkpoints, sampling --------===//
//
//   TrainerConfig tc;             // model, data, batch, steps, lr, ...
//   Trainer trainer(tc);          // loads the data, builds the model
//   TrainResult r = trainer.run();
//
// One step: a batch of B random windows from the training split (BatchSampler;
// with `pack`, B rows of whole documents, Packer.h),
// forward + backward (Transformer), the learning rate of LrSchedule (linear
// warm-up, cosine decay to lr * minLrRatio), global gradient-norm clipping,
// AdamW. Steps are numbered from 1 (step s is the s-th update); a checkpoint
// of step s holds the state after s updates.
//
// Stops early (TrainResult::failedStep, message naming the step) when a
// loss, the gradient or the updated weights are not finite; no checkpoint is
// written after the last finite state, so the newest checkpoint is good.
//
// SIGINT / SIGTERM during run() (StopSignal.h): the current step finishes
// (with its evaluation when one is due), a checkpoint of it is written and
// run() returns with TrainResult::stopSignal set; a second signal kills.
//
// Resuming a run whose newest checkpoint is already at (or past) `steps`
// trains nothing and touches no file: TrainResult::alreadyFinished.
//
// Exact resume: a checkpoint holds the fp32 master weights, both AdamW
// moments, the step, the batch sampler's RNG state, the dropout counter and
// whether the rows are packed (a resume must keep that setting);
// the bf16 weights are re-derived from the master weights, and every kernel
// is deterministic, so a resumed run reproduces the uninterrupted run's
// losses bit for bit.
//
// Data parallel (ranks.worldSize > 1, Ranks.h, DataParallel.h): every rank
// draws the same global batch of `batch` rows and trains on its
// batch/worldSize of them, the gradients are averaged over the ranks during
// the backward (packed rows: each rank's loss is its sum over the batch's
// counted targets / worldSize, so the average is the batch's mean), and the
// loss, the evaluations and the decision to stop (a
// signal, the time limit) are agreed on by all ranks, so they stop together.
// Rank 0 alone writes files; every rank reads the checkpoint it resumes from.
// With dropout, rank 0 uses the dropout seed of a one-GPU run and rank r > 0
// one derived from it. One rank (the default) is today's trainer unchanged:
// no NCCL, no extra work.
//
// Files in outDir: config.json (RunConfig.h), metrics.jsonl, loss.png,
// checkpoints/step-*.ckpt (the last keepCheckpoints), init.safetensors and
// model.safetensors (initial and final fp32 weights, config.json in their
// metadata). model.safetensors is written when the run reaches `steps` or
// its time limit, not when it is interrupted.
//
//===----------------------------------------------------------------------===//
#pragma once

#include "sparta/model/Checkpoint.h"
#include "sparta/model/Data.h"
#include "sparta/model/ModelConfig.h"
#include "sparta/model/Ranks.h"
#include "sparta/model/Transformer.h"

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace sparta::model {

struct TrainerConfig {
  ModelConfig model;
  std::string data = "gcide"; // "gcide", "fashion-mnist" or a file
  std::string dataPath;       // overrides where gcide / fashion-mnist are read from
  bool pack = false;          // rows of whole documents (gcide's entries), Packer.h
  int batch = 8;
  int64_t steps = 1000;
  double lr = 1e-3;
  double minLrRatio = 0.1;    // the cosine ends at lr * minLrRatio
  int64_t warmup = 100;
  float beta1 = 0.9f, beta2 = 0.95f, eps = 1e-8f;
  float weightDecay = 0.01f;
  float clip = 1.0f;
  int64_t evalEvery = 200;    // 0: only at the end
  int64_t evalRows = 128;     // validation rows per evaluation (0: the whole split)
  int64_t checkpointEvery = 0; // 0: at every evaluation
  int keepCheckpoints = 3;
  std::string outDir;         // empty: no files at all (tests)
  bool resume = false;
  uint64_t seed = 1;
  double timeLimitMinutes = 0; // > 0: stop (with a checkpoint) after this long
  bool progress = true;        // the live progress line on stderr
  int64_t stopAfter = 0;       // > 0: stop after this step as if interrupted (tests)
  bool stopOnSignal = true;    // SIGINT/SIGTERM stop the run after the step (StopSignal.h)
  Ranks ranks;                 // this process's rank of a data-parallel run (one rank: none)
  std::string rendezvous;      // the rendezvous file (Rendezvous.h), needed with several ranks
  double rendezvousTimeoutSeconds = 300;
  std::size_t bucketBytes = std::size_t(25) << 20; // gradient all-reduce bucket limit
  /// Called before each step (1-based) with the model (tests inject faults).
  std::function<void(int64_t step, Transformer &model)> beforeStep;

  /// Throws sparta::Error naming the first bad field.
  void validate() const;
};

struct TrainResult {
  int64_t firstStep = 0;            // the first step this run executed (1-based)
  int64_t lastStep = 0;             // the last completed step
  std::vector<double> losses;       // training loss of every executed step
  double validationBits = 0;        // the last evaluation (NaN if none)
  double tokensPerSec = 0;          // training steps only
  double trainSeconds = 0;
  int64_t failedStep = 0;           // > 0: stopped at this step (non-finite)
  std::string message;              // why it stopped early (empty otherwise)
  std::string lastCheckpoint;       // newest checkpoint written (empty if none)
  int stopSignal = 0;               // SIGINT/SIGTERM that stopped the run after lastStep (0: none)
  bool alreadyFinished = false;     // resumed at a checkpoint of step >= steps: nothing trained
};

/// A run directory whose newest checkpoint is at or past the configured steps.
struct FinishedRun {
  int64_t step = 0;                    // the newest checkpoint's step
  std::string checkpoint;              // its path
  std::optional<double> validationBits; // metrics.jsonl's last evaluation at that step
  std::string unit;                    // "bits/byte" or "bits/dim"
  /// One line for the user: what is finished and how to train on.
  std::string describe(const TrainerConfig &config) const;
};
/// With config.resume: the finished run in config.outDir, or nullopt when
/// there is no checkpoint yet or it is before config.steps. Reads files only
/// (no GPU), so a driver can answer before it builds the model.
std::optional<FinishedRun> finishedRun(const TrainerConfig &config);

class DataParallel;

class Trainer {
public:
  /// Loads the data (unless `data` is given; it must outlive the trainer)
  /// and builds the model.
  explicit Trainer(const TrainerConfig &config, const Dataset *data = nullptr);
  ~Trainer();

  TrainResult run();
  /// Mean validation loss in bits (per byte / per dim) over the evaluation rows.
  double evaluate();

  Transformer &model() { return *model_; }
  const Dataset &data() const { return *data_; }
  const TrainerConfig &config() const { return cfg_; }
  /// The checkpoint of the current state (step = completed steps).
  Checkpoint makeCheckpoint(int64_t step) const;
  /// Restores a checkpoint; returns its step. Throws when its model differs.
  int64_t restore(const Checkpoint &ckpt);

private:
  TrainerConfig cfg_;
  Dataset owned_;
  const Dataset *data_ = nullptr;
  std::unique_ptr<Transformer> model_;
  std::unique_ptr<BatchSampler> sampler_;
  int64_t packPeriod_ = 0;           // documents start at its multiples (0: unpacked rows)
  uint64_t dropoutSeed_ = 0, dropoutOffset_ = 0;
  RowRange rows_;                    // this rank's rows of each global batch
  std::unique_ptr<DataParallel> dp_; // only with more than one rank

  /// The dropout seed this rank uses (the checkpoint keeps rank 0's).
  uint64_t rankDropoutSeed() const;
};

/// Loads the dataset of `spec` ("gcide", "fashion-mnist", a file); `path`
/// overrides the Debian location of the first two. With `documents`, gcide
/// comes with its entries as documents (loadGcide); other data has none.
Dataset loadTrainingData(const std::string &spec, const std::string &path = "",
                         bool documents = false);

/// The period that packed rows start documents at (sparta/Packing.h's
/// translation period of the model's pattern), 0 without config.pack.
/// Throws sparta::Error when `data` has no documents (images, a plain file)
/// or the pattern cannot pack documents, with its reason.
int64_t packPeriod(const TrainerConfig &config, const Dataset &data);

/// The model config stored in a checkpoint (keys "model.*").
ModelConfig checkpointModelConfig(const Checkpoint &ckpt);

/// Checks, without a GPU, that `ckpt` can resume a run of `model`: the same
/// model config, every parameter tensor with its shape, both optimizer moments,
/// the run state (step, sampler and dropout) and the same `pack` setting (a
/// checkpoint without the key predates packing: unpacked). Throws
/// sparta::Error naming the first problem.
void checkResumable(const Checkpoint &ckpt, const ModelConfig &model, bool pack);

/// Builds a model (maxBatch rows) holding a checkpoint's weights.
std::unique_ptr<Transformer> loadModel(const Checkpoint &ckpt, int maxBatch);

struct SampleOptions {
  double temperature = 1.0;
  uint64_t seed = 1;
};
/// Continues `prompt` by `length` bytes (the window slides when it exceeds T).
/// A forward over the whole window per byte: the reference of the cached
/// samplers of Decoder.h, which sparta-train uses.
std::vector<uint8_t> sampleText(Transformer &model, const std::vector<uint8_t> &prompt, int length,
                                const SampleOptions &options = {});
/// `count` (<= maxBatch) images of T pixels after the start byte, row-major.
std::vector<uint8_t> sampleImages(Transformer &model, int count, uint8_t startByte,
                                  const SampleOptions &options = {});

} // namespace sparta::model
