//===- attention.cpp - Time sparta's attention kernels (fwd, fwd+bwd) -------===//
//
//   attention-bench [--pattern NAME] [--B N] [--H N] [--T N] [--d N] [--L N] [--c N]
//                   [--patterns DIR]   (default: patterns, from the repository root)
//                   [--fuse-dq 0|1]    (1: the dK/dV kernels accumulate dQ, sm_90a)
//
// Prints one JSON line per case with the fields of shared/anchors/flex_bench.py
// (impl, pattern, B, H, T, d, l, c, fwd_ms, fwdbwd_ms, fwd_tflops,
// fwdbwd_tflops, density; useful FLOPs: forward 4*d*pairs, backward
// 10*d*pairs, allowed pairs only), plus first_call_s (plan + NVRTC or cache +
// module load), mem_bytes (device memory the case took: tensors and
// workspaces) and fuse_dq. Patterns by the anchors' names: causal (patterns/dense.mlir),
// strided-heads, fixed-heads (multi-head: head h uses mask h mod 2),
// strided-merged, fixed-merged. Without --pattern, all five.
//
// Timing as the anchors do it: 3 warm-up runs, then the median of 20, each
// bracketed by CUDA events on one stream. Inputs are random normal (never
// zeros), and each case first checks that O is finite.
//
//===----------------------------------------------------------------------===//
#include "sparta/Error.h"
#include "sparta/Float16.h"
#include "sparta/Frontend.h"
#include "sparta/SparseAttention.h"

#include <fmt/format.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <map>
#include <random>
#include <string>
#include <vector>

namespace {

using namespace sparta;

const std::map<std::string, std::string> kPatternFiles = {
    {"causal", "dense.mlir"},          {"strided-heads", "strided.mlir"},
    {"fixed-heads", "fixed.mlir"},     {"strided-merged", "strided_merged.mlir"},
    {"fixed-merged", "fixed_merged.mlir"}};

template <typename F> float medianMs(F &&run, const rt::Stream &stream) {
  for (int n = 0; n < 3; ++n)
    run();
  stream.synchronize();
  std::vector<float> times;
  for (int n = 0; n < 20; ++n) {
    rt::Event start, stop;
    start.record(&stream);
    run();
    stop.record(&stream);
    stop.synchronize();
    times.push_back(stop.elapsedSince(start));
  }
  std::sort(times.begin(), times.end());
  return times[times.size() / 2];
}

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

std::string patternDir = "patterns";

void runCase(const std::string &name, int64_t B, int64_t H, int64_t T, int64_t d, int64_t L,
             int64_t c, bool fuseDq) {
  ParamBindings params{{"T", T}, {"L", L}};
  if (name.rfind("fixed", 0) == 0)
    params["c"] = c;
  std::string path = patternDir + "/" + kPatternFiles.at(name);
  size_t freeBefore = rt::Context::get().memoryInfo().first;

  auto t0 = std::chrono::steady_clock::now();
  AttentionConfig config;
  config.patternPath = path;
  config.params = params;
  config.headDim = int(d);
  config.fuseDq = fuseDq;
  SparseAttention attention(config);
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

  float fwdMs = medianMs(fwd, stream), fwdbwdMs = medianMs(fwdbwd, stream);
  ConcretePattern pattern = loadPattern(path, params);
  double pairs = double(allowedPairs(pattern, H)) * double(B);
  double flopsF = 4.0 * d * pairs, flopsB = 10.0 * d * pairs;
  std::printf("%s\n",
              fmt::format("{{\"impl\": \"sparta\", \"pattern\": \"{}\", \"B\": {}, \"H\": {}, \"T\": {}, "
                          "\"d\": {}, \"l\": {}, \"c\": {}, \"fwd_ms\": {:.4f}, \"fwdbwd_ms\": {:.4f}, "
                          "\"fwd_tflops\": {:.2f}, \"fwdbwd_tflops\": {:.2f}, \"density\": {:.4f}, "
                          "\"first_call_s\": {:.3f}, \"mem_bytes\": {}, \"fuse_dq\": {}, "
                          "\"device\": \"{}\"}}",
                          name, B, H, T, d, L, c, fwdMs, fwdbwdMs, flopsF / fwdMs / 1e9,
                          (flopsF + flopsB) / fwdbwdMs / 1e9, pairs / double(B * H * T * T),
                          firstCall, memBytes, fuseDq, rt::Context::get().device().name)
                  .c_str());
  std::fflush(stdout);
}

} // namespace

int main(int argc, char **argv) {
  std::map<std::string, std::string> opts{{"B", "2"}, {"H", "8"}, {"T", "16384"}, {"d", "64"}};
  for (int n = 1; n + 1 < argc; n += 2) {
    if (std::strncmp(argv[n], "--", 2) != 0) {
      std::fprintf(stderr, "usage: attention-bench [--pattern NAME] [--B N] [--H N] [--T N] [--d N] [--L N] [--c N] [--patterns DIR] [--fuse-dq 0|1]\n");
      return 2;
    }
    opts[argv[n] + 2] = argv[n + 1];
  }
  try {
    if (opts.count("patterns"))
      patternDir = opts["patterns"];
    int64_t T = std::stoll(opts["T"]);
    int64_t L = opts.count("L") ? std::stoll(opts["L"]) : (T <= 4096 ? 64 : 128);
    int64_t c = opts.count("c") ? std::stoll(opts["c"]) : (L == 128 ? 32 : 16);
    std::vector<std::string> names;
    if (opts.count("pattern"))
      names.push_back(opts["pattern"]);
    else
      names = {"causal", "strided-heads", "fixed-heads", "strided-merged", "fixed-merged"};
    for (const std::string &name : names) {
      if (!kPatternFiles.count(name))
        throw Error("unknown pattern '" + name + "'");
      runCase(name, std::stoll(opts["B"]), std::stoll(opts["H"]), T, std::stoll(opts["d"]), L, c,
              opts.count("fuse-dq") && opts["fuse-dq"] != "0");
    }
  } catch (const std::exception &e) {
    std::fprintf(stderr, "attention-bench: error: %s\n", e.what());
    return 1;
  }
  return 0;
}
