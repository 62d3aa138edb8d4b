//===- params.h - Kernel parameters and tile configuration (host + device) -===//
//
// The one definition of what the host passes to the attention kernels and of
// the configuration formulas (tile sizes, shared-memory bytes) both sides
// depend on. It compiles as plain host C++17 and under NVRTC (which has no
// standard headers), so it includes nothing and defines its own fixed-width
// types. Kernels take exactly one of these structs by value.
//
// Conventions shared by every kernel:
//  * Element strides, d contiguous: element (b, h, t, j) of a tensor lives at
//    ptr[b*stride_b + h*stride_h + t*stride_t + j]; [B,H,T,d] and [B,T,H,d]
//    (and packed QKV) layouts are all expressible.
//  * fp32 side tensors are dense: lse and delta are [B, num_heads, T]; the
//    workspaces (o_acc, dq_acc, dk_acc, dv_acc) are [B, num_heads, T, head_dim].
//  * A launch serves heads h = head_offset + head_step * s for s in
//    [0, heads_in_launch); grid.y = batch * heads_in_launch (b major).
//
//===----------------------------------------------------------------------===//
#ifndef SPARTA_PARAMS_H
#define SPARTA_PARAMS_H

#if defined(__CUDACC__) || defined(__CUDACC_RTC__)
#define SPARTA_HD __host__ __device__
#else
#define SPARTA_HD
#endif

namespace sparta {

typedef signed char i8;
typedef unsigned char u8;
typedef short i16;
typedef unsigned short u16;
typedef int i32;
typedef unsigned int u32;
typedef long long i64;
typedef unsigned long long u64;

static_assert(sizeof(i64) == 8 && sizeof(u32) == 4 && sizeof(u16) == 2, "fixed-width types");
static_assert(sizeof(void *) == 8, "sparta needs a 64-bit host and device");

/// Input/output element type of a kernel. Accumulation is always fp32.
enum class DType : int { BF16 = 0, FP16 = 1 };

/// How a forward launch combines with earlier launches for the same heads
/// (one launch per mask component of a union; see attention_fwd.cuh).
enum class MergeMode : int { Single = 0, First = 1, Middle = 2, Last = 3 };

/// Whether backward launches write the gradient in dtype or add it into an
/// fp32 workspace that the host zeroed (several components, partial key maps).
enum class AccMode : int { Write = 0, Accumulate = 1 };

// ---- Tile configuration ---------------------------------------------------------
// An attention kernel works on square tiles of kTile positions per side
// (TileShape in tiling.h): kTile query rows x kTile key rows, one warp per 16
// rows of the CTA's own side (the query tile of the forward and dQ kernels,
// the key tile of the dK/dV kernel). 64-row tiles are a full warpgroup, which
// sm_90a runs on wgmma; 32- and 16-row tiles (short groups, narrow bands) run
// on mma.sync everywhere.
SPARTA_HD constexpr bool isKernelTile(int tile) { return tile == 64 || tile == 32 || tile == 16; }
SPARTA_HD constexpr int threadsForTile(int tile) { return tile / 16 * 32; }
/// The block size of the utility kernels (preprocess, convert, head-group sums).
constexpr int kUtilityThreads = 128;
constexpr int kElemBytes = 2; // bf16 and fp16

SPARTA_HD constexpr bool isSupportedHeadDim(int d) { return d == 32 || d == 64 || d == 128; }

/// Tiles start at 1024-byte aligned shared addresses (the period of the
/// hardware swizzle wgmma applies); the kernels align the dynamic shared
/// memory base themselves (kernelSmem), so every launch asks for this slack.
constexpr int kSmemAlign = 1024;

/// Shared bytes of one ROWS x headDim tile in the tile_io.cuh layout: one
/// panel of 64 columns per 64 head-dim columns, each panel 64 rows apart
/// (so a tile of fewer rows at d = 128 leaves the rest of its first panel
/// unused: the layout is the one wgmma reads, for every tile edge).
SPARTA_HD constexpr int tileBytes(int rows, int headDim) {
  return headDim <= 64 ? rows * headDim * kElemBytes : (headDim / 64 - 1) * 64 * 128 + rows * 128;
}

/// Dynamic shared memory of attention_fwd: Q tile + double-buffered K and V;
/// of attention_fwd_pairs (queryTiles = 2): both Q tiles + K and V.
SPARTA_HD constexpr int fwdSmemBytes(int headDim, int tile, int queryTiles = 1) {
  return (4 + queryTiles) * tileBytes(tile, headDim) + kSmemAlign;
}
/// attention_bwd_dkdv: resident K and V tiles, double-buffered Q and dO tiles,
/// the tiles' lse and delta (2 x 2 x tile floats) and the dS^T tile that
/// the sm_90a kernels read back for dQ (64-row tiles only); over key-tile
/// pairs (keyTiles = 2) both key tiles' K, V and dS^T.
SPARTA_HD constexpr int bwdDkdvSmemBytes(int headDim, int tile, int keyTiles = 1) {
  return (2 * keyTiles + 4) * tileBytes(tile, headDim) + 4 * tile * 4 +
         keyTiles * (tile == 64 ? tile * tile * kElemBytes : 0) + kSmemAlign;
}
/// attention_bwd_dq: resident Q and dO tiles, double-buffered K and V tiles.
SPARTA_HD constexpr int bwdDqSmemBytes(int headDim, int tile) {
  return 6 * tileBytes(tile, headDim) + kSmemAlign;
}
/// Rows per CTA of attention_bwd_preprocess and convert_accumulators.
constexpr int kRowsPerUtilityBlock = 64;

/// Compile-time kernel configuration: head dim, dtype and tile edge.
template <int HEAD_DIM, DType DT, int TILE = 64> struct Cfg {
  static_assert(HEAD_DIM == 32 || HEAD_DIM == 64 || HEAD_DIM == 128, "head dim 32, 64 or 128");
  static_assert(isKernelTile(TILE), "tiles of 64, 32 or 16 positions per side");
  static constexpr int kHeadDim = HEAD_DIM;
  static constexpr DType kDType = DT;
  static constexpr int kTile = TILE;   // positions per tile side: the CTA's own rows
  static constexpr int kBlockM = TILE; // query positions per tile
  static constexpr int kBlockN = TILE; // key positions per tile
  static constexpr int kWarps = TILE / 16;
  static constexpr int kThreads = threadsForTile(TILE);
  static constexpr int kFwdSmem = fwdSmemBytes(HEAD_DIM, TILE);
  static constexpr int kDkdvSmem = bwdDkdvSmemBytes(HEAD_DIM, TILE);
  static constexpr int kDqSmem = bwdDqSmemBytes(HEAD_DIM, TILE);
};

// ---- Parameter structs ------------------------------------------------------------
/// A [B, H, T, d] view (d contiguous) of a bf16/fp16 tensor; strides in elements.
struct TensorArg {
  void *ptr;
  i64 stride_b;
  i64 stride_h;
  i64 stride_t;
};

/// The head set and problem shape common to every kernel.
struct HeadArgs {
  i32 batch;
  i32 num_heads;       // heads of the model (dimension of lse and workspaces)
  i32 seq_len;         // T
  i32 head_offset;     // first head of this launch
  i32 head_step;       // stride between heads of this launch
  i32 heads_in_launch; // grid.y == batch * heads_in_launch
};

struct AttnFwdParams {
  TensorArg q, k, v;
  TensorArg o;   // written by Single and Last
  float *lse;    // [B, num_heads, T], natural log; -inf for rows with no key
  float *o_acc;  // [B, num_heads, T, d] normalized partial O (First/Middle/Last)
  HeadArgs heads;
  float scale;   // softmax scale (usually 1/sqrt(d))
  i32 pad_;
  // Packed documents (documents.h): the document of every token of the
  // launch's one batch row, [T], nondecreasing in t (the host launches the
  // document kernels one batch row at a time, batch = 1); a query sees only
  // keys of its own document. Read by
  // the kernels built for documents (template argument DOCS); null there:
  // one document per row. The other kernels ignore it.
  const i32 *doc_ids;
};

struct AttnBwdParams {
  TensorArg q, k, v;
  TensorArg o;     // the forward output (preprocess reads it)
  TensorArg dout;  // dO
  TensorArg dq, dk, dv; // AccMode::Write destinations
  const float *lse; // merged lse from the forward
  float *delta;     // [B, num_heads, T] rowsum(dO * O), written by preprocess
  float *dq_acc, *dk_acc, *dv_acc; // AccMode::Accumulate workspaces (zeroed by the host)
  HeadArgs heads;
  float scale;
  i32 pad_;
  // Where the dK/dV pass also accumulates dQ (sm_90a): dq_acc receives every
  // component's dQ (zeroed by the host, any AccMode), and dq_sem orders the
  // additions, one counter per query tile at [B, num_heads, T] (indexed by
  // the token row of the tile's first position). The host zeroes it once;
  // every launch leaves it zero again.
  i32 *dq_sem;
  const i32 *doc_ids; // as AttnFwdParams::doc_ids
};

/// convert_accumulators: up to three fp32 workspaces to dtype tensors
/// (grid.z selects the pair).
struct ConvertParams {
  const float *src[3];
  TensorArg dst[3];
  i32 count;
  i32 head_dim;
  HeadArgs heads;
};

} // namespace sparta

#endif // SPARTA_PARAMS_H
