//===- Nccl.cpp - NCCL opened with dlopen, checked collectives ------------===//
//
// The same scheme as Cuda.cpp's driver: one process-wide table of entry
// points filled on first use, a load error kept for the message, and a check
// of every result. NcclApi.h declares the few types and entry points used.
//
//===----------------------------------------------------------------------===//
#include "sparta/runtime/Nccl.h"

#include "NcclApi.h"
#include "sparta/Error.h"

#include <dlfcn.h>
#include <fmt/format.h>

#include <cstdlib>
#include <cstring>
#include <exception>
#include <mutex>
#include <type_traits>

namespace sparta::rt {
namespace {

using namespace ncclabi;

struct Library {
  void *handle = nullptr;
  std::string name;      // what dlopen was asked for
  std::string loadError; // empty when every entry point resolved
#define SPARTA_DECL(symbol, type) std::add_pointer_t<type> p_##symbol = nullptr;
  SPARTA_NCCL_FUNCS(SPARTA_DECL)
#undef SPARTA_DECL
};

Library &library() {
  static Library lib;
  static std::once_flag once;
  std::call_once(once, [] {
    const char *chosen = std::getenv("SPARTA_NCCL_LIBRARY");
    lib.name = chosen && *chosen ? chosen : kNcclLibrary;
    // NCCL reads its environment when it first runs (ncclGetUniqueId or
    // ncclCommInitRank), so this must precede every call. Forced, not a
    // default: NVLink multicast must stay off on the lent machines.
    setenv("NCCL_NVLS_ENABLE", "0", 1);
    lib.handle = dlopen(lib.name.c_str(), RTLD_NOW | RTLD_LOCAL);
    if (!lib.handle) {
      const char *e = dlerror();
      lib.loadError = e ? e : "dlopen failed";
      return;
    }
#define SPARTA_LOAD(symbol, type)                                                                  \
  lib.p_##symbol = reinterpret_cast<std::add_pointer_t<type>>(dlsym(lib.handle, #symbol));                             \
  if (!lib.p_##symbol && lib.loadError.empty())                                                     \
    lib.loadError = fmt::format("{} lacks {} (NCCL too old?)", lib.name, #symbol);
    SPARTA_NCCL_FUNCS(SPARTA_LOAD)
#undef SPARTA_LOAD
  });
  return lib;
}

Library &ready() {
  Library &lib = library();
  if (!lib.loadError.empty())
    throw Error(fmt::format("NCCL is not usable ({}): {}", lib.name, lib.loadError));
  return lib;
}

void check(Result r, const char *call, const std::string &what = {}) {
  if (r == kSuccess)
    return;
  const char *text = library().p_ncclGetErrorString ? library().p_ncclGetErrorString(r) : nullptr;
  throw Error(fmt::format("NCCL call {} failed{}: {} ({})", call, what.empty() ? "" : " (" + what + ")",
                          text ? text : "unknown error", r));
}

} // namespace

bool ncclAvailable(std::string *why) {
  Library &lib = library();
  if (lib.loadError.empty())
    return true;
  if (why)
    *why = lib.loadError;
  return false;
}

void requireNccl(const std::string &purpose) {
  std::string why;
  if (!ncclAvailable(&why))
    throw Error(fmt::format("NCCL not found ({}): needed for {}; {}", library().name, purpose, why));
}

NcclUniqueId ncclNewUniqueId() {
  UniqueId raw{};
  check(ready().p_ncclGetUniqueId(&raw), "ncclGetUniqueId");
  NcclUniqueId id;
  static_assert(sizeof raw.internal == sizeof id.bytes);
  std::memcpy(id.bytes.data(), raw.internal, sizeof raw.internal);
  return id;
}

NcclCommunicator::NcclCommunicator(const NcclUniqueId &id, int worldSize, int rank)
    : worldSize_(worldSize), rank_(rank) {
  if (worldSize < 1 || rank < 0 || rank >= worldSize)
    throw Error(fmt::format("NCCL communicator: rank {} of a world of {} does not exist", rank, worldSize));
  Library &lib = ready();
  Context::get(); // ncclCommInitRank binds the communicator to the current device
  UniqueId raw{};
  std::memcpy(raw.internal, id.bytes.data(), sizeof raw.internal);
  check(lib.p_ncclCommInitRank(&comm_, worldSize, raw, rank), "ncclCommInitRank",
        fmt::format("rank {} of {}, device {}", rank, worldSize, Context::selectedDevice()));
}

NcclCommunicator::~NcclCommunicator() {
  if (comm_)
    library().p_ncclCommDestroy(comm_); // never throw from a destructor
}

void NcclCommunicator::allReduceAverage(float *data, std::size_t count, const Stream &stream) {
  check(ready().p_ncclAllReduce(data, data, count, Float32, Avg, comm_, stream.handle()), "ncclAllReduce",
        fmt::format("{} floats, average", count));
}

void NcclCommunicator::allReduceSum(double *data, std::size_t count, const Stream &stream) {
  check(ready().p_ncclAllReduce(data, data, count, Float64, Sum, comm_, stream.handle()), "ncclAllReduce",
        fmt::format("{} doubles, sum", count));
}

void NcclCommunicator::grouped(const std::function<void()> &collectives) {
  Library &lib = ready();
  check(lib.p_ncclGroupStart(), "ncclGroupStart");
  try {
    collectives();
  } catch (...) {
    lib.p_ncclGroupEnd(); // close the group; the first error is the one to report
    throw;
  }
  check(lib.p_ncclGroupEnd(), "ncclGroupEnd");
}

} // namespace sparta::rt
