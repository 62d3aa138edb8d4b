//===- PatternCases.h - The pattern/parameter grid of the plan tests ------===//
//
// Shared by PlanTest.cpp and CpuExecutorTest.cpp: every pattern file under
// patterns/ plus hand-built masks that reach planner paths the files do not
// (closed-form exclusions, table fallbacks, rows with no key), over a grid of
// (T, L, c) chosen for edge cases: ragged T, L = 1, L >= T, tiny T.
//
//===----------------------------------------------------------------------===//
#pragma once

#include "MaskBuilders.h"

#include "sparta/Error.h"
#include "sparta/Frontend.h"
#include "sparta/Pattern.h"
#include "sparta/Plan.h"

#include <random>
#include <string>
#include <vector>

namespace sparta::testing {

/// The pattern files every plan test covers (patterns/<name>.mlir).
inline const std::vector<std::string> kPatternFiles = {
    "strided",          "strided_merged", "fixed",       "fixed_merged", "dense",
    "local",            "longformer",     "bigbird",     "longformer_bidir",
    "bigbird_bidir",    "image_axial",    "image_window"};

/// n samples of N(0, 1) from `seed`: the executor tests' q, k, v and dO.
inline std::vector<float> randomTensor(int64_t n, uint32_t seed) {
  std::mt19937 gen(seed);
  std::normal_distribution<float> dist(0.0f, 1.0f);
  std::vector<float> t(n);
  for (float &x : t)
    x = dist(gen);
  return t;
}

struct Params {
  int64_t T, L, c;
};

/// Ragged T (not a multiple of L or of the tile), L = 1, L >= T, T = 1 and 2,
/// c = L (summary of every key), several tiles at tile 16, and groups of
/// unequal tile counts (strided: T = 129, L = 8 gives groups of 17 and 16
/// rows; chunked: T = 200, L = 64 leaves a last chunk of 8 rows).
inline const std::vector<Params> kParamGrid = {
    {100, 16, 4}, {77, 8, 3},  {64, 8, 2},  {130, 10, 3}, {1, 1, 1},   {2, 1, 1},
    {2, 2, 1},    {20, 32, 4}, {33, 1, 1},  {48, 16, 16}, {129, 8, 3}, {200, 64, 8}};

/// The tile choices the plan tests cover: two square edges and a choice
/// between two rectangles (the planner picks one per component).
inline std::vector<std::pair<std::string, PlanOptions>> tileChoices() {
  return {{"tile=16", PlanOptions::square(16)},
          {"tile=64", PlanOptions::square(64)},
          {"tiles=16x32,32x16", PlanOptions{{{16, 32}, {32, 16}}}}};
}

struct PatternCase {
  std::string label; // e.g. "strided T=100 L=16 c=4"
  ConcretePattern pattern;
};

inline std::string paramText(const Params &p) {
  return "T=" + std::to_string(p.T) + " L=" + std::to_string(p.L) + " c=" + std::to_string(p.c);
}

/// A grid of T positions for the grid ops: W the least divisor of T with
/// W * W >= T, H = T / W.
inline int64_t gridWidth(int64_t T) {
  int64_t w = 1;
  while (w * w < T || T % w != 0)
    ++w;
  return w;
}

/// Loads patterns/<name>.mlir with T, L, c and a grid H x W = T bound; a
/// parameter the pattern does not declare (the front end rejects unknown
/// bindings) is dropped.
inline ConcretePattern loadPatternFile(const std::string &name, const Params &p) {
  ParamBindings bindings = {{"T", p.T}, {"L", p.L}, {"c", p.c},
                            {"H", p.T / gridWidth(p.T)}, {"W", gridWidth(p.T)}};
  std::string path = std::string(SPARTA_SOURCE_DIR) + "/patterns/" + name + ".mlir";
  for (;;) {
    try {
      return loadPattern(path, bindings);
    } catch (const Error &error) {
      std::string message = error.what();
      size_t at = message.find("unknown parameter '");
      if (at == std::string::npos)
        throw;
      at += 19;
      std::string param = message.substr(at, message.find('\'', at) - at);
      if (!bindings.erase(param))
        throw;
    }
  }
}

//--- hand-built masks (the builders are in MaskBuilders.h) --------------------

/// Masks built by hand, each aimed at a planner path: the paper's patterns
/// (independent of the front end), summary-only and global-query heads (rows
/// with no key), closed-form exclusions (band minus band, stride minus a wide
/// band, global keys minus a band and a stride), intersections of a stride
/// or chunk with bands (dilated windows) and table fallbacks (an interior
/// band cut, stride minus chunk, summary minus band, random blocks).
inline std::vector<PatternCase> handBuiltCases(const Params &p) {
  const int64_t T = p.T, L = p.L, c = p.c;
  std::vector<std::pair<std::string, std::vector<Mask>>> masks = {
      {"paper-strided", {band(0, L), stride(L)}},
      {"paper-strided-merged", {unite({band(0, L), stride(L)})}},
      {"paper-fixed", {chunk(L), summary(L, c)}},
      {"paper-fixed-merged", {unite({chunk(L), summary(L, c)})}},
      {"summary-only+queries", {summary(L, c), globalQueries(3), band(2, 5)}},
      {"band-cuts", {unite({band(0, 3), band(2, 10)}), unite({band(2, 5), band(0, 10)})}},
      {"stride-wide-band", {unite({stride(L), band(0, 2 * L + 1)})}},
      {"global-keys-band", {unite({globalKeys(5), band(0, 7)}), unite({band(1, 3), globalKeys(4)})}},
      {"stride-chunk", {unite({chunk(L), stride(L)})}},
      {"summary-band", {unite({band(0, L), summary(L, c)})}},
      {"intersect", {intersect({stride(2), band(0, 3 * L)}), unite({chunk(L), globalQueries(5)})}},
      {"dilated", {intersect({band(L / 2, 3 * L), stride(3)}), intersect({chunk(L), band(0, L / 2)}),
                   unite({band(0, L), intersect({band(0, 4 * L), stride(4)})})}},
      {"global-keys-stride", {unite({band(0, L), stride(L), globalKeys(c)}),
                              unite({stride(3), globalKeys(2 * L)})}},
      {"random", {unite({band(0, 4), randomBlocks(8, 2, 7)}), randomBlocks(16, 3, 1)}},
      {"bigbird-like",
       {unite({band(0, L), globalKeys(2), globalQueries(2), randomBlocks(8, 2, 3)})}},
  };
  std::vector<PatternCase> cases;
  for (auto &[name, heads] : masks)
    cases.push_back({name + " " + paramText(p), makePattern(name, T, heads)});
  // Causal strides with an offset: alone, minus a band, in a dilated window,
  // with global keys (a stride with an offset is no skip period: a table).
  const int64_t k = (L + 1) / 2 % L; // 0 < k < L where L > 1
  std::vector<std::pair<std::string, std::vector<Mask>>> offsets = {
      {"stride-offset", {stride(L, k), unite({band(0, L), stride(L, k)}),
                         intersect({band(0, 3 * L), stride(L, k)}),
                         unite({stride(L, k), globalKeys(c)})}},
  };
  for (auto &[name, heads] : offsets)
    cases.push_back({name + " " + paramText(p), makePattern(name, T, heads)});
  // Bidirectional: every primitive with keys after the query, a forward
  // band, symmetric bands cut out of strides and chunks (two components),
  // globals both ways (Longformer), a summary seen by every query, grid
  // windows (tables, as below) and tables over the whole square.
  const int64_t W = gridWidth(T);
  std::vector<std::pair<std::string, std::vector<Mask>>> bidirectional = {
      {"bidir-primitives", {leaf(MaskKind::Dense), band(-L, L), band(-2 * L, -1), stride(L), stride(L, k),
                            chunk(L), summary(L, c), globalKeys(c), globalQueries(3)}},
      {"bidir-cuts", {unite({band(-L, L), stride(L)}), unite({band(-1, 2), chunk(L)}),
                      unite({band(-L, 0), stride(L, k)}),
                      intersect({band(-3 * L, 2 * L), stride(2)})}},
      {"bidir-globals", {unite({band(-L, L), globalKeys(c), globalQueries(1)}),
                         unite({band(-2, 2), globalKeys(2), globalQueries(3)})}},
      {"bidir-tables", {unite({chunk(L), summary(L, c)}), gridWindow(W, 1, 1),
                        unite({gridWindow(W, 1, 2), chunk(W)}),
                        unite({band(-4, 4), randomBlocks(8, 2, 5)})}},
  };
  for (auto &[name, heads] : bidirectional)
    cases.push_back({name + " " + paramText(p), makeBidirectional(name, T, heads)});
  // Causal grid windows (tables: rows of W < 16 positions split every tile;
  // PlanTest.GridWindowsAreGridBoxes covers the grid boxes).
  cases.push_back({"grid-window " + paramText(p),
                   makePattern("grid-window", T, {gridWindow(W, 1, 1), gridWindow(W, 2, 0)})});
  // Grid windows on rows of 16: grid boxes where 16 divides T (tile 16),
  // tables otherwise; one wider than the grid.
  const std::vector<Mask> boxes = {gridWindow(16, 1, 3), unite({gridWindow(16, 2, 20), chunk(16)})};
  cases.push_back({"grid-box " + paramText(p), makePattern("grid-box", T, boxes)});
  cases.push_back({"bidir-grid-box " + paramText(p), makeBidirectional("bidir-grid-box", T, boxes)});
  return cases;
}

/// The first component called `name` of any head of `plan`, or null.
inline PlanComponent *findComponent(Plan &plan, const std::string &name) {
  for (HeadPlan &head : plan.heads)
    for (PlanComponent &c : head.components)
      if (c.name == name)
        return &c;
  return nullptr;
}

/// Test mutation: removes the first entry of the first non-empty backward
/// list of a table component, keeping the CSR well formed. False if none.
inline bool dropBackwardEntry(PlanComponent &c) {
  for (size_t kt = 0; kt + 1 < c.bwdOffsets.size(); ++kt)
    if (c.bwdOffsets[kt + 1] > c.bwdOffsets[kt]) {
      c.bwdEntries.erase(c.bwdEntries.begin() + c.bwdOffsets[kt]);
      for (size_t n = kt + 1; n < c.bwdOffsets.size(); ++n)
        --c.bwdOffsets[n];
      return true;
    }
  return false;
}

/// Every case of the grid: the pattern files (when the front end accepts the
/// parameters; `rejected` collects the messages when it does not) and the
/// hand-built masks.
inline std::vector<PatternCase> allCases(std::vector<std::string> *rejected = nullptr) {
  std::vector<PatternCase> cases;
  for (const Params &p : kParamGrid) {
    for (const std::string &file : kPatternFiles) {
      try {
        cases.push_back({file + ".mlir " + paramText(p), loadPatternFile(file, p)});
      } catch (const Error &error) {
        if (rejected)
          rejected->push_back(file + " " + paramText(p) + ": " + error.what());
      }
    }
    for (PatternCase &c : handBuiltCases(p))
      cases.push_back(std::move(c));
  }
  return cases;
}

} // namespace sparta::testing
