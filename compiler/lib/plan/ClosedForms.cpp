//===- ClosedForms.cpp - Index maps and schedules for one union operand ---===//
//
// The closed forms of the planner (Planner.cpp decides the order and the tile
// shapes): for one operand of a head's union, the index maps that make it a
// band or a prefix, and the subtraction of what earlier components cover.
//
// Offsets. A band schedule bounds m, where i - j = m * P + K: P = 1, K = 0 on
// identity and chunked maps (m = i - j), P = p, K = the offset on strided
// maps (a stride with offset K rotates the key map, tiling.h). Subtracting an
// earlier band removes an interval of m. In a causal pattern m >= 0, so what
// is left is one interval; in a bidirectional one a symmetric band leaves two
// (keys before and after it), and the candidate becomes two components, each
// restricted to its side by a band in its part so that every component still
// covers exactly `part minus excluded`.
//
// A grid window is two pieces of one operand: its own grid row and a grid
// box over the other rows, which excludes that row (Candidate::excluded).
//
//===----------------------------------------------------------------------===//
#include "PlanInternal.h"

#include <algorithm>

namespace sparta {
namespace {

using namespace tiling;

int64_t floorDivide(int64_t a, int64_t b) { return a >= 0 ? a / b : -((-a + b - 1) / b); }
int64_t ceilDivide(int64_t a, int64_t b) { return -floorDivide(-a, b); }

IndexMap identityMap(int T) { return IndexMap{kIdentity, T, 1, 0, 1}; }

TileSchedule bandSchedule(IndexMap queries, IndexMap keys, int64_t dlo, int64_t dhi, int qlimit) {
  TileSchedule s{};
  s.q = queries;
  s.k = keys;
  s.kind = kBand;
  s.dlo = int(std::clamp<int64_t>(dlo, -kUnbounded, kUnbounded));
  s.dhi = int(std::clamp<int64_t>(dhi, -kUnbounded, kUnbounded));
  s.qlimit = qlimit;
  return s;
}
TileSchedule bandSchedule(IndexMap map, int64_t dlo, int64_t dhi, int qlimit) {
  return bandSchedule(map, map, dlo, dhi, qlimit);
}

TileSchedule prefixSchedule(IndexMap keys, int prefixKind, int count, int offset) {
  TileSchedule s{};
  s.q = identityMap(keys.T);
  s.k = keys;
  s.kind = kPrefix;
  s.prefixKind = prefixKind;
  s.count = count;
  s.offset = offset;
  return s;
}

/// The strided maps of stride(p, offset): queries by column, keys rotated so
/// that query column g meets key column (g - offset) mod p.
TileSchedule strideSchedule(const Mask &stride, int T, int64_t dlo, int64_t dhi) {
  IndexMap q{kStrided, T, int(stride.period), 0, 1};
  IndexMap k = q;
  k.w = int(stride.offset);
  return bandSchedule(q, k, dlo, dhi, T);
}

/// Offsets m of a band schedule as i - j = m * scale + shift, where known.
struct OffsetSpace {
  int64_t scale, shift;
};
std::optional<OffsetSpace> offsetSpace(const TileSchedule &s) {
  if (s.kind != kBand || s.q.kind != s.k.kind)
    return std::nullopt;
  if (s.q.kind == kIdentity || s.q.kind == kChunked)
    return OffsetSpace{1, 0};
  if (s.q.kind == kStrided)
    return OffsetSpace{s.q.p, s.k.w};
  return std::nullopt;
}

/// The offsets m with lo <= m * scale + shift <= hi.
std::pair<int64_t, int64_t> toOffsets(OffsetSpace o, int64_t lo, int64_t hi) {
  return {lo <= -kUnbounded ? -kUnbounded : ceilDivide(lo - o.shift, o.scale),
          hi >= kUnbounded ? kUnbounded : floorDivide(hi - o.shift, o.scale)};
}

/// intersect(stride or chunk, bands...): the stride's (chunk's) map with the
/// bands' common offsets, which are offsets of r (pos) on that map.
std::optional<Candidate> intersectionForm(const Mask &m, int T, bool causal) {
  int64_t lo = causal ? 0 : -kUnbounded, hi = kUnbounded;
  std::optional<Mask> grid;
  for (const Mask &o : m.operands) {
    if (o.kind == MaskKind::Band) {
      lo = std::max<int64_t>(lo, o.lo);
      hi = std::min<int64_t>(hi, o.hi);
    } else if ((o.kind == MaskKind::Stride || o.kind == MaskKind::Chunk) && !grid) {
      grid = o;
    } else if (o.kind != MaskKind::Dense) {
      return std::nullopt;
    }
  }
  if (!grid || lo > hi)
    return std::nullopt;
  if (grid->kind == MaskKind::Chunk)
    return Candidate{"chunk", bandSchedule(IndexMap{kChunked, T, int(grid->size), 0, 1}, lo, hi, T),
                     m};
  if (grid->offset > 0 && grid->period >= T)
    return std::nullopt;
  auto [rlo, rhi] = toOffsets(OffsetSpace{grid->period, grid->offset}, lo, hi);
  if (rlo > rhi)
    return std::nullopt;
  return Candidate{"dilated", strideSchedule(*grid, T, rlo, rhi), m};
}

/// The candidate without the offsets [lo, hi] of its offset space: none,
/// itself narrowed, or two halves restricted to their sides.
Exclusion cutOffsets(std::vector<Candidate> &out, Candidate c, OffsetSpace o, int64_t lo,
                     int64_t hi, int T) {
  TileSchedule &s = c.schedule;
  if (lo > hi || hi < s.dlo || lo > s.dhi) {
    out.push_back(std::move(c));
    return Exclusion::Disjoint;
  }
  std::vector<std::pair<int64_t, int64_t>> pieces;
  if (lo > s.dlo)
    pieces.push_back({s.dlo, lo - 1});
  if (hi < s.dhi)
    pieces.push_back({hi + 1, s.dhi});
  for (auto [a, b] : pieces) {
    Candidate piece = c;
    piece.schedule.dlo = int(a);
    piece.schedule.dhi = int(b);
    if (pieces.size() > 1) {
      // i - j of the piece's side, clipped to what T allows.
      Mask side;
      side.kind = MaskKind::Band;
      side.lo = a <= -kUnbounded ? -int64_t(T) : a * o.scale + o.shift;
      side.hi = b >= kUnbounded ? int64_t(T) : b * o.scale + o.shift;
      Mask restricted;
      restricted.kind = MaskKind::Intersect;
      restricted.operands = {c.part, side};
      piece.part = restricted;
    }
    out.push_back(std::move(piece));
  }
  return pieces.empty() ? Exclusion::Everything : Exclusion::Adjusted;
}

/// Subtracts the pairs of an earlier component's operand `e` from candidate
/// `c` (of operand `m`) in closed form, appending what is left to `out`.
Exclusion excludeOne(std::vector<Candidate> &out, Candidate c, const Mask &m, const Mask &e,
                     int T, bool causal) {
  TileSchedule &s = c.schedule;
  auto keep = [&](Exclusion result) {
    if (result != Exclusion::Everything && result != Exclusion::Unknown)
      out.push_back(std::move(c));
    return result;
  };
  // An intersection lies inside each of its operands (the operand's, or the
  // piece's own: a grid window's row).
  auto within = [&](const Mask &x) {
    return x.kind == MaskKind::Intersect &&
           std::find(x.operands.begin(), x.operands.end(), e) != x.operands.end();
  };
  if (within(m) || within(c.part))
    return keep(Exclusion::Everything);
  // A grid box never holds a pair of its own grid row.
  if (s.kind == kGridBox && e.kind == MaskKind::Chunk && e.size == s.box.width)
    return keep(Exclusion::Disjoint);
  switch (e.kind) {
  case MaskKind::Empty:
    return keep(Exclusion::Disjoint);
  case MaskKind::Dense:
    return keep(Exclusion::Everything);
  case MaskKind::Band: {
    int64_t lo = causal ? std::max<int64_t>(e.lo, 0) : e.lo, hi = e.hi;
    if (std::optional<OffsetSpace> o = offsetSpace(s)) {
      auto [mlo, mhi] = toOffsets(*o, lo, hi);
      return cutOffsets(out, std::move(c), *o, mlo, mhi, T);
    }
    if (s.kind == kPrefix && s.prefixKind == kPrefixGlobalKeys) {
      // The prefix's pairs have q - k >= max(offset, 1 - count) (q >= 0, k < count).
      int64_t least = std::max<int64_t>(s.offset, 1 - int64_t(s.count));
      if (lo > least)
        return keep(hi < least ? Exclusion::Disjoint : Exclusion::Unknown);
      s.offset = int(std::clamp<int64_t>(hi + 1, s.offset, kUnbounded));
      return keep(Exclusion::Adjusted);
    }
    return keep(Exclusion::Unknown);
  }
  case MaskKind::Chunk:
    if (s.kind == kPrefix && s.prefixKind == kPrefixSummary && e.size == s.k.p) {
      s.prefixKind = kPrefixSummaryEarlierChunks;
      return keep(Exclusion::Adjusted);
    }
    return keep(e == m ? Exclusion::Everything : Exclusion::Unknown);
  case MaskKind::Stride:
    if (e.period == 1)
      return keep(Exclusion::Everything); // every pair is a multiple of 1 apart
    if (s.kind == kPrefix && s.prefixKind == kPrefixGlobalKeys && e.offset == 0 &&
        (s.skipPeriod == 0 || s.skipPeriod == e.period)) {
      s.skipPeriod = int(e.period);
      return keep(Exclusion::Adjusted);
    }
    return keep(e == m ? Exclusion::Everything : Exclusion::Unknown);
  case MaskKind::GlobalKeys:
    if (m.kind != MaskKind::GlobalQueries)
      return keep(e == m ? Exclusion::Everything : Exclusion::Unknown);
    // Causal: query rows below g only see keys below g.
    if (causal)
      return keep(m.count <= e.count ? Exclusion::Everything : Exclusion::Unknown);
    // Bidirectional: the single global query q = 0 has k < count iff q - k >= 1 - count.
    if (s.kind == kBand && s.qlimit == 1 && s.q.kind == kIdentity)
      return cutOffsets(out, std::move(c), OffsetSpace{1, 0}, 1 - e.count, kUnbounded, T);
    return keep(Exclusion::Unknown);
  default:
    return keep(e == m ? Exclusion::Everything : Exclusion::Unknown);
  }
}

/// grid_window(W, dh, dw): its own grid row, a band on the chunked map, and
/// the other rows, a grid box (tiling.h, kGridBox) that leaves the own row to
/// the first piece. In a causal pattern the box holds only earlier rows.
std::vector<Candidate> gridWindowForm(const Mask &m, int T, bool causal) {
  if (m.period < 1 || T % m.period != 0)
    return {};
  Mask row;
  row.kind = MaskKind::Chunk;
  row.size = m.period;
  Mask band;
  band.kind = MaskKind::Band;
  band.lo = causal ? 0 : -m.dw;
  band.hi = m.dw;
  Mask ownRow;
  ownRow.kind = MaskKind::Intersect;
  ownRow.operands = {row, band};
  std::vector<Candidate> pieces;
  pieces.push_back(Candidate{"window_row",
                             bandSchedule(IndexMap{kChunked, T, int(m.period), 0, 1}, band.lo,
                                          band.hi, T),
                             ownRow});
  if (m.dh >= 1 && m.period < T) {
    TileSchedule s{};
    s.q = s.k = identityMap(T);
    s.kind = kGridBox;
    const int dh = int(std::min<int64_t>(m.dh, T)), dw = int(std::min<int64_t>(m.dw, T));
    s.box = GridBox{int(m.period), causal ? 1 : -dh, dh, -dw, dw};
    pieces.push_back(Candidate{"window", s, m, {row}});
  }
  return pieces;
}

} // namespace

int planningRank(const Mask &m) {
  switch (m.kind) {
  case MaskKind::Dense: return 0;
  case MaskKind::Band: return 1;
  case MaskKind::Chunk: return 2;
  case MaskKind::Stride: return 3;
  case MaskKind::GlobalKeys: return 4;
  case MaskKind::GlobalQueries: return 5;
  case MaskKind::Summary: return 6;
  default: return 7;
  }
}

std::vector<Candidate> closedForm(const Mask &m, int T, bool causal) {
  auto clampT = [&](int64_t v) { return int(std::clamp<int64_t>(v, 0, T)); };
  // The least offset i - j of the domain.
  const int64_t least = causal ? 0 : -kUnbounded;
  IndexMap identity = identityMap(T);
  switch (m.kind) {
  case MaskKind::Dense:
    return {Candidate{"dense", bandSchedule(identity, least, kUnbounded, T), m}};
  case MaskKind::Band:
    return {Candidate{"band", bandSchedule(identity, std::max(m.lo, least), m.hi, T), m}};
  case MaskKind::Stride:
    if (m.offset > 0 && m.period >= T)
      return {}; // a rotation needs every column to exist (canonicalization folds it)
    return {Candidate{"stride", strideSchedule(m, T, least, kUnbounded), m}};
  case MaskKind::Chunk:
    return {Candidate{"chunk", bandSchedule(IndexMap{kChunked, T, int(m.size), 0, 1}, least,
                                            kUnbounded, T),
                      m}};
  case MaskKind::Summary: {
    IndexMap gather{kSummaryGather, T, int(m.period), int(m.width), 1};
    if (!causal) // every query sees every summary key
      return {Candidate{"summary", bandSchedule(identity, gather, least, kUnbounded, T), m}};
    return {Candidate{"summary", prefixSchedule(gather, kPrefixSummary, 0, 0), m}};
  }
  case MaskKind::GlobalKeys:
    return {Candidate{"global_keys",
                      prefixSchedule(identity, kPrefixGlobalKeys, clampT(m.count), int(least)), m}};
  case MaskKind::GlobalQueries:
    return {Candidate{"global_queries", bandSchedule(identity, least, kUnbounded, clampT(m.count)),
                      m}};
  case MaskKind::Intersect:
    if (std::optional<Candidate> c = intersectionForm(m, T, causal))
      return {*c};
    return {};
  case MaskKind::GridWindow:
    return gridWindowForm(m, T, causal);
  default:
    return {};
  }
}

std::string noFormReason(const Mask &m) {
  switch (m.kind) {
  case MaskKind::RandomBlocks: return "random blocks are irregular";
  case MaskKind::Union: return "a nested union";
  case MaskKind::Intersect:
    return "an intersection other than stride or chunk with bands";
  case MaskKind::GridWindow:
    return "T is not a multiple of the grid's width";
  default: return "no closed form for " + toString(m);
  }
}

Exclusion exclude(std::vector<Candidate> &candidates, const Mask &m, const Mask &e, int T,
                  bool causal) {
  std::vector<Candidate> left;
  bool adjusted = false;
  for (Candidate &c : candidates) {
    Exclusion result = excludeOne(left, std::move(c), m, e, T, causal);
    if (result == Exclusion::Unknown) {
      candidates.clear();
      return Exclusion::Unknown;
    }
    adjusted |= result != Exclusion::Disjoint;
  }
  candidates = std::move(left);
  return candidates.empty() ? Exclusion::Everything
         : adjusted         ? Exclusion::Adjusted
                            : Exclusion::Disjoint;
}

} // namespace sparta
