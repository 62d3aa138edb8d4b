//===- SampleCommand.cpp - sparta-train sample: text or images from a run --===//
//
//   sparta-train sample --checkpoint runs/gcide [--length 500] [--prompt TEXT]
//   sparta-train sample --checkpoint runs/fmnist --count 16 --png samples.png
//
// The checkpoint is read and checked (its model config, pattern and
// parameters) before the GPU is touched.
//
//===----------------------------------------------------------------------===//
#include "Train.h"

#include "sparta/model/Decoder.h"
#include "sparta/model/Metrics.h"

#include <chrono>
#include <cstdio>
#include <filesystem>

namespace sparta::train {
namespace {

/// The checkpoint file of --checkpoint: a file, or the newest checkpoint of a
/// run folder (DIR/checkpoints) or of a folder of checkpoints.
std::string checkpointPath(std::string path) {
  if (!std::filesystem::is_directory(path))
    return path;
  const std::string dir =
      std::filesystem::is_directory(path + "/checkpoints") ? path + "/checkpoints" : path;
  auto latest = CheckpointRotation(dir, 1 << 30).latest();
  if (!latest)
    throw Error("no checkpoint in " + dir);
  return *latest;
}

int runSample(const Arguments &args) {
  requirePositionals(args, 0, "");
  if (!args.has("checkpoint"))
    throw UsageError("sample needs --checkpoint DIR|FILE");
  const Checkpoint ckpt = loadCheckpoint(checkpointPath(args.text("checkpoint")));
  const ModelConfig config = checkpointModelConfig(ckpt);
  config.validate();
  config.loadPattern();
  parametersFromTensors(parameterLayout(config), ckpt.tensors);
  const bool images = ckpt.meta.has("data_kind") && ckpt.meta.get("data_kind") == "images";
  const uint8_t startByte = images ? uint8_t(ckpt.meta.getInt("start_byte")) : 0;
  SampleOptions opt;
  opt.temperature = args.real("temperature");
  opt.seed = args.integer<uint64_t>("seed");

  const bool cached = args.text("method") == "cached";
  // The rate of the sampling alone (the model is loaded and compiled before).
  auto reportRate = [&](std::chrono::steady_clock::time_point start, std::size_t bytes) {
    const double sec =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    std::fprintf(stderr, "sampled %zu bytes in %.2f s (%.0f bytes/s, %s)\n", bytes, sec,
                 bytes / sec, args.text("method").c_str());
  };

  requireDevice();
  if (images) {
    const int count = args.integer<int>("count");
    auto model = loadModel(ckpt, count);
    const auto start = std::chrono::steady_clock::now();
    std::vector<uint8_t> px = cached ? sampleImagesCached(*model, count, startByte, opt)
                                     : sampleImages(*model, count, startByte, opt);
    reportRate(start, px.size());
    const std::string png = args.text("png");
    writeImageGrid(png, px, count, config.imageWidth, config.imageHeight, 0, 4);
    std::printf("wrote %d samples to %s\n", count, png.c_str());
  } else {
    auto model = loadModel(ckpt, 1);
    const std::string prompt = args.text("prompt");
    const std::vector<uint8_t> promptBytes(prompt.begin(), prompt.end());
    const int length = args.integer<int>("length");
    const auto start = std::chrono::steady_clock::now();
    std::vector<uint8_t> out = cached ? sampleTextCached(*model, promptBytes, length, opt)
                                      : sampleText(*model, promptBytes, length, opt);
    reportRate(start, out.size());
    std::fwrite(prompt.data(), 1, prompt.size(), stdout);
    std::fwrite(out.data(), 1, out.size(), stdout);
    std::fputc('\n', stdout);
  }
  return kExitSuccess;
}

} // namespace

SPARTA_COMMAND({"sample", "continue a prompt (text) or draw images from a checkpoint",
                "--checkpoint DIR|FILE [OPTIONS]",
                {
                    Option::text("checkpoint", "DIR|FILE",
                                 "a checkpoint, or a run folder (its newest checkpoint); required"),
                    Option::integer("length", "N", {1, 1 << 20}, "text: bytes to generate")
                        .byDefault("400"),
                    Option::text("prompt", "TEXT", "text: the bytes to continue").byDefault(""),
                    Option::real("temperature", "X", {0, 100},
                                 "sampling temperature, 0: always the most likely byte")
                        .byDefault("1"),
                    Option::integer("seed", "N", {0, INT64_MAX}, "sampling seed").byDefault("1"),
                    Option::integer("count", "N", {1, 256}, "images: how many").byDefault("16"),
                    Option::text("png", "FILE", "images: the picture to write")
                        .byDefault("samples.png"),
                    Option::choice("method", "cached|full", {"cached", "full"},
                                   "cached: a key/value cache, one step per byte; full: a "
                                   "forward over the whole window per byte (the rate goes to "
                                   "stderr)")
                        .byDefault("cached"),
                },
                runSample});

} // namespace sparta::train
