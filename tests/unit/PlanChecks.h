//===- PlanChecks.h - The planner's contract, checked pair by pair ---------===//
//
// Shared by PlanTest.cpp and PlanCorpusTest.cpp. For every head of a plan:
//   (a) exactly once: each allowed (i, j) is produced by exactly one
//       component and no disallowed pair by any; each component produces
//       exactly its own pairs (PlanComponent::covers);
//   (b) a tile flagged full is full: its key tile is complete and every
//       existing query row sees every key, so the kernel may skip the mask;
//   (c) no wasted tile: every listed tile produces at least one pair;
//   (d) the backward lists are the transpose of the forward lists, with the
//       same full flags;
// plus well-formed index maps. Memory stays O(T) so that the corpus can check
// long sequences: (a) holds when every produced pair is one its component
// covers, no pair is produced twice (maps are bijections, tile lists have no
// repeats), each component produces as many pairs as it covers, and the
// components' pair counts add up to the head's allowed pairs (their pair
// sets are disjoint by construction: a component excludes earlier parts).
//
//===----------------------------------------------------------------------===//
#pragma once

#include "sparta/Plan.h"
#include "sparta/MaskSemantics.h"

#include <algorithm>
#include <cmath>
#include <set>
#include <string>
#include <tuple>
#include <vector>

namespace sparta::testing {

/// Collects defect descriptions, keeping the first few in full.
struct Defects {
  std::vector<std::string> list;
  int64_t total = 0;
  void add(const std::string &what) {
    if (++total <= 8)
      list.push_back(what);
  }
  std::string text() const {
    std::string out = std::to_string(total) + " defect(s):";
    for (const std::string &s : list)
      out += "\n  " + s;
    return out;
  }
};

/// Checks that a map is a bijection onto its image (identity, strided,
/// chunked: all of [0, T); gather: the summary rows), increasing inside
/// each (sub-)group.
inline void checkMap(const tiling::IndexMap &m, int64_t T, const std::string &where, Defects &d) {
  if (m.T != T)
    return d.add(where + ": map built for T=" + std::to_string(m.T));
  std::vector<char> seen(T, 0);
  int64_t total = 0;
  for (int g = 0; g < m.groups(); ++g)
    for (int pos = 0; pos < m.len(g); ++pos, ++total) {
      int row = m.row(g, pos);
      if (row < 0 || row >= T || seen[row]++)
        return d.add(where + ": row " + std::to_string(row) + " out of range or repeated");
      if (pos > 0 && m.sub(g, pos - 1) == m.sub(g, pos) && m.row(g, pos - 1) >= row)
        return d.add(where + ": rows not increasing inside a (sub-)group");
    }
  if (m.kind != tiling::kSummaryGather && total != T)
    d.add(where + ": map does not cover every row");
}

/// Checks one component; returns the number of pairs it produces.
inline int64_t checkComponent(const PlanComponent &c, int64_t T, const std::string &where,
                              Defects &d) {
  using TileKey = std::tuple<int, int, int, bool>; // group, q tile, k tile, full
  const tiling::TileSchedule s = c.hostSchedule();
  const int M = s.qTile, N = s.kTile;
  checkMap(s.q, T, where + " queries", d);
  checkMap(s.k, T, where + " keys", d);
  if (s.q.groups() != s.k.groups()) {
    d.add(where + ": query and key maps have different group counts");
    return 0;
  }
  // The element test of partial tiles: what the kernel evaluates.
  auto passes = [&](int g, int qp, int kp) {
    return s.kind == tiling::kTable ? c.covers(T, s.q.row(g, qp), s.k.row(g, kp))
                                    : s.allowed(g, qp, kp);
  };
  int64_t produced = 0;
  std::set<TileKey> fwd, bwd;
  for (int g = 0; g < s.q.groups(); ++g) {
    for (int qt = 0; qt < s.qTilesPerGroup(); ++qt) {
      const int qa = qt * M, qe = std::min(qa + M, s.q.len(g));
      int previous = -1;
      for (int n = 0; n < s.fwdCount(g, qt); ++n) {
        const tiling::TileRef ref = s.fwdTile(g, qt, n);
        const std::string tileName = where + " g" + std::to_string(g) + " q" +
                                     std::to_string(qt) + " k" + std::to_string(ref.tile);
        if (qa >= qe) {
          d.add(tileName + ": the query tile has no rows in this group but lists a key tile");
          continue;
        }
        if (ref.tile < 0 || ref.tile >= s.kTilesPerGroup() || ref.tile <= previous) {
          d.add(tileName + ": key tile out of range, repeated or out of order");
          continue;
        }
        previous = ref.tile;
        fwd.insert({g, qt, ref.tile, ref.full});
        const int ka = ref.tile * N, ke = std::min(ka + N, s.k.len(g));
        if (ref.full && ka + N > s.k.len(g))
          d.add(tileName + ": flagged full but its key tile is incomplete"); // (b)
        int64_t count = 0;
        for (int qp = qa; qp < qe; ++qp)
          for (int kp = ka; kp < ke; ++kp) {
            const int64_t i = s.q.row(g, qp), j = s.k.row(g, kp);
            const bool pass = passes(g, qp, kp);
            if (ref.full && !pass) // (b)
              d.add(tileName + ": flagged full but pair (" + std::to_string(i) + ", " +
                    std::to_string(j) + ") fails the element test");
            if (!ref.full && !pass)
              continue;
            ++count;
            if (!c.covers(T, i, j)) // (a)
              d.add(tileName + ": produces pair (" + std::to_string(i) + ", " +
                    std::to_string(j) + "), which is not the component's");
          }
        if (count == 0) // (c)
          d.add(tileName + ": listed but produces no pair");
        produced += count;
      }
    }
    for (int kt = 0; kt < s.kTilesPerGroup(); ++kt)
      for (int n = 0; n < s.bwdCount(g, kt); ++n) {
        const tiling::TileRef ref = s.bwdTile(g, kt, n);
        if (!bwd.insert({g, ref.tile, kt, ref.full}).second)
          d.add(where + ": backward list of key tile " + std::to_string(kt) + " repeats a tile");
      }
  }
  if (fwd != bwd) // (d)
    d.add(where + ": backward lists (" + std::to_string(bwd.size()) +
          " entries) are not the transpose of the forward lists (" +
          std::to_string(fwd.size()) + ")");
  int64_t own = 0; // the component's pairs, from its definition
  for (int64_t i = 0; i < T; ++i)
    for (int64_t j = 0; j < (c.causal ? i + 1 : T); ++j)
      own += c.covers(T, i, j);
  if (own != produced) // (a)
    d.add(where + ": produces " + std::to_string(produced) + " pairs but covers " +
          std::to_string(own));
  return produced;
}

/// Every defect of `plan` as the plan of `pattern`.
inline Defects planDefects(const ConcretePattern &pattern, const Plan &plan) {
  Defects d;
  const int64_t T = pattern.T;
  if (plan.T != T || plan.heads.size() != pattern.heads.size()) {
    d.add("plan has the wrong T or number of heads");
    return d;
  }
  for (size_t h = 0; h < plan.heads.size(); ++h) {
    const HeadPlan &head = plan.heads[h];
    if (plan.causal != pattern.causal)
      d.add("plan and pattern differ in direction (causal / bidirectional)");
    if (head.maskIndex != int64_t(h) || head.mask != pattern.heads[h])
      d.add("head " + std::to_string(h) + ": wrong mask index or mask");
    int64_t produced = 0, allowedPairs = 0;
    for (size_t n = 0; n < head.components.size(); ++n)
      produced += checkComponent(head.components[n], T,
                                 "head " + std::to_string(h) + " component " + std::to_string(n) +
                                     " (" + head.components[n].description + ")",
                                 d);
    for (int64_t i = 0; i < T; ++i) // (a)
      for (int64_t j = 0; j < (pattern.causal ? i + 1 : T); ++j)
        allowedPairs += allowed(pattern.heads[h], T, i, j, pattern.causal);
    if (produced != allowedPairs)
      d.add("head " + std::to_string(h) + ": components produce " + std::to_string(produced) +
            " pairs, the mask allows " + std::to_string(allowedPairs));
  }
  return d;
}

/// A lower bound on the work ratio of any plan with qRows x kRows tiles:
/// query row i with a_i allowed keys lies in at least ceil(a_i / kRows)
/// tiles, a tile holds at most qRows rows, so a head needs at least
/// ceil(sum_i ceil(a_i / kRows) / qRows) tiles (and the same with the roles
/// of queries and keys swapped). It ignores which keys the rows share, so it
/// is far from tight for narrow bands.
inline double workRatioLowerBound(const ConcretePattern &pattern, tiling::TileShape shape) {
  int64_t tiles = 0, pairs = 0;
  for (const Mask &mask : pattern.heads) {
    std::vector<int64_t> keysOf(pattern.T, 0), queriesOf(pattern.T, 0);
    for (int64_t i = 0; i < pattern.T; ++i)
      for (int64_t j = 0; j < (pattern.causal ? i + 1 : pattern.T); ++j)
        if (allowed(mask, pattern.T, i, j, pattern.causal)) {
          ++keysOf[i];
          ++queriesOf[j];
          ++pairs;
        }
    int64_t rowSlots = 0, keySlots = 0;
    for (int64_t n = 0; n < pattern.T; ++n) {
      rowSlots += (keysOf[n] + shape.kRows - 1) / shape.kRows;
      keySlots += (queriesOf[n] + shape.qRows - 1) / shape.qRows;
    }
    tiles += std::max((rowSlots + shape.qRows - 1) / shape.qRows,
                      (keySlots + shape.kRows - 1) / shape.kRows);
  }
  return pairs ? double(tiles) * shape.qRows * shape.kRows / double(pairs) : 0.0;
}

} // namespace sparta::testing
