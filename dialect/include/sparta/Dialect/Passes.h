//===- Passes.h - The sparta dialect's passes ------------------------------===//
//
// sparta-instantiate and sparta-canonicalize (Passes.td), their registration
// hook for tools, and the rewrite driver both the pass and the front end use.
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
