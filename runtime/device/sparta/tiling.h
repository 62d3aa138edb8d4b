//===- tiling.h - Index maps and tile schedules, for host and device ------===//
//
// The iteration space of one attention *component* (docs/compiler.md): which
// query rows and key rows a kernel visits, grouped and tiled, and which
// (query tile, key tile) pairs it computes. The planner builds these objects,
// the CPU executor runs them on the host and the generated kernels run them on
// the GPU: the schedule arithmetic exists exactly once, here.
//
// In generated code every field is a compile-time constant (the object is
// constexpr), so NVRTC folds each function below into a few integer ops.
//
// Mapped coordinates: an index map splits the T positions into groups; inside
// a group, positions 0..len(g)-1 map to original rows row(g, pos). A query
// group g only ever meets key group g.
//
// Plain C++ so that NVRTC (no standard headers) and the host compiler both
// accept it.
//
//===----------------------------------------------------------------------===//
#ifndef SPARTA_DEVICE_TILING_H
#define SPARTA_DEVICE_TILING_H

#if defined(__CUDACC__) || defined(__CUDACC_RTC__)
#define SPARTA_TILING_FN __host__ __device__ __forceinline__
#else
#define SPARTA_TILING_FN inline
#endif

namespace sparta {
namespace tiling {

/// Stands for "no upper bound" in band offsets; far from overflow for T < 2^29.
constexpr int kUnbounded = 1 << 30;

SPARTA_TILING_FN constexpr int ceilDiv(int a, int b) { return (a + b - 1) / b; }
SPARTA_TILING_FN constexpr int minInt(int a, int b) { return a < b ? a : b; }
SPARTA_TILING_FN constexpr int maxInt(int a, int b) { return a > b ? a : b; }
/// Floor division for possibly negative numerators (b > 0).
SPARTA_TILING_FN constexpr int floorDiv(int a, int b) { return a >= 0 ? a / b : -((-a + b - 1) / b); }

enum MapKind : int {
  kIdentity = 0,      // one group: pos == row
  kStrided = 1,       // group = row mod p, pos = row / p   (the strided transpose)
  kChunked = 2,       // group = row / p,   pos = row mod p (contiguous chunks of p)
  kSummaryGather = 3, // one group: the rows with row mod p >= p - w, in order
};

/// Index map of one side (queries or keys) of a component.
struct IndexMap {
  int kind;
  int T; // sequence length
  int p; // period (strided, gather) or chunk size (chunked); unused for identity
  int w; // summary width (gather only)

  SPARTA_TILING_FN constexpr int groups() const {
    return kind == kStrided ? minInt(p, T) : kind == kChunked ? ceilDiv(T, p) : 1;
  }
  /// Number of mapped positions in group g.
  SPARTA_TILING_FN constexpr int len(int g) const {
    return kind == kIdentity ? T
           : kind == kStrided ? ceilDiv(T - g, p)
           : kind == kChunked ? minInt(p, T - g * p)
                              : (T / p) * w + maxInt(0, T % p - (p - w));
  }
  /// The longest group (group 0 for every kind).
  SPARTA_TILING_FN constexpr int maxLen() const { return len(0); }
  /// Original row of mapped position pos of group g.
  SPARTA_TILING_FN constexpr int row(int g, int pos) const {
    return kind == kIdentity ? pos
           : kind == kStrided ? pos * p + g
           : kind == kChunked ? g * p + pos
                              : (pos / w) * p + (p - w) + pos % w;
  }
};

enum ScheduleKind : int {
  kBand = 0,   // same group, dlo <= qpos - kpos <= dhi, and qpos < qlimit
  kPrefix = 1, // kpos < n(qpos) for a monotone n; one group; queries identity
  kTable = 2,  // explicit lists (TableData), identity maps, element predicate supplied
};

enum PrefixKind : int {
  // Key k (identity keys) is allowed for query q iff k < count and q >= k + offset:
  // the first `count` keys, minus a band of width offset next to the diagonal.
  kPrefixGlobalKeys = 0,
  // Key k (summary-gathered keys, period p, width w) is allowed iff its row <= q.
  kPrefixSummary = 1,
  // Same keys, but only those of chunks before q's chunk (row / p < q / p).
  kPrefixSummaryEarlierChunks = 2,
};

/// Classification of one (query tile, key tile) pair.
enum TileClass : int { kEmpty = 0, kPartial = 1, kFull = 2 };

/// Entry of a tile list: the other side's tile index and whether it is full.
struct TileRef {
  int tile;
  bool full;
};

/// Explicit tile lists of a table-driven component (CSR, one group).
/// fwdOffsets has numQTiles + 1 entries, bwdOffsets numKTiles + 1; an entry is
/// (tile << 1) | full.
struct TableData {
  const int *fwdOffsets;
  const int *fwdEntries;
  const int *bwdOffsets;
  const int *bwdEntries;
};

/// The iteration space of one component: maps, tile edge and schedule.
struct TileSchedule {
  IndexMap q, k;
  int tile; // tile edge M (query and key tiles are M x M)
  int kind; // ScheduleKind
  // kBand
  int dlo, dhi, qlimit;
  // kPrefix
  int prefixKind, count, offset;
  // kTable
  TableData table;

  SPARTA_TILING_FN constexpr int qTilesPerGroup() const { return ceilDiv(q.maxLen(), tile); }
  SPARTA_TILING_FN constexpr int kTilesPerGroup() const { return ceilDiv(k.maxLen(), tile); }
  /// CTAs per (batch, head) of the forward and dQ kernels, and of the dK/dV kernel.
  SPARTA_TILING_FN constexpr int numQBlocks() const { return q.groups() * qTilesPerGroup(); }
  SPARTA_TILING_FN constexpr int numKBlocks() const { return k.groups() * kTilesPerGroup(); }

  /// Query rows of group g that may have keys: [0, qEnd(g)).
  SPARTA_TILING_FN constexpr int qEnd(int g) const {
    return kind == kBand ? minInt(q.len(g), qlimit) : q.len(g);
  }

  //--- prefix: keys [0, n(q)) for query q; n is monotone ----------------------
  /// Smallest query row that sees key kpos (T when none does).
  SPARTA_TILING_FN constexpr int prefixFirstQuery(int kpos) const {
    return prefixKind == kPrefixGlobalKeys ? (kpos < count ? kpos + offset : q.T)
           : prefixKind == kPrefixSummary  ? k.row(0, kpos)
                                           : (kpos / k.w + 1) * k.p;
  }
  /// Number of keys query qpos sees.
  SPARTA_TILING_FN constexpr int prefixCount(int qpos) const {
    return prefixKind == kPrefixGlobalKeys ? maxInt(0, minInt(count, qpos + 1 - offset))
           : prefixKind == kPrefixSummary
               ? (qpos / k.p) * k.w + maxInt(0, minInt(k.w, qpos % k.p - (k.p - k.w) + 1))
               : (qpos / k.p) * k.w;
  }

  //--- element predicate in mapped coordinates (band and prefix) --------------
  SPARTA_TILING_FN constexpr bool allowed(int g, int qpos, int kpos) const {
    return qpos < qEnd(g) && kpos < k.len(g) &&
           (kind == kBand ? (qpos - kpos >= dlo && qpos - kpos <= dhi)
                          : kpos < prefixCount(qpos));
  }

  /// Classifies tile pair (qt, kt) of group g exactly (band and prefix).
  /// Full means: every valid query row of the tile sees every key of the tile,
  /// and the key tile is complete, so the kernel may skip all mask code.
  SPARTA_TILING_FN constexpr TileClass classify(int g, int qt, int kt) const {
    return classifyRows(qt * tile, minInt(qt * tile + tile, q.len(g)) - 1, g, kt);
  }
  SPARTA_TILING_FN constexpr TileClass classifyRows(int qa, int qLast, int g, int kt) const {
    // Rows [qa, qLast] exist; keys [ka, kLast] exist.
    return classifyRange(qa, qLast, minInt(qLast, qEnd(g) - 1), kt * tile,
                         minInt(kt * tile + tile, k.len(g)) - 1,
                         kt * tile + tile <= k.len(g));
  }
  SPARTA_TILING_FN constexpr TileClass classifyRange(int qa, int qLast, int qLastKeyed, int ka,
                                              int kLast, bool kComplete) const {
    return (qLastKeyed < qa || kLast < ka) ? kEmpty
           : kind == kBand
               ? ((qLastKeyed - ka < dlo || qa - kLast > dhi) ? kEmpty
                  : (kComplete && qLastKeyed == qLast && qa - kLast >= dlo &&
                     qLast - ka <= dhi)
                      ? kFull
                      : kPartial)
               : (prefixCount(qLast) <= ka ? kEmpty
                  : (kComplete && kLast < prefixCount(qa)) ? kFull
                                                           : kPartial);
  }

  //--- forward: the key tiles of query tile qt, as a contiguous range ---------
  /// First key tile of query tile qt (band and prefix).
  SPARTA_TILING_FN constexpr int fwdFirst(int /*g*/, int qt) const {
    return kind == kBand ? maxInt(0, floorDiv(qt * tile - dhi, tile)) : 0;
  }
  /// One past the last key tile of query tile qt (band and prefix).
  SPARTA_TILING_FN constexpr int fwdLast(int g, int qt) const {
    // A tile past the group's keyed rows has no keys at all.
    return qt * tile >= qEnd(g) ? 0 : fwdLastRow(g, minInt(qt * tile + tile, qEnd(g)) - 1);
  }
  SPARTA_TILING_FN constexpr int fwdLastRow(int g, int qLastKeyed) const {
    return qLastKeyed < 0 ? 0
           : kind == kBand
               ? minInt(ceilDiv(k.len(g), tile), maxInt(0, floorDiv(qLastKeyed - dlo, tile) + 1))
               : ceilDiv(prefixCount(qLastKeyed), tile);
  }
  SPARTA_TILING_FN constexpr int fwdCount(int g, int qt) const {
    return kind == kTable ? table.fwdOffsets[qt + 1] - table.fwdOffsets[qt]
                          : maxInt(0, fwdLast(g, qt) - fwdFirst(g, qt));
  }
  SPARTA_TILING_FN constexpr TileRef fwdTile(int g, int qt, int n) const {
    return kind == kTable
               ? TileRef{table.fwdEntries[table.fwdOffsets[qt] + n] >> 1,
                         (table.fwdEntries[table.fwdOffsets[qt] + n] & 1) != 0}
               : TileRef{fwdFirst(g, qt) + n, classify(g, qt, fwdFirst(g, qt) + n) == kFull};
  }

  //--- backward: the query tiles of key tile kt, as a contiguous range --------
  SPARTA_TILING_FN constexpr int bwdFirst(int /*g*/, int kt) const {
    return kind == kBand ? maxInt(0, floorDiv(kt * tile + dlo, tile))
                         : prefixFirstQuery(kt * tile) / tile;
  }
  SPARTA_TILING_FN constexpr int bwdLast(int g, int kt) const {
    return kind == kBand
               ? minInt(ceilDiv(qEnd(g), tile),
                        maxInt(0, floorDiv(minInt(kt * tile + tile, k.len(g)) - 1 + minInt(dhi, q.T), tile) + 1))
               : ceilDiv(q.len(g), tile);
  }
  SPARTA_TILING_FN constexpr int bwdCount(int g, int kt) const {
    return kind == kTable ? table.bwdOffsets[kt + 1] - table.bwdOffsets[kt]
           : (kt * tile >= k.len(g) ||
              (kind == kBand && kt * tile + dlo >= qEnd(g)) ||
              (kind == kPrefix && prefixFirstQuery(kt * tile) >= q.len(g)))
               ? 0
               : maxInt(0, bwdLast(g, kt) - bwdFirst(g, kt));
  }
  SPARTA_TILING_FN constexpr TileRef bwdTile(int g, int kt, int n) const {
    return kind == kTable
               ? TileRef{table.bwdEntries[table.bwdOffsets[kt] + n] >> 1,
                         (table.bwdEntries[table.bwdOffsets[kt] + n] & 1) != 0}
               : TileRef{bwdFirst(g, kt) + n, classify(g, bwdFirst(g, kt) + n, kt) == kFull};
  }
};

} // namespace tiling
} // namespace sparta

#endif // SPARTA_DEVICE_TILING_H
