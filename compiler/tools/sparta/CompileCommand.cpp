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
#include "Commands.h"

#include "sparta/Compiler.h"
#include "sparta/Frontend.h"
#include "sparta/PatternFiles.h"

#include <fmt/format.h>

#include <algorithm>
#include <cstdio>
#include <fstream>
#include <unistd.h>

namespace sparta::cli {
namespace {

const char *const kStages[] = {"mlir", "plan", "cuda", "ptx", "cubin", "resources"};

void writeOutput(const Arguments &args, const std::string &data, bool binary) {
  if (args.has("output")) {
    std::string path = args.value("output");
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

std::string resourcesReport(const CompiledKernels &compiled) {
  std::string out = fmt::format("{:<44} {:>5} {:>11} {:>10} {:>12}\n", "kernel", "regs",
                                "spill(st/ld)", "stack", "smem(dyn)");
  for (const KernelInfo &info : compiled.source.kernels) {
    const rt::KernelResources &r = compiled.module.resources(info.name);
    out += fmt::format("{:<44} {:>5} {:>5}/{:<5} {:>10} {:>12}\n", info.name, r.registers,
                       r.spillStoreBytes, r.spillLoadBytes, r.stackFrameBytes,
                       r.staticSharedBytes + info.sharedBytes);
  }
  out += fmt::format("cache: {} ({})\n", compiled.cacheHit ? "hit" : "miss", compiled.cacheKey);
  return out;
}

int runCompile(const Arguments &args) {
  std::string stage = args.value("emit", "ptx");
  if (std::find(std::begin(kStages), std::end(kStages), stage) == std::end(kStages))
    throw UsageError("unknown stage --emit=" + stage +
                     " (expected mlir, plan, cuda, ptx, cubin or resources)");
  if (stage == "mlir") {
    if (args.positionals.size() != 1)
      throw UsageError(args.positionals.empty() ? "missing pattern FILE"
                                                : "only one pattern FILE is read");
    writeOutput(args,
                instantiatedIR(findPatternFile(args.positionals[0]), parseBindings(args.values("set")),
                               args.value("pattern", "")),
                false);
    return 0;
  }
  ConcretePattern pattern = loadPatternArgument(args);
  CompileOptions options;
  options.kernel.headDim = int(args.integer("head-dim", 64, 1, 1 << 20));
  options.kernel.dtype = parseElementType(args.value("dtype", "bf16"));
  options.kernel.arch = args.value("arch", "sm_90a");
  options.useCache = !args.has("no-cache");
  options.wantCubin = stage != "ptx";

  if (stage == "plan" || stage == "cuda") {
    Plan plan;
    KernelSource source = generateForPattern(pattern, options.kernel, &plan);
    writeOutput(args, stage == "plan" ? printPlan(plan) : source.source, false);
    return 0;
  }
  CompiledKernels compiled = compileKernels(pattern, options);
  if (stage == "ptx")
    writeOutput(args, compiled.module.ptx, false);
  else if (stage == "cubin")
    writeOutput(args, std::string(compiled.module.cubin.begin(), compiled.module.cubin.end()), true);
  else
    writeOutput(args, resourcesReport(compiled), false);
  return 0;
}

} // namespace

SPARTA_COMMAND({"compile", "generate and compile the attention kernels of a pattern",
                "FILE [--set NAME=VALUE]... [--head-dim D] [--dtype bf16|fp16] [--arch ARCH] "
                "--emit=mlir|plan|cuda|ptx|cubin|resources [-o PATH] [--no-cache]",
                withPatternOptions({
                    {"emit", Option::Value, "STAGE",
                     "mlir, plan, cuda, ptx (default), cubin or resources"},
                    {"head-dim", Option::Value, "D", "head dimension: 32, 64 (default) or 128"},
                    {"dtype", Option::Value, "TYPE", "bf16 (default) or fp16"},
                    {"arch", Option::Value, "ARCH", "target, e.g. sm_80 or sm_90a (default)"},
                    {"output", Option::Value, "PATH", "write the stage to PATH instead of stdout", 'o'},
                    {"no-cache", Option::Flag, "", "neither read nor write the kernel cache"},
                }),
                runCompile});

} // namespace sparta::cli
