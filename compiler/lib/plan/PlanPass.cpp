//===- PlanPass.cpp - The sparta-plan pass: pattern -> sparta.plan ---------===//
//
// Runs the C++ planner on each instantiated pattern of a module and puts the
// plan's IR in the pattern's place (declared in PlanPasses.td beside this
// file: it needs the planner, which the dialect library does not link). The pattern is canonicalized first, as the CLI and the JIT do
// before planning (Load.h), so that `sparta-opt --sparta-plan` and
// `sparta compile --emit=plan` show the same plan.
//
//===----------------------------------------------------------------------===//
#include "sparta/Load.h"
#include "sparta/Dialect/Passes.h"
#include "sparta/PlanPasses.h"
#include "sparta/PlanIR.h"
#include "sparta/Error.h"

#include "llvm/ADT/STLExtras.h"

namespace mlir::sparta {
#define GEN_PASS_DEF_SPARTAPLAN
#include "sparta/PlanPasses.h.inc"
} // namespace mlir::sparta

using namespace mlir;
using namespace mlir::sparta;

namespace {

struct PlanPass : public mlir::sparta::impl::SpartaPlanBase<PlanPass> {
  using Base::Base;

  void runOnOperation() override {
    ModuleOp module = getOperation();
    for (PatternOp pattern : llvm::make_early_inc_range(module.getOps<PatternOp>())) {
      if (!pattern.getInstantiated()) {
        pattern.emitError() << "pattern @" << pattern.getSymName()
                            << " is not instantiated; run --sparta-instantiate first";
        return signalPassFailure();
      }
      if (failed(canonicalizePatterns(pattern)))
        return signalPassFailure();
      ::sparta::Plan plan;
      try {
        ::sparta::PlanOptions options;
        if (tile != 0)
          options = ::sparta::PlanOptions::square(tile);
        plan = ::sparta::planPattern(::sparta::toConcretePattern(pattern), options);
      } catch (const ::sparta::Error &error) {
        pattern.emitError() << "cannot plan @" << pattern.getSymName() << ": " << error.what();
        return signalPassFailure();
      }
      OpBuilder builder(pattern);
      ::sparta::buildPlanIR(plan, builder, pattern.getLoc());
      pattern.erase();
    }
  }
};

} // namespace
