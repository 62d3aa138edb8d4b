//===- PlanReport.cpp - Print a plan and account for the work it does -----===//
//
// printPlan is the `--emit=plan` stage: the plan's IR (sparta.plan, see
// docs/plan-ir.md), with the index maps and schedule parameters that the
// code generator bakes into the kernels. measureWork counts what the kernels
// will compute (whole tiles) against the pairs the pattern allows; since every allowed pair
// belongs to exactly one component (tests/unit/PlanTest.cpp), the allowed
// pairs are counted from the plan's own tiles instead of an O(T^2) sweep.
//
//===----------------------------------------------------------------------===//
#include "PlanInternal.h"
#include "sparta/Load.h"
#include "sparta/PlanIR.h"

#include "mlir/IR/MLIRContext.h"
#include "llvm/Support/raw_ostream.h"

namespace sparta {
namespace {

using namespace tiling;

/// Pairs a component produces in one tile pair (band/prefix: its mapped
/// predicate; table: the exact original-coordinate predicate).
int64_t producedInTile(const PlanComponent &c, const TileSchedule &s, int64_t T, int g, int qt,
                       int kt) {
  int64_t n = 0;
  int qEnd = std::min((qt + 1) * s.qTile, s.q.len(g));
  int kEnd = std::min((kt + 1) * s.kTile, s.k.len(g));
  for (int qp = qt * s.qTile; qp < qEnd; ++qp)
    for (int kp = kt * s.kTile; kp < kEnd; ++kp)
      n += s.kind == kTable ? c.covers(T, s.q.row(g, qp), s.k.row(g, kp))
                            : s.allowed(g, qp, kp);
  return n;
}

} // namespace

WorkReport componentWork(const PlanComponent &c, int64_t T, bool countPairs) {
  WorkReport report;
  TileSchedule s = c.hostSchedule();
  int64_t tileArea = int64_t(s.qTile) * s.kTile;
  for (int g = 0; g < s.q.groups(); ++g)
    for (int qt = 0; qt * s.qTile < s.q.len(g); ++qt)
      for (int n = 0, count = s.fwdCount(g, qt); n < count; ++n) {
        TileRef t = s.fwdTile(g, qt, n);
        report.computedElements += tileArea;
        if (t.full) {
          ++report.fullTiles;
          report.allowedPairs +=
              int64_t(std::min((qt + 1) * s.qTile, s.q.len(g)) - qt * s.qTile) * s.kTile;
        } else {
          ++report.partialTiles;
          if (countPairs)
            report.allowedPairs += producedInTile(c, s, T, g, qt, t.tile);
        }
      }
  return report;
}

int64_t computedElements(const PlanComponent &c) {
  const TileSchedule s = c.hostSchedule();
  int64_t tiles = 0;
  for (int g = 0; g < s.q.groups(); ++g)
    for (int qt = 0; qt * s.qTile < s.q.len(g); ++qt)
      tiles += s.fwdCount(g, qt);
  return tiles * s.qTile * s.kTile;
}

WorkReport measureWork(const Plan &plan) {
  WorkReport report;
  for (const HeadPlan &head : plan.heads)
    for (const PlanComponent &c : head.components) {
      WorkReport w = componentWork(c, plan.T, /*countPairs=*/true);
      report.computedElements += w.computedElements;
      report.allowedPairs += w.allowedPairs;
      report.fullTiles += w.fullTiles;
      report.partialTiles += w.partialTiles;
    }
  return report;
}

std::string printPlan(const Plan &plan) {
  // A private context per call, like the front end: printing stays
  // thread-safe and the plan's attributes do not outlive the text.
  mlir::MLIRContext context(mlir::MLIRContext::Threading::DISABLED);
  registerSpartaDialect(context);
  mlir::OpBuilder builder(&context);
  mlir::OwningOpRef<mlir::ModuleOp> module = mlir::ModuleOp::create(builder.getUnknownLoc());
  builder.setInsertionPointToEnd(module->getBody());
  mlir::sparta::PlanOp op = buildPlanIR(plan, builder);
  std::string text;
  llvm::raw_string_ostream os(text);
  op->print(os);
  os << '\n';
  return text;
}

} // namespace sparta
