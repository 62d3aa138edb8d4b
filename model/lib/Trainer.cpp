//===- Trainer.cpp - Training loop, evaluation, checkpoints ---------------===//
#include "sparta/model/Trainer.h"

#include "sparta/Error.h"
#include "sparta/Packing.h"
#include "sparta/model/DataParallel.h"
#include "sparta/model/Metrics.h"
#include "sparta/model/Progress.h"
#include "sparta/model/LrSchedule.h"
#include "sparta/model/RunConfig.h"
#include "sparta/model/StopSignal.h"

#include <chrono>
#include <csignal>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <limits>
#include <optional>
#include <sstream>
#include <tuple>

namespace sparta::model {

namespace {
constexpr double kLn2 = 0.69314718055994530942;

std::string fmtNum(double v) {
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.6g", v);
  return buf;
}

/// Whether any rank's time is up and the signal any rank received (SIGTERM
/// before SIGINT), so that all ranks stop after the same step.
std::pair<bool, int> agreedStop(DataParallel &dp, bool timeUp, int signal) {
  const std::vector<double> counts = dp.sumOverRanks({timeUp ? 1.0 : 0.0, signal == SIGTERM ? 1.0 : 0.0,
                                                      signal == SIGINT ? 1.0 : 0.0});
  return {counts[0] > 0, counts[1] > 0 ? SIGTERM : counts[2] > 0 ? SIGINT : 0};
}

/// The bits of the last evaluation at `step` in a metrics file (none when the
/// file or such a record is missing).
std::optional<double> validationAt(const std::string &metricsPath, int64_t step) {
  if (!std::filesystem::exists(metricsPath)) return std::nullopt;
  std::optional<double> bits;
  for (const MetricsRecord &r : readMetrics(metricsPath))
    if (r.split == "validation" && r.step == step) bits = r.bits;
  return bits;
}
} // namespace

std::optional<FinishedRun> finishedRun(const TrainerConfig &config) {
  const std::string dir = config.outDir + "/checkpoints";
  if (!config.resume || !std::filesystem::is_directory(dir)) return std::nullopt;
  auto latest = CheckpointRotation(dir, config.keepCheckpoints).latest();
  if (!latest) return std::nullopt;
  Checkpoint ckpt = loadCheckpoint(*latest);
  FinishedRun done;
  done.step = ckpt.meta.getInt("step");
  if (done.step < config.steps) return std::nullopt;
  done.checkpoint = *latest;
  done.validationBits = validationAt(config.outDir + "/metrics.jsonl", done.step);
  done.unit = ckpt.meta.has("data_kind") && ckpt.meta.get("data_kind") == "images" ? "bits/dim" : "bits/byte";
  return done;
}

std::string FinishedRun::describe(const TrainerConfig &config) const {
  std::string line = "the run in " + config.outDir + " is already finished: its newest checkpoint (" +
                     checkpoint + ") is of step " + std::to_string(step) + " and --steps is " +
                     std::to_string(config.steps);
  if (validationBits) line += "; final validation " + fmtNum(*validationBits) + " " + unit;
  return line + ". Nothing to train; give a larger --steps to continue it.";
}

void TrainerConfig::validate() const {
  model.validate();
  auto bad = [](const std::string &m) { throw Error("trainer config: " + m); };
  if (batch < 1) bad("batch must be >= 1");
  if (steps < 1) bad("steps must be >= 1");
  if (!(lr > 0) || std::isnan(lr)) bad("lr must be > 0");
  if (!(minLrRatio >= 0 && minLrRatio <= 1)) bad("min-lr ratio must be in [0, 1]");
  if (warmup < 0) bad("warmup must be >= 0");
  if (!(clip > 0)) bad("clip must be > 0");
  if (!(weightDecay >= 0)) bad("weight decay must be >= 0");
  if (evalEvery < 0 || evalRows < 0 || checkpointEvery < 0) bad("negative evaluation/checkpoint interval");
  if (keepCheckpoints < 1) bad("keep-checkpoints must be >= 1");
  if (resume && outDir.empty()) bad("--resume needs an output directory");
  ranks.validate();
  rankRows(batch, ranks.worldSize, ranks.rank);
  if (ranks.distributed() && rendezvous.empty())
    bad("a world size of " + std::to_string(ranks.worldSize) +
        " needs --rendezvous FILE, a file path every rank sees (rank 0 writes it, the others read it)");
  if (!(rendezvousTimeoutSeconds > 0)) bad("the rendezvous timeout must be > 0");
  if (bucketBytes < 1) bad("the gradient bucket size must be at least 1 byte");
}

Dataset loadTrainingData(const std::string &spec, const std::string &path, bool documents) {
  if (spec == "gcide") return loadGcide(path.empty() ? kGcidePath : path, {}, documents);
  if (spec == "fashion-mnist") return path.empty() ? loadFashionMnist() : loadFashionMnist(path);
  return loadDataset(spec);
}

int64_t packPeriod(const TrainerConfig &config, const Dataset &data) {
  if (!config.pack) return 0;
  if (data.kind == DataKind::Images)
    throw Error("--pack packs text documents; " + data.name + " is images (one per row already)");
  if (!data.hasDocuments)
    throw Error("--pack needs text made of documents, as gcide (one per dictionary entry, from its "
                "dictd index) is; '" + data.name + "' has none");
  const ConcretePattern pattern = config.model.loadPattern();
  if (std::optional<int64_t> period = translationPeriod(pattern)) return *period;
  throw Error("--pack: " + packingRefusal(pattern));
}

ModelConfig checkpointModelConfig(const Checkpoint &ckpt) {
  std::vector<std::pair<std::string, std::string>> kv;
  for (const auto &[k, v] : ckpt.meta.entries())
    if (k.rfind("model.", 0) == 0) kv.push_back({k.substr(6), v});
  return ModelConfig::fromKeyValues(kv);
}

std::unique_ptr<Transformer> loadModel(const Checkpoint &ckpt, int maxBatch) {
  ModelConfig mc = checkpointModelConfig(ckpt);
  auto model = std::make_unique<Transformer>(mc, maxBatch);
  model->setParameters(parametersFromTensors(model->layout(), ckpt.tensors));
  return model;
}

Trainer::Trainer(const TrainerConfig &config, const Dataset *data) : cfg_(config) {
  cfg_.validate();
  if (data) {
    data_ = data;
  } else {
    owned_ = loadTrainingData(cfg_.data, cfg_.dataPath, cfg_.pack);
    data_ = &owned_;
  }
  if (data_->kind == DataKind::Images && cfg_.model.T != data_->sequenceBytes)
    throw Error("images of " + std::to_string(data_->sequenceBytes) + " pixels need T=" +
                std::to_string(data_->sequenceBytes) + " (got T=" + std::to_string(cfg_.model.T) + ")");
  // Independent streams for the weights, the batches and dropout, all from one seed.
  Rng seeds(cfg_.seed);
  uint64_t initSeed = seeds.next(), samplerSeed = seeds.next();
  dropoutSeed_ = seeds.next();
  rows_ = rankRows(cfg_.batch, cfg_.ranks.worldSize, cfg_.ranks.rank);
  packPeriod_ = packPeriod(cfg_, *data_); // before the model: a refusal costs no GPU work
  model_ = std::make_unique<Transformer>(cfg_.model, int(rows_.count()), initSeed);
  sampler_ = std::make_unique<BatchSampler>(*data_, Split::Train, cfg_.batch, cfg_.model.T, samplerSeed,
                                            packPeriod_);
  if (cfg_.ranks.distributed()) {
    RendezvousOptions meeting;
    meeting.path = cfg_.rendezvous;
    meeting.worldSize = cfg_.ranks.worldSize;
    meeting.timeoutSeconds = cfg_.rendezvousTimeoutSeconds;
    dp_ = std::make_unique<DataParallel>(cfg_.ranks, meeting, *model_, cfg_.bucketBytes);
  }
}

uint64_t Trainer::rankDropoutSeed() const {
  // Rank 0 keeps the one-GPU run's masks for its rows; the masks of the
  // others' rows differ from it (the kernels number elements within a rank's
  // batch), from the same distribution.
  return cfg_.ranks.rank == 0 ? dropoutSeed_ : Rng(dropoutSeed_ + uint64_t(cfg_.ranks.rank)).next();
}

Trainer::~Trainer() = default;

double Trainer::evaluate() {
  // Several ranks share out the evaluation batches (of their own batch size) and add up.
  EvalBatches eval(*data_, Split::Validation, rows_.count(), cfg_.model.T, cfg_.evalRows, packPeriod_);
  Batch batch;
  double sum = 0;
  for (int64_t i = 0; eval.next(batch); ++i) {
    if (i % cfg_.ranks.worldSize != cfg_.ranks.rank) continue;
    const PackedRows packed = packPeriod_ ? batch.packedRows(0, 1.0) : PackedRows{};
    sum += model_->evaluate(batch.tokens.data(), int(batch.rows), packPeriod_ ? &packed : nullptr);
  }
  if (dp_) sum = dp_->sumOverRanks({sum})[0];
  return sum / double(eval.totalTargets()) / kLn2;
}

Checkpoint Trainer::makeCheckpoint(int64_t step) const {
  Checkpoint c;
  c.meta.setInt("step", step);
  c.meta.setU64("sampler_state", sampler_->state());
  c.meta.setU64("dropout_seed", dropoutSeed_);
  c.meta.setU64("dropout_offset", dropoutOffset_);
  c.meta.setU64("seed", cfg_.seed);
  c.meta.set("data", cfg_.data);
  c.meta.setInt("pack", cfg_.pack ? 1 : 0);
  c.meta.set("data_kind", data_->kind == DataKind::Images ? "images" : "text");
  c.meta.setInt("start_byte", data_->startByte);
  for (const auto &[k, v] : cfg_.model.toKeyValues()) c.meta.set("model." + k, v);
  const ParameterLayout &layout = model_->layout();
  c.tensors = parametersToTensors(layout, model_->parameters());
  std::vector<float> m = model_->momentM(), v = model_->momentV();
  c.tensors.push_back(Tensor::fromF32("optimizer.m", {layout.totalElements}, m.data()));
  c.tensors.push_back(Tensor::fromF32("optimizer.v", {layout.totalElements}, v.data()));
  return c;
}

void checkResumable(const Checkpoint &ckpt, const ModelConfig &model, bool pack) {
  ModelConfig saved = checkpointModelConfig(ckpt);
  if (saved.toKeyValues() != model.toKeyValues()) {
    std::string diff;
    auto a = saved.toKeyValues(), b = model.toKeyValues();
    for (size_t i = 0; i < a.size() && i < b.size(); ++i)
      if (a[i] != b[i]) diff += " " + a[i].first + "=" + a[i].second + " (now " + b[i].second + ")";
    throw Error("the checkpoint's model differs from the configured one:" + diff);
  }
  const ParameterLayout layout = parameterLayout(model);
  parametersFromTensors(layout, ckpt.tensors);
  for (const char *moment : {"optimizer.m", "optimizer.v"})
    if (ckpt.get(moment).numel() != layout.totalElements)
      throw Error(std::string("checkpoint tensor '") + moment + "' holds " +
                  std::to_string(ckpt.get(moment).numel()) + " values, the model " +
                  std::to_string(layout.totalElements));
  ckpt.meta.getInt("step");
  for (const char *state : {"sampler_state", "dropout_seed", "dropout_offset"})
    ckpt.meta.getU64(state);
  // The sampler's state means other rows with and without packing.
  const bool packed = ckpt.meta.has("pack") && ckpt.meta.getInt("pack") != 0;
  if (packed != pack)
    throw Error(std::string("the checkpoint's run ") + (packed ? "packs" : "does not pack") +
                " documents (--pack) and this one " + (pack ? "does" : "does not") +
                ": resume with the setting the run started with");
}

int64_t Trainer::restore(const Checkpoint &ckpt) {
  checkResumable(ckpt, cfg_.model, cfg_.pack);
  const ParameterLayout &layout = model_->layout();
  model_->setParameters(parametersFromTensors(layout, ckpt.tensors));
  model_->setMoments(ckpt.get("optimizer.m").toF32(), ckpt.get("optimizer.v").toF32());
  sampler_->setState(ckpt.meta.getU64("sampler_state"));
  dropoutSeed_ = ckpt.meta.getU64("dropout_seed");
  dropoutOffset_ = ckpt.meta.getU64("dropout_offset");
  return ckpt.meta.getInt("step");
}

TrainResult Trainer::run() {
  using Clock = std::chrono::steady_clock;
  const auto start = Clock::now();
  auto elapsed = [&] { return std::chrono::duration<double>(Clock::now() - start).count(); };
  TrainResult result;
  result.validationBits = std::numeric_limits<double>::quiet_NaN();
  std::optional<StopSignalScope> signals;
  if (cfg_.stopOnSignal) signals.emplace();
  const bool files = !cfg_.outDir.empty();
  const bool writes = files && cfg_.ranks.writesFiles(); // every rank reads, rank 0 writes
  const bool shows = cfg_.progress && cfg_.ranks.writesFiles();
  std::string configJson;
  std::unique_ptr<CheckpointRotation> rotation;
  int64_t step = 0; // completed steps
  if (files) {
    std::filesystem::create_directories(cfg_.outDir);
    rotation = std::make_unique<CheckpointRotation>(cfg_.outDir + "/checkpoints", cfg_.keepCheckpoints);
    if (cfg_.resume) {
      auto latest = rotation->latest();
      if (!latest) throw Error("--resume: no checkpoint in " + cfg_.outDir + "/checkpoints");
      step = restore(loadCheckpoint(*latest));
      result.lastCheckpoint = *latest;
      if (step >= cfg_.steps) {
        result.alreadyFinished = true;
        result.firstStep = step + 1, result.lastStep = step;
        result.validationBits = validationAt(cfg_.outDir + "/metrics.jsonl", step)
                                    .value_or(std::numeric_limits<double>::quiet_NaN());
        return result;
      }
    }
    // Written after a resume's checkpoint was accepted: it describes the run as last started.
    configJson = runConfigJson(cfg_, *data_);
    if (writes) writeRunConfig(cfg_.outDir, configJson);
    // The initial weights, for the PyTorch reference (same init, same batch).
    if (writes && !cfg_.resume)
      writeWeightsWithConfig(cfg_.outDir + "/init.safetensors", model_->layout(), model_->parameters(),
                             configJson);
  }
  std::unique_ptr<MetricsWriter> metrics;
  if (writes) metrics = std::make_unique<MetricsWriter>(cfg_.outDir + "/metrics.jsonl", cfg_.resume ? step : -1);
  const std::string unit = data_->unitName();
  ProgressLine progress(cfg_.steps, unit, stderr, shows ? -1 : 0, shows ? 30 : 1e30);
  LrSchedule schedule;
  schedule.peak = cfg_.lr;
  schedule.floor = cfg_.lr * cfg_.minLrRatio;
  schedule.totalSteps = cfg_.steps;
  schedule.warmupSteps = std::min<int64_t>(cfg_.warmup, cfg_.steps - 1);
  schedule.validate();

  const int64_t tokensPerStep = int64_t(cfg_.batch) * cfg_.model.T;
  const int64_t ckptEvery = cfg_.checkpointEvery > 0 ? cfg_.checkpointEvery : cfg_.evalEvery;
  auto note = [&](const std::string &line) {
    if (shows) progress.message(line);
  };
  auto plot = [&] {
    if (!writes) return;
    try {
      PlotOptions po;
      plotLossCurves(readMetrics(metrics->path()), cfg_.outDir + "/loss.png", po);
    } catch (const std::exception &e) {
      note(std::string("loss plot skipped: ") + e.what());
    }
  };
  auto doEval = [&](int64_t s) {
    double bits = evaluate();
    result.validationBits = bits;
    if (metrics) {
      MetricsRecord r;
      r.step = s, r.split = "validation", r.loss = bits * kLn2, r.bits = bits, r.elapsedSec = elapsed();
      metrics->write(r);
    }
    note("step " + std::to_string(s) + "  validation " + fmtNum(bits) + " " + unit);
    plot();
  };
  auto save = [&](int64_t s) {
    if (!rotation) return;
    if (writes)
      result.lastCheckpoint = rotation->save(s, makeCheckpoint(s));
    else
      result.lastCheckpoint = "rank 0's checkpoint of step " + std::to_string(s);
  };
  auto fail = [&](int64_t s, const std::string &why) {
    result.failedStep = s;
    result.message = why + " at step " + std::to_string(s) + "; stopped" +
                     (result.lastCheckpoint.empty() ? std::string(" (no checkpoint written)")
                                                    : "; last good checkpoint: " + result.lastCheckpoint);
    note(result.message);
  };

  result.firstStep = step + 1;
  Batch batch;
  double trainSec = 0;
  bool interrupted = false;
  while (step < cfg_.steps) {
    const int64_t s = step + 1;
    const auto t0 = Clock::now();
    if (cfg_.beforeStep) cfg_.beforeStep(s, *model_);
    sampler_->next(batch);
    // Packed rows count unequal targets: each rank divides its sum by the
    // batch's count / worldSize, so that the ranks' average is the batch's mean.
    const PackedRows packed =
        packPeriod_ ? batch.packedRows(rows_.begin, double(batch.targets) / cfg_.ranks.worldSize) : PackedRows{};
    const PackedRows *rowsPacked = packPeriod_ ? &packed : nullptr;
    double loss = dp_ ? model_->forwardBackward(batch.row(rows_.begin), int(rows_.count()), rankDropoutSeed(),
                                                dropoutOffset_, rowsPacked)
                      : model_->forwardBackward(batch.tokens.data(), cfg_.batch, dropoutSeed_, dropoutOffset_,
                                                rowsPacked);
    // The mean over the ranks (equal shares) is the whole batch's; a NaN on one rank stops them all.
    if (dp_) loss = dp_->meanOverRanks(loss);
    dropoutOffset_ += 2 * uint64_t(cfg_.model.layers);
    result.losses.push_back(loss);
    if (!std::isfinite(loss)) {
      fail(s, "non-finite training loss (" + fmtNum(loss) + ")");
      break;
    }
    AdamWHyper hyper;
    hyper.lr = float(schedule.at(s - 1));
    hyper.beta1 = cfg_.beta1, hyper.beta2 = cfg_.beta2, hyper.eps = cfg_.eps;
    hyper.weightDecay = cfg_.weightDecay;
    hyper.step = s;
    GradNormResult norm = model_->optimizerStep(hyper, cfg_.clip);
    if (norm.nonFinite || !std::isfinite(norm.norm)) {
      fail(s, "non-finite gradient (norm " + fmtNum(norm.norm) + ")");
      break;
    }
    if (!model_->parametersFinite()) {
      fail(s, "non-finite weights after the update (lr " + fmtNum(hyper.lr) + ")");
      break;
    }
    step = s;
    const double dt = std::chrono::duration<double>(Clock::now() - t0).count();
    trainSec += dt;
    const double tps = double(tokensPerStep) * double(result.losses.size()) / trainSec;
    if (metrics) {
      MetricsRecord r;
      r.step = s, r.loss = loss, r.bits = loss / kLn2, r.lr = hyper.lr, r.gradNorm = norm.norm;
      r.tokensPerSec = tokensPerStep / dt, r.elapsedSec = elapsed();
      metrics->write(r);
    }
    if (shows) progress.update(s, loss, loss / kLn2, tps);
    const bool last = s == cfg_.steps;
    bool timeUp = cfg_.timeLimitMinutes > 0 && elapsed() > cfg_.timeLimitMinutes * 60;
    int signal = signals ? stopSignal() : 0;
    if (dp_) std::tie(timeUp, signal) = agreedStop(*dp_, timeUp, signal);
    interrupted = !last && (signal != 0 || (cfg_.stopAfter > 0 && s >= cfg_.stopAfter));
    if (last || timeUp || (cfg_.evalEvery > 0 && s % cfg_.evalEvery == 0)) doEval(s);
    if (last || timeUp || interrupted || (ckptEvery > 0 && s % ckptEvery == 0)) save(s);
    if (timeUp) {
      note("time limit of " + fmtNum(cfg_.timeLimitMinutes) + " min reached after step " + std::to_string(s));
      break;
    }
    if (interrupted) {
      result.stopSignal = signal;
      if (signal) {
        result.message = stopSignalName(signal) + " received: stopped after step " + std::to_string(s) +
                         (result.lastCheckpoint.empty() ? std::string(" (no output directory, no checkpoint)")
                                                        : "; checkpoint " + result.lastCheckpoint);
        note(result.message);
      }
      break;
    }
  }
  if (shows) progress.finish();
  result.lastStep = step;
  result.trainSeconds = trainSec;
  result.tokensPerSec = trainSec > 0 ? double(tokensPerStep) * double(result.losses.size()) / trainSec : 0;
  if (writes && result.failedStep == 0 && !interrupted)
    writeWeightsWithConfig(cfg_.outDir + "/model.safetensors", model_->layout(), model_->parameters(),
                           configJson);
  plot();
  return result;
}

} // namespace sparta::model
