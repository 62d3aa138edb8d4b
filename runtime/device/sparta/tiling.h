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

/// Stands for "no upper bound" in band offsets (and -kUnbounded for no lower
/// bound, in bidirectional patterns); far from overflow for T < 2^29.
constexpr int kUnbounded = 1 << 30;

SPARTA_TILING_FN constexpr int ceilDiv(int a, int b) { return (a + b - 1) / b; }
SPARTA_TILING_FN constexpr int minInt(int a, int b) { return a < b ? a : b; }
SPARTA_TILING_FN constexpr int maxInt(int a, int b) { return a > b ? a : b; }
/// Floor division for possibly negative numerators (b > 0).
SPARTA_TILING_FN constexpr int floorDiv(int a, int b) { return a >= 0 ? a / b : -((-a + b - 1) / b); }

enum MapKind : int {
  kIdentity = 0,      // one group: pos == row
  kStrided = 1,       // group = (row + w) mod p, pos = row / p (the strided transpose,
                      // rotated by w columns: see IndexMap)
  kChunked = 2,       // group = row / p,   pos = row mod p (contiguous chunks of p)
  kSummaryGather = 3, // one group: the rows with row mod p >= p - w, in order
};

/// The least and greatest token rows of a run of mapped positions.
struct RowSpan {
  int first, last;
};

/// Index map of one side (queries or keys) of a component.
///
/// Packing (strided and chunked maps, pack > 1): the groups of the base map
/// are concatenated `pack` at a time, so that short groups share one tile
/// instead of each taking a mostly empty one. Mapped group G holds base groups
/// [G * pack, (G + 1) * pack), each one a *sub-group* of consecutive
/// positions; a query only meets keys of its own sub-group (sub()), which
/// makes the tile's predicate block-diagonal. The planner packs only as many
/// groups as fit one tile on each side.
///
/// Rotation (strided maps, unpacked, keys only): w > 0 makes group g the
/// column (g - w) mod p, so that query column g (an unrotated query map) meets
/// key column (g - w) mod p: a stride with offset w, where i - j == w mod p.
/// For g >= w, i - j = (qpos - kpos) * p + w; for g < w the key column lies
/// one row further on, i - j = (qpos - kpos - 1) * p + w (TileSchedule::bandShift).
struct IndexMap {
  int kind;
  int T;    // sequence length
  int p;    // period (strided, gather) or chunk size (chunked); unused for identity
  int w;    // summary width (gather); rotation (strided, 0 <= w < p)
  int pack; // base groups per mapped group (strided, chunked); 1 otherwise

  //--- the base (unpacked) strided map: groups g < T mod p have one row more
  /// Rows of base group 0 (the longest).
  SPARTA_TILING_FN constexpr int baseLen() const { return kind == kStrided ? ceilDiv(T, p) : p; }
  SPARTA_TILING_FN constexpr int baseGroups() const {
    return kind == kStrided ? minInt(p, T) : kind == kChunked ? ceilDiv(T, p) : 1;
  }
  /// Concatenated position of the first row of base group g (g <= baseGroups()).
  SPARTA_TILING_FN constexpr int baseStart(int g) const {
    return kind == kChunked ? minInt(g * p, T)
                            : g * baseLen() - (T % p > 0 ? maxInt(0, g - T % p) : 0);
  }
  /// Base group of concatenated position P.
  SPARTA_TILING_FN constexpr int baseGroupOf(int P) const {
    return kind == kChunked                            ? P / p
           : (T % p == 0 || P < (T % p) * baseLen()) ? P / baseLen()
                                                       : T % p + (P - (T % p) * baseLen()) / (baseLen() - 1);
  }

  SPARTA_TILING_FN constexpr int groups() const {
    return kind == kStrided || kind == kChunked ? ceilDiv(baseGroups(), pack) : 1;
  }
  /// Column of the unpacked strided group g (its rotation applied).
  SPARTA_TILING_FN constexpr int column(int g) const { return w == 0 ? g : (g + p - w) % p; }
  /// Number of mapped positions in group g.
  SPARTA_TILING_FN constexpr int len(int g) const {
    return kind == kIdentity ? T
           : kind == kStrided && pack == 1 ? ceilDiv(T - column(g), p)
           : kind == kChunked && pack == 1 ? minInt(p, T - g * p)
           : kind == kSummaryGather
               ? (T / p) * w + maxInt(0, T % p - (p - w))
               : baseStart(minInt((g + 1) * pack, baseGroups())) - baseStart(g * pack);
  }
  /// The longest group (group 0 for every kind but a rotated strided map,
  /// whose longest group is column 0's).
  SPARTA_TILING_FN constexpr int maxLen() const {
    return kind == kStrided && pack == 1 ? baseLen() : len(0);
  }
  /// Rows of the first (longest) sub-group of group g.
  SPARTA_TILING_FN constexpr int firstSubLen(int g) const {
    return baseStart(g * pack + 1) - baseStart(g * pack);
  }
  /// Original row of mapped position pos of group g.
  SPARTA_TILING_FN constexpr int row(int g, int pos) const {
    return kind == kIdentity ? pos
           : kind == kStrided && pack == 1 ? pos * p + column(g)
           : kind == kChunked ? g * p * pack + pos
           : kind == kSummaryGather
               ? (pos / w) * p + (p - w) + pos % w
               : (baseStart(g * pack) + pos - baseStart(baseGroupOf(baseStart(g * pack) + pos))) * p +
                     baseGroupOf(baseStart(g * pack) + pos);
  }
  /// Sub-group of mapped position pos of group g (the base group; 0 unpacked).
  SPARTA_TILING_FN constexpr int sub(int g, int pos) const {
    return pack == 1 ? 0 : baseGroupOf(baseStart(g * pack) + pos);
  }
  /// Bounds of the rows of positions pos0 .. pos1 (pos0 <= pos1 < len(g)) of
  /// group g, exact where rows ascend with the position (every map but a
  /// packed strided one, within one sub-group). Across sub-groups of a packed
  /// strided map the rows of sub-group s are s, s + p, ...: they are at least
  /// sub(pos0) + 1 past the first sub-group, and at most T - 1.
  SPARTA_TILING_FN constexpr RowSpan rowSpan(int g, int pos0, int pos1) const {
    return kind != kStrided || sub(g, pos0) == sub(g, pos1)
               ? RowSpan{row(g, pos0), row(g, pos1)}
               : RowSpan{minInt(row(g, pos0), sub(g, pos0) + 1), T - 1};
  }
};

/// A score tile: qRows query positions by kRows key positions.
struct TileShape {
  int qRows, kRows;
};

/// The tile shapes the attention kernels are built for (params.h: square
/// tiles, one warp per 16 rows). The planner picks one per component among
/// these; a new kernel shape is one more entry.
constexpr TileShape kKernelTileShapes[] = {{64, 64}, {32, 32}, {16, 16}};
constexpr int kNumKernelTileShapes = int(sizeof(kKernelTileShapes) / sizeof(kKernelTileShapes[0]));

/// The planner's cost model: time per computed score element of a shape's
/// kernels relative to 64 x 64 (smaller CTAs run mma.sync instead of wgmma
/// on sm_90a and spend more of their time on loads, barriers and softmax
/// bookkeeping per element). Measured on an H200 with dense causal attention
/// (T = 4096, d = 64, forward + backward, each tile edge forced): 1.7 and 2.6
/// (docs/performance.md). Shapes the kernels do not offer (studies) cost 1.
SPARTA_TILING_FN constexpr double tileElementCost(TileShape s) {
  return s.qRows == 32 && s.kRows == 32 ? 1.7 : s.qRows == 16 && s.kRows == 16 ? 2.6 : 1.0;
}

/// The planner's cost model, continued: the extra time per score element of
/// the partial tile pairs of a table or grid-box schedule, in the units of
/// tileElementCost. Their predicate is a mask expression evaluated per
/// element (rows and columns on a grid, random-block lookups), where a band's
/// partial pairs compare i - j. Measured on an H200 (forward + backward,
/// d = 64, each tile edge forced): image_window's table partial pairs cost
/// 3.5-3.8 more per element than strided's band partial pairs at 64x64 and
/// at 16x16 (docs/performance.md).
constexpr double kMaskPartialElementCost = 3.5;

enum ScheduleKind : int {
  kBand = 0,   // same group, dlo <= qpos - kpos - bandShift(g) <= dhi, and qpos < qlimit
               // (dlo < 0 in bidirectional patterns: keys after the query)
  kPrefix = 1, // kpos < n(qpos) for a monotone n; one group; queries identity
  kTable = 2,  // explicit lists (TableData), identity maps, element predicate supplied
  kGridBox = 3, // a 2-D box on a row-major grid, other rows only (GridBox); identity maps
};

enum PrefixKind : int {
  // Key k (identity keys) is allowed for query q iff k < count and q >= k + offset,
  // and, when skipPeriod > 0, (q - k) mod skipPeriod != 0: the first `count`
  // keys, minus a band of width offset next to the diagonal and minus a stride.
  // In a bidirectional pattern offset may be negative (-kUnbounded: every query).
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

/// A kGridBox schedule: positions form a row-major grid of rows of `width`
/// (T a multiple of width), and query (r, c) sees key (R, C) iff
/// rowLo <= r - R <= rowHi, r != R, and colLo <= c - C <= colHi: a 2-D
/// window without its own row, which is a band on the chunked map
/// (ClosedForms.cpp). Tiles lie inside one grid row (width is a multiple of
/// both tile edges), so the tiles one tile meets are the same run of tile
/// columns in each of the other rows: a rectangle, walked row by row.
struct GridBox {
  int width;
  int rowLo, rowHi; // r - R; 0 is never included (the own row)
  int colLo, colHi; // c - C
};

/// The other side's tiles that one kGridBox tile (of `edge` columns from
/// column `col`) meets: `rows` grid rows from firstRow, skipping the tile's own
/// row (the skipAt-th of them; kUnbounded when the run does not reach it),
/// and in each the tile columns firstCol .. firstCol + cols - 1 (of edge
/// `other`); colLo, colHi are the column offsets c - C seen from this side.
struct GridSpan {
  int col, edge, other, colLo, colHi;
  int firstRow, rows, skipAt;
  int firstCol, cols;
};

/// The iteration space of one component: maps, tile shape and schedule.
struct TileSchedule {
  IndexMap q, k;
  int qTile; // query positions per tile
  int kTile; // key positions per tile
  int kind;  // ScheduleKind
  // kBand
  int dlo, dhi, qlimit;
  // kPrefix
  int prefixKind, count, offset, skipPeriod;
  // kGridBox
  GridBox box;
  // kTable
  TableData table;

  SPARTA_TILING_FN constexpr int qTilesPerGroup() const { return ceilDiv(q.maxLen(), qTile); }
  SPARTA_TILING_FN constexpr int kTilesPerGroup() const { return ceilDiv(k.maxLen(), kTile); }
  /// CTAs per (batch, head) of the forward and dQ kernels, and of the dK/dV kernel.
  SPARTA_TILING_FN constexpr int numQBlocks() const { return q.groups() * qTilesPerGroup(); }
  SPARTA_TILING_FN constexpr int numKBlocks() const { return k.groups() * kTilesPerGroup(); }
  /// CTAs per (batch, head) of a forward over query-tile pairs
  /// (attention_fwd_pairs.cuh): two adjacent query tiles of a group per CTA;
  /// and of a dK/dV pass over key-tile pairs (attention_bwd_dkdv.cuh).
  SPARTA_TILING_FN constexpr int numQPairs() const { return q.groups() * ceilDiv(qTilesPerGroup(), 2); }
  SPARTA_TILING_FN constexpr int numKPairs() const { return k.groups() * ceilDiv(kTilesPerGroup(), 2); }
  /// Packed maps (band schedules only): each group is one tile pair.
  SPARTA_TILING_FN constexpr bool packed() const { return q.pack > 1; }

  /// Offsets of group g's band: with a rotated key map (a stride with an
  /// offset), groups below the rotation meet the key column one row later.
  SPARTA_TILING_FN constexpr bool rotatedKeys() const { return k.kind == kStrided && k.w > 0; }
  SPARTA_TILING_FN constexpr int bandShift(int g) const { return rotatedKeys() && g < k.w ? 1 : 0; }
  // (Written so that without a rotation the bound is the literal field: the
  // kernels' register use then does not change.)
  SPARTA_TILING_FN constexpr int bandLo(int g) const { return rotatedKeys() ? dlo + bandShift(g) : dlo; }
  SPARTA_TILING_FN constexpr int bandHi(int g) const { return rotatedKeys() ? dhi + bandShift(g) : dhi; }

  /// Query rows of group g that may have keys: [0, qEnd(g)).
  SPARTA_TILING_FN constexpr int qEnd(int g) const {
    return kind == kBand ? minInt(q.len(g), qlimit) : q.len(g);
  }

  //--- prefix: keys [0, n(q)) for query q; n is monotone ----------------------
  /// Smallest query row that sees key kpos (T when none does).
  SPARTA_TILING_FN constexpr int prefixFirstQuery(int kpos) const {
    return prefixKind == kPrefixGlobalKeys ? (kpos < count ? maxInt(0, kpos + offset) : q.T)
           : prefixKind == kPrefixSummary  ? k.row(0, kpos)
                                           : (kpos / k.w + 1) * k.p;
  }
  /// Number of keys query qpos sees (before skipPeriod).
  SPARTA_TILING_FN constexpr int prefixCount(int qpos) const {
    return prefixKind == kPrefixGlobalKeys ? maxInt(0, minInt(count, qpos + 1 - offset))
           : prefixKind == kPrefixSummary
               ? (qpos / k.p) * k.w + maxInt(0, minInt(k.w, qpos % k.p - (k.p - k.w) + 1))
               : (qpos / k.p) * k.w;
  }
  /// Whether offset q - k is removed by skipPeriod.
  SPARTA_TILING_FN constexpr bool skipped(int diff) const {
    return skipPeriod > 0 && diff % skipPeriod == 0;
  }

  //--- element predicate in mapped coordinates (band and prefix) --------------
  SPARTA_TILING_FN constexpr bool allowed(int g, int qpos, int kpos) const {
    return kind == kGridBox ? boxAllowed(qpos, kpos) : flatAllowed(g, qpos, kpos);
  }
  SPARTA_TILING_FN constexpr bool flatAllowed(int g, int qpos, int kpos) const {
    return qpos < qEnd(g) && kpos < k.len(g) &&
           (kind == kBand ? (qpos - kpos >= bandLo(g) && qpos - kpos <= bandHi(g) &&
                             q.sub(g, qpos) == k.sub(g, kpos))
                          : kpos < prefixCount(qpos) && !skipped(qpos - kpos));
  }

  /// Classifies tile pair (qt, kt) of group g exactly (band and prefix).
  /// Full means: every valid query row of the tile sees every key of the tile,
  /// and the key tile is complete, so the kernel may skip all mask code.
  SPARTA_TILING_FN constexpr TileClass classify(int g, int qt, int kt) const {
    return packed() ? classifyPacked(g)
                    : classifyRows(qt * qTile, minInt(qt * qTile + qTile, q.len(g)) - 1, g, kt);
  }
  /// A packed group is one tile pair; its longest sub-group comes first, and
  /// pairs of different sub-groups exist in it, so it is never full. A
  /// sub-group of n rows holds the offsets -(n - 1) .. n - 1.
  SPARTA_TILING_FN constexpr TileClass classifyPacked(int g) const {
    return q.firstSubLen(g) > dlo && q.firstSubLen(g) > -dhi && qEnd(g) > 0 ? kPartial : kEmpty;
  }
  SPARTA_TILING_FN constexpr TileClass classifyRows(int qa, int qLast, int g, int kt) const {
    // Rows [qa, qLast] exist; keys [ka, kLast] exist.
    // A rotated key map's shift moves the keys instead of the band: qpos - kpos - s
    // in [dlo, dhi] is qpos - (kpos + s) in [dlo, dhi].
    return classifyRange(qa, qLast, minInt(qLast, qEnd(g) - 1), kt * kTile + bandShift(g),
                         minInt(kt * kTile + kTile, k.len(g)) - 1 + bandShift(g),
                         kt * kTile + kTile <= k.len(g));
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
               : skipPeriod > 0 ? classifyPrefixSkipping(qa, qLast, ka, kLast, kComplete)
               : (prefixCount(qLast) <= ka ? kEmpty
                  : (kComplete && kLast < prefixCount(qa)) ? kFull
                                                           : kPartial);
  }
  /// Prefix classification with a skipped stride (skipPeriod >= 2). Full: the
  /// plain prefix is full and no offset of the box is a multiple of the
  /// period. Empty: unless the box holds a single prefix pair, it holds two
  /// with consecutive offsets (row qLast's first two keys, or key ka of rows
  /// qLast - 1 and qLast), and one of them is not skipped.
  SPARTA_TILING_FN constexpr TileClass classifyPrefixSkipping(int qa, int qLast, int ka,
                                                               int kLast, bool kComplete) const {
    return prefixCount(qLast) <= ka ? kEmpty
           : (kComplete && kLast < prefixCount(qa) &&
              floorDiv(qLast - ka, skipPeriod) * skipPeriod < qa - kLast)
               ? kFull
           : (minInt(kLast, prefixCount(qLast) - 1) > ka ||
              (qLast > qa && prefixCount(qLast - 1) > ka) || !skipped(qLast - ka))
               ? kPartial
               : kEmpty;
  }

  //--- tile lists of every kind ------------------------------------------------
  // The host (planner, CPU executor) calls these. Generated kernels call the
  // flat or the box functions directly (PlannedSchedule picks them at compile
  // time), so that a flat schedule's code does not depend on the box's.
  SPARTA_TILING_FN constexpr int fwdCount(int g, int qt) const {
    return kind == kGridBox ? boxFwdCount(qt) : flatFwdCount(g, qt);
  }
  SPARTA_TILING_FN constexpr TileRef fwdTile(int g, int qt, int n) const {
    return kind == kGridBox ? boxFwdTile(qt, n) : flatFwdTile(g, qt, n);
  }
  SPARTA_TILING_FN constexpr int bwdCount(int g, int kt) const {
    return kind == kGridBox ? boxBwdCount(kt) : flatBwdCount(g, kt);
  }
  SPARTA_TILING_FN constexpr TileRef bwdTile(int g, int kt, int n) const {
    return kind == kGridBox ? boxBwdTile(kt, n) : flatBwdTile(g, kt, n);
  }

  //--- flat schedules (band, prefix, table) ---------------------------------
  //--- forward: the key tiles of query tile qt, as a contiguous range ---------
  /// First key tile of query tile qt (band and prefix).
  SPARTA_TILING_FN constexpr int fwdFirst(int g, int qt) const {
    return kind == kBand && !packed() ? maxInt(0, floorDiv(qt * qTile - bandHi(g), kTile)) : 0;
  }
  /// One past the last key tile of query tile qt (band and prefix).
  SPARTA_TILING_FN constexpr int fwdLast(int g, int qt) const {
    // A tile past the group's keyed rows has no keys at all.
    return qt * qTile >= qEnd(g) ? 0
           : packed()            ? (classifyPacked(g) == kEmpty ? 0 : 1)
                                 : fwdLastRow(g, minInt(qt * qTile + qTile, qEnd(g)) - 1, qt);
  }
  SPARTA_TILING_FN constexpr int fwdLastRow(int g, int qLastKeyed, int qt) const {
    return qLastKeyed < 0 ? 0
           : kind == kBand
               // no key at all when the tile's least key, q - dhi, is past the group's end,
               // which needs keys after the query (dhi < 0) or a key group shorter than
               // the query group (a rotated map); constant false otherwise
               ? ((dhi < 0 || rotatedKeys()) && qt * qTile - bandHi(g) >= k.len(g)
                      ? 0
                      : minInt(ceilDiv(k.len(g), kTile),
                               maxInt(0, floorDiv(qLastKeyed - bandLo(g), kTile) + 1)))
               : ceilDiv(prefixCount(qLastKeyed), kTile) -
                     // with a skipped stride the last key tile may hold only skipped pairs
                     (skipPeriod > 0 && prefixCount(qLastKeyed) > 0 &&
                              classify(g, qt, ceilDiv(prefixCount(qLastKeyed), kTile) - 1) == kEmpty
                          ? 1
                          : 0);
  }
  SPARTA_TILING_FN constexpr int flatFwdCount(int g, int qt) const {
    return kind == kTable ? table.fwdOffsets[qt + 1] - table.fwdOffsets[qt]
                          : maxInt(0, fwdLast(g, qt) - fwdFirst(g, qt));
  }
  SPARTA_TILING_FN constexpr TileRef flatFwdTile(int g, int qt, int n) const {
    return kind == kTable
               ? TileRef{table.fwdEntries[table.fwdOffsets[qt] + n] >> 1,
                         (table.fwdEntries[table.fwdOffsets[qt] + n] & 1) != 0}
               : TileRef{fwdFirst(g, qt) + n, classify(g, qt, fwdFirst(g, qt) + n) == kFull};
  }

  //--- backward: the query tiles of key tile kt, as a contiguous range --------
  SPARTA_TILING_FN constexpr int bwdFirst(int g, int kt) const {
    return packed()       ? 0
           : kind == kBand ? maxInt(0, floorDiv(kt * kTile + bandLo(g), qTile))
                           : prefixFirstQuery(kt * kTile) / qTile +
                                 // with a skipped stride the first query tile may hold only skipped pairs
                                 (skipPeriod > 0 && prefixFirstQuery(kt * kTile) < q.len(g) &&
                                          classify(g, prefixFirstQuery(kt * kTile) / qTile, kt) == kEmpty
                                      ? 1
                                      : 0);
  }
  SPARTA_TILING_FN constexpr int bwdLast(int g, int kt) const {
    return packed() ? (classifyPacked(g) == kEmpty ? 0 : 1)
           : kind == kBand
               ? minInt(ceilDiv(qEnd(g), qTile),
                        maxInt(0, floorDiv(minInt(kt * kTile + kTile, k.len(g)) - 1 +
                                               minInt(bandHi(g), q.T),
                                           qTile) + 1))
               : ceilDiv(q.len(g), qTile) -
                     (skipPeriod > 0 && classify(g, ceilDiv(q.len(g), qTile) - 1, kt) == kEmpty ? 1 : 0);
  }
  SPARTA_TILING_FN constexpr int flatBwdCount(int g, int kt) const {
    return kind == kTable ? table.bwdOffsets[kt + 1] - table.bwdOffsets[kt]
           : (kt * kTile >= k.len(g) ||
              (kind == kBand && kt * kTile + bandLo(g) >= qEnd(g)) ||
              (kind == kPrefix && prefixFirstQuery(kt * kTile) >= q.len(g)))
               ? 0
               : maxInt(0, bwdLast(g, kt) - bwdFirst(g, kt));
  }
  SPARTA_TILING_FN constexpr TileRef flatBwdTile(int g, int kt, int n) const {
    return kind == kTable
               ? TileRef{table.bwdEntries[table.bwdOffsets[kt] + n] >> 1,
                         (table.bwdEntries[table.bwdOffsets[kt] + n] & 1) != 0}
               : TileRef{bwdFirst(g, kt) + n, classify(g, bwdFirst(g, kt) + n, kt) == kFull};
  }

  //--- grid: a box of tiles in the other grid rows ----------------------------
  // Tiles lie inside one grid row, so tile t of edge e is row t / (width / e),
  // columns from (t mod (width / e)) * e; width and the edges are literals in
  // generated code, which makes these divisions multiply-shifts.
  // (Unsigned: positions are never negative, which spares the sign fix-ups.)
  SPARTA_TILING_FN constexpr bool boxAllowed(int qpos, int kpos) const {
    return qpos < q.T && kpos < k.T &&
           boxOffsetAllowed(int(unsigned(qpos) / unsigned(box.width)) -
                                int(unsigned(kpos) / unsigned(box.width)),
                            int(unsigned(qpos) % unsigned(box.width)) -
                                int(unsigned(kpos) % unsigned(box.width)));
  }
  SPARTA_TILING_FN constexpr bool boxOffsetAllowed(int dRow, int dCol) const {
    return dRow != 0 && dRow >= box.rowLo && dRow <= box.rowHi && dCol >= box.colLo &&
           dCol <= box.colHi;
  }
  SPARTA_TILING_FN constexpr int gridRowOf(int tile, int edge) const {
    return int(unsigned(tile) / unsigned(box.width / edge));
  }
  SPARTA_TILING_FN constexpr int gridColOf(int tile, int edge) const {
    return int(unsigned(tile) % unsigned(box.width / edge)) * edge;
  }
  /// The key tiles of query tile qt, and the query tiles of key tile kt: the
  /// same walk with the offsets mirrored (R - r = -(r - R)).
  SPARTA_TILING_FN constexpr GridSpan fwdBoxSpan(int qt) const {
    return gridSpan(gridRowOf(qt, qTile), gridColOf(qt, qTile), qTile, box.rowLo, box.rowHi,
                    box.colLo, box.colHi, kTile);
  }
  SPARTA_TILING_FN constexpr GridSpan bwdBoxSpan(int kt) const {
    return gridSpan(gridRowOf(kt, kTile), gridColOf(kt, kTile), kTile, -box.rowHi, -box.rowLo,
                    -box.colHi, -box.colLo, qTile);
  }
  /// The other side's tiles (edge `other`) met by the tile of grid row `row`
  /// and columns [col, col + edge): rows R with lo <= row - R <= hi but R !=
  /// row, columns C with cLo <= c - C <= cHi for some c of the tile.
  SPARTA_TILING_FN constexpr GridSpan gridSpan(int row, int col, int edge, int lo, int hi,
                                               int cLo, int cHi, int other) const {
    const int firstRow = maxInt(0, row - hi);
    const int lastRow = minInt(q.T / box.width - 1, row - lo);
    const bool own = firstRow <= row && row <= lastRow;
    const int loCol = maxInt(0, col - cHi), hiCol = minInt(box.width - 1, col + edge - 1 - cLo);
    return GridSpan{col, edge, other, cLo, cHi,
                    firstRow, maxInt(0, lastRow - firstRow + 1) - (own ? 1 : 0),
                    own ? row - firstRow : kUnbounded,
                    loCol / other, loCol > hiCol ? 0 : hiCol / other - loCol / other + 1};
  }
  SPARTA_TILING_FN constexpr int boxFwdCount(int qt) const { return gridCount(fwdBoxSpan(qt)); }
  SPARTA_TILING_FN constexpr int boxBwdCount(int kt) const { return gridCount(bwdBoxSpan(kt)); }
  SPARTA_TILING_FN constexpr TileRef boxFwdTile(int qt, int n) const {
    return gridTile(fwdBoxSpan(qt), n);
  }
  SPARTA_TILING_FN constexpr TileRef boxBwdTile(int kt, int n) const {
    return gridTile(bwdBoxSpan(kt), n);
  }
  SPARTA_TILING_FN constexpr int gridCount(GridSpan s) const { return s.rows * s.cols; }
  /// Tile n of a span, rows ascending: list row n / cols, past the own row,
  /// and column n mod cols of the run. Full when every column offset of the
  /// pair lies in the box.
  SPARTA_TILING_FN constexpr TileRef gridTile(GridSpan s, int n) const {
    return gridTileAt(s, spanRow(s, n), s.firstCol + n - spanRow(s, n) * s.cols);
  }
  /// The most rows a span holds: the box's row offsets but 0.
  SPARTA_TILING_FN constexpr int spanRowsMost() const {
    return box.rowHi - box.rowLo + 1 - (box.rowLo <= 0 && box.rowHi >= 0 ? 1 : 0);
  }
  /// n / s.cols. A span of a few rows (a literal bound in generated code)
  /// finds it with that many compares, which the kernels' walk re-derives for
  /// every tile more cheaply than a division by a value known only at run time.
  SPARTA_TILING_FN constexpr int spanRow(GridSpan s, int n) const {
    if (spanRowsMost() > 8)
      return n / s.cols;
    int row = 0;
    for (int r = 1; r < 8; ++r)
      row += r < spanRowsMost() && n >= r * s.cols ? 1 : 0;
    return row;
  }
  /// Tile column tc of the run in list row `index`.
  SPARTA_TILING_FN constexpr TileRef gridTileAt(GridSpan s, int index, int tc) const {
    return TileRef{(s.firstRow + index + (index >= s.skipAt ? 1 : 0)) * (box.width / s.other) + tc,
                   s.col - tc * s.other - (s.other - 1) >= s.colLo &&
                       s.col + s.edge - 1 - tc * s.other <= s.colHi};
  }
};

} // namespace tiling
} // namespace sparta

#endif // SPARTA_DEVICE_TILING_H
