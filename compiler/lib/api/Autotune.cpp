//===- Autotune.cpp - Time the candidate kernel sets, keep the fastest -------===//
//
// The timing workload is one batch row of H heads, H a multiple of the
// pattern's head count chosen so that H x T is about kTimedRows rows (at
// least one head per mask; at most what one launch's grid takes): large
// enough to fill the GPU at every T, small enough (about 1 GB at d = 128) to
// run beside a model. Inputs are bounded pseudo-random values; each
// candidate runs one warm-up forward + backward, then kTimedRuns timed ones,
// and its median counts.
//
//===----------------------------------------------------------------------===//
#include "sparta/Autotune.h"

#include "sparta/Error.h"
#include "sparta/Float16.h"
#include "sparta/KernelCache.h"

#include <fmt/format.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <sstream>

namespace sparta {
namespace {

constexpr int64_t kTimedRows = int64_t(1) << 19;
constexpr int kTimedRuns = 5;
constexpr const char *kRecordHeader = "sparta tuning record 1";

AttentionConfig candidateConfig(const AttentionConfig &config, int tile) {
  AttentionConfig candidate = config;
  candidate.tile = tile;
  candidate.autotune = Autotune::Off;
  return candidate;
}

/// A device tensor of `rows` x d values of the dtype, filled from a 1 MiB
/// pseudo-random block repeated (timing does not need more entropy).
rt::DeviceBuffer filledTensor(int64_t rows, int d, ElementType dtype) {
  const size_t count = size_t(rows) * d;
  rt::DeviceBuffer buffer(count * 2);
  std::vector<uint16_t> block(std::min<size_t>(count, size_t(1) << 19));
  uint32_t state = 0x9e3779b9u;
  for (uint16_t &value : block) {
    state ^= state << 13, state ^= state >> 17, state ^= state << 5;
    float x = float(state % 2001) / 1000.f - 1.f; // [-1, 1]
    value = dtype == ElementType::BF16 ? bf16Bits(x) : fp16Bits(x);
  }
  for (size_t at = 0; at < count; at += block.size())
    buffer.upload(block.data(), std::min(block.size(), count - at) * 2, at * 2);
  return buffer;
}

/// Median milliseconds of forward + backward of `attention` on the workload.
float timeCandidate(SparseAttention &attention, int64_t H, const AttentionConfig &config) {
  const int64_t T = attention.T(), rows = H * T;
  const int d = config.headDim;
  rt::DeviceBuffer q = filledTensor(rows, d, config.dtype), k = filledTensor(rows, d, config.dtype),
                   v = filledTensor(rows, d, config.dtype), dO = filledTensor(rows, d, config.dtype);
  rt::DeviceBuffer o(rows * d * 2), dq(rows * d * 2), dk(rows * d * 2), dv(rows * d * 2);
  rt::DeviceBuffer lse(rows * sizeof(float));
  auto view = [&](const rt::DeviceBuffer &b) { return TensorView::bhtd(b.ptr(), 1, H, T, d); };
  rt::Stream stream;
  auto run = [&] {
    attention.forward(view(q), view(k), view(v), view(o), lse.ptr(), stream);
    attention.backward(view(q), view(k), view(v), view(o), lse.ptr(), view(dO), view(dq), view(dk),
                       view(dv), stream);
  };
  return rt::medianMilliseconds(run, stream, 1, kTimedRuns);
}

std::string tileName(int tile) { return tile == 0 ? "planner" : fmt::format("tile {}", tile); }

} // namespace

bool autotuneRequested(const AttentionConfig &config) {
  if (config.tile != 0 || config.autotune == Autotune::Off)
    return false;
  if (config.autotune == Autotune::On)
    return true;
  const char *value = std::getenv("SPARTA_AUTOTUNE");
  if (!value || !*value || std::strcmp(value, "0") == 0)
    return false;
  if (std::strcmp(value, "1") == 0)
    return true;
  throw Error(fmt::format("SPARTA_AUTOTUNE='{}': expected 1 (time the tile candidates at the "
                          "first compile) or 0 (use the planner's choice)",
                          value));
}

std::vector<int> autotuneCandidates(const ConcretePattern &pattern, const AttentionConfig &config) {
  const std::string arch = config.arch.empty() ? "sm_90a" : config.arch; // the code, not the GPU
  std::vector<int> tiles;
  std::vector<std::string> sources;
  for (int tile : {0, 64, 32, 16}) {
    std::string source =
        generateForPattern(pattern, compileOptionsFor(candidateConfig(config, tile), arch)).source;
    if (std::find(sources.begin(), sources.end(), source) == sources.end()) {
      sources.push_back(std::move(source));
      tiles.push_back(tile);
    }
  }
  return tiles;
}

std::string autotuneRecordKey(const ConcretePattern &pattern, const AttentionConfig &config,
                              const std::string &deviceName, const std::string &arch) {
  std::vector<std::string> parts = {"autotune", spartaVersion(), deviceName, arch};
  for (int tile : {0, 64, 32, 16})
    parts.push_back(
        generateForPattern(pattern, compileOptionsFor(candidateConfig(config, tile), arch)).source);
  return digest(parts);
}

std::string formatTuningRecord(const TileChoice &choice) {
  std::string text = fmt::format("{}\ntile {}\n", kRecordHeader, choice.tile);
  for (const TileTiming &timing : choice.timings)
    text += fmt::format("timing {} {:.6f}\n", timing.tile, timing.milliseconds);
  return text;
}

std::optional<int> parseTuningRecord(const std::string &text, const std::vector<int> &candidates) {
  std::istringstream in(text);
  std::string header, word;
  int tile = -1;
  if (!std::getline(in, header) || header != kRecordHeader || !(in >> word >> tile) ||
      word != "tile")
    return std::nullopt;
  if (std::find(candidates.begin(), candidates.end(), tile) == candidates.end())
    return std::nullopt;
  return tile;
}

TileChoice autotuneTile(const ConcretePattern &pattern, const AttentionConfig &config) {
  const std::vector<int> candidates = autotuneCandidates(pattern, config);
  TileChoice choice;
  if (candidates.size() == 1)
    return choice; // every tile edge gives the planner's kernels
  rt::DeviceScope scope(config.device >= 0 ? config.device : rt::Context::selectedDevice());
  const rt::DeviceInfo &device = rt::Context::get().device();
  const std::string arch = config.arch.empty() ? device.arch() : config.arch;
  choice.recordKey = autotuneRecordKey(pattern, config, device.name, arch);
  const KernelCache cache(config.cacheDir);
  if (config.useCache)
    if (std::optional<std::string> text = cache.loadRecord(choice.recordKey))
      if (std::optional<int> tile = parseTuningRecord(*text, candidates)) {
        choice.tile = *tile;
        choice.fromRecord = true;
        return choice;
      }

  const int64_t masks = int64_t(pattern.heads.size());
  const int64_t H = std::clamp<int64_t>((kTimedRows / std::max<int64_t>(pattern.T, 1)) / masks,
                                        1, 65535 / masks) * masks;
  const std::string what = fmt::format("{} (T = {}, d = {}, {}) on {}", pattern.name, pattern.T,
                                       config.headDim, toString(config.dtype), device.name);
  std::fprintf(stderr, "sparta: autotune: timing %zu kernel sets of %s\n", candidates.size(),
               what.c_str());
  for (int tile : candidates) {
    SparseAttention attention(pattern, candidateConfig(config, tile));
    choice.timings.push_back({tile, timeCandidate(attention, H, config)});
  }
  choice.tile = std::min_element(choice.timings.begin(), choice.timings.end(),
                                 [](const TileTiming &a, const TileTiming &b) {
                                   return a.milliseconds < b.milliseconds;
                                 })
                    ->tile;
  std::string report;
  for (const TileTiming &timing : choice.timings)
    report += fmt::format("{}{} {:.4f} ms", report.empty() ? "" : ", ", tileName(timing.tile),
                          timing.milliseconds);
  report += " -> " + tileName(choice.tile);
  if (config.useCache && cache.storeRecord(choice.recordKey, formatTuningRecord(choice)))
    report += fmt::format(" (stored in {})", cache.recordPath(choice.recordKey));
  std::fprintf(stderr, "sparta: autotune: %s\n", report.c_str());
  return choice;
}

} // namespace sparta
