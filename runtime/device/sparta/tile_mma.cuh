//===- tile_mma.cuh - One warpgroup product: mma.sync or wgmma -------------===//
//
// Every matrix product of the attention kernels has one shape: the rows of
// an A operand (16 per warp of the CTA: 64, 32 or 16 by the kernel's tile
// edge, Cfg in params.h) times a B block read from a swizzled shared tile
// (tile_io.cuh), accumulated in fp32 registers in the C-fragment layout. A is either register fragments produced by the caller (softmax
// output repacked from accumulators) or a whole shared tile (SmemA: Q, K, V,
// dO). tileMma is that product (tileMmaIssue + tileMmaWait where products
// should overlap), and the only place that chooses the instruction:
//
//  - sm_80 .. sm_90: mma.sync m16n8k16 per warp, A and B fragments via
//    ldmatrix (every warp re-reads the whole B block from shared memory);
//  - sm_90a with 64-row tiles (one warpgroup per tile; a CTA of two,
//    attention_fwd_pairs.cuh, gives each its own): wgmma m64nNk16, B
//    (and an SmemA) read by the tensor cores straight from shared memory
//    through matrix descriptors. Smaller tiles use mma.sync there too.
//
// B comes in two orientations:
//   BTile::NK  the tile's rows are the product's N (e.g. K for S = Q K^T);
//              the block is rows n0..n0+N-1, all D columns (K = D).
//   BTile::KN  the tile's rows are the product's K (e.g. V for O = P V);
//              the block is rows k0..k0+16*KS-1, columns n0..n0+N-1.
//
// Shared memory filled by cp.async must be fenced for wgmma: kernels call
// tilesReadyForMma() after cp.async.wait_group and before the barrier.
//
//===----------------------------------------------------------------------===//
#ifndef SPARTA_TILE_MMA_CUH
#define SPARTA_TILE_MMA_CUH

#include "sparta/tile_io.cuh"

namespace sparta {

enum class BTile { NK, KN };

/// Whether a kernel of configuration Cfg runs its products on wgmma: sm_90a
/// and a CTA of one whole warpgroup.
template <typename Cfg> constexpr bool kUsesWgmma = kHasWgmma && Cfg::kWarps == 4;

template <int NT> SPARTA_DEVICE void zeroAcc(float (&acc)[NT][4]) {
#pragma unroll
  for (int i = 0; i < NT; ++i)
    acc[i][0] = acc[i][1] = acc[i][2] = acc[i][3] = 0.f;
}

/// Called by every thread after its cp.async copies completed and before the
/// barrier that publishes them to the CTA.
template <typename Cfg> SPARTA_DEVICE void tilesReadyForMma() {
  if constexpr (kUsesWgmma<Cfg>)
    fenceSharedForWgmma();
}

/// wgmma matrix descriptor of a block of a tile_io.cuh tile: start address,
/// leading (unused by these layouts: one swizzle atom spans a row of the
/// block) and stride byte offsets (8 rows of a panel), swizzle mode (1: 128 B,
/// 2: 64 B). All byte fields are in units of 16 bytes.
template <int D> SPARTA_DEVICE u64 tileDescriptor(u32 addr) {
  constexpr u64 kSbo = 8 * kRowBytes<D>;
  constexpr u64 kSwizzle = kRowBytes<D> == 128 ? 1 : 2;
  return static_cast<u64>((addr & 0x3ffff) >> 4) | (u64{1} << 16) | ((kSbo >> 4) << 32) |
         (kSwizzle << 62);
}

/// Address of k-step ks of a K-major block (rows r0.., all D columns): 32
/// bytes further along the rows of panel ks / 4 (the hardware applies the
/// swizzle to the address).
template <int D> SPARTA_DEVICE u32 kMajorStep(u32 tile, int r0, int ks) {
  return tile + (ks * 32 / kRowBytes<D>)*kPanelBytes + r0 * kRowBytes<D> + (ks * 32) % kRowBytes<D>;
}

/// An A operand read from shared memory: the warpgroup's 64 rows are the 64
/// rows of a tile_io.cuh tile, K = its D columns (Q, K, V or dO as the left
/// factor). mma.sync loads each warp's 16 rows with ldmatrix; wgmma reads the
/// tile through a descriptor, so no A registers are needed at all.
struct SmemA {
  u32 tile;
};

namespace detail {
/// One k-step of the product on wgmma; `a` is this warp's fragment or an A
/// descriptor.
template <int D, DType DT, BTile BL, int N, typename AOp>
SPARTA_DEVICE void wgmmaStep(float (&acc)[N / 8][4], const AOp &a, u32 tile, int n0, int k0, int ks) {
  if constexpr (BL == BTile::NK) {
    static_assert(N <= 64, "an NK block has at most one tile of rows");
    wgmma<DT, false>(acc, a, tileDescriptor<D>(kMajorStep<D>(tile, n0, ks)));
  } else {
    // N-major: k-step ks is 16 rows further. N = 128 (d = 128) is one wgmma
    // per 64-column panel.
    const u32 addr = tile + (n0 / 64) * kPanelBytes + (k0 + 16 * ks) * kRowBytes<D>;
    if constexpr (N <= 64) {
      wgmma<DT, true>(acc, a, tileDescriptor<D>(addr));
    } else {
      static_assert(N == 128, "");
      float(&lo)[8][4] = *reinterpret_cast<float(*)[8][4]>(&acc[0]);
      float(&hi)[8][4] = *reinterpret_cast<float(*)[8][4]>(&acc[8]);
      wgmma<DT, true>(lo, a, tileDescriptor<D>(addr));
      wgmma<DT, true>(hi, a, tileDescriptor<D>(addr + kPanelBytes));
    }
  }
}

/// The mma.sync product (synchronous): per k-step, aFrag(ks, a), then every
/// B fragment pair of the block via ldmatrix.
template <int D, DType DT, BTile BL, int N, int KS, typename AFrag>
SPARTA_DEVICE void mmaSyncProduct(float (&acc)[N / 8][4], AFrag aFrag, u32 tile, int n0, int k0) {
  const u32 laneBase = BL == BTile::NK ? baseBNonTrans<D>(tile) : baseBTrans<D>(tile);
#pragma unroll
  for (int ks = 0; ks < KS; ++ks) {
    u32 a[4];
    aFrag(ks, a);
#pragma unroll
    for (int np = 0; np < N / 16; ++np) {
      u32 bf[4];
      if constexpr (BL == BTile::NK)
        loadBNonTrans<D>(bf, laneBase, n0 + np * 16, ks);
      else
        loadBTrans<D>(bf, laneBase, n0 + np * 16, (k0 >> 4) + ks);
      mma16816<DT>(acc[2 * np], a, bf[0], bf[1]);
      mma16816<DT>(acc[2 * np + 1], a, bf[2], bf[3]);
    }
  }
}
} // namespace detail

/// Starts acc (this warp's 16 rows x N, N/8 n-tiles) += A * B, where
/// aFrag(ks, a) fills the A fragment of k-step ks (k = 16ks..16ks+15),
/// ks < KS, and B is the block of the tile at shared address `tile` described
/// above. On wgmma the product runs asynchronously until tileMmaWait; several
/// products may be in flight (they must not share accumulators). On mma.sync
/// it is complete when this returns.
template <typename Cfg, BTile BL, int N, int KS, typename AFrag>
SPARTA_DEVICE void tileMmaIssue(float (&acc)[N / 8][4], AFrag aFrag, u32 tile, int n0, int k0) {
  constexpr int D = Cfg::kHeadDim;
  constexpr DType DT = Cfg::kDType;
  static_assert(N % 16 == 0 && (BL == BTile::KN || KS == D / 16), "NK blocks span all D columns");
  if constexpr (kUsesWgmma<Cfg>) {
    // A fragments first: wgmma reads its registers asynchronously, so they
    // must all exist before the first issue (ptxas would serialize otherwise).
    u32 a[KS][4];
#pragma unroll
    for (int ks = 0; ks < KS; ++ks)
      aFrag(ks, a[ks]);
    wgmmaFenceOperands(acc);
    wgmmaFenceOperands(a);
    wgmmaFence();
#pragma unroll
    for (int ks = 0; ks < KS; ++ks)
      detail::wgmmaStep<D, DT, BL, N>(acc, a[ks], tile, n0, k0, ks);
    wgmmaCommit();
  } else {
    detail::mmaSyncProduct<D, DT, BL, N, KS>(acc, aFrag, tile, n0, k0);
  }
}

/// The same with A read from shared memory (SmemA; K = D).
template <typename Cfg, BTile BL, int N, int KS>
SPARTA_DEVICE void tileMmaIssue(float (&acc)[N / 8][4], SmemA a, u32 tile, int n0, int k0) {
  constexpr int D = Cfg::kHeadDim;
  constexpr DType DT = Cfg::kDType;
  static_assert(KS == D / 16, "an SmemA operand spans all D columns");
  if constexpr (kUsesWgmma<Cfg>) {
    wgmmaFenceOperands(acc);
    wgmmaFence();
#pragma unroll
    for (int ks = 0; ks < KS; ++ks)
      detail::wgmmaStep<D, DT, BL, N>(acc, tileDescriptor<D>(kMajorStep<D>(a.tile, 0, ks)), tile, n0,
                                      k0, ks);
    wgmmaCommit();
  } else {
    const u32 aLane = baseA<D>(a.tile, (threadIdx.x >> 5) * 16);
    detail::mmaSyncProduct<D, DT, BL, N, KS>(
        acc, [&](int ks, u32(&f)[4]) { loadA<D>(f, aLane, ks); }, tile, n0, k0);
  }
}

/// An A operand read transposed from a shared tile of 64 columns whose rows
/// are the product's K and whose columns are its M (dS^T stored key-major by
/// the dK/dV pass, read as dS for dQ = dS K). wgmma only: the tensor cores
/// read the block M-major through the descriptor, like an N-major B.
struct SmemAT {
  u32 tile;
};

template <typename Cfg, BTile BL, int N, int KS>
SPARTA_DEVICE void tileMmaIssue(float (&acc)[N / 8][4], SmemAT a, u32 tile, int n0, int k0) {
  constexpr int D = Cfg::kHeadDim;
  constexpr DType DT = Cfg::kDType;
  static_assert(kUsesWgmma<Cfg> || N < 0,
                "transposed shared A operands need wgmma (sm_90a, 64-row tiles)");
  wgmmaFenceOperands(acc);
  wgmmaFence();
#pragma unroll
  for (int ks = 0; ks < KS; ++ks)
    detail::wgmmaStep<D, DT, BL, N>(
        acc, TransposedADesc{tileDescriptor<64>(a.tile + 16 * ks * kRowBytes<64>)}, tile, n0, k0, ks);
  wgmmaCommit();
}

/// Waits for every product issued so far; `acc...` are their accumulators
/// (pinned after the wait so that no read of them moves above it).
template <typename Cfg, typename... Acc> SPARTA_DEVICE void tileMmaWait(Acc &...acc) {
  if constexpr (kUsesWgmma<Cfg>) {
    wgmmaWait<0>();
    (wgmmaFenceOperands(acc), ...);
  }
}

/// tileMmaIssue + tileMmaWait: acc holds the finished product on return.
template <typename Cfg, BTile BL, int N, int KS, typename AOp>
SPARTA_DEVICE void tileMma(float (&acc)[N / 8][4], AOp a, u32 tile, int n0, int k0) {
  tileMmaIssue<Cfg, BL, N, KS>(acc, a, tile, n0, k0);
  tileMmaWait<Cfg>(acc);
}

} // namespace sparta

#endif // SPARTA_TILE_MMA_CUH
