//===- PlanReport.cpp - Print a plan and account for the work it does -----===//
//
// printPlan is the `--emit=plan` stage: one op per head and per component,
// with the index maps and schedule parameters that the code generator bakes
// into the kernels. measureWork counts what the kernels will compute (whole
// M x M tiles) against the pairs the pattern allows; since every allowed pair
// belongs to exactly one component (tests/unit/PlanTest.cpp), the allowed
// pairs are counted from the plan's own tiles instead of an O(T^2) sweep.
//
//===----------------------------------------------------------------------===//
#include "sparta/Plan.h"

#include <fmt/format.h>

namespace sparta {
namespace {

using namespace tiling;

std::string mapText(const IndexMap &m) {
  switch (m.kind) {
  case kIdentity: return "identity";
  case kStrided: return fmt::format("strided<{}>", m.p);
  case kChunked: return fmt::format("chunked<{}>", m.p);
  default: return fmt::format("summary_gather<{}, {}>", m.p, m.w);
  }
}

std::string boundText(int v) { return v >= kUnbounded ? "inf" : std::to_string(v); }

std::string scheduleText(const PlanComponent &c) {
  const TileSchedule &s = c.schedule;
  switch (s.kind) {
  case kBand:
    return fmt::format("band<{}, {}>{}", s.dlo, boundText(s.dhi),
                       s.qlimit < s.q.T ? fmt::format(", rows_below = {}", s.qlimit) : "");
  case kPrefix: {
    const char *kinds[] = {"global_keys", "summary", "summary_earlier_chunks"};
    std::string text = fmt::format("prefix<{}>", kinds[s.prefixKind]);
    if (s.prefixKind == kPrefixGlobalKeys)
      text += fmt::format(", count = {}, offset = {}", s.count, s.offset);
    return text;
  }
  default:
    return fmt::format("table<{} entries>", c.fwdEntries.size());
  }
}

/// Pairs a component produces in one tile pair (band/prefix: its mapped
/// predicate; table: the exact original-coordinate predicate).
int64_t producedInTile(const PlanComponent &c, const TileSchedule &s, int64_t T, int g, int qt,
                       int kt) {
  int64_t n = 0;
  int qEnd = std::min((qt + 1) * s.tile, s.q.len(g));
  int kEnd = std::min((kt + 1) * s.tile, s.k.len(g));
  for (int qp = qt * s.tile; qp < qEnd; ++qp)
    for (int kp = kt * s.tile; kp < kEnd; ++kp)
      n += s.kind == kTable ? c.covers(T, s.q.row(g, qp), s.k.row(g, kp))
                            : s.allowed(g, qp, kp);
  return n;
}

} // namespace

WorkReport measureWork(const Plan &plan) {
  WorkReport report;
  int64_t tileArea = int64_t(plan.tile) * plan.tile;
  for (const HeadPlan &head : plan.heads)
    for (const PlanComponent &c : head.components) {
      TileSchedule s = c.hostSchedule();
      for (int g = 0; g < s.q.groups(); ++g)
        for (int qt = 0; qt * s.tile < s.q.len(g); ++qt)
          for (int n = 0, count = s.fwdCount(g, qt); n < count; ++n) {
            TileRef t = s.fwdTile(g, qt, n);
            report.computedElements += tileArea;
            if (t.full) {
              ++report.fullTiles;
              report.allowedPairs += int64_t(std::min((qt + 1) * s.tile, s.q.len(g)) - qt * s.tile) *
                                     s.tile;
            } else {
              ++report.partialTiles;
              report.allowedPairs += producedInTile(c, s, plan.T, g, qt, t.tile);
            }
          }
    }
  return report;
}

std::string printPlan(const Plan &plan) {
  std::string params;
  for (const auto &[name, value] : plan.params)
    params += fmt::format("{}{} = {}", params.empty() ? "" : ", ", name, value);
  std::string out = fmt::format("sparta.plan @{}({}) tile = {} {{\n", plan.patternName, params, plan.tile);
  for (const HeadPlan &head : plan.heads) {
    out += fmt::format("  sparta.head {} mask = \"{}\" {{\n", head.maskIndex, toString(head.mask));
    if (head.components.empty())
      out += "    // no allowed pairs: the output is zero\n";
    for (const PlanComponent &c : head.components) {
      TileSchedule s = c.hostSchedule();
      out += fmt::format("    sparta.component @{} \"{}\" queries = {}, keys = {}, schedule = {}, "
                         "grid = <fwd = {}, bwd = {}>\n",
                         c.name, c.description, mapText(s.q), mapText(s.k), scheduleText(c),
                         s.numQBlocks(), s.numKBlocks());
    }
    out += "  }\n";
  }
  out += "}\n";
  return out;
}

} // namespace sparta
