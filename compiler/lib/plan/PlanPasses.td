//===- PlanPasses.td - The planning pass -------------------------------------===//
//
// sparta-plan replaces each instantiated pattern by its plan (SpartaPlanOps.td).
// It runs the C++ planner, so it is declared here, beside its implementation
// (PlanPass.cpp), and not with the dialect's own passes.
//
//===----------------------------------------------------------------------===//
#ifndef SPARTA_PLAN_PASSES_TD
#define SPARTA_PLAN_PASSES_TD

include "mlir/Pass/PassBase.td"

def SpartaPlan : Pass<"sparta-plan", "::mlir::ModuleOp"> {
  let summary = "Replace each instantiated pattern by its plan (sparta.plan)";
  let description = [{
    Canonicalizes each instantiated sparta.pattern (as the CLI does before
    planning, so both give the same plan), runs the planner
    (sparta::planPattern) with the given tile edge and replaces the pattern
    by the resulting sparta.plan. Errors: a pattern that is not
    instantiated, a plan the planner rejects (T outside [1, 2^28], tile < 1).
  }];
  let options = [
    Option<"tile", "tile", "int", /*default=*/"64", "edge of the square score tiles">,
  ];
}

#endif // SPARTA_PLAN_PASSES_TD
