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
    (sparta::planPattern) and replaces the pattern by the resulting
    sparta.plan. The planner chooses each component's tile shape among the
    kernels' shapes, or uses tile x tile tiles when `tile` is given. Errors:
    a pattern that is not instantiated, a plan the planner rejects (T
    outside [1, 2^28], tile < 2).
  }];
  let options = [
    Option<"tile", "tile", "int", /*default=*/"0",
           "plan for square tile x tile score tiles (default: the kernels' tile shapes)">,
  ];
}

#endif // SPARTA_PLAN_PASSES_TD
