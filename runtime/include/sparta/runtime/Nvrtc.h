//===- Nvrtc.h - Run-time compilation of generated CUDA C++ ----------------===//
//
// Compiles one generated translation unit with NVRTC to PTX and (optionally)
// CUBIN. The device template library (runtime/device/sparta/*) is embedded in
// this library and handed to NVRTC as in-memory headers, so compilation needs
// no CUDA header and no GPU: `#include <sparta/attention_fwd.cuh>` just works.
//
// ptxas is run with -v, and its per-kernel report (registers, spills, stack,
// shared memory) is parsed into KernelResources, so callers can check register
// pressure and spills on a machine without a GPU.
//
//===----------------------------------------------------------------------===//
#pragma once

#include <string>
#include <vector>

namespace sparta::rt {

struct CompileOptions {
  /// The real target, "sm_80", "sm_86", "sm_90a", ... (see DeviceInfo::arch()).
  std::string arch = "sm_80";
  /// Ask for a CUBIN (a real-arch compile). PTX is always returned.
  bool wantCubin = true;
  /// Line info in the PTX/CUBIN (for profilers). Costs nothing at run time
  /// but nearly doubles compile time (measured 8.6 s -> 15 s for 41 kernels).
  bool lineInfo = false;
  /// Extra NVRTC flags, e.g. "-DSPARTA_DEBUG=1" or "--maxrregcount=128".
  std::vector<std::string> extraFlags;
};

/// What ptxas reported for one kernel (-v).
struct KernelResources {
  std::string name;
  int registers = 0;
  int spillStoreBytes = 0;
  int spillLoadBytes = 0;
  int stackFrameBytes = 0;
  int staticSharedBytes = 0;
  int constantBytes = 0; // cmem[0] (kernel parameters and constants)
};

struct CompiledModule {
  std::string programName;
  std::string arch;
  std::string ptx;
  std::vector<char> cubin;       // empty unless wantCubin
  std::string log;               // the full NVRTC log (includes ptxas -v output)
  std::vector<KernelResources> kernels;
  /// The resources of `name`; throws sparta::Error if ptxas reported no such kernel.
  const KernelResources &resources(const std::string &name) const;
};

/// The NVRTC command line that compileCuda uses for `options` (part of every
/// cache key).
std::vector<std::string> nvrtcFlags(const CompileOptions &options);

/// Compiles `source`. On failure throws sparta::Error with the NVRTC log and,
/// for every "file(line): error" in it, the quoted offending line (from the
/// generated source or from the embedded device header it names).
CompiledModule compileCuda(const std::string &source, const std::string &programName,
                           const CompileOptions &options);

/// "13.0" for the loaded NVRTC (part of every cache key).
std::string nvrtcVersion();

/// Parses a ptxas -v report (as found in an NVRTC log). Exposed for tests.
std::vector<KernelResources> parsePtxasReport(const std::string &log);

/// One header of the embedded device template library.
struct EmbeddedHeader {
  const char *name;     // include name, e.g. "sparta/params.h"
  const char *contents;
};

/// Every embedded device header, in a stable order.
const std::vector<EmbeddedHeader> &deviceLibraryHeaders();

/// The embedded header called `name`, or nullptr.
const char *deviceLibraryHeader(const std::string &name);

} // namespace sparta::rt
