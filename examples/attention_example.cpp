//===- attention_example.cpp - A first sparta program on the GPU ------------===//
//
//   attention-example [PATTERN.mlir] [--set NAME=VALUE]... [--pattern NAME]
//                     (default: the strided pattern at T=4096, L=64)
//
// Compiles a pattern's kernels (or takes them from the kernel cache), runs the
// forward and backward pass on random bf16 data for B=2 and H=4 heads of
// dimension 64, checks the result against a straightforward fp64 reference on
// the CPU and prints the timings. Read runExample top to bottom: it is the
// whole API. Without a CUDA device it exits 77 (docs/tools.md).
//
//===----------------------------------------------------------------------===//
#include "sparta/Error.h"
#include "sparta/Float16.h"
#include "sparta/Frontend.h"
#include "sparta/ReferenceAttention.h"
#include "sparta/SparseAttention.h"
#include "sparta/cli/PatternArguments.h"

#include <chrono>
#include <cmath>
#include <cstdio>
#include <random>
#include <string>
#include <vector>

using namespace sparta;

static const char *const kDefaultFile = "patterns/strided.mlir";
static const ParamBindings kDefaultParams = {{"T", 4096}, {"L", 64}};

static int runExample(const cli::Arguments &args) {
  // 1. The pattern and its parameters.
  if (args.positionals.size() > 1)
    throw cli::UsageError("unexpected argument '" + args.positionals[1] +
                          "' (only one pattern file is read)");
  const std::string file = args.positionals.empty() ? kDefaultFile : args.positionals[0];
  ParamBindings params = args.has("set") ? cli::bindingArguments(args) : kDefaultParams;
  ConcretePattern pattern =
      loadPattern(file, params, args.has("pattern") ? args.text("pattern") : "");
  cli::requireDevice(); // exits 77 without a GPU

  // 2. Compile: plan, generate CUDA, NVRTC for this GPU (cached on disk).
  auto t0 = std::chrono::steady_clock::now();
  AttentionConfig config;
  config.headDim = 64;
  SparseAttention attention(pattern, config);
  double compileS = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  std::printf("pattern %s, T=%lld: %zu kernels for %s (%s, %.2f s)\n", pattern.name.c_str(),
              (long long)pattern.T, attention.kernels().source.kernels.size(),
              rt::Context::get().device().name.c_str(),
              attention.kernels().cacheHit ? "kernel cache hit" : "compiled", compileS);

  // 3. Random inputs, rounded to bf16, on the device.
  const int64_t B = 2, H = 4, T = pattern.T, d = 64;
  const size_t n = size_t(B * H * T * d);
  std::mt19937 rng(1);
  std::normal_distribution<float> normal;
  std::vector<float> q(n), k(n), v(n), dout(n);
  std::vector<rt::DeviceBuffer> buffers;
  for (std::vector<float> *x : {&q, &k, &v, &dout}) {
    std::vector<uint16_t> bits(n);
    for (size_t i = 0; i < n; ++i) {
      bits[i] = bf16Bits(normal(rng));
      (*x)[i] = bf16Value(bits[i]);
    }
    buffers.emplace_back(n * 2);
    buffers.back().upload(bits.data(), n * 2);
  }
  rt::DeviceBuffer o(n * 2), dq(n * 2), dk(n * 2), dv(n * 2), lse(size_t(B * H * T) * 4);
  auto view = [&](const rt::DeviceBuffer &b) { return TensorView::bhtd(b.ptr(), B, H, T, d); };

  // 4. Forward and backward, timed with CUDA events.
  rt::Stream stream;
  rt::Event start, afterForward, afterBackward;
  attention.forward(view(buffers[0]), view(buffers[1]), view(buffers[2]), view(o), lse.ptr(), stream);
  start.record(&stream);
  attention.forward(view(buffers[0]), view(buffers[1]), view(buffers[2]), view(o), lse.ptr(), stream);
  afterForward.record(&stream);
  attention.backward(view(buffers[0]), view(buffers[1]), view(buffers[2]), view(o), lse.ptr(),
                     view(buffers[3]), view(dq), view(dk), view(dv), stream);
  afterBackward.record(&stream);
  afterBackward.synchronize();
  std::printf("forward %.3f ms, backward %.3f ms (B=%lld, H=%lld, d=%lld, bf16)\n",
              afterForward.elapsedSince(start), afterBackward.elapsedSince(afterForward),
              (long long)B, (long long)H, (long long)d);

  // 5. Compare with the fp64 reference built from the pattern's semantics.
  auto download = [&](const rt::DeviceBuffer &b) {
    std::vector<uint16_t> bits(n);
    b.download(bits.data(), n * 2);
    std::vector<float> x(n);
    for (size_t i = 0; i < n; ++i)
      x[i] = bf16Value(bits[i]);
    return x;
  };
  // The pattern's own domain: keys after the query too when it is bidirectional.
  double scale = 1.0 / std::sqrt(double(d));
  AttentionOutput ref = referenceForward(pattern, B, H, d, q, k, v, scale);
  AttentionGrads grads = referenceBackward(pattern, B, H, d, q, k, v, dout, scale);
  std::printf("max |error| vs fp64 reference: o %.2e, dq %.2e, dk %.2e, dv %.2e\n",
              maxAbsDiff(download(o), ref.o), maxAbsDiff(download(dq), grads.dq),
              maxAbsDiff(download(dk), grads.dk), maxAbsDiff(download(dv), grads.dv));
  return cli::kExitSuccess;
}

int main(int argc, char **argv) {
  std::string defaults = std::string("PATTERN.mlir defaults to ") + kDefaultFile +
                         "; without --set the parameters are";
  for (const auto &[name, value] : kDefaultParams)
    defaults += " " + name + "=" + std::to_string(value);
  const cli::Command example{"", "", "[PATTERN.mlir] [--set NAME=VALUE]... [--pattern NAME]",
                             cli::patternOptions(), runExample, defaults + ".\n"};
  const cli::Tool tool{"attention-example",
                       "attention-example compiles a pattern's kernels, runs the forward and "
                       "backward pass on random bf16 data (B=2, H=4, d=64) and compares them "
                       "with an fp64 reference on the CPU.",
                       {example}, ""};
  return cli::runTool(tool, argc, argv);
}
