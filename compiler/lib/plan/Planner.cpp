//===- Planner.cpp - Split head masks into components with index maps -----===//
//
// This is where sparta changes the iteration space, which a mask alone cannot
// do. Each operand of a head's union becomes a component with the
// index map that makes it dense or banded:
//
//   dense, band         identity map, band schedule on i - j
//   stride(p)           strided transpose (row = r*p + col): causal in r
//   chunk(s)            chunked map (row = g*s + pos): causal inside a chunk
//   stride/chunk ∩ band the same maps with the band on r resp. pos (dilated
//                       windows, local chunks)
//   summary(p, w)       keys gathered to the compact summary space: a prefix
//   global_keys(g)      identity, the first g keys: a prefix
//   global_queries(g)   identity, band limited to the first g query rows
//   anything else       explicit tile lists (TableBuilder.cpp)
//
// Components are ordered so that later ones can subtract what earlier ones
// cover in closed form (stride minus the local band is a band on r - r' >= 2;
// summary minus the chunk is "earlier chunks only"). When no closed form is
// known, the component falls back to tile lists with an exact predicate: a
// slower schedule, never a wrong one; the component records why.
//
// Every component is planned for each tile shape on offer and keeps the one
// with the least modelled time: the score elements it computes, each weighted
// by its shape's cost (tileElementCost in tiling.h; small tiles cost more per
// element). Groups shorter than half a tile
// (strided and chunked maps) are packed several to a tile, with the exact
// block-diagonal predicate of tiling.h, when that computes less. A component
// left with no pair (an empty summary, a part the earlier ones cover) is
// dropped: it would launch kernels with nothing to do. A union of windows
// (every operand inside a band) is also planned as one table over its own
// tiles, which wins when the windows overlap (a local band and a dilated
// one): the choice with less work is kept.
//
//===----------------------------------------------------------------------===//
#include "PlanInternal.h"

#include "sparta/Dialect/Limits.h"
#include "sparta/Error.h"
#include "sparta/MaskSemantics.h"

#include <algorithm>
#include <optional>

namespace sparta {
namespace {

using namespace tiling;

/// Order in which union operands are planned: closed-form exclusions exist
/// for a later kind against an earlier one, not the other way round.
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

IndexMap identityMap(int T) { return IndexMap{kIdentity, T, 1, 0, 1}; }

TileSchedule bandSchedule(IndexMap map, int dlo, int dhi, int qlimit) {
  TileSchedule s{};
  s.q = map;
  s.k = map;
  s.kind = kBand;
  s.dlo = dlo;
  s.dhi = dhi;
  s.qlimit = qlimit;
  return s;
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

struct Candidate {
  std::string name;
  TileSchedule schedule;
};

/// intersect(stride or chunk, bands...): the stride's (chunk's) map with the
/// bands' common offsets, which are offsets of r (pos) on that map.
std::optional<Candidate> intersectionForm(const Mask &m, int T) {
  int64_t lo = 0, hi = kUnbounded;
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
    return Candidate{"chunk", bandSchedule(IndexMap{kChunked, T, int(grid->size), 0, 1}, int(lo),
                                           int(hi), T)};
  int64_t p = grid->period; // i - j == p * (r_i - r_j)
  int64_t rlo = (lo + p - 1) / p, rhi = hi >= kUnbounded ? kUnbounded : hi / p;
  if (rlo > rhi)
    return std::nullopt;
  return Candidate{"dilated", bandSchedule(IndexMap{kStrided, T, int(p), 0, 1}, int(rlo),
                                           int(rhi), T)};
}

/// The closed-form component of one union operand, if its kind has one.
std::optional<Candidate> closedForm(const Mask &m, int T) {
  auto clampT = [&](int64_t v) { return int(std::clamp<int64_t>(v, 0, T)); };
  switch (m.kind) {
  case MaskKind::Dense:
    return Candidate{"dense", bandSchedule(identityMap(T), 0, kUnbounded, T)};
  case MaskKind::Band:
    return Candidate{"band", bandSchedule(identityMap(T), int(std::max<int64_t>(m.lo, 0)),
                                          int(std::min<int64_t>(m.hi, kUnbounded)), T)};
  case MaskKind::Stride:
    return Candidate{"stride", bandSchedule(IndexMap{kStrided, T, int(m.period), 0, 1}, 0,
                                            kUnbounded, T)};
  case MaskKind::Chunk:
    return Candidate{"chunk", bandSchedule(IndexMap{kChunked, T, int(m.size), 0, 1}, 0,
                                           kUnbounded, T)};
  case MaskKind::Summary:
    return Candidate{"summary",
                     prefixSchedule(IndexMap{kSummaryGather, T, int(m.period), int(m.width), 1},
                                    kPrefixSummary, 0, 0)};
  case MaskKind::GlobalKeys:
    return Candidate{"global_keys",
                     prefixSchedule(identityMap(T), kPrefixGlobalKeys, clampT(m.count), 0)};
  case MaskKind::GlobalQueries:
    return Candidate{"global_queries", bandSchedule(identityMap(T), 0, kUnbounded, clampT(m.count))};
  case MaskKind::Intersect:
    return intersectionForm(m, T);
  default:
    return std::nullopt;
  }
}

/// Why `m` has no closed form of its own.
std::string noFormReason(const Mask &m) {
  switch (m.kind) {
  case MaskKind::RandomBlocks: return "random blocks are irregular";
  case MaskKind::Union: return "a nested union";
  case MaskKind::Intersect:
    return "an intersection other than stride or chunk with bands";
  default: return "no closed form for " + toString(m);
  }
}

enum class Exclusion { Disjoint, Adjusted, Everything, Unknown };

/// Removes the offsets [lo, hi] from the band [dlo, dhi] when the result is
/// still one interval.
Exclusion cutInterval(int &dlo, int &dhi, int64_t lo, int64_t hi) {
  if (lo > hi || hi < dlo || lo > dhi)
    return Exclusion::Disjoint;
  if (lo <= dlo && hi >= dhi)
    return Exclusion::Everything;
  if (lo <= dlo) {
    dlo = int(hi + 1);
    return Exclusion::Adjusted;
  }
  if (hi >= dhi) {
    dhi = int(lo - 1);
    return Exclusion::Adjusted;
  }
  return Exclusion::Unknown;
}

/// Subtracts the pairs of an earlier component's operand `e` from candidate
/// `c` (of operand `m`) in closed form, when one is known.
Exclusion exclude(Candidate &c, const Mask &m, const Mask &e) {
  TileSchedule &s = c.schedule;
  switch (e.kind) {
  case MaskKind::Empty:
    return Exclusion::Disjoint;
  case MaskKind::Dense:
    return Exclusion::Everything;
  case MaskKind::Band: {
    int64_t lo = std::max<int64_t>(e.lo, 0), hi = e.hi;
    if (s.kind == kBand && (s.q.kind == kIdentity || s.q.kind == kChunked))
      return cutInterval(s.dlo, s.dhi, lo, hi); // mapped offset == i - j
    if (s.kind == kBand && s.q.kind == kStrided) {
      int64_t p = s.q.p; // i - j == p * (r_i - r_j)
      return cutInterval(s.dlo, s.dhi, (lo + p - 1) / p, hi / p);
    }
    if (s.kind == kPrefix && s.prefixKind == kPrefixGlobalKeys) {
      if (lo > s.offset)
        return hi < s.offset ? Exclusion::Disjoint : Exclusion::Unknown;
      s.offset = int(std::max<int64_t>(s.offset, hi + 1));
      return Exclusion::Adjusted;
    }
    return Exclusion::Unknown;
  }
  case MaskKind::Chunk:
    if (s.kind == kPrefix && s.prefixKind == kPrefixSummary && e.size == s.k.p) {
      s.prefixKind = kPrefixSummaryEarlierChunks;
      return Exclusion::Adjusted;
    }
    return Exclusion::Unknown;
  case MaskKind::Stride:
    if (e.period == 1)
      return Exclusion::Everything; // every pair is a multiple of 1 apart
    if (s.kind == kPrefix && s.prefixKind == kPrefixGlobalKeys &&
        (s.skipPeriod == 0 || s.skipPeriod == e.period)) {
      s.skipPeriod = int(e.period);
      return Exclusion::Adjusted;
    }
    return e == m ? Exclusion::Everything : Exclusion::Unknown;
  case MaskKind::GlobalKeys:
    // Query rows below g only see keys below g.
    if (m.kind == MaskKind::GlobalQueries && m.count <= e.count)
      return Exclusion::Everything;
    return Exclusion::Unknown;
  default:
    return e == m ? Exclusion::Everything : Exclusion::Unknown;
  }
}

std::string describe(const Mask &part, const std::vector<Mask> &excluded) {
  std::string text = toString(part);
  for (size_t n = 0; n < excluded.size(); ++n)
    text += (n == 0 ? " minus " : ", ") + toString(excluded[n]);
  return text;
}

/// Packs the short groups of a band schedule on a strided or chunked map,
/// as many as fit one tile on both sides; nullopt when fewer than two fit.
std::optional<TileSchedule> packed(const TileSchedule &s, TileShape shape) {
  if (s.kind != kBand || (s.q.kind != kStrided && s.q.kind != kChunked) || s.qlimit < s.q.T)
    return std::nullopt;
  int perTile = std::min(shape.qRows, shape.kRows) / s.q.baseLen();
  int pack = std::min(perTile, s.q.baseGroups());
  if (pack < 2)
    return std::nullopt;
  TileSchedule p = s;
  p.q.pack = p.k.pack = pack;
  return p;
}

/// The modelled time of a component's kernels: its computed score elements
/// weighted by the cost of its tile shape.
double modelledCost(const PlanComponent &component, int64_t T) {
  const TileSchedule &s = component.schedule;
  return double(componentWork(component, T, /*countPairs=*/false).computedElements) *
         tileElementCost(TileShape{s.qTile, s.kTile});
}

/// The schedule of `candidate` with the tile shape of least modelled time,
/// packed where that costs less.
void chooseShape(PlanComponent &component, const TileSchedule &schedule,
                 const std::vector<TileShape> &shapes, int64_t T) {
  double best = -1;
  auto consider = [&](TileSchedule s) {
    PlanComponent trial = component;
    trial.schedule = s;
    double work = modelledCost(trial, T);
    if (best < 0 || work < best) {
      best = work;
      component.schedule = s;
    }
  };
  for (TileShape shape : shapes) {
    TileSchedule s = schedule;
    s.qTile = shape.qRows;
    s.kTile = shape.kRows;
    consider(s);
    if (std::optional<TileSchedule> p = packed(s, shape))
      consider(*p);
  }
}

/// The table of `component` with the tile shape of least modelled time.
void chooseTable(PlanComponent &component, const std::vector<TileShape> &shapes, int64_t T) {
  double best = -1;
  for (TileShape shape : shapes) {
    PlanComponent trial = component;
    buildTable(trial, int(T), shape);
    double work = modelledCost(trial, T);
    if (best < 0 || work < best) {
      best = work;
      component = std::move(trial);
    }
  }
}

/// Whether every pair of `m` lies within some band(lo, hi) with hi < T,
/// so that a table over it lists only tiles near the diagonal.
bool withinBand(const Mask &m) {
  switch (m.kind) {
  case MaskKind::Band: return m.hi < kUnbounded;
  case MaskKind::Union:
    return std::all_of(m.operands.begin(), m.operands.end(), withinBand);
  case MaskKind::Intersect:
    return std::any_of(m.operands.begin(), m.operands.end(), withinBand);
  default: return false;
  }
}

HeadPlan planHead(const Mask &mask, int64_t maskIndex, int T,
                  const std::vector<TileShape> &shapes) {
  HeadPlan head;
  head.maskIndex = maskIndex;
  head.mask = mask;
  std::vector<Mask> parts;
  if (mask.kind == MaskKind::Union)
    parts = mask.operands;
  else if (mask.kind != MaskKind::Empty)
    parts.push_back(mask);
  std::stable_sort(parts.begin(), parts.end(), [](const Mask &a, const Mask &b) {
    return planningRank(a) < planningRank(b);
  });

  std::vector<Mask> covered;
  for (const Mask &part : parts) {
    if (part.kind == MaskKind::Empty ||
        (part.kind == MaskKind::Band && std::max<int64_t>(part.lo, 0) > part.hi))
      continue; // allows nothing (canonicalization removes these too)
    std::optional<Candidate> candidate = closedForm(part, T);
    std::string reason = candidate ? "" : noFormReason(part);
    bool nothingLeft = false;
    for (const Mask &earlier : covered) {
      if (!candidate)
        break;
      Exclusion result = exclude(*candidate, part, earlier);
      if (result == Exclusion::Everything)
        nothingLeft = true;
      if (result == Exclusion::Unknown) {
        candidate.reset();
        reason = "no closed form for " + toString(part) + " minus " + toString(earlier);
      }
    }
    if (nothingLeft)
      continue; // every pair of this operand is computed by earlier components
    PlanComponent component;
    component.part = part;
    component.excluded = covered;
    component.description = describe(part, covered);
    if (candidate) {
      component.name = candidate->name;
      chooseShape(component, candidate->schedule, shapes, T);
    } else {
      chooseTable(component, shapes, T);
      component.fallbackReason = reason;
    }
    if (componentWork(component, T, /*countPairs=*/false).computedElements == 0)
      continue; // no pair left (and none to subtract from later parts)
    head.components.push_back(std::move(component));
    covered.push_back(part);
  }
  if (head.components.size() > 1 && withinBand(mask)) {
    // Overlapping windows (a local band and a dilated one): the union's own
    // tiles, all inside one band, can be fewer than its components' tiles.
    PlanComponent whole;
    whole.part = mask;
    whole.description = describe(mask, {});
    chooseTable(whole, shapes, T);
    int64_t split = 0;
    double splitCost = 0;
    for (const PlanComponent &c : head.components) {
      split += componentWork(c, T, /*countPairs=*/false).computedElements;
      splitCost += modelledCost(c, T);
    }
    int64_t joined = componentWork(whole, T, /*countPairs=*/false).computedElements;
    if (modelledCost(whole, T) < splitCost) {
      whole.fallbackReason = "one table over the union computes " + std::to_string(joined) +
                             " score elements, its " + std::to_string(head.components.size()) +
                             " closed-form components " + std::to_string(split);
      head.components.assign(1, std::move(whole));
    }
  }
  return head;
}

} // namespace

tiling::TileSchedule PlanComponent::hostSchedule() const {
  tiling::TileSchedule s = schedule;
  if (s.kind == tiling::kTable)
    s.table = tiling::TableData{fwdOffsets.data(), fwdEntries.data(), bwdOffsets.data(),
                                bwdEntries.data()};
  return s;
}

bool PlanComponent::covers(int64_t T, int64_t i, int64_t j) const {
  if (!allowed(part, T, i, j))
    return false;
  for (const Mask &e : excluded)
    if (allowed(e, T, i, j))
      return false;
  return true;
}

Plan planPattern(const ConcretePattern &pattern, const PlanOptions &options) {
  if (pattern.T < 1 || pattern.T > limits::kMaxSequenceLength)
    throw Error("cannot plan pattern '" + pattern.name + "': T = " + std::to_string(pattern.T) +
                " is outside [1, " + std::to_string(limits::kMaxSequenceLength) + "]");
  std::vector<TileShape> shapes = options.shapes;
  if (shapes.empty())
    shapes.assign(std::begin(kKernelTileShapes), std::end(kKernelTileShapes));
  for (TileShape shape : shapes)
    if (shape.qRows < 2 || shape.kRows < 2)
      throw Error("tile shapes must be at least 2 x 2, got " + std::to_string(shape.qRows) + "x" +
                  std::to_string(shape.kRows));
  Plan plan;
  plan.patternName = pattern.name;
  plan.T = pattern.T;
  plan.params = pattern.params;
  for (size_t h = 0; h < pattern.heads.size(); ++h)
    plan.heads.push_back(planHead(pattern.heads[h], int64_t(h), int(pattern.T), shapes));
  return plan;
}

} // namespace sparta
