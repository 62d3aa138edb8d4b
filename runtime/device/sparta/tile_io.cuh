//===- tile_io.cuh - Gathered tile loads, swizzled shared memory, fragments ===//
//
// A tile is ROWS x D 16-bit values in shared memory, one row per mapped
// position. Rows are gathered from global memory through an index map (a
// row function giving the original token index, or -1 for a row past the
// group's end, which is zero-filled), 16 bytes per cp.async.
//
// Layout: the tile is cut into panels of (at most) 64 columns, each stored
// row by row (kRowBytes<D> = 64 bytes per row at d = 32, else 128), panel
// after panel (d = 128: two panels, kPanelBytes apart: 64 rows, whatever the
// tile's own row count, so that one offset function serves every tile edge;
// tileBytes() in params.h is the footprint). Within a row, 16-byte
// chunk c is stored at chunk c ^ f(r) so that the 8 row addresses of one
// ldmatrix (same logical chunk, 8 consecutive rows) fall into 8 distinct
// 16-byte bank groups; without it every ldmatrix would be an 8-way (or 4-way)
// bank conflict. f is exactly the hardware's 128-byte (64-byte at d = 32)
// swizzle, so that wgmma reads the same tiles through a descriptor
// (tile_mma.cuh); tiles start at 1024-byte aligned shared addresses.
//
//===----------------------------------------------------------------------===//
#ifndef SPARTA_TILE_IO_CUH
#define SPARTA_TILE_IO_CUH

#include "sparta/mma.cuh"

namespace sparta {

/// Bytes of one row of a panel, and the distance between panels (64 rows).
template <int D> constexpr int kRowBytes = D >= 64 ? 128 : D * 2;
constexpr int kPanelBytes = 64 * 128;

/// The kernel's dynamic shared memory, from its first kSmemAlign-aligned
/// byte: CUDA only guarantees 16-byte alignment of the base, and wgmma's
/// swizzle is a function of the absolute address.
SPARTA_DEVICE char *kernelSmem() {
  extern __shared__ __align__(16) char dynamicSmem[];
  const u32 misalign = smemAddr(dynamicSmem) & (kSmemAlign - 1);
  return dynamicSmem + ((kSmemAlign - misalign) & (kSmemAlign - 1));
}

/// Byte offset of (row r, 16-byte chunk c) in a swizzled tile of head dim D.
template <int D> SPARTA_DEVICE u32 tileOffset(int r, int c) {
  constexpr int kChunks = kRowBytes<D> / 16;          // 16-byte chunks per panel row
  constexpr int kRowsPer128 = 8 / kChunks;            // rows sharing a 128-byte line
  const int panel = c / kChunks, pc = c % kChunks;
  return static_cast<u32>(panel * kPanelBytes + r * kRowBytes<D> +
                          ((pc ^ ((r / kRowsPer128) & (kChunks - 1))) << 4));
}

/// Issues the cp.async copies of a ROWS x D tile. `rowOf(r)` returns the
/// original token index of tile row r, or -1 (zero-fill). `base` points at
/// element (b, h, t=0, 0) and rows are `strideT` elements apart. Every one of
/// the THREADS threads that share the work (the CTA, or one warpgroup of it:
/// `tid` is the thread's index among them) must call it.
template <int ROWS, int D, int THREADS, typename RowFn>
SPARTA_DEVICE void loadTileAsync(u32 sbase, const u16 *base, i64 strideT, RowFn rowOf,
                                 int tid = threadIdx.x) {
  constexpr int kChunks = D / 8;
  constexpr int kTotal = ROWS * kChunks;
  static_assert(kTotal % THREADS == 0, "tile chunks must split evenly over the threads");
#pragma unroll
  for (int i = 0; i < kTotal / THREADS; ++i) {
    int idx = tid + i * THREADS;
    int r = idx / kChunks, c = idx % kChunks;
    int row = rowOf(r);
    const u16 *src = row >= 0 ? base + static_cast<i64>(row) * strideT + c * 8 : base;
    cpAsync16(sbase + tileOffset<D>(r, c), src, row >= 0);
  }
}

/// Like loadTileAsync for two tensors that share the row map (K and V, or Q
/// and dO): the row index is computed once per row and both copies issued
/// together, which also keeps fewer 64-bit addresses live at a time. The
/// THREADS threads are the CTA's, or (WARPGROUP) the caller's warpgroup.
template <int ROWS, int D, int THREADS, bool WARPGROUP = false, typename RowFn>
SPARTA_DEVICE void loadTilePairAsync(u32 sbase0, const u16 *base0, i64 strideT0, u32 sbase1,
                                     const u16 *base1, i64 strideT1, RowFn rowOf) {
  constexpr int kChunks = D / 8;
  constexpr int kTotal = ROWS * kChunks;
  static_assert(kTotal % THREADS == 0, "tile chunks must split evenly over the threads");
  // At d = 128 a full unroll computes 16 64-bit addresses at once, next to
  // 128 accumulator registers in the backward: unroll by 2 there, and not at
  // all in CTAs of fewer threads (more iterations each: the dQ kernel of
  // 32-row tiles spilled with 2).
  constexpr int kUnroll = D < 128 ? kTotal / THREADS : THREADS == 128 ? 2 : 1;
  static_assert(!WARPGROUP || THREADS == 128, "a warpgroup is 128 threads");
  const int tid = WARPGROUP ? threadIdx.x & 127 : threadIdx.x;
#pragma unroll kUnroll
  for (int i = 0; i < kTotal / THREADS; ++i) {
    int idx = tid + i * THREADS;
    int r = idx / kChunks, c = idx % kChunks;
    int row = rowOf(r);
    const bool ok = row >= 0;
    const i64 rr = ok ? row : 0;
    const u32 so = tileOffset<D>(r, c);
    cpAsync16(sbase0 + so, base0 + rr * strideT0 + c * 8, ok);
    cpAsync16(sbase1 + so, base1 + rr * strideT1 + c * 8, ok);
  }
}

// ---- Fragment loads ------------------------------------------------------------
// A lane's ldmatrix row address for a fragment at k-step (or n-pair) j differs
// from the one at j = 0 only in the chunk index, by an even compile-time delta.
// Because the swizzle is an XOR on the chunk bits and tiles start at aligned
// shared addresses, addr(j) = addr(0) ^ (chunk delta within the panel)
// + (panel and row deltas): one XOR/ADD per load with immediates, instead
// of a register per (j, lane) address that the compiler would otherwise keep
// live across the loop (that cost ~60 registers at d = 128).

/// The lane's address of fragment j = 0 is `base`; returns the one for a
/// chunk delta `dc` (even, compile-time) and a row delta `dr` (multiple of 8).
template <int D> SPARTA_DEVICE u32 fragStep(u32 base, int dc, int dr) {
  constexpr int kChunks = kRowBytes<D> / 16;
  return (base ^ static_cast<u32>((dc % kChunks) << 4)) +
         static_cast<u32>((dc / kChunks) * kPanelBytes + dr * kRowBytes<D>);
}

/// Lane base for A fragments of rows row0..row0+15 (row-major M x K tile).
template <int D> SPARTA_DEVICE u32 baseA(u32 tile, int row0) {
  const int lane = threadIdx.x & 31;
  return tile + tileOffset<D>(row0 + (lane & 7) + ((lane >> 3) & 1) * 8, lane >> 4);
}
/// A fragment at k-step ks (columns 16ks..16ks+15).
template <int D> SPARTA_DEVICE void loadA(u32 (&a)[4], u32 base, int ks) {
  ldmatrixX4(a, fragStep<D>(base, 2 * ks, 0));
}

/// Lane base for B fragments from a tile stored [n][k] (rows are N, e.g. K
/// for S = Q K^T), n-tiles n0 = 0 and 8.
template <int D> SPARTA_DEVICE u32 baseBNonTrans(u32 tile) {
  const int lane = threadIdx.x & 31;
  return tile + tileOffset<D>((lane & 7) + (lane >> 4) * 8, (lane >> 3) & 1);
}
/// B fragments of n-tiles n0 and n0+8 (n0 multiple of 16) at k-step ks:
/// b[0..1] -> n0, b[2..3] -> n0+8.
template <int D> SPARTA_DEVICE void loadBNonTrans(u32 (&b)[4], u32 base, int n0, int ks) {
  ldmatrixX4(b, fragStep<D>(base, 2 * ks, n0));
}

/// Lane base for B fragments from a tile stored [k][n] (rows are K, e.g. V
/// for O = P V).
template <int D> SPARTA_DEVICE u32 baseBTrans(u32 tile) {
  const int lane = threadIdx.x & 31;
  return tile + tileOffset<D>((lane & 7) + ((lane >> 3) & 1) * 8, lane >> 4);
}
/// B fragments of n-tiles n0 and n0+8 at k-step ks (rows 16ks..16ks+15).
template <int D> SPARTA_DEVICE void loadBTrans(u32 (&b)[4], u32 base, int n0, int ks) {
  ldmatrixX4Trans(b, fragStep<D>(base, n0 >> 3, 16 * ks));
}

/// Writes a ROWS x D tile from shared memory to global rows rowOf(r) (rows
/// with rowOf(r) < 0 are skipped), 16 bytes per thread per step over the
/// THREADS threads that share the work (`tid` as in loadTileAsync).
template <int ROWS, int D, int THREADS, typename RowFn>
SPARTA_DEVICE void storeTile(u16 *base, i64 strideT, const char *stile, RowFn rowOf,
                             int tid = threadIdx.x) {
  constexpr int kChunks = D / 8;
  constexpr int kTotal = ROWS * kChunks;
  static_assert(kTotal % THREADS == 0, "tile chunks must split evenly over the threads");
#pragma unroll
  for (int i = 0; i < kTotal / THREADS; ++i) {
    int idx = tid + i * THREADS;
    int r = idx / kChunks, c = idx % kChunks;
    int row = rowOf(r);
    if (row >= 0) {
      uint4 v = *reinterpret_cast<const uint4 *>(stile + tileOffset<D>(r, c));
      *reinterpret_cast<uint4 *>(base + static_cast<i64>(row) * strideT + c * 8) = v;
    }
  }
}

/// Stores a warp's fp32 accumulator rows (16 x D, C-fragment layout, n-tile
/// nt covers columns 8nt..8nt+7) into a swizzled 16-bit tile at row0, rounded
/// to DT. The caller synchronizes before reading the tile back.
template <int D, DType DT>
SPARTA_DEVICE void accToTile(char *stile, int row0, const float (&acc)[D / 8][4]) {
  const int lane = threadIdx.x & 31;
  const int g = lane >> 2, c = lane & 3;
#pragma unroll
  for (int nt = 0; nt < D / 8; ++nt) {
    *reinterpret_cast<u32 *>(stile + tileOffset<D>(row0 + g, nt) + c * 4) =
        packFloat2<DT>(acc[nt][0], acc[nt][1]);
    *reinterpret_cast<u32 *>(stile + tileOffset<D>(row0 + g + 8, nt) + c * 4) =
        packFloat2<DT>(acc[nt][2], acc[nt][3]);
  }
}

} // namespace sparta

#endif // SPARTA_TILE_IO_CUH
