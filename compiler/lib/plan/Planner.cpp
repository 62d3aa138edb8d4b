//===- Planner.cpp - Split head masks into components with index maps -----===//
//
// This is where sparta changes the iteration space, which a mask alone cannot
// do. Each operand of a head's union becomes a component with the
// index map that makes it dense or banded:
//
//   dense, band         identity map, band schedule on i - j
//   stride(p)           strided transpose (row = r*p + col): causal in r
//   chunk(s)            chunked map (row = g*s + pos): causal inside a chunk
//   summary(p, w)       keys gathered to the compact summary space: a prefix
//   global_keys(g)      identity, the first g keys: a prefix
//   global_queries(g)   identity, band limited to the first g query rows
//   anything else       explicit tile lists (TableBuilder.cpp)
//
// Components are ordered so that later ones can subtract what earlier ones
// cover in closed form (stride minus the local band is a band on r - r' >= 2;
// summary minus the chunk is "earlier chunks only"). When no closed form is
// known, the component falls back to tile lists with an exact predicate: a
// slower schedule, never a wrong one.
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

IndexMap identityMap(int T) { return IndexMap{kIdentity, T, 1, 0}; }

TileSchedule bandSchedule(IndexMap map, int tile, int dlo, int dhi, int qlimit) {
  TileSchedule s{};
  s.q = map;
  s.k = map;
  s.tile = tile;
  s.kind = kBand;
  s.dlo = dlo;
  s.dhi = dhi;
  s.qlimit = qlimit;
  return s;
}

TileSchedule prefixSchedule(IndexMap keys, int tile, int prefixKind, int count, int offset) {
  TileSchedule s{};
  s.q = identityMap(keys.T);
  s.k = keys;
  s.tile = tile;
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

/// The closed-form component of one union operand, if its kind has one.
std::optional<Candidate> closedForm(const Mask &m, int T, int tile) {
  auto clampT = [&](int64_t v) { return int(std::clamp<int64_t>(v, 0, T)); };
  switch (m.kind) {
  case MaskKind::Dense:
    return Candidate{"dense", bandSchedule(identityMap(T), tile, 0, kUnbounded, T)};
  case MaskKind::Band:
    return Candidate{"band", bandSchedule(identityMap(T), tile, int(std::max<int64_t>(m.lo, 0)),
                                          int(std::min<int64_t>(m.hi, kUnbounded)), T)};
  case MaskKind::Stride:
    return Candidate{"stride", bandSchedule(IndexMap{kStrided, T, int(m.period), 0}, tile, 0,
                                            kUnbounded, T)};
  case MaskKind::Chunk:
    return Candidate{"chunk", bandSchedule(IndexMap{kChunked, T, int(m.size), 0}, tile, 0,
                                           kUnbounded, T)};
  case MaskKind::Summary:
    return Candidate{"summary",
                     prefixSchedule(IndexMap{kSummaryGather, T, int(m.period), int(m.width)},
                                    tile, kPrefixSummary, 0, 0)};
  case MaskKind::GlobalKeys:
    return Candidate{"global_keys",
                     prefixSchedule(identityMap(T), tile, kPrefixGlobalKeys, clampT(m.count), 0)};
  case MaskKind::GlobalQueries:
    return Candidate{"global_queries",
                     bandSchedule(identityMap(T), tile, 0, kUnbounded, clampT(m.count))};
  default:
    return std::nullopt;
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

HeadPlan planHead(const Mask &mask, int64_t maskIndex, int T, int tile) {
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
    std::optional<Candidate> candidate = closedForm(part, T, tile);
    bool nothingLeft = false;
    for (const Mask &earlier : covered) {
      if (!candidate)
        break;
      Exclusion result = exclude(*candidate, part, earlier);
      if (result == Exclusion::Everything)
        nothingLeft = true;
      if (result == Exclusion::Unknown)
        candidate.reset();
    }
    if (nothingLeft)
      continue; // every pair of this operand is computed by earlier components
    PlanComponent component;
    component.part = part;
    component.excluded = covered;
    component.description = describe(part, covered);
    if (candidate) {
      component.name = candidate->name;
      component.schedule = candidate->schedule;
    } else {
      buildTable(component, T, tile);
    }
    head.components.push_back(std::move(component));
    covered.push_back(part);
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
  if (options.tile < 1)
    throw Error("tile edge must be positive, got " + std::to_string(options.tile));
  Plan plan;
  plan.patternName = pattern.name;
  plan.T = pattern.T;
  plan.tile = options.tile;
  plan.params = pattern.params;
  for (size_t h = 0; h < pattern.heads.size(); ++h)
    plan.heads.push_back(planHead(pattern.heads[h], int64_t(h), int(pattern.T), options.tile));
  return plan;
}

} // namespace sparta
