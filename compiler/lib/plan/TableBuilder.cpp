//===- TableBuilder.cpp - Tile lists for components with no closed form ---===//
//
// A component the planner cannot express as a band or a prefix in some index
// map (random blocks, intersections, unions it cannot subtract in closed form)
// is computed on identity maps from explicit tile lists. Each tile pair of the
// domain (below the diagonal in a causal pattern, every one in a bidirectional)
// is first classified on whole ranges with three-valued logic (full, empty or
// "can't tell"); only the undecided ones are settled element by element, so
// building the lists costs about as much as the kernel's partial tiles do.
//
//===----------------------------------------------------------------------===//
#include "PlanInternal.h"

#include "sparta/Dialect/Limits.h"
#include "sparta/Error.h"
#include "sparta/MaskSemantics.h"

#include <algorithm>

namespace sparta {
namespace {

using tiling::kEmpty;
using tiling::kFull;
using tiling::kPartial;
using tiling::TileClass;

TileClass negate(TileClass c) { return c == kFull ? kEmpty : c == kEmpty ? kFull : kPartial; }

/// Rows [qa, qb] and keys [ka, kb], inclusive.
struct Box {
  int64_t qa, qb, ka, kb;
};

/// Summary keys (j mod p >= p - w) among [0, x).
int64_t summaryKeysBelow(int64_t x, int64_t p, int64_t w) {
  return (x / p) * w + std::max<int64_t>(0, x % p - (p - w));
}

TileClass classifyRandomBlocks(const Mask &m, const Box &b) {
  bool any = false, all = true;
  for (int64_t qb = b.qa / m.block; qb <= b.qb / m.block; ++qb)
    for (int64_t kb = b.ka / m.block; kb <= b.kb / m.block; ++kb) {
      bool chosen = kb <= qb && randomBlockChosen(m.seed, qb, kb, m.count);
      any |= chosen;
      all &= chosen;
    }
  return all ? kFull : any ? kPartial : kEmpty;
}

/// Three-valued classification of `m` (without causality) on a box.
TileClass classifyMask(const Mask &m, const Box &b) {
  int64_t dmin = b.qa - b.kb, dmax = b.qb - b.ka; // range of i - j
  switch (m.kind) {
  case MaskKind::Dense: return kFull;
  case MaskKind::Empty: return kEmpty;
  case MaskKind::Band:
    if (dmax < m.lo || dmin > m.hi) return kEmpty;
    return (m.lo <= dmin && dmax <= m.hi) ? kFull : kPartial;
  case MaskKind::Stride: {
    // The largest i - j <= dmax that is == offset (mod period).
    int64_t above = dmax - m.offset;
    int64_t last = (above >= 0 ? above / m.period : -((-above + m.period - 1) / m.period)) * m.period +
                   m.offset;
    if (last < dmin) return kEmpty;
    return dmin == dmax ? kFull : kPartial;
  }
  case MaskKind::Chunk: {
    int64_t q0 = b.qa / m.size, q1 = b.qb / m.size, k0 = b.ka / m.size, k1 = b.kb / m.size;
    if (q1 < k0 || k1 < q0) return kEmpty;
    return (q0 == q1 && k0 == k1 && q0 == k0) ? kFull : kPartial;
  }
  case MaskKind::Summary: {
    int64_t n = summaryKeysBelow(b.kb + 1, m.period, m.width) - summaryKeysBelow(b.ka, m.period, m.width);
    return n == 0 ? kEmpty : n == b.kb - b.ka + 1 ? kFull : kPartial;
  }
  case MaskKind::GlobalKeys:
    return b.kb < m.count ? kFull : b.ka >= m.count ? kEmpty : kPartial;
  case MaskKind::GlobalQueries:
    return b.qb < m.count ? kFull : b.qa >= m.count ? kEmpty : kPartial;
  case MaskKind::RandomBlocks:
    return classifyRandomBlocks(m, b);
  case MaskKind::GridWindow: {
    // Grid rows of the box's queries and keys: too far apart, nothing.
    int64_t W = m.period;
    if (b.qa / W - b.kb / W > m.dh || b.ka / W - b.qb / W > m.dh) return kEmpty;
    return kPartial;
  }
  case MaskKind::Union: {
    TileClass result = kEmpty;
    for (const Mask &o : m.operands) {
      TileClass c = classifyMask(o, b);
      if (c == kFull) return kFull;
      if (c == kPartial) result = kPartial;
    }
    return result;
  }
  case MaskKind::Intersect: {
    TileClass result = kFull;
    for (const Mask &o : m.operands) {
      TileClass c = classifyMask(o, b);
      if (c == kEmpty) return kEmpty;
      if (c == kPartial) result = kPartial;
    }
    return result;
  }
  }
  return kPartial;
}

/// Exact class of one tile pair of the component.
TileClass classifyTile(const PlanComponent &c, int T, const Box &b, bool keyTileComplete) {
  TileClass result = !c.causal ? kFull : b.qa >= b.kb ? kFull : b.qb < b.ka ? kEmpty : kPartial;
  auto meet = [&](TileClass x) {
    if (x == kEmpty || result == kEmpty) result = kEmpty;
    else if (x == kPartial) result = kPartial;
  };
  meet(classifyMask(c.part, b));
  for (const Mask &e : c.excluded)
    meet(negate(classifyMask(e, b)));
  if (result == kFull)
    return keyTileComplete ? kFull : kPartial;
  if (result == kEmpty)
    return kEmpty;
  int64_t produced = 0;
  for (int64_t i = b.qa; i <= b.qb; ++i)
    for (int64_t j = b.ka; j <= b.kb; ++j)
      produced += c.covers(T, i, j);
  if (produced == 0)
    return kEmpty;
  bool everyPair = produced == (b.qb - b.qa + 1) * (b.kb - b.ka + 1);
  return everyPair && keyTileComplete ? kFull : kPartial;
}

} // namespace

void buildTable(PlanComponent &c, int T, tiling::TileShape shape) {
  c.name = "table";
  c.schedule = tiling::TileSchedule{};
  c.schedule.q = c.schedule.k = tiling::IndexMap{tiling::kIdentity, T, 1, 0, 1};
  c.schedule.qTile = shape.qRows;
  c.schedule.kTile = shape.kRows;
  c.schedule.kind = tiling::kTable;
  c.schedule.qlimit = T;

  const int64_t M = shape.qRows, N = shape.kRows;
  int qTiles = int((T + M - 1) / M), kTiles = int((T + N - 1) / N);
  std::vector<std::vector<int>> bwdLists(kTiles);
  // Every tile pair of the domain is classified: refuse a table that is too large to build.
  // Causal: key tiles up to each query tile's last row.
  auto keyTilesOf = [&](int64_t qb) { return c.causal ? int(qb / N + 1) : kTiles; };
  int64_t pairs = 0;
  for (int64_t qt = 0; qt < qTiles; ++qt)
    pairs += keyTilesOf(std::min<int64_t>(qt * M + M, T) - 1);
  if (pairs > limits::kMaxTableTilePairs)
    throw Error("component '" + c.description + "' needs a tile table of " +
                std::to_string(pairs) + " tile pairs (T = " + std::to_string(T) + ", tile " +
                std::to_string(M) + "x" + std::to_string(N) + "), more than the limit of " +
                std::to_string(limits::kMaxTableTilePairs) + "; use a smaller T");
  c.fwdOffsets.assign(1, 0);
  c.fwdEntries.clear();
  for (int qt = 0; qt < qTiles; ++qt) {
    const int64_t qa = qt * M, qb = std::min<int64_t>(qa + M, T) - 1;
    for (int kt = 0; kt < keyTilesOf(qb); ++kt) {
      Box box{qa, qb, kt * N, std::min<int64_t>(kt * N + N, T) - 1};
      TileClass cls = classifyTile(c, T, box, kt * N + N <= T);
      if (cls == kEmpty)
        continue;
      c.fwdEntries.push_back(kt << 1 | (cls == kFull));
      bwdLists[kt].push_back(qt << 1 | (cls == kFull));
    }
    c.fwdOffsets.push_back(int(c.fwdEntries.size()));
  }
  c.bwdOffsets.assign(1, 0);
  c.bwdEntries.clear();
  for (const std::vector<int> &list : bwdLists) {
    c.bwdEntries.insert(c.bwdEntries.end(), list.begin(), list.end());
    c.bwdOffsets.push_back(int(c.bwdEntries.size()));
  }
}

} // namespace sparta
