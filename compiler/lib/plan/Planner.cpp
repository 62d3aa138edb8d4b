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
//   grid_window         its own grid row a band on the chunked map, the other
//                       rows a grid box (identity maps, rows of whole tiles)
//   anything else       explicit tile lists (TableBuilder.cpp)
//
// (ClosedForms.cpp.) In a bidirectional pattern the same maps carry bands
// with negative offsets: a stride or chunk is then its whole group, not a
// causal triangle, and a summary is seen by every query.
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
// element), plus the per-element predicate of the partial pairs of a table
// or grid box (kMaskPartialElementCost). Groups shorter than half a tile
// (strided and chunked maps) are packed several to a tile, with the exact
// block-diagonal predicate of tiling.h, when that computes less. A component
// left with no pair (an empty summary, a part the earlier ones cover) is
// dropped: it would launch kernels with nothing to do. A union of windows
// (every operand inside a band) is also planned as one table over its own
// tiles, which wins when the windows overlap much (a local band and dilated
// ones): the choice of less modelled time is kept.
//
//===----------------------------------------------------------------------===//
#include "PlanInternal.h"

#include "sparta/Dialect/Limits.h"
#include "sparta/Error.h"
#include "sparta/MaskSemantics.h"

#include <algorithm>
#include <climits>

namespace sparta {
namespace {

using namespace tiling;

std::string describe(const Mask &part, const std::vector<Mask> &excluded) {
  std::string text = toString(part);
  for (size_t n = 0; n < excluded.size(); ++n)
    text += (n == 0 ? " minus " : ", ") + toString(excluded[n]);
  return text;
}

/// Packs the short groups of a band schedule on a strided or chunked map,
/// as many as fit one tile on both sides; nullopt when fewer than two fit.
std::optional<TileSchedule> packed(const TileSchedule &s, TileShape shape) {
  if (s.kind != kBand || (s.q.kind != kStrided && s.q.kind != kChunked) || s.qlimit < s.q.T ||
      s.k.w != 0)
    return std::nullopt; // (a rotated key map is never packed)
  int perTile = std::min(shape.qRows, shape.kRows) / s.q.baseLen();
  int pack = std::min(perTile, s.q.baseGroups());
  if (pack < 2)
    return std::nullopt;
  TileSchedule p = s;
  p.q.pack = p.k.pack = pack;
  return p;
}

/// The modelled time of a component's kernels: its computed score elements
/// weighted by the cost of its tile shape, plus the per-element predicate of
/// the partial pairs of a table or a grid box.
double modelledCost(const PlanComponent &component, int64_t T) {
  const TileSchedule &s = component.schedule;
  const double elementCost = tileElementCost(TileShape{s.qTile, s.kTile});
  if (s.kind != kTable && s.kind != kGridBox)
    return double(computedElements(component)) * elementCost;
  // Their tile pairs are few (tables list them; a grid box meets a few rows
  // of tiles per tile): visiting them costs little.
  const WorkReport work = componentWork(component, T, /*countPairs=*/false);
  return double(work.computedElements) * elementCost +
         double(work.partialTiles) * s.qTile * s.kTile * kMaskPartialElementCost;
}

/// Whether a schedule can run with tiles of `shape`: a grid box needs whole
/// tiles inside each grid row.
bool fits(const TileSchedule &s, TileShape shape) {
  return s.kind != kGridBox || (s.box.width % shape.qRows == 0 && s.box.width % shape.kRows == 0);
}

/// The schedule of `candidate` with the tile shape of least modelled time
/// among those it fits, packed where that costs less.
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
    if (!fits(schedule, shape))
      continue;
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

HeadPlan planHead(const Mask &mask, int64_t maskIndex, int T, bool causal,
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
        (part.kind == MaskKind::Band && std::max<int64_t>(part.lo, causal ? 0 : part.lo) > part.hi))
      continue; // allows nothing (canonicalization removes these too)
    std::vector<Candidate> candidates = closedForm(part, T, causal);
    const bool form = !candidates.empty();
    std::string reason = form ? "" : noFormReason(part);
    for (const Candidate &c : candidates)
      if (std::none_of(shapes.begin(), shapes.end(),
                       [&](TileShape shape) { return fits(c.schedule, shape); })) {
        reason = "no tile shape on offer fits inside its grid rows of " +
                 std::to_string(c.schedule.box.width) + " positions";
        candidates.clear();
        break;
      }
    bool nothingLeft = false;
    for (const Mask &earlier : covered) {
      if (candidates.empty())
        break;
      Exclusion result = exclude(candidates, part, earlier, T, causal);
      if (result == Exclusion::Everything)
        nothingLeft = true;
      if (result == Exclusion::Unknown)
        reason = "no closed form for " + toString(part) + " minus " + toString(earlier);
    }
    if (nothingLeft)
      continue; // every pair of this operand is computed by earlier components
    PlanComponent component;
    component.causal = causal;
    component.part = part;
    component.excluded = covered;
    bool any = false;
    if (!form || !reason.empty()) {
      component.description = describe(part, covered);
      chooseTable(component, shapes, T);
      component.fallbackReason = reason;
      any = computedElements(component) > 0;
      if (any)
        head.components.push_back(std::move(component));
    }
    for (Candidate &c : candidates) {
      PlanComponent piece = component;
      piece.part = c.part;
      for (const Mask &e : c.excluded)
        if (std::find(piece.excluded.begin(), piece.excluded.end(), e) == piece.excluded.end())
          piece.excluded.push_back(e);
      piece.description = describe(c.part, piece.excluded);
      piece.name = c.name;
      chooseShape(piece, c.schedule, shapes, T);
      if (computedElements(piece) == 0)
        continue; // no pair left (and none to subtract from later parts)
      head.components.push_back(std::move(piece));
      any = true;
    }
    if (any)
      covered.push_back(part);
  }
  if (head.components.size() > 1 && withinBand(mask)) {
    // Overlapping windows (a local band and a dilated one): the union's own
    // tiles, all inside one band, can be fewer than its components' tiles.
    PlanComponent whole;
    whole.causal = causal;
    whole.part = mask;
    whole.description = describe(mask, {});
    chooseTable(whole, shapes, T);
    int64_t split = 0;
    double splitCost = 0;
    for (const PlanComponent &c : head.components) {
      split += computedElements(c);
      splitCost += modelledCost(c, T);
    }
    int64_t joined = computedElements(whole);
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

bool PlanComponent::unevenLists() const {
  const tiling::TileSchedule s = hostSchedule();
  auto uneven = [](const tiling::IndexMap &map, int tile, auto count) {
    long long total = 0, tiles = 0, longest = 0;
    for (int g = 0; g < map.groups(); ++g)
      for (int t = 0; t * tile < map.len(g); ++t) {
        const long long n = count(g, t);
        total += n, ++tiles, longest = std::max(longest, n);
      }
    return tiles > 0 && longest > 1 && 2 * longest * tiles >= 3 * total;
  };
  return uneven(s.q, s.qTile, [&](int g, int t) { return s.fwdCount(g, t); }) ||
         uneven(s.k, s.kTile, [&](int g, int t) { return s.bwdCount(g, t); });
}

/// pairedQueryUse (query) or pairedKeyUse: the pairs (hi, hi - 1) of
/// q_pair_block or k_pair_block and the ascending merge of their lists.
static double pairedUse(const tiling::TileSchedule &s, bool query) {
  if (s.qTile != 64)
    return 0.0;
  const tiling::IndexMap &map = query ? s.q : s.k;
  const int edge = query ? s.qTile : s.kTile;
  auto count = [&](int g, int t) {
    return t < 0 || t * edge >= map.len(g) ? 0 : query ? s.fwdCount(g, t) : s.bwdCount(g, t);
  };
  auto tileAt = [&](int g, int t, int n) {
    return query ? s.fwdTile(g, t, n).tile : s.bwdTile(g, t, n).tile;
  };
  long long listed = 0, merged = 0;
  const int tiles = query ? s.qTilesPerGroup() : s.kTilesPerGroup();
  for (int g = 0; g < map.groups(); ++g)
    for (int hi = tiles - 1; hi >= 0; hi -= 2) {
      const int na = count(g, hi), nb = count(g, hi - 1);
      listed += na + nb;
      int a = 0, b = 0;
      while (a < na || b < nb) {
        const int ta = a < na ? tileAt(g, hi, a) : INT_MAX;
        const int tb = b < nb ? tileAt(g, hi - 1, b) : INT_MAX;
        a += ta <= tb, b += tb <= ta, ++merged;
      }
    }
  return merged > 0 ? double(listed) / double(2 * merged) : 0.0;
}

double PlanComponent::pairedQueryUse() const { return pairedUse(hostSchedule(), true); }

double PlanComponent::pairedKeyUse() const { return pairedUse(hostSchedule(), false); }

bool PlanComponent::pairsQueryTiles(int headDim) const {
  return headDim == 128 && pairedQueryUse() >= kMinPairedUse;
}

bool PlanComponent::pairsKeyTiles(int headDim) const {
  return headDim == 128 && pairedKeyUse() >= kMinPairedUse;
}

bool PlanComponent::covers(int64_t T, int64_t i, int64_t j) const {
  if (!allowed(part, T, i, j, causal))
    return false;
  for (const Mask &e : excluded)
    if (allowed(e, T, i, j, causal))
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
  plan.causal = pattern.causal;
  for (size_t h = 0; h < pattern.heads.size(); ++h)
    plan.heads.push_back(
        planHead(pattern.heads[h], int64_t(h), int(pattern.T), pattern.causal, shapes));
  return plan;
}

} // namespace sparta
