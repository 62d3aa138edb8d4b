//===- CompileCommand.cpp - sparta compile: every stage down to CUBIN ------===//
//
//   sparta compile FILE --set ... [--head-dim D] [--dtype bf16|fp16]
//                  [--arch sm_80|sm_90a] --emit=STAGE [-o PATH] [--no-cache]
//
// STAGE is one of mlir (instantiated pattern), plan (components and tile
// schedules), cuda (generated source), ptx, cubin, resources (ptxas report per
// kernel). Only the stages up to the one asked for run: --emit=cuda never
// calls NVRTC.
//
//===----------------------------------------------------------------------===//
#include "sparta/Compiler.h"
#include "sparta/Frontend.h"
#include "sparta/cli/PatternArguments.h"
#include "sparta/PatternFiles.h"

#include <fmt/format.h>

#include <cstdio>
#include <fstream>
#include <iostream>
#include <unistd.h>

namespace sparta::cli {
namespace {

void writeOutput(const Arguments &args, const std::string &data, bool binary) {
  if (args.has("output")) {
    std::string path = args.text("output");
    std::ofstream file(path, std::ios::binary);
    if (!file || !file.write(data.data(), std::streamsize(data.size())) || !file.flush())
      throw Error("cannot write '" + path + "'");
    return;
  }
  if (binary && isatty(fileno(stdout)))
    throw UsageError("--emit=cubin writes binary data: give --output PATH or redirect stdout");
  if (std::fwrite(data.data(), 1, data.size(), stdout) != data.size() || std::fflush(stdout) != 0)
    throw Error("cannot write to standard output");
}

std::string resourcesReport(const CompiledKernels &compiled, bool cacheUsed) {
  std::string out = fmt::format("{:<44} {:>5} {:>11} {:>10} {:>12}\n", "kernel", "regs",
                                "spill(st/ld)", "stack", "smem(dyn)");
  for (const KernelInfo &info : compiled.source.kernels) {
    const rt::KernelResources &r = compiled.module.resources(info.name);
    out += fmt::format("{:<44} {:>5} {:>5}/{:<5} {:>10} {:>12}\n", info.name, r.registers,
                       r.spillStoreBytes, r.spillLoadBytes, r.stackFrameBytes,
                       r.staticSharedBytes + info.sharedBytes);
  }
  if (cacheUsed)
    out += fmt::format("cache: {} ({})\n", compiled.cacheHit ? "hit" : "miss", compiled.cacheKey);
  else
    out += "cache: off (--no-cache)\n";
  return out;
}

int runCompile(const Arguments &args) {
  const std::string stage = args.text("emit");
  if (stage == "mlir") {
    requirePositionals(args, 1, "pattern FILE");
    writeOutput(args,
                instantiatedIR(findPatternFile(args.positionals[0]), bindingArguments(args),
                               args.has("pattern") ? args.text("pattern") : ""),
                false);
    return 0;
  }
  ConcretePattern pattern = loadPatternArgument(args);
  CompileOptions options;
  options.kernel.headDim = args.integer<int>("head-dim");
  options.kernel.dtype = parseElementType(args.text("dtype"));
  options.kernel.arch = args.text("arch");
  options.kernel.documents = args.has("documents");
  options.kernel.fuseDq = args.has("fuse-dq");
  options.kernel.queryPairs = parseTilePairs(args.text("query-pairs"));
  options.kernel.keyPairs = parseTilePairs(args.text("key-pairs"));
  options.useCache = !args.has("no-cache");
  // sm_90 is the portable Hopper target; wgmma exists only in the
  // arch-specific sm_90a, so the kernels fall back to mma.sync.
  if (options.kernel.arch == "sm_90" && stage != "plan")
    std::cerr << "sparta compile: warning: --arch sm_90 has no wgmma: the kernels use mma.sync; "
                 "use --arch sm_90a for Hopper's wgmma kernels\n";
  options.wantCubin = stage != "ptx";

  if (stage == "plan" || stage == "cuda") {
    Plan plan;
    KernelSource source = generateForPattern(pattern, options, &plan);
    writeOutput(args, stage == "plan" ? printPlan(plan) : source.source, false);
    return 0;
  }
  CompiledKernels compiled = compileKernels(pattern, options);
  if (stage == "ptx")
    writeOutput(args, compiled.module.ptx, false);
  else if (stage == "cubin")
    writeOutput(args, std::string(compiled.module.cubin.begin(), compiled.module.cubin.end()), true);
  else
    writeOutput(args, resourcesReport(compiled, options.useCache), false);
  return 0;
}

} // namespace

SPARTA_COMMAND({"compile", "generate and compile the attention kernels of a pattern",
                "FILE [--set NAME=VALUE]... [--head-dim D] [--dtype bf16|fp16] [--arch ARCH] "
                "--emit=mlir|plan|cuda|ptx|cubin|resources [-o PATH] [--no-cache] [--documents] "
                "[--fuse-dq] [--query-pairs auto|off|on] [--key-pairs auto|off|on]",
                withPatternOptions({
                    Option::choice("emit", "STAGE", {"mlir", "plan", "cuda", "ptx", "cubin", "resources"},
                                   "the stage to write; only the stages up to it run")
                        .byDefault("ptx"),
                    Option::integer("head-dim", "D", {1, 1024}, "head dimension: 32, 64 or 128")
                        .byDefault("64"),
                    Option::text("dtype", "TYPE", "element type: bf16 or fp16").byDefault("bf16"),
                    Option::text("arch", "ARCH",
                                 "target, sm_80 or newer; sm_90a for Hopper's wgmma kernels")
                        .byDefault("sm_90a"),
                    Option::text("output", "PATH", "write the stage to PATH instead of stdout")
                        .withShortName('o'),
                    Option::flag("no-cache", "neither read nor write the kernel cache"),
                    Option::flag("documents", "the kernel set for packed documents (cu_seqlens)"),
                    Option::flag("fuse-dq", "the dK/dV kernels also accumulate dQ, in a fixed "
                                            "order, and there are no dQ kernels (sm_90a, 64-row "
                                            "tiles)"),
                    Option::choice("query-pairs", "MODE", {"auto", "off", "on"},
                                   "forward kernels over query-tile pairs (64-row tiles): auto "
                                   "where the two tiles' key lists mostly agree")
                        .byDefault("auto"),
                    Option::choice("key-pairs", "MODE", {"auto", "off", "on"},
                                   "dK/dV kernels over key-tile pairs (64-row tiles, head dim "
                                   "128, sm_90a): auto where the two tiles' query lists mostly "
                                   "agree")
                        .byDefault("off"),
                }),
                runCompile});

} // namespace sparta::cli
