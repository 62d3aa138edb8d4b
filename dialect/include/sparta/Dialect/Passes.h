//===- Passes.h - The sparta dialect's passes ------------------------------===//
//
// sparta-instantiate, sparta-canonicalize and sparta-plan (Passes.td; the
// last is defined in libsparta's compiler/lib/plan/PlanPass.cpp), and a
// registration hook for tools.
//
//===----------------------------------------------------------------------===//
#pragma once

#include "sparta/Dialect/SpartaOps.h"

#include "mlir/Pass/Pass.h"

namespace mlir::sparta {

#define GEN_PASS_DECL
#include "sparta/Dialect/Passes.h.inc"

#define GEN_PASS_REGISTRATION
#include "sparta/Dialect/Passes.h.inc"

/// Runs the canonicalization rewrites on one op (a module or a pattern)
/// until nothing changes: the greedy driver, CSE, and the driver again.
LogicalResult canonicalizePatterns(Operation *root);

} // namespace mlir::sparta
