//===- attention.cpp - Time sparta's attention kernels (fwd, fwd+bwd) -------===//
//
//   attention-bench [--pattern NAME] [--B N] [--H N] [--T N] [--d N] [--L N] [--c N]
//                   [--patterns DIR]   (default: patterns, from the repository root)
//                   [--fuse-dq 0|1]    (1: the dK/dV kernels accumulate dQ, sm_90a)
//                   [--tile 0|64|32|16] (a tile edge for every component; 0: the planner's)
//                   [--autotune]       (with --tile 0: time the candidate tile edges)
//                   [--query-pairs auto|off|on] (forward kernels over query-tile pairs)
//
// `attention-bench --help` lists the options with their ranges and defaults.
// Every case's pattern is loaded before the GPU is touched, so a bad option or
// pattern exits 2 without a device; no device exits 77 (docs/tools.md).
//
// Prints one JSON line per case with the fields of bench/flex_bench.py
// (impl, pattern, B, H, T, d, l, c, fwd_ms, fwdbwd_ms, fwd_tflops,
// fwdbwd_tflops, density; useful FLOPs: forward 4*d*pairs, backward
// 10*d*pairs, allowed pairs only), plus first_call_s (plan + NVRTC or cache +
// module load), mem_bytes (device memory the case took: tensors and
// workspaces), fuse_dq, tile (0: the planner chose), autotune (1: timed
// candidates chose), tiles (what ran), query_pairs and paired_fwd (per
// component, 1 where the forward kernel took query-tile pairs). Patterns by the benchmark names:
// causal (patterns/dense.mlir),
// strided-heads, fixed-heads (multi-head: head h uses mask h mod 2),
// strided-merged, fixed-merged. Without --pattern, all five.
//
// Timing as bench/flex_bench.py does it: 3 warm-up runs, then the median of 20, each
// bracketed by CUDA events on one stream. Inputs are random normal (never
// zeros), and each case first checks that O is finite.
//
//===----------------------------------------------------------------------===//
#include "sparta/Error.h"
#include "sparta/Float16.h"
#include "sparta/Frontend.h"
#include "sparta/SparseAttention.h"
#include "sparta/cli/CommandLine.h"

#include <fmt/format.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <random>
#include <string>
#include <vector>

namespace {

using namespace sparta;
using namespace sparta::cli;

/// The cases by the benchmark's names, in the order they run, and their files.
const std::vector<std::pair<std::string, std::string>> kPatternFiles = {
    {"causal", "dense.mlir"},          {"strided-heads", "strided.mlir"},
    {"fixed-heads", "fixed.mlir"},     {"strided-merged", "strided_merged.mlir"},
    {"fixed-merged", "fixed_merged.mlir"}};

int64_t allowedPairs(const ConcretePattern &pattern, int64_t H) {
  Plan plan = planPattern(pattern);
  int64_t total = 0;
  for (int64_t h = 0; h < H; ++h) {
    Plan one = plan;
    one.heads = {plan.heads[size_t(h) % plan.heads.size()]};
    total += measureWork(one).allowedPairs;
  }
  return total;
}

/// One case: the pattern at its parameters and the tensors' shape.
struct Case {
  std::string name;
  ConcretePattern pattern;
  int64_t B = 0, H = 0, d = 0, L = 0, c = 0;
  bool fuseDq = false;
  int tile = 0; // AttentionConfig::tile
  bool autotune = false; // AttentionConfig::autotune On (else Off, whatever SPARTA_AUTOTUNE says)
  TilePairs queryPairs = TilePairs::Auto; // AttentionConfig::queryPairs
  TilePairs keyPairs = TilePairs::Off;    // AttentionConfig::keyPairs
};

void runCase(const Case &bench) {
  const std::string &name = bench.name;
  const ConcretePattern &pattern = bench.pattern;
  const int64_t B = bench.B, H = bench.H, T = pattern.T, d = bench.d, L = bench.L, c = bench.c;
  size_t freeBefore = rt::Context::get().memoryInfo().first;

  auto t0 = std::chrono::steady_clock::now();
  AttentionConfig config;
  config.headDim = int(d);
  config.fuseDq = bench.fuseDq;
  config.tile = bench.tile;
  config.queryPairs = bench.queryPairs;
  config.keyPairs = bench.keyPairs;
  config.autotune = bench.autotune ? Autotune::On : Autotune::Off;
  SparseAttention attention(pattern, config);
  std::string tiles; // each component's tile edge, in launch order
  for (const HeadPlan &head : attention.kernels().plan.heads)
    for (const PlanComponent &component : head.components)
      tiles += (tiles.empty() ? "" : ",") + std::to_string(component.schedule.qTile);
  // Per component: 1 where the forward takes query-tile pairs, and where the
  // dK/dV pass takes key-tile pairs.
  std::string pairedForward, pairedDkdv;
  for (const KernelInfo &info : attention.kernels().source.kernels) {
    std::string &list = info.role == KernelRole::Forward ? pairedForward : pairedDkdv;
    if (info.role == KernelRole::Forward || info.role == KernelRole::BwdDkDv)
      list += (list.empty() ? "" : ",") + std::to_string(info.tilesPerCta - 1);
  }
  double firstCall = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();

  size_t elements = size_t(B * H * T * d), bytes = elements * 2;
  std::vector<uint16_t> host(elements);
  std::mt19937 rng(7);
  std::normal_distribution<float> normal;
  std::vector<rt::DeviceBuffer> tensors;
  for (int n = 0; n < 8; ++n) { // q k v o dO dq dk dv
    for (uint16_t &x : host)
      x = bf16Bits(normal(rng));
    tensors.emplace_back(bytes);
    tensors.back().upload(host.data(), bytes);
  }
  rt::DeviceBuffer lse(size_t(B * H * T) * 4);
  auto view = [&](int n) { return TensorView::bhtd(tensors[n].ptr(), B, H, T, d); };
  rt::Stream stream;
  auto fwd = [&] { attention.forward(view(0), view(1), view(2), view(3), lse.ptr(), stream); };
  auto fwdbwd = [&] {
    fwd();
    attention.backward(view(0), view(1), view(2), view(3), lse.ptr(), view(4), view(5), view(6),
                       view(7), stream);
  };
  fwdbwd();
  stream.synchronize();
  tensors[3].download(host.data(), bytes);
  for (uint16_t x : host)
    if ((x & 0x7F80) == 0x7F80)
      throw Error(fmt::format("{}: the forward produced a non-finite output", name));
  size_t memBytes = freeBefore - rt::Context::get().memoryInfo().first;

  float fwdMs = rt::medianMilliseconds(fwd, stream, 3, 20),
        fwdbwdMs = rt::medianMilliseconds(fwdbwd, stream, 3, 20);
  double pairs = double(allowedPairs(pattern, H)) * double(B);
  double flopsF = 4.0 * d * pairs, flopsB = 10.0 * d * pairs;
  std::printf("%s\n",
              fmt::format("{{\"impl\": \"sparta\", \"pattern\": \"{}\", \"B\": {}, \"H\": {}, \"T\": {}, "
                          "\"d\": {}, \"l\": {}, \"c\": {}, \"fwd_ms\": {:.4f}, \"fwdbwd_ms\": {:.4f}, "
                          "\"fwd_tflops\": {:.2f}, \"fwdbwd_tflops\": {:.2f}, \"density\": {:.4f}, "
                          "\"first_call_s\": {:.3f}, \"mem_bytes\": {}, \"fuse_dq\": {}, \"tile\": {}, \"autotune\": {}, "
                          "\"tiles\": \"{}\", \"query_pairs\": \"{}\", \"paired_fwd\": \"{}\", "
                          "\"key_pairs\": \"{}\", \"paired_dkdv\": \"{}\", \"device\": \"{}\"}}",
                          name, B, H, T, d, L, c, fwdMs, fwdbwdMs, flopsF / fwdMs / 1e9,
                          (flopsF + flopsB) / fwdbwdMs / 1e9, pairs / double(B * H * T * T),
                          firstCall, memBytes, bench.fuseDq, bench.tile, int(bench.autotune), tiles,
                          toString(bench.queryPairs), pairedForward, toString(bench.keyPairs),
                          pairedDkdv,
                          rt::Context::get().device().name)
                  .c_str());
  std::fflush(stdout);
}

/// The patterns of the cases asked for, loaded (and so checked) before the GPU runs.
std::vector<Case> benchCases(const Arguments &args) {
  requirePositionals(args, 0, "");
  const int64_t T = args.integer("T");
  const int64_t L = args.has("L") ? args.integer("L") : (T <= 4096 ? 64 : 128);
  const int64_t c = args.has("c") ? args.integer("c") : (L == 128 ? 32 : 16);
  std::vector<std::string> names;
  if (args.has("pattern"))
    names.push_back(args.text("pattern"));
  else
    for (const auto &[name, file] : kPatternFiles)
      names.push_back(name);
  std::vector<Case> cases;
  for (const std::string &name : names) {
    ParamBindings params{{"T", T}, {"L", L}};
    if (name.rfind("fixed", 0) == 0)
      params["c"] = c;
    const auto file = std::find_if(kPatternFiles.begin(), kPatternFiles.end(),
                                   [&](const auto &entry) { return entry.first == name; });
    const std::string path = args.text("patterns") + "/" + file->second;
    cases.push_back({name, loadPattern(path, params), args.integer("B"), args.integer("H"),
                     args.integer("d"), L, c, args.integer("fuse-dq") == 1,
                     std::stoi(args.text("tile")), args.has("autotune"),
                     parseTilePairs(args.text("query-pairs")),
                     parseTilePairs(args.text("key-pairs"))});
  }
  return cases;
}

int runBench(const Arguments &args) {
  std::vector<Case> cases = benchCases(args);
  requireDevice();
  for (const Case &bench : cases)
    runCase(bench);
  return kExitSuccess;
}

std::vector<std::string> patternNames() {
  std::vector<std::string> names;
  for (const auto &[name, file] : kPatternFiles)
    names.push_back(name);
  return names;
}

} // namespace

int main(int argc, char **argv) {
  constexpr int64_t kMaxT = int64_t(1) << 28; // the kernels' limit
  const Command bench{
      "",
      "",
      "[--pattern NAME] [--B N] [--H N] [--T N] [--d N] [--L N] [--c N] [--patterns DIR] [--fuse-dq 0|1]\n"
      "       [--tile 0|64|32|16] [--autotune] [--query-pairs auto|off|on] [--key-pairs auto|off|on]",
      {
          Option::choice("pattern", "NAME", patternNames(), "run only this case")
              .derivedDefault("every case"),
          Option::integer("B", "N", {1, 1024}, "batch size").byDefault("2"),
          Option::integer("H", "N", {1, 1024}, "heads").byDefault("8"),
          Option::integer("T", "N", {1, kMaxT}, "sequence length").byDefault("16384"),
          Option::integer("d", "N", {1, 1024}, "head dimension: 32, 64 or 128").byDefault("64"),
          Option::integer("L", "N", {1, kMaxT}, "the patterns' stride L")
              .derivedDefault("64 for T <= 4096, else 128"),
          Option::integer("c", "N", {1, kMaxT}, "the fixed patterns' summary width c")
              .derivedDefault("32 when L = 128, else 16"),
          Option::text("patterns", "DIR", "the folder of the pattern files").byDefault("patterns"),
          Option::integer("fuse-dq", "0|1", {0, 1},
                          "1: the dK/dV kernels also accumulate dQ in a fixed order (sm_90a)")
              .byDefault("0"),
          Option::choice("tile", "0|64|32|16", {"0", "64", "32", "16"},
                         "the tile edge of every component; 0: the planner's choice")
              .byDefault("0"),
          Option::choice("query-pairs", "auto|off|on", {"auto", "off", "on"},
                         "forward kernels over query-tile pairs (64-row tiles): where their "
                         "lists agree, never, or always")
              .byDefault("auto"),
          Option::choice("key-pairs", "auto|off|on", {"auto", "off", "on"},
                         "dK/dV kernels over key-tile pairs (64-row tiles, d = 128): where "
                         "their lists agree, never, or always")
              .byDefault("off"),
          Option::flag("autotune", "with --tile 0: time the candidate tile edges at the first "
                                   "compile and keep the fastest (a tuning record in the kernel "
                                   "cache; first_call_s includes the timing)"),
      },
      runBench,
      "Prints one JSON line per case: impl, pattern, B, H, T, d, l, c, fwd_ms, fwdbwd_ms,\n"
      "fwd_tflops, fwdbwd_tflops, density, first_call_s, mem_bytes, fuse_dq, tile, autotune,\n"
      "tiles (each component's tile edge), query_pairs (the option), paired_fwd (per component,\n"
      "1 where its forward took query-tile pairs), key_pairs (the option), paired_dkdv (per\n"
      "component, 1 where its dK/dV pass took key-tile pairs), device.\n"};
  const Tool tool{"attention-bench",
                  "attention-bench times sparta's attention kernels, forward and forward + "
                  "backward, on random bf16 inputs (3 warm-up runs, the median of 20), for the "
                  "patterns of the comparison with FlexAttention (bench/run_attention_bench.py).",
                  {bench}, ""};
  return runTool(tool, argc, argv);
}
