//===- Gemm.cpp - cuBLASLt wrapper (row-major, bf16 in, fp32 accumulate) ---===//
#include "sparta/model/Gemm.h"

#include "sparta/Error.h"

#include <cublasLt.h>
#include <fmt/format.h>

#include <algorithm>

namespace sparta::model {
namespace {

void check(cublasStatus_t status, const char *call) {
  if (status != CUBLAS_STATUS_SUCCESS)
    throw Error(fmt::format("cuBLASLt: {} failed: {} ({})", call, cublasLtGetStatusName(status),
                            cublasLtGetStatusString(status)));
}
#define SPARTA_CUBLASLT(call) check(call, #call)

/// The largest power of two (up to 256) dividing the address: cuBLASLt's
/// heuristic assumes 256-byte aligned operands unless told otherwise.
int alignmentOf(const void *p) {
  auto a = reinterpret_cast<std::uintptr_t>(p);
  int align = 256;
  while (align > 1 && a % align != 0)
    align /= 2;
  return align;
}

cublasLtHandle_t ltHandle(void *h) { return static_cast<cublasLtHandle_t>(h); }

} // namespace

struct Gemm::Plan {
  cublasLtMatmulDesc_t desc = nullptr;
  cublasLtMatrixLayout_t a = nullptr, b = nullptr, c = nullptr;
  cublasLtMatmulAlgo_t algo{};
  ~Plan() {
    // Destruction statuses are ignored: nothing useful can be done with them.
    if (a)
      cublasLtMatrixLayoutDestroy(a);
    if (b)
      cublasLtMatrixLayoutDestroy(b);
    if (c)
      cublasLtMatrixLayoutDestroy(c);
    if (desc)
      cublasLtMatmulDescDestroy(desc);
  }
};

Gemm::Gemm(std::size_t workspaceBytes) {
  rt::Context::get().makeCurrent();
  cublasLtHandle_t h = nullptr;
  SPARTA_CUBLASLT(cublasLtCreate(&h));
  handle_ = h;
  workspace_ = rt::DeviceBuffer(workspaceBytes);
}

Gemm::~Gemm() {
  plans_.clear();
  if (handle_)
    cublasLtDestroy(ltHandle(handle_));
}

Gemm::Plan &Gemm::plan(const GemmArgs &g, std::int64_t lda, std::int64_t ldb, std::int64_t ldc) {
  int align = std::min({alignmentOf(g.A), alignmentOf(g.B), alignmentOf(g.C),
                        g.bias ? alignmentOf(g.bias) : 256});
  Key key{g.M, g.N, g.K, g.transA, g.transB, lda, ldb, ldc, static_cast<int>(g.cType),
          g.bias != nullptr, align};
  auto it = plans_.find(key);
  if (it != plans_.end())
    return *it->second;

  auto p = std::make_unique<Plan>();
  // Column-major view: C^T [N x M] = op(B)^T [N x K] * op(A)^T [K x M].
  const cudaDataType cType = g.cType == GemmOutput::BF16 ? CUDA_R_16BF : CUDA_R_32F;
  SPARTA_CUBLASLT(cublasLtMatmulDescCreate(&p->desc, CUBLAS_COMPUTE_32F, CUDA_R_32F));
  cublasOperation_t opB = g.transB ? CUBLAS_OP_T : CUBLAS_OP_N; // cuBLASLt's first operand
  cublasOperation_t opA = g.transA ? CUBLAS_OP_T : CUBLAS_OP_N; // cuBLASLt's second operand
  SPARTA_CUBLASLT(cublasLtMatmulDescSetAttribute(p->desc, CUBLASLT_MATMUL_DESC_TRANSA, &opB, sizeof opB));
  SPARTA_CUBLASLT(cublasLtMatmulDescSetAttribute(p->desc, CUBLASLT_MATMUL_DESC_TRANSB, &opA, sizeof opA));
  if (g.bias) {
    cublasLtEpilogue_t epilogue = CUBLASLT_EPILOGUE_BIAS;
    SPARTA_CUBLASLT(cublasLtMatmulDescSetAttribute(p->desc, CUBLASLT_MATMUL_DESC_EPILOGUE, &epilogue,
                                                   sizeof epilogue));
  }
  // Stored shapes as column-major (rows, cols): row-major [r, c] is column-major [c, r].
  SPARTA_CUBLASLT(cublasLtMatrixLayoutCreate(&p->a, CUDA_R_16BF, g.transB ? g.K : g.N,
                                             g.transB ? g.N : g.K, ldb));
  SPARTA_CUBLASLT(cublasLtMatrixLayoutCreate(&p->b, CUDA_R_16BF, g.transA ? g.M : g.K,
                                             g.transA ? g.K : g.M, lda));
  SPARTA_CUBLASLT(cublasLtMatrixLayoutCreate(&p->c, cType, g.N, g.M, ldc));

  cublasLtMatmulPreference_t pref = nullptr;
  SPARTA_CUBLASLT(cublasLtMatmulPreferenceCreate(&pref));
  cublasLtMatmulHeuristicResult_t result{};
  int found = 0;
  try {
    std::size_t bytes = workspace_.size();
    SPARTA_CUBLASLT(cublasLtMatmulPreferenceSetAttribute(pref, CUBLASLT_MATMUL_PREF_MAX_WORKSPACE_BYTES,
                                                         &bytes, sizeof bytes));
    // In-place split-K reductions add partial products into C in arbitrary
    // order; excluding them keeps the product deterministic.
    std::uint32_t schemes = CUBLASLT_REDUCTION_SCHEME_MASK & ~CUBLASLT_REDUCTION_SCHEME_INPLACE;
    SPARTA_CUBLASLT(cublasLtMatmulPreferenceSetAttribute(pref, CUBLASLT_MATMUL_PREF_REDUCTION_SCHEME_MASK,
                                                         &schemes, sizeof schemes));
    std::uint32_t alignBytes = static_cast<std::uint32_t>(align);
    for (auto attr : {CUBLASLT_MATMUL_PREF_MIN_ALIGNMENT_A_BYTES, CUBLASLT_MATMUL_PREF_MIN_ALIGNMENT_B_BYTES,
                      CUBLASLT_MATMUL_PREF_MIN_ALIGNMENT_C_BYTES, CUBLASLT_MATMUL_PREF_MIN_ALIGNMENT_D_BYTES})
      SPARTA_CUBLASLT(cublasLtMatmulPreferenceSetAttribute(pref, attr, &alignBytes, sizeof alignBytes));
    SPARTA_CUBLASLT(cublasLtMatmulAlgoGetHeuristic(ltHandle(handle_), p->desc, p->a, p->b, p->c, p->c,
                                                   pref, 1, &result, &found));
  } catch (...) {
    cublasLtMatmulPreferenceDestroy(pref);
    throw;
  }
  cublasLtMatmulPreferenceDestroy(pref);
  if (found == 0)
    throw Error(fmt::format("cuBLASLt: no algorithm for M={} N={} K={} transA={} transB={} "
                            "(lda {}, ldb {}, ldc {}, {} output, alignment {})",
                            g.M, g.N, g.K, g.transA, g.transB, lda, ldb, ldc,
                            g.cType == GemmOutput::BF16 ? "bf16" : "fp32", align));
  p->algo = result.algo;
  return *plans_.emplace(key, std::move(p)).first->second;
}

void Gemm::run(const GemmArgs &g, const rt::Stream *stream) {
  if (g.M < 0 || g.N < 0 || g.K < 1)
    throw Error(fmt::format("Gemm: invalid shape M={} N={} K={}", g.M, g.N, g.K));
  if (g.M == 0 || g.N == 0)
    return;
  if (!g.A || !g.B || !g.C)
    throw Error("Gemm: A, B and C must be device pointers");
  if (g.bias && g.cType != GemmOutput::BF16)
    throw Error("Gemm: a bias epilogue needs a bf16 output");
  const std::int64_t lda = g.lda ? g.lda : (g.transA ? g.M : g.K);
  const std::int64_t ldb = g.ldb ? g.ldb : (g.transB ? g.K : g.N);
  const std::int64_t ldc = g.ldc ? g.ldc : g.N;
  if (lda < (g.transA ? g.M : g.K) || ldb < (g.transB ? g.K : g.N) || ldc < g.N)
    throw Error(fmt::format("Gemm: leading dimensions lda={} ldb={} ldc={} are shorter than the rows",
                            lda, ldb, ldc));
  rt::Context::get().makeCurrent();
  Plan &p = plan(g, lda, ldb, ldc);
  if (g.bias) {
    const void *bias = g.bias;
    SPARTA_CUBLASLT(cublasLtMatmulDescSetAttribute(p.desc, CUBLASLT_MATMUL_DESC_BIAS_POINTER, &bias,
                                                   sizeof bias));
  }
  cudaStream_t s = stream ? stream->handle() : nullptr;
  SPARTA_CUBLASLT(cublasLtMatmul(ltHandle(handle_), p.desc, &g.alpha, g.B, p.a, g.A, p.b, &g.beta,
                                 g.C, p.c, g.C, p.c, &p.algo,
                                 reinterpret_cast<void *>(workspace_.ptr()), workspace_.size(), s));
}

} // namespace sparta::model
