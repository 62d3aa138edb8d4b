//===- PlanIR.h - sparta::Plan <-> sparta.plan IR ----------------------------===//
//
// The plan as IR (SpartaPlanOps.td) and back. buildPlanIR writes every field
// of a sparta::Plan that the code generator reads, and readPlanIR restores
// them exactly: readPlanIR(buildPlanIR(p)) == p field by field (tests/unit/
// PlanIRTest.cpp), so kernels generated from either are identical.
// Implemented in compiler/lib/plan/PlanToIR.cpp (libsparta), like Load.h.
//
//===----------------------------------------------------------------------===//
#pragma once

#include "sparta/Plan.h"
#include "sparta/Dialect/SpartaPlanOps.h"

#include "mlir/IR/Builders.h"

namespace sparta {

/// Creates the sparta.plan of `plan` at the builder's insertion point, with
/// `loc` on every op.
mlir::sparta::PlanOp buildPlanIR(const Plan &plan, mlir::OpBuilder &builder,
                                 mlir::Location loc);
/// Same, at an unknown location.
mlir::sparta::PlanOp buildPlanIR(const Plan &plan, mlir::OpBuilder &builder);

/// The plan a (verified) sparta.plan describes. Throws sparta::Error, with the
/// verifier's diagnostics, when the op does not verify.
Plan readPlanIR(mlir::sparta::PlanOp op);

/// Mask <-> #sparta.mask, exact both ways.
mlir::sparta::MaskAttr toMaskAttr(mlir::MLIRContext *context, const Mask &mask);
Mask fromMaskAttr(mlir::sparta::MaskAttr attr);

} // namespace sparta
