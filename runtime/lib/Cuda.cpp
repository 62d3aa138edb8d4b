//===- Cuda.cpp - The Driver API layer, loaded with dlopen ------------------===//
//
// <cuda.h> is used for types and prototypes only; nothing links libcuda. The
// entry points are resolved with dlsym under their versioned names (cuda.h
// maps e.g. cuMemAlloc to cuMemAlloc_v2 with macros; SPARTA_SYM stringifies the
// name after that expansion so we ask the driver for the same ABI the
// prototypes describe).
//
//===----------------------------------------------------------------------===//
#include "sparta/runtime/Cuda.h"

#include "sparta/Error.h"

#include <cuda.h>
#include <dlfcn.h>
#include <fmt/format.h>

#include <algorithm>
#include <cctype>
#include <mutex>
#include <vector>

namespace sparta::rt {
namespace {

#define SPARTA_STR2(x) #x
#define SPARTA_STR(x) SPARTA_STR2(x)

// The driver entry points the runtime uses: X(name) with the cuda.h name.
#define SPARTA_DRIVER_FUNCS(X)                                                                   \
  X(cuInit) X(cuGetErrorName) X(cuGetErrorString) X(cuDriverGetVersion) X(cuDeviceGetCount)      \
  X(cuDeviceGet) X(cuDeviceGetName) X(cuDeviceGetAttribute) X(cuDeviceTotalMem)                 \
  X(cuDevicePrimaryCtxRetain) X(cuCtxSetCurrent) X(cuCtxGetCurrent) X(cuCtxSynchronize)         \
  X(cuMemGetInfo) X(cuStreamCreate) X(cuStreamDestroy) X(cuStreamSynchronize) X(cuMemAlloc)    \
  X(cuMemFree) X(cuMemcpyHtoDAsync) X(cuMemcpyDtoHAsync) X(cuMemcpyDtoDAsync)                  \
  X(cuMemsetD8Async)                                                                             \
  X(cuModuleLoadDataEx) X(cuModuleUnload) X(cuModuleGetFunction) X(cuFuncSetAttribute)          \
  X(cuFuncGetAttribute) X(cuLaunchKernel) X(cuEventCreate) X(cuEventDestroy) X(cuEventRecord)   \
  X(cuEventSynchronize) X(cuEventElapsedTime) X(cuStreamWaitEvent)

struct Driver {
  void *handle = nullptr;
  std::string loadError; // empty when every entry point resolved and cuInit succeeded
#define SPARTA_DECL(name) decltype(&name) p_##name = nullptr;
  SPARTA_DRIVER_FUNCS(SPARTA_DECL)
#undef SPARTA_DECL
};

Driver &driver() {
  static Driver d;
  static std::once_flag once;
  std::call_once(once, [] {
    d.handle = dlopen("libcuda.so.1", RTLD_NOW | RTLD_LOCAL);
    if (!d.handle) {
      const char *e = dlerror();
      d.loadError = fmt::format("cannot load the CUDA driver libcuda.so.1 ({})", e ? e : "unknown");
      return;
    }
#define SPARTA_LOAD(name)                                                                        \
  d.p_##name = reinterpret_cast<decltype(&name)>(dlsym(d.handle, SPARTA_STR(name)));             \
  if (!d.p_##name && d.loadError.empty())                                                        \
    d.loadError = fmt::format("the CUDA driver lacks {} (driver too old?)", SPARTA_STR(name));
    SPARTA_DRIVER_FUNCS(SPARTA_LOAD)
#undef SPARTA_LOAD
    // cuEventElapsedTime_v2 appeared in 12.8; older drivers have the same ABI unversioned.
    if (!d.p_cuEventElapsedTime) {
      d.p_cuEventElapsedTime =
          reinterpret_cast<decltype(&cuEventElapsedTime)>(dlsym(d.handle, "cuEventElapsedTime"));
      if (d.p_cuEventElapsedTime &&
          d.loadError.find(SPARTA_STR(cuEventElapsedTime)) != std::string::npos)
        d.loadError.clear();
    }
    if (!d.loadError.empty())
      return;
    CUresult r = d.p_cuInit(0);
    if (r != CUDA_SUCCESS) {
      const char *n = nullptr;
      d.p_cuGetErrorName(r, &n);
      d.loadError = fmt::format("cuInit failed: {} ({})", n ? n : "?", static_cast<int>(r));
    }
  });
  return d;
}

std::string describe(CUresult r) {
  Driver &d = driver();
  const char *name = nullptr, *text = nullptr;
  if (d.p_cuGetErrorName)
    d.p_cuGetErrorName(r, &name);
  if (d.p_cuGetErrorString)
    d.p_cuGetErrorString(r, &text);
  return fmt::format("{} ({}): {}", name ? name : "CUDA_ERROR_UNKNOWN", static_cast<int>(r),
                     text ? text : "no description");
}

// Returns the loaded driver or throws with the reason it is unusable.
Driver &ready() {
  Driver &d = driver();
  if (!d.loadError.empty())
    throw Error("CUDA is not available: " + d.loadError);
  return d;
}

void check(CUresult r, const char *call, const std::string &what = {}) {
  if (r == CUDA_SUCCESS)
    return;
  throw Error(fmt::format("CUDA driver call {} failed{}: {}", call,
                          what.empty() ? "" : " (" + what + ")", describe(r)));
}

#define CU(call, ...) check(ready().p_##call(__VA_ARGS__), #call)
#define CU_WHAT(what, call, ...) check(ready().p_##call(__VA_ARGS__), #call, what)

CUstream rawStream(const Stream *s) { return s ? s->handle() : nullptr; }

} // namespace

bool cudaAvailable(std::string *why) {
  Driver &d = driver();
  if (!d.loadError.empty()) {
    if (why)
      *why = d.loadError;
    return false;
  }
  int n = 0;
  CUresult r = d.p_cuDeviceGetCount(&n);
  if (r != CUDA_SUCCESS || n == 0) {
    if (why)
      *why = r != CUDA_SUCCESS ? "cuDeviceGetCount failed: " + describe(r) : "no CUDA device";
    return false;
  }
  return true;
}

std::string DeviceInfo::arch() const {
  // Arch-specific features (wgmma, setmaxnreg, TMA multicast) need the "a"
  // target on sm_90 and later; sm_8x has no such variant.
  int cc = major * 10 + minor;
  return fmt::format("sm_{}{}", cc, major >= 9 ? "a" : "");
}

int archNumber(const std::string &arch) {
  if (arch.rfind("sm_", 0) != 0 || arch.size() < 5)
    throw Error(fmt::format("bad GPU arch '{}': expected sm_NN or sm_NNa", arch));
  std::size_t i = 3;
  int v = 0;
  while (i < arch.size() && std::isdigit(static_cast<unsigned char>(arch[i])))
    v = v * 10 + (arch[i++] - '0');
  if (i == 3 || (i < arch.size() && arch.substr(i) != "a" && arch.substr(i) != "f"))
    throw Error(fmt::format("bad GPU arch '{}': expected sm_NN or sm_NNa", arch));
  return v;
}

namespace {
// The device Context::get() serves on this thread.
thread_local int tlsSelectedDevice = 0;
} // namespace

int deviceCount() {
  Driver &d = driver();
  int n = 0;
  if (!d.loadError.empty() || d.p_cuDeviceGetCount(&n) != CUDA_SUCCESS)
    return 0;
  return n;
}

Context &Context::forDevice(int ordinal) {
  // One per device, created on first use. Intentionally leaked: destroying
  // them at exit would race the driver's own teardown; the primary contexts
  // die with the process.
  static std::mutex mutex;
  static std::vector<Context *> contexts;
  std::lock_guard<std::mutex> lock(mutex);
  if (contexts.empty()) {
    ready();
    contexts.resize(std::max(deviceCount(), 1), nullptr);
  }
  if (ordinal < 0 || ordinal >= static_cast<int>(contexts.size()))
    throw Error(fmt::format("there is no CUDA device {} (this machine has {})", ordinal,
                            deviceCount()));
  if (!contexts[ordinal])
    contexts[ordinal] = new Context(ordinal);
  return *contexts[ordinal];
}

Context &Context::get() {
  Context &c = forDevice(tlsSelectedDevice);
  c.makeCurrent();
  return c;
}

int Context::selectedDevice() { return tlsSelectedDevice; }

Context::Context(int ordinal) {
  Driver &d = ready();
  CUdevice dev;
  CU(cuDeviceGet, &dev, ordinal);
  device_ = dev;
  info_.ordinal = ordinal;
  CU(cuDevicePrimaryCtxRetain, &ctx_, dev);
  char name[256] = {0};
  CU(cuDeviceGetName, name, sizeof(name) - 1, dev);
  info_.name = name;
  auto attr = [&](CUdevice_attribute a) {
    int v = 0;
    CU(cuDeviceGetAttribute, &v, a, dev);
    return v;
  };
  info_.major = attr(CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MAJOR);
  info_.minor = attr(CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MINOR);
  info_.multiProcessors = attr(CU_DEVICE_ATTRIBUTE_MULTIPROCESSOR_COUNT);
  info_.maxSharedPerBlockOptin = attr(CU_DEVICE_ATTRIBUTE_MAX_SHARED_MEMORY_PER_BLOCK_OPTIN);
  size_t total = 0;
  CU(cuDeviceTotalMem, &total, dev);
  info_.totalMemory = total;
  CU(cuDriverGetVersion, &info_.driverVersion);
  (void)d;
}

Context::~Context() = default;

void Context::makeCurrent() const {
  CUcontext cur = nullptr;
  CU(cuCtxGetCurrent, &cur);
  if (cur != ctx_)
    CU(cuCtxSetCurrent, ctx_);
}

void Context::synchronize() const {
  makeCurrent();
  CU(cuCtxSynchronize);
}

DeviceScope::DeviceScope(int ordinal) : previousOrdinal_(tlsSelectedDevice) {
  Context &target = Context::forDevice(ordinal);
  CU(cuCtxGetCurrent, &previousContext_);
  tlsSelectedDevice = ordinal;
  target.makeCurrent();
}

DeviceScope::~DeviceScope() {
  tlsSelectedDevice = previousOrdinal_;
  CUcontext current = nullptr;
  Driver &d = driver();
  // Never throw from a destructor; a failure here leaves the scope's context current.
  if (d.p_cuCtxGetCurrent(&current) == CUDA_SUCCESS && current != previousContext_ &&
      previousContext_)
    d.p_cuCtxSetCurrent(previousContext_);
}

std::pair<std::size_t, std::size_t> Context::memoryInfo() const {
  size_t free = 0, total = 0;
  CU(cuMemGetInfo, &free, &total);
  return {free, total};
}

// ---- Stream -----------------------------------------------------------------
Stream::Stream() {
  Context::get();
  CU(cuStreamCreate, &s_, CU_STREAM_NON_BLOCKING);
}
Stream Stream::external(CUstream_st *handle) { return Stream(handle, ExternalTag{}); }
Stream::~Stream() {
  if (s_ && owned_)
    driver().p_cuStreamDestroy(s_); // never throw from a destructor
}
Stream &Stream::operator=(Stream &&o) noexcept {
  if (this != &o) {
    if (s_ && owned_)
      driver().p_cuStreamDestroy(s_);
    s_ = o.s_;
    owned_ = o.owned_;
    o.s_ = nullptr;
  }
  return *this;
}
void Stream::synchronize() const { CU(cuStreamSynchronize, s_); }
void Stream::waitFor(const Event &event) const { CU(cuStreamWaitEvent, s_, event.handle(), 0); }

// ---- Memory -----------------------------------------------------------------
DeviceBuffer::DeviceBuffer(std::size_t bytes) : bytes_(bytes) {
  if (bytes == 0)
    return;
  Context::get();
  CU_WHAT(fmt::format("{} bytes", bytes), cuMemAlloc, &ptr_, bytes);
}
DeviceBuffer::~DeviceBuffer() {
  if (ptr_)
    driver().p_cuMemFree(ptr_);
}
DeviceBuffer &DeviceBuffer::operator=(DeviceBuffer &&o) noexcept {
  if (this != &o) {
    if (ptr_)
      driver().p_cuMemFree(ptr_);
    ptr_ = o.ptr_;
    bytes_ = o.bytes_;
    o.ptr_ = 0;
    o.bytes_ = 0;
  }
  return *this;
}
void DeviceBuffer::upload(const void *src, std::size_t bytes, std::size_t offset) {
  if (offset + bytes > bytes_)
    throw Error(fmt::format("DeviceBuffer::upload of {} bytes at offset {} overruns a buffer of {} bytes",
                            bytes, offset, bytes_));
  memcpyHtoD(ptr_ + offset, src, bytes);
}
void DeviceBuffer::download(void *dst, std::size_t bytes, std::size_t offset) const {
  if (offset + bytes > bytes_)
    throw Error(fmt::format("DeviceBuffer::download of {} bytes at offset {} overruns a buffer of {} bytes",
                            bytes, offset, bytes_));
  memcpyDtoH(dst, ptr_ + offset, bytes);
}
void DeviceBuffer::zero(const Stream *stream) { memsetZero(ptr_, bytes_, stream); }

// The synchronous forms are the asynchronous ones on the legacy stream plus a
// wait: the driver's own synchronous copies may return before a pageable
// upload has landed (and cuMemsetD8 may not wait at all), and kernels on our
// non-blocking streams do not order against the legacy stream.
void memcpyHtoD(DevicePtr dst, const void *src, std::size_t bytes, const Stream *stream) {
  if (bytes == 0)
    return;
  Context::get();
  CU(cuMemcpyHtoDAsync, dst, src, bytes, rawStream(stream));
  if (!stream)
    CU(cuStreamSynchronize, nullptr);
}
void memcpyDtoH(void *dst, DevicePtr src, std::size_t bytes, const Stream *stream) {
  if (bytes == 0)
    return;
  Context::get();
  CU(cuMemcpyDtoHAsync, dst, src, bytes, rawStream(stream));
  if (!stream)
    CU(cuStreamSynchronize, nullptr);
}
void memcpyDtoD(DevicePtr dst, DevicePtr src, std::size_t bytes, const Stream *stream) {
  if (bytes == 0)
    return;
  Context::get();
  CU(cuMemcpyDtoDAsync, dst, src, bytes, rawStream(stream));
  if (!stream)
    CU(cuStreamSynchronize, nullptr);
}
void memsetZero(DevicePtr dst, std::size_t bytes, const Stream *stream) {
  if (bytes == 0)
    return;
  Context::get();
  CU(cuMemsetD8Async, dst, 0, bytes, rawStream(stream));
  if (!stream)
    CU(cuStreamSynchronize, nullptr);
}

// ---- Module / Function ------------------------------------------------------
Module::Module(const std::vector<char> &cubin, const std::string &ptx, const std::string &label)
    : label_(label) {
  Context::get();
  Driver &d = ready();
  std::string cubinError;
  if (!cubin.empty()) {
    CUresult r = d.p_cuModuleLoadDataEx(&mod_, cubin.data(), 0, nullptr, nullptr);
    if (r == CUDA_SUCCESS)
      return;
    cubinError = describe(r);
  }
  if (ptx.empty())
    throw Error(fmt::format("cannot load module '{}': the CUBIN was rejected ({}) and there is no PTX",
                            label, cubinError.empty() ? "no CUBIN" : cubinError));
  // The PTX JIT reports its problems in an error log buffer; keep it for the message.
  char log[8192] = {0};
  CUjit_option opts[] = {CU_JIT_ERROR_LOG_BUFFER, CU_JIT_ERROR_LOG_BUFFER_SIZE_BYTES};
  void *vals[] = {log, reinterpret_cast<void *>(static_cast<uintptr_t>(sizeof(log) - 1))};
  CUresult r = d.p_cuModuleLoadDataEx(&mod_, ptx.c_str(), 2, opts, vals);
  if (r != CUDA_SUCCESS)
    throw Error(fmt::format("cannot load module '{}': {}{}; PTX JIT: {}{}", label,
                            cubinError.empty() ? "" : "CUBIN rejected: ",
                            cubinError.empty() ? "" : cubinError + "; ", describe(r),
                            log[0] ? std::string("\n") + log : ""));
  fromPtx_ = true;
}

Module::~Module() {
  if (mod_)
    driver().p_cuModuleUnload(mod_);
}

Function Module::function(const std::string &name) const {
  CUfunction f = nullptr;
  CU_WHAT(fmt::format("kernel '{}' in module '{}'", name, label_), cuModuleGetFunction, &f, mod_,
          name.c_str());
  return Function(f, name);
}

void Function::setMaxDynamicSharedMemory(int bytes) const {
  CU_WHAT(fmt::format("kernel '{}', {} bytes", name_, bytes), cuFuncSetAttribute, f_,
          CU_FUNC_ATTRIBUTE_MAX_DYNAMIC_SHARED_SIZE_BYTES, bytes);
}

int Function::numRegisters() const {
  int v = 0;
  CU_WHAT("kernel '" + name_ + "'", cuFuncGetAttribute, &v, CU_FUNC_ATTRIBUTE_NUM_REGS, f_);
  return v;
}

int Function::maxThreadsPerBlock() const {
  int v = 0;
  CU_WHAT("kernel '" + name_ + "'", cuFuncGetAttribute, &v,
          CU_FUNC_ATTRIBUTE_MAX_THREADS_PER_BLOCK, f_);
  return v;
}

void launchRaw(const Function &fn, Dim3 grid, Dim3 block, unsigned smemBytes, const Stream *stream,
               void **params) {
  if (!fn.handle())
    throw Error("launch of a null kernel handle");
  CU_WHAT(fmt::format("kernel '{}', grid ({},{},{}), block ({},{},{}), {} bytes dynamic smem",
                      fn.name(), grid.x, grid.y, grid.z, block.x, block.y, block.z, smemBytes),
          cuLaunchKernel, fn.handle(), grid.x, grid.y, grid.z, block.x, block.y, block.z, smemBytes,
          rawStream(stream), params, nullptr);
}

// ---- Event ------------------------------------------------------------------
Event::Event(bool timing) {
  Context::get();
  CU(cuEventCreate, &e_, timing ? CU_EVENT_DEFAULT : CU_EVENT_DISABLE_TIMING);
}
Event::~Event() {
  if (e_)
    driver().p_cuEventDestroy(e_);
}
void Event::record(const Stream *stream) { CU(cuEventRecord, e_, rawStream(stream)); }
void Event::synchronize() const { CU(cuEventSynchronize, e_); }
float Event::elapsedSince(const Event &start) const {
  float ms = 0;
  CU(cuEventElapsedTime, &ms, start.e_, e_);
  return ms;
}

float medianMilliseconds(const std::function<void()> &body, const Stream &stream, int warmups,
                         int runs) {
  for (int n = 0; n < warmups; ++n)
    body();
  stream.synchronize();
  std::vector<float> times;
  for (int n = 0; n < runs; ++n) {
    Event start, stop;
    start.record(&stream);
    body();
    stop.record(&stream);
    stop.synchronize();
    times.push_back(stop.elapsedSince(start));
  }
  std::sort(times.begin(), times.end());
  return times[times.size() / 2];
}

} // namespace sparta::rt
