//===- Cuda.h - A thin, checked layer over the CUDA Driver API -------------===//
//
// The driver (libcuda.so.1) is opened with dlopen on first use, never linked:
// binaries built with sparta load and run their CPU paths on machines with no
// NVIDIA driver (CI, the dev machine) and only fail, with a clear
// sparta::Error, when they try to touch a GPU. `cudaAvailable()` is the
// non-throwing probe tests use to decide to skip.
//
// Every CUresult is checked; a failure throws sparta::Error naming the driver
// call, the error's name and description and, for launches and function
// look-ups, the kernel name.
//
// The handle types are the driver's own opaque struct pointers, forward
// declared here so that this header does not need <cuda.h>.
//
//===----------------------------------------------------------------------===//
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <string>
#include <utility>
#include <vector>

struct CUctx_st;
struct CUstream_st;
struct CUmod_st;
struct CUfunc_st;
struct CUevent_st;

namespace sparta::rt {

using DevicePtr = unsigned long long; // == CUdeviceptr

/// True when the driver library loads, cuInit succeeds and there is at least
/// one device. Never throws; on false, `*why` (if given) says what failed.
bool cudaAvailable(std::string *why = nullptr);

/// What the runtime needs to know about a device.
struct DeviceInfo {
  int ordinal = 0;
  std::string name;
  int major = 0, minor = 0;  // compute capability
  int multiProcessors = 0;
  int maxSharedPerBlockOptin = 0; // bytes a kernel may opt into
  std::size_t totalMemory = 0;
  int driverVersion = 0;     // e.g. 13000
  /// The NVRTC target for this device: "sm_80", "sm_86", "sm_89", "sm_90a", ...
  /// Hopper (and later arch-specific parts) gets the "a" suffix so that
  /// arch-specific instructions are available.
  std::string arch() const;
};

/// "sm_90a" -> 90; "sm_80" -> 80. Throws on a malformed string.
int archNumber(const std::string &arch);

/// Number of CUDA devices (0 when the driver is unusable). Never throws.
int deviceCount();

/// The primary context of a device, retained on first use. `get()` is the
/// context of the calling thread's selected device (device 0 unless a
/// DeviceScope selected another) and makes it current on the thread; every
/// entry point below goes through it (cheap when already current). Primary
/// contexts are the ones the CUDA runtime uses too, so memory and streams of
/// a program built on the runtime (PyTorch) are valid here.
class Context {
public:
  static Context &get();
  /// The context of device `ordinal`, without making it current. Throws
  /// sparta::Error when there is no such device.
  static Context &forDevice(int ordinal);
  /// The ordinal `get()` uses on this thread.
  static int selectedDevice();
  const DeviceInfo &device() const { return info_; }
  CUctx_st *handle() const { return ctx_; }
  void makeCurrent() const;
  void synchronize() const;
  /// Free and total device memory in bytes.
  std::pair<std::size_t, std::size_t> memoryInfo() const;

private:
  explicit Context(int ordinal);
  ~Context();
  Context(const Context &) = delete;
  Context &operator=(const Context &) = delete;
  CUctx_st *ctx_ = nullptr;
  int device_ = 0;
  DeviceInfo info_;
};

/// Selects device `ordinal` for the calling thread (Context::get() returns its
/// context) for the scope's lifetime. The destructor restores the previous
/// selection and whatever context was current before, so a host program that
/// manages its own current context (the CUDA runtime's current device) sees
/// it unchanged after a call into sparta.
class DeviceScope {
public:
  explicit DeviceScope(int ordinal);
  ~DeviceScope();
  DeviceScope(const DeviceScope &) = delete;
  DeviceScope &operator=(const DeviceScope &) = delete;

private:
  int previousOrdinal_;
  CUctx_st *previousContext_ = nullptr;
};

class Event;

class Stream {
public:
  /// A non-blocking stream of the selected device's primary context, owned.
  Stream();
  /// A view of a stream created elsewhere (e.g. PyTorch's current stream);
  /// not destroyed with this object. A null handle is the legacy default stream.
  static Stream external(CUstream_st *handle);
  ~Stream();
  Stream(Stream &&o) noexcept : s_(o.s_), owned_(o.owned_) { o.s_ = nullptr; }
  Stream &operator=(Stream &&o) noexcept;
  Stream(const Stream &) = delete;
  Stream &operator=(const Stream &) = delete;
  CUstream_st *handle() const { return s_; }
  void synchronize() const;
  /// Work queued on this stream from now on waits for `event` (as last recorded).
  void waitFor(const Event &event) const;

private:
  struct ExternalTag {};
  Stream(CUstream_st *handle, ExternalTag) : s_(handle), owned_(false) {}
  CUstream_st *s_ = nullptr;
  bool owned_ = true;
};

/// Owned device memory (RAII). Size 0 is allowed and holds no allocation.
class DeviceBuffer {
public:
  DeviceBuffer() = default;
  explicit DeviceBuffer(std::size_t bytes);
  ~DeviceBuffer();
  DeviceBuffer(DeviceBuffer &&o) noexcept : ptr_(o.ptr_), bytes_(o.bytes_) {
    o.ptr_ = 0;
    o.bytes_ = 0;
  }
  DeviceBuffer &operator=(DeviceBuffer &&o) noexcept;
  DeviceBuffer(const DeviceBuffer &) = delete;
  DeviceBuffer &operator=(const DeviceBuffer &) = delete;

  DevicePtr ptr() const { return ptr_; }
  std::size_t size() const { return bytes_; }
  template <typename T> T *as() const { return reinterpret_cast<T *>(ptr_); }

  void upload(const void *src, std::size_t bytes, std::size_t offset = 0);
  void download(void *dst, std::size_t bytes, std::size_t offset = 0) const;
  void zero(const Stream *stream = nullptr);

private:
  DevicePtr ptr_ = 0;
  std::size_t bytes_ = 0;
};

// Raw copies and fills. A null stream means synchronous: the call returns when
// the copy or fill is complete on the device.
void memcpyHtoD(DevicePtr dst, const void *src, std::size_t bytes, const Stream *stream = nullptr);
void memcpyDtoH(void *dst, DevicePtr src, std::size_t bytes, const Stream *stream = nullptr);
void memcpyDtoD(DevicePtr dst, DevicePtr src, std::size_t bytes, const Stream *stream = nullptr);
void memsetZero(DevicePtr dst, std::size_t bytes, const Stream *stream = nullptr);

class Function;

/// A loaded module. Loading tries the CUBIN first and falls back to the PTX
/// (JIT by the driver) when the CUBIN is empty or the driver rejects it, e.g.
/// because it was built for another arch.
class Module {
public:
  Module(const std::vector<char> &cubin, const std::string &ptx, const std::string &label);
  ~Module();
  Module(Module &&o) noexcept : mod_(o.mod_), label_(std::move(o.label_)), fromPtx_(o.fromPtx_) {
    o.mod_ = nullptr;
  }
  Module(const Module &) = delete;
  Module &operator=(const Module &) = delete;
  Module &operator=(Module &&) = delete;

  Function function(const std::string &name) const;
  bool loadedFromPtx() const { return fromPtx_; }
  const std::string &label() const { return label_; }

private:
  CUmod_st *mod_ = nullptr;
  std::string label_;
  bool fromPtx_ = false;
};

/// A kernel of a loaded module (not owned; lives as long as the Module).
class Function {
public:
  Function() = default;
  Function(CUfunc_st *f, std::string name) : f_(f), name_(std::move(name)) {}
  CUfunc_st *handle() const { return f_; }
  const std::string &name() const { return name_; }
  /// Allows up to `bytes` of dynamic shared memory (needed above 48 KB).
  void setMaxDynamicSharedMemory(int bytes) const;
  int numRegisters() const;
  int maxThreadsPerBlock() const;

private:
  CUfunc_st *f_ = nullptr;
  std::string name_;
};

struct Dim3 {
  unsigned x = 1, y = 1, z = 1;
};

/// Launches with an explicit kernel-parameter array (addresses of arguments).
void launchRaw(const Function &fn, Dim3 grid, Dim3 block, unsigned smemBytes,
               const Stream *stream, void **params);

/// Launches `fn<<<grid, block, smemBytes, stream>>>(args...)`. Arguments are
/// passed by value exactly as the kernel declares them (typically one Params
/// struct from sparta/params.h).
template <typename... Args>
void launch(const Function &fn, Dim3 grid, Dim3 block, unsigned smemBytes, const Stream *stream,
            const Args &...args) {
  void *params[sizeof...(Args) + 1] = {const_cast<void *>(static_cast<const void *>(&args))...};
  launchRaw(fn, grid, block, smemBytes, stream, params);
}

/// A CUDA event, for timing or (without timing, which is cheaper) for
/// ordering one stream after another (Stream::waitFor).
class Event {
public:
  explicit Event(bool timing = true);
  ~Event();
  Event(const Event &) = delete;
  Event &operator=(const Event &) = delete;
  void record(const Stream *stream = nullptr);
  void synchronize() const;
  /// Milliseconds from `start` to this event (both recorded and complete).
  float elapsedSince(const Event &start) const;
  CUevent_st *handle() const { return e_; }

private:
  CUevent_st *e_ = nullptr;
};

/// The median of `runs` timings of `body` (events recorded on `stream`
/// around each call), after `warmups` untimed calls: how the benchmarks and
/// the autotuner time kernels.
float medianMilliseconds(const std::function<void()> &body, const Stream &stream, int warmups,
                         int runs);

} // namespace sparta::rt
