//===- Nvrtc.cpp - NVRTC driver: compile, collect log, parse ptxas -v ------===//
#include "sparta/runtime/Nvrtc.h"

#include "sparta/Error.h"

#include <fmt/format.h>
#include <nvrtc.h>

#include <cstring>
#include <algorithm>
#include <regex>
#include <sstream>

namespace sparta::rt {
namespace {

void checkNvrtc(nvrtcResult r, const char *call, const std::string &program) {
  if (r != NVRTC_SUCCESS)
    throw Error(fmt::format("NVRTC call {} failed for program '{}': {}", call, program,
                            nvrtcGetErrorString(r)));
}

// Owns an nvrtcProgram so that every exit path destroys it.
struct Program {
  nvrtcProgram prog = nullptr;
  ~Program() {
    if (prog)
      nvrtcDestroyProgram(&prog);
  }
};

std::vector<std::string> splitLines(const std::string &text) {
  std::vector<std::string> lines;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);)
    lines.push_back(line);
  return lines;
}

// For every "file(line): error" in the log, quote the offending line of the
// generated source or of the embedded header it names, with a little context,
// so that a codegen bug is readable without the generated file at hand.
std::string quoteErrorLines(const std::string &log, const std::string &source,
                            const std::string &programName) {
  static const std::regex errRe(R"(^([^\s()]+)\((\d+)\): (error|catastrophic error))");
  std::string out;
  int quoted = 0;
  for (const std::string &line : splitLines(log)) {
    std::smatch m;
    if (!std::regex_search(line, m, errRe))
      continue;
    std::string file = m[1].str();
    int lineNo = std::stoi(m[2].str());
    const char *text = nullptr;
    if (file == programName)
      text = source.c_str();
    else
      text = deviceLibraryHeader(file);
    if (!text)
      continue;
    std::vector<std::string> lines = splitLines(text);
    if (lineNo < 1 || lineNo > static_cast<int>(lines.size()))
      continue;
    out += fmt::format("\n  in {}:\n", file);
    for (int l = std::max(1, lineNo - 2); l <= std::min<int>(lines.size(), lineNo + 1); ++l)
      out += fmt::format("  {} {:5} | {}\n", l == lineNo ? ">" : " ", l, lines[l - 1]);
    if (++quoted == 8) {
      out += "  (further errors not quoted)\n";
      break;
    }
  }
  return out;
}

} // namespace

const KernelResources &CompiledModule::resources(const std::string &name) const {
  for (const KernelResources &k : kernels)
    if (k.name == name)
      return k;
  throw Error(fmt::format("ptxas reported no kernel '{}' in program '{}' ({} kernels reported)",
                          name, programName, kernels.size()));
}

std::vector<KernelResources> parsePtxasReport(const std::string &log) {
  // ptxas -v prints, per entry function:
  //   ptxas info    : Compiling entry function 'NAME' for 'sm_90a'
  //   ptxas info    : Function properties for NAME
  //       S bytes stack frame, A bytes spill stores, B bytes spill loads
  //   ptxas info    : Used R registers, used 1 barriers, C bytes cmem[0] [, M bytes smem]
  static const std::regex entryRe(R"(Compiling entry function '([^']+)')");
  static const std::regex frameRe(
      R"((\d+) bytes stack frame, (\d+) bytes spill stores, (\d+) bytes spill loads)");
  static const std::regex usedRe(R"(Used (\d+) registers)");
  static const std::regex smemRe(R"((\d+) bytes smem)");
  static const std::regex cmemRe(R"((\d+) bytes cmem\[0\])");
  std::vector<KernelResources> out;
  KernelResources *cur = nullptr;
  for (const std::string &line : splitLines(log)) {
    std::smatch m;
    if (std::regex_search(line, m, entryRe)) {
      out.push_back({});
      out.back().name = m[1].str();
      cur = &out.back();
      continue;
    }
    if (!cur)
      continue;
    if (std::regex_search(line, m, frameRe)) {
      cur->stackFrameBytes = std::stoi(m[1].str());
      cur->spillStoreBytes = std::stoi(m[2].str());
      cur->spillLoadBytes = std::stoi(m[3].str());
    } else if (std::regex_search(line, m, usedRe)) {
      cur->registers = std::stoi(m[1].str());
      if (std::regex_search(line, m, smemRe))
        cur->staticSharedBytes = std::stoi(m[1].str());
      if (std::regex_search(line, m, cmemRe))
        cur->constantBytes = std::stoi(m[1].str());
    }
  }
  return out;
}

std::vector<std::string> nvrtcFlags(const CompileOptions &options) {
  // A real arch ("sm_") yields a CUBIN; a virtual one ("compute_") only PTX.
  std::string target = options.arch;
  if (!options.wantCubin && target.rfind("sm_", 0) == 0)
    target = "compute_" + target.substr(3);
  std::vector<std::string> flags = {
      "--gpu-architecture=" + target, "-std=c++17", "--ptxas-options=-v",
      // No host headers: the device library defines everything it needs.
      "-DSPARTA_NVRTC=1"};
  if (options.lineInfo)
    flags.push_back("-lineinfo");
  for (const std::string &f : options.extraFlags)
    flags.push_back(f);
  return flags;
}

CompiledModule compileCuda(const std::string &source, const std::string &programName,
                           const CompileOptions &options) {
  CompiledModule result;
  result.programName = programName;
  result.arch = options.arch;

  const std::vector<EmbeddedHeader> &headers = deviceLibraryHeaders();
  std::vector<const char *> headerNames, headerContents;
  for (const EmbeddedHeader &h : headers) {
    headerNames.push_back(h.name);
    headerContents.push_back(h.contents);
  }

  Program p;
  checkNvrtc(nvrtcCreateProgram(&p.prog, source.c_str(), programName.c_str(),
                                static_cast<int>(headers.size()), headerContents.data(),
                                headerNames.data()),
             "nvrtcCreateProgram", programName);

  const std::vector<std::string> flags = nvrtcFlags(options);
  std::vector<const char *> flagPtrs;
  for (const std::string &f : flags)
    flagPtrs.push_back(f.c_str());

  nvrtcResult r = nvrtcCompileProgram(p.prog, static_cast<int>(flagPtrs.size()), flagPtrs.data());
  size_t logSize = 0;
  nvrtcGetProgramLogSize(p.prog, &logSize);
  if (logSize > 1) {
    result.log.resize(logSize);
    nvrtcGetProgramLog(p.prog, result.log.data());
    result.log.resize(strlen(result.log.c_str()));
  }
  if (r != NVRTC_SUCCESS) {
    std::string flagText;
    for (const std::string &f : flags)
      flagText += " " + f;
    throw Error(fmt::format("NVRTC failed to compile '{}' for {} ({}); flags:{}\n{}{}", programName,
                            options.arch, nvrtcGetErrorString(r), flagText, result.log,
                            quoteErrorLines(result.log, source, programName)));
  }

  size_t ptxSize = 0;
  checkNvrtc(nvrtcGetPTXSize(p.prog, &ptxSize), "nvrtcGetPTXSize", programName);
  result.ptx.resize(ptxSize);
  checkNvrtc(nvrtcGetPTX(p.prog, result.ptx.data()), "nvrtcGetPTX", programName);
  result.ptx.resize(strlen(result.ptx.c_str()));
  if (options.wantCubin) {
    size_t cubinSize = 0;
    checkNvrtc(nvrtcGetCUBINSize(p.prog, &cubinSize), "nvrtcGetCUBINSize", programName);
    result.cubin.resize(cubinSize);
    checkNvrtc(nvrtcGetCUBIN(p.prog, result.cubin.data()), "nvrtcGetCUBIN", programName);
  }
  result.kernels = parsePtxasReport(result.log);
  return result;
}

std::string nvrtcVersion() {
  int major = 0, minor = 0;
  nvrtcResult r = ::nvrtcVersion(&major, &minor);
  if (r != NVRTC_SUCCESS)
    throw Error(fmt::format("nvrtcVersion failed: {}", nvrtcGetErrorString(r)));
  return fmt::format("{}.{}", major, minor);
}

const char *deviceLibraryHeader(const std::string &name) {
  for (const EmbeddedHeader &h : deviceLibraryHeaders())
    if (name == h.name)
      return h.contents;
  return nullptr;
}

} // namespace sparta::rt
