/*===- sparta_c.h - A small, stable C interface over libsparta ------------===
 *
 * For programs that cannot or should not use the C++ API: foreign-function
 * callers (the Python package `sparta` calls it through ctypes), other
 * languages, and processes that already hold another LLVM (libsparta-c.so
 * links LLVM and MLIR statically and exports nothing but the functions
 * declared here).
 *
 * Conventions:
 *  - Handles are opaque; each create or load function has a matching free.
 *  - Functions returning int return 0 on success and non-zero on failure;
 *    sparta_last_error() then gives the complete message (for pattern files
 *    "file:line:col: error: ..." with the source line), valid on the calling
 *    thread until its next failing call.
 *  - Strings returned through char ** are heap-allocated and released with
 *    sparta_string_free.
 *  - Reports are JSON objects (keys documented in docs/python.md).
 *
 *===----------------------------------------------------------------------===*/
#ifndef SPARTA_C_H
#define SPARTA_C_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Bumped when a declaration below changes incompatibly. */
#define SPARTA_C_API_VERSION 2

typedef struct sparta_pattern sparta_pattern;
typedef struct sparta_attention sparta_attention;

int sparta_c_api_version(void);
const char *sparta_version(void);
const char *sparta_last_error(void);
void sparta_string_free(char *text);

/* ---- Patterns ------------------------------------------------------------
 * Loads and instantiates a pattern from a file (`path`) or from text in
 * memory (`source`, with `buffer_name` standing for the file name in
 * messages); exactly one of path and source is non-null. `pattern_name`
 * (may be null or empty) picks one of several patterns in the file. */
int sparta_pattern_load(const char *path, const char *source, const char *buffer_name,
                        const char *pattern_name, const char *const *param_names,
                        const int64_t *param_values, int num_params, sparta_pattern **out);
void sparta_pattern_free(sparta_pattern *pattern);
/* {"name", "T", "params": {NAME: VALUE}, "heads": [mask text], "period": P}
 * where period is the translation period documents must start at multiples
 * of (sparta/Packing.h), null when the pattern cannot pack documents. */
int sparta_pattern_info(const sparta_pattern *pattern, char **json);
/* Validity over `layers` layers (union of the heads, or interleaved), the cost
 * report at tile edge `tile` and the planned kernels' work ratio; `tile` 0: the
 * shapes the kernels run (the plan of SparseAttention). */
int sparta_pattern_check(const sparta_pattern *pattern, int layers, int interleaved, int tile,
                         char **json);
/* The element mask of one head: T x T bytes (1 = query row i attends key j). */
int sparta_pattern_mask(const sparta_pattern *pattern, int head, uint8_t *out, int64_t out_bytes);
/* The same as bits: row i is words [i W, (i + 1) W) with W = ceil(T / 64), bit
 * j % 64 of word j / 64 set when query i attends key j (out_words = T x W). */
int sparta_pattern_mask_bits(const sparta_pattern *pattern, int head, uint64_t *out,
                             int64_t out_words);
/* A compiler stage as text: "plan", "cuda" or "ptx", for head dim 32/64/128,
 * dtype "bf16" or "fp16" and an arch such as "sm_90a" (no GPU needed). */
int sparta_pattern_emit(const sparta_pattern *pattern, const char *stage, int head_dim,
                        const char *dtype, const char *arch, int use_cache, char **text);

/* ---- Attention on device tensors --------------------------------------- */
/* A [B, H, T, d] view of a bf16/fp16 device tensor, d contiguous, strides in elements. */
typedef struct sparta_tensor {
  uint64_t data;
  int64_t B, H, T, d;
  int64_t stride_b, stride_h, stride_t;
} sparta_tensor;

int sparta_cuda_available(char **why);
/* Compiles (or finds in the kernel cache) and loads the kernels of `pattern`
 * for one device. scale <= 0: 1/sqrt(head_dim). device < 0: device 0.
 * cache_dir null or empty: the default kernel cache. */
int sparta_attention_create(const sparta_pattern *pattern, int head_dim, const char *dtype,
                            float scale, int device, int use_cache, const char *cache_dir,
                            sparta_attention **out);
void sparta_attention_free(sparta_attention *attention);
/* Workspace bytes of a forward (backward = 0) or backward call. */
int sparta_attention_workspace_bytes(const sparta_attention *attention, int backward, int64_t B,
                                     int64_t H, int64_t Hkv, uint64_t *bytes);
/* `stream` is a CUstream (or cudaStream_t) of the attention's device; null is
 * the legacy default stream. workspace: device memory of at least the bytes
 * above, 256-byte aligned; workspace = 0 uses memory the handle owns. lse is
 * fp32 [B, H, T]. k and v (dk, dv) may have fewer heads than q.
 * cu_seqlens: packed documents, int32 [B, num_documents + 1] on the device
 * (sparta::Documents in SparseAttention.h; the call then copies it to the host
 * and waits for the stream); 0 for one sequence per row. The backward takes
 * the forward's. */
int sparta_attention_forward(sparta_attention *attention, const sparta_tensor *q,
                             const sparta_tensor *k, const sparta_tensor *v,
                             const sparta_tensor *o, uint64_t lse, void *stream,
                             uint64_t workspace, uint64_t workspace_bytes, uint64_t cu_seqlens,
                             int64_t num_documents);
int sparta_attention_backward(sparta_attention *attention, const sparta_tensor *q,
                              const sparta_tensor *k, const sparta_tensor *v,
                              const sparta_tensor *o, uint64_t lse, const sparta_tensor *dout,
                              const sparta_tensor *dq, const sparta_tensor *dk,
                              const sparta_tensor *dv, void *stream, uint64_t workspace,
                              uint64_t workspace_bytes, uint64_t cu_seqlens,
                              int64_t num_documents);

#ifdef __cplusplus
}
#endif

#endif /* SPARTA_C_H */
