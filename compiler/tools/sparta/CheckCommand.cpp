//===- CheckCommand.cpp - sparta check: validity and cost report ----------===//
//
// Prints a line-oriented `key: value` report (stable keys, one fact per line,
// so that tests can FileCheck single lines) and exits 0 when the pattern is
// valid over the requested layers, 1 when it is not.
//
//===----------------------------------------------------------------------===//
#include "sparta/cli/PatternArguments.h"
#include "sparta/Cost.h"
#include "sparta/Packing.h"
#include "sparta/Plan.h"
#include "sparta/Validity.h"
#include "sparta/params.h"

#include <cstdio>
#include <iostream>
#include <string>

namespace sparta::cli {

static constexpr int64_t kMaxCheckT = 65536;

/// Everything `sparta check` reports. Later analyses (e.g. the planner's work
/// ratio) add a field here, fill it in runCheck and print it in printReport.
struct CheckReport {
  ConcretePattern pattern;
  ValidityOptions validityOptions;
  ValidityResult validity;
  CostReport cost;
  Plan plan;       // what the kernels run (or the --tile study plan)
  WorkReport work; // of that plan
};

static std::string fixed(double value, int decimals) {
  char buffer[64];
  std::snprintf(buffer, sizeof buffer, "%.*f", decimals, value);
  return buffer;
}

/// Densities with four decimals, as bench/flex_bench.py reports them; tiny ones in
/// scientific notation so that they do not print as 0.0000.
static std::string formatDensity(double density) {
  if (density != 0 && density < 0.001) {
    char buffer[64];
    std::snprintf(buffer, sizeof buffer, "%.3e", density);
    return buffer;
  }
  return fixed(density, 4);
}

static void printCost(std::ostream &out, const std::string &prefix, const MaskCost &c,
                      bool causal) {
  out << prefix << "pairs: " << c.pairs << "\n";
  out << prefix << "keys-per-query: max " << c.maxKeys << ", mean " << fixed(c.meanKeys, 2)
      << ", min " << c.minKeys << "\n";
  out << prefix << "empty-queries: " << c.emptyQueries << "\n";
  out << prefix << "density: " << formatDensity(c.density) << "\n";
  out << prefix << "tiles: " << c.tilesNonEmpty << " non-empty, " << c.tilesFull
      << " full, of " << c.tilesCausal << (causal ? " causal" : " (all, bidirectional)") << "\n";
}

/// One word for the schedule of a component.
static const char *componentScheduleKind(const PlanComponent &c) {
  switch (c.schedule.kind) {
  case tiling::kBand: return "band";
  case tiling::kPrefix: return "prefix";
  case tiling::kGridBox: return "grid box";
  default: return "table";
  }
}

static void printReport(std::ostream &out, const CheckReport &report) {
  const ConcretePattern &p = report.pattern;
  out << "pattern: " << p.name << "\n";
  out << "params:";
  const char *separator = " ";
  for (const auto &[name, value] : p.params) {
    out << separator << name << "=" << value;
    separator = ", ";
  }
  out << "\n";
  out << "T: " << p.T << "\n";
  if (!p.causal)
    out << "direction: bidirectional\n";
  out << "heads: " << p.heads.size() << "\n";
  for (size_t h = 0; h < p.heads.size(); ++h)
    out << "head " << h << ": " << toString(p.heads[h]) << "\n";

  // Validity.
  const int64_t layers = report.validityOptions.layers;
  out << "layers: " << layers << "\n";
  out << "mode: " << (report.validityOptions.interleaved ? "interleaved" : "union") << "\n";
  out << "valid: " << (report.validity.valid ? "yes" : "no") << "\n";
  if (!report.validity.valid)
    out << "counterexample: query " << report.validity.query << " cannot reach key "
        << report.validity.key << " in " << layers << (layers == 1 ? " layer" : " layers")
        << "\n";

  // Cost, per head then over the heads.
  out << "tile: " << report.cost.tile << "\n";
  for (size_t h = 0; h < report.cost.heads.size(); ++h)
    printCost(out, "head " + std::to_string(h) + " ", report.cost.heads[h], p.causal);
  printCost(out, "", report.cost.overall, p.causal);

  // What the planned kernels compute: each component's tile shape and
  // schedule, why a component has no closed form, then score elements over
  // allowed pairs.
  for (const HeadPlan &head : report.plan.heads) {
    if (head.components.empty())
      out << "component: head " << head.maskIndex
          << " empty: the mask allows no pair (O = 0, lse = -inf, zero gradients)\n";
    for (const PlanComponent &c : head.components) {
      const tiling::TileSchedule &s = c.schedule;
      out << "component: head " << head.maskIndex << " " << c.name << ": " << s.qTile << "x"
          << s.kTile << " tiles, " << componentScheduleKind(c)
          << (s.q.pack > 1 ? ", " + std::to_string(s.q.pack) + " groups per tile" : "")
          << (c.unevenLists() ? ", longest first" : "")
          << (c.pairsQueryTiles(128) ? ", forward in query-tile pairs at d = 128 on sm_90a (" +
                                           fixed(c.pairedQueryUse(), 2) + " of steps busy)"
                                     : "")
          << "\n";
      if (s.kind == tiling::kTable)
        out << "fallback: head " << head.maskIndex << " " << c.description << ": "
            << c.fallbackReason << "\n";
    }
  }
  out << "work-ratio: " << fixed(report.work.ratio(), 3) << "\n";
  out << "plan-tiles: " << report.work.fullTiles << " full, " << report.work.partialTiles
      << " partial\n";

  // Packed documents (Packing.h): the period their starts must be multiples of.
  if (const std::optional<int64_t> period = translationPeriod(p))
    out << "packable: period " << *period << "\n";
  else
    out << "packable: no (" << packingRefusal(p) << ")\n";
}

static int runCheck(const Arguments &args) {
  CheckReport report;
  report.validityOptions.layers = args.integer<int>("layers");
  report.validityOptions.interleaved = args.has("interleaved");
  // --tile M: the block-mask counts and a study plan use M x M tiles; by
  // default the counts use the kernels' first shape and the plan chooses
  // among all of them.
  const int tile = args.has("tile") ? args.integer<int>("tile")
                                    : int(tiling::kKernelTileShapes[0].qRows);
  report.pattern = loadPatternArgument(args);
  if (report.pattern.T > kMaxCheckT)
    throw Error("T = " + std::to_string(report.pattern.T) +
                " is too large for 'sparta check' (at most " + std::to_string(kMaxCheckT) + ")");
  report.validity = checkValidity(report.pattern, report.validityOptions);
  report.cost = costReport(report.pattern, tile);
  report.plan = planPattern(report.pattern,
                            args.has("tile") ? PlanOptions::square(int(tile)) : PlanOptions{});
  report.work = measureWork(report.plan);
  printReport(std::cout, report);
  return report.validity.valid ? 0 : 1;
}

SPARTA_COMMAND({"check",
                "check that N layers connect every query to every earlier key; report the cost",
                "FILE [--set NAME=VALUE]... [--pattern NAME] [--layers N] [--interleaved] "
                "[--tile M]",
                withPatternOptions({
                    Option::integer("layers", "N", {1, 64}, "number of stacked layers")
                        .byDefault("2"),
                    Option::flag("interleaved", "layer m uses head m mod n alone (default: every "
                                                "layer uses the union of the heads)"),
                    Option::integer("tile", "M", {2, 1 << 20},
                                    "edge of the square tiles counted in the report and planned "
                                    "for the work ratio")
                        .derivedDefault("the kernels' tile shapes"),
                }),
                runCheck});

} // namespace sparta::cli
