//===- Gemm.h - bf16 matrix products through cuBLASLt ----------------------===//
//
// The model's GEMMs: C = alpha * op(A) * op(B) + beta * C (+ bias), with bf16
// A and B, fp32 accumulation, and C in bf16 (activations) or fp32 (weight
// gradients, so that beta = 1 accumulates over micro-batches without bf16
// rounding).
//
// Conventions are ROW-MAJOR, as the rest of the model: A is [M, K] ([K, M]
// with transA), B is [K, N] ([N, K] with transB), C is [M, N]; the leading
// dimension of each is its row length (0 = contiguous). A linear layer
// y = x W^T + b with W stored [out, in] is {M = rows, N = out, K = in, A = x,
// B = W, transB = true, bias = b}; its gradients are dx = dy W (transB false)
// and dW += dy^T x (transA true, fp32 C, beta 1). Internally the product is
// issued to cuBLASLt (column-major) as C^T = op(B)^T op(A)^T, which needs no
// copies.
//
// With a bf16 C and beta != 0, cuBLASLt rounds alpha * op(A) op(B) to bf16
// before adding beta * C (measured on an H100), exactly like a product
// followed by a separate bf16 add; accumulate weight gradients in fp32 C.
//
// Descriptors, layouts and the chosen algorithm are cached per shape
// (including the operands' alignment); a workspace is owned by the object.
// Algorithms whose split-K reduction accumulates in place (atomics) are
// excluded, so results are bit-identical from run to run. Every cuBLASLt
// status is checked: a failure throws sparta::Error naming the call. Not
// thread-safe: use one Gemm per thread.
//
//===----------------------------------------------------------------------===//
#pragma once

#include "sparta/runtime/Cuda.h"

#include <cstddef>
#include <cstdint>
#include <map>
#include <memory>
#include <tuple>

namespace sparta::model {

enum class GemmOutput { BF16, FP32 };

struct GemmArgs {
  int M = 0, N = 0, K = 0;
  const std::uint16_t *A = nullptr; // bf16
  bool transA = false;
  std::int64_t lda = 0;             // 0: K (transA: M)
  const std::uint16_t *B = nullptr; // bf16
  bool transB = false;
  std::int64_t ldb = 0;             // 0: N (transB: K)
  void *C = nullptr;                // bf16 or fp32 per cType; read when beta != 0
  GemmOutput cType = GemmOutput::BF16;
  std::int64_t ldc = 0;             // 0: N
  float alpha = 1.0f, beta = 0.0f;
  const std::uint16_t *bias = nullptr; // bf16 [N], added to every row; BF16 output only
};

class Gemm {
public:
  /// 32 MiB is what cuBLASLt's Hopper kernels are documented to want.
  explicit Gemm(std::size_t workspaceBytes = std::size_t(32) << 20);
  ~Gemm();
  Gemm(const Gemm &) = delete;
  Gemm &operator=(const Gemm &) = delete;

  /// Enqueues the product on `stream` (null: the default stream).
  void run(const GemmArgs &args, const rt::Stream *stream = nullptr);

  /// Shapes planned so far (for tests and diagnostics).
  std::size_t cachedPlans() const { return plans_.size(); }

private:
  struct Plan;
  using Key = std::tuple<int, int, int, bool, bool, std::int64_t, std::int64_t, std::int64_t, int,
                         bool, int>;
  Plan &plan(const GemmArgs &args, std::int64_t lda, std::int64_t ldb, std::int64_t ldc);

  void *handle_ = nullptr; // cublasLtHandle_t
  rt::DeviceBuffer workspace_;
  std::map<Key, std::unique_ptr<Plan>> plans_;
};

} // namespace sparta::model
