//===- SparseAttention.h - Compile a pattern once, run it on device tensors -===//
//
// The C++ API a model or another program uses:
//
//   sparta::SparseAttention attn({.patternPath = "patterns/strided.mlir",
//                                 .params = {{"T", 4096}, {"L", 64}},
//                                 .headDim = 64});
//   attn.forward(q, k, v, o, lse, stream);
//   attn.backward(q, k, v, o, lse, dO, dq, dk, dv, stream);
//
// Construction plans the pattern, generates and compiles its kernels (or finds
// them in the kernel cache) and loads them for one device (config.device, or
// the thread's selected one). Tensors are device views with explicit strides
// (d contiguous), so [B, H, T, d] and [B, T, H, d] layouts both work; head h
// uses the pattern's mask h mod n. k and v may have fewer heads than q
// (grouped-query and multi-query attention): with H = G x Hkv, query head h
// reads kv head h / G, and dK, dV sum their group's contributions in a fixed
// order. Shapes that do not fit the compiled kernels throw sparta::Error.
//
// Calls run on the stream given (rt::Stream::external wraps a host program's
// stream) and, when a Workspace is passed, allocate nothing: the fp32
// scratch they need comes from it (forwardWorkspaceBytes/backwardWorkspaceBytes
// say how much), so a call can be captured in a CUDA graph. Without one, the
// object keeps its own buffers, grown on demand.
//
// Packed documents (Packing.h): with a Documents argument each row of T
// positions holds several documents and no query attends across a boundary.
// The call copies cu_seqlens to the host and waits for it (so it cannot be
// captured in a CUDA graph), checks it, and uploads the document of every
// token to a buffer of the object's own. The first such call also compiles
// (or finds in the kernel cache) the kernel set built for documents; the
// kernels of calls without documents hold no document code. Patterns without
// a translation period are refused.
//
//===----------------------------------------------------------------------===//
#pragma once

#include "sparta/Compiler.h"
#include "sparta/Frontend.h"
#include "sparta/runtime/Cuda.h"

#include <memory>
#include <string>

namespace sparta {

/// A [B, H, T, d] view of a bf16/fp16 device tensor; strides in elements.
struct TensorView {
  rt::DevicePtr data = 0;
  int64_t B = 0, H = 0, T = 0, d = 0;
  int64_t strideB = 0, strideH = 0, strideT = 0;

  /// Contiguous [B, H, T, d].
  static TensorView bhtd(rt::DevicePtr data, int64_t B, int64_t H, int64_t T, int64_t d);
  /// Contiguous [B, T, H, d].
  static TensorView bthd(rt::DevicePtr data, int64_t B, int64_t H, int64_t T, int64_t d);
};

/// Device memory the caller lends to one call; 256-byte aligned.
struct Workspace {
  rt::DevicePtr data = 0;
  size_t bytes = 0;
};

/// Whether the first construction of a configuration times its candidate
/// tile edges on the device (Autotune.h).
enum class Autotune {
  Environment, // on when SPARTA_AUTOTUNE=1
  Off,
  On,
};

/// Document boundaries of every row: cuSeqlens, int32 [B, count + 1] on the
/// device, row-major; row b's document n is [cu[b][n], cu[b][n + 1]), with
/// cu[b][0] = 0, cu[b][count] = T, nondecreasing (empty documents allowed),
/// every non-empty document starting at a multiple of the pattern's period.
struct Documents {
  rt::DevicePtr cuSeqlens = 0;
  int64_t count = 0; // N: documents per row
};

struct AttentionConfig {
  std::string patternPath;
  ParamBindings params;
  std::string patternName;        // when the file holds several patterns
  int headDim = 64;
  ElementType dtype = ElementType::BF16;
  std::string arch;               // empty: the current device's
  float scale = 0.f;              // 0: 1/sqrt(headDim)
  bool useCache = true;
  std::string cacheDir;           // empty: KernelCache::defaultDirectory()
  bool fuseDq = false;            // KernelOptions::fuseDq
  TilePairs queryPairs = TilePairs::Auto; // KernelOptions::queryPairs
  TilePairs keyPairs = TilePairs::Off;    // KernelOptions::keyPairs
  int tile = 0;                   // 0: the planner picks each component's tile among the
                                  // kernels' (tiling::kKernelTileShapes); 64, 32 or 16: that
                                  // square tile for every component (studies, tuning)
  Autotune autotune = Autotune::Environment; // with tile = 0: time the candidates (Autotune.h)
  int device = -1;                // CUDA device ordinal; -1: rt::Context::selectedDevice()
};

/// The compile options of `config`'s kernels for `arch` (the tile edge as
/// given: 0 leaves it to the planner).
CompileOptions compileOptionsFor(const AttentionConfig &config, const std::string &arch);

/// The kernel that sums the per-query-head dK and dV of grouped kv heads
/// (sparta/head_group_sum.cuh): its CUDA C++ and its entry's name.
struct HeadGroupSumKernel {
  std::string name;
  std::string source;
};
HeadGroupSumKernel headGroupSumKernel(int headDim, ElementType dtype);

class SparseAttention {
public:
  explicit SparseAttention(const AttentionConfig &config);
  /// From an already loaded pattern (the model builds one per layer config).
  SparseAttention(const ConcretePattern &pattern, const AttentionConfig &config);
  ~SparseAttention();
  SparseAttention(const SparseAttention &) = delete;
  SparseAttention &operator=(const SparseAttention &) = delete;

  /// o = attention(q, k, v); lse: fp32 [B, H, T] (natural log; -inf for rows
  /// with no allowed key, whose output is 0).
  /// `documents`: packed documents (null: one sequence per row).
  void forward(const TensorView &q, const TensorView &k, const TensorView &v,
               const TensorView &o, rt::DevicePtr lse, const rt::Stream &stream,
               const Workspace *workspace = nullptr, const Documents *documents = nullptr);
  /// Gradients of the forward; lse is the forward's. dk and dv have k's heads.
  /// `documents` must be the forward's.
  void backward(const TensorView &q, const TensorView &k, const TensorView &v,
                const TensorView &o, rt::DevicePtr lse, const TensorView &dO,
                const TensorView &dq, const TensorView &dk, const TensorView &dv,
                const rt::Stream &stream, const Workspace *workspace = nullptr,
                const Documents *documents = nullptr);

  /// Bytes of the Workspace a forward of B x H query heads needs (may be 0).
  size_t forwardWorkspaceBytes(int64_t B, int64_t H) const;
  /// Bytes of the Workspace a backward of B x H query heads and Hkv kv heads needs.
  size_t backwardWorkspaceBytes(int64_t B, int64_t H, int64_t Hkv) const;
  /// The CUDA device the kernels are loaded on.
  int device() const;

  const ConcretePattern &pattern() const { return pattern_; }
  const CompiledKernels &kernels() const { return compiled_; }
  int64_t T() const { return pattern_.T; }
  /// Bytes of device workspace this object holds (calls without a Workspace).
  size_t workspaceBytes() const;

private:
  struct Impl;
  ConcretePattern pattern_;
  CompiledKernels compiled_;
  std::unique_ptr<Impl> impl_;
};

} // namespace sparta
