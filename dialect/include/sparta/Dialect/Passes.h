//===- Passes.h - The sparta dialect's passes ------------------------------===//
//
// sparta-instantiate and sparta-canonicalize (Passes.td), their registration
// hook for tools, and the typed entry points the passes and the front end
// share (pattern choice, instantiation, the rewrite driver).
//
//===----------------------------------------------------------------------===//
#pragma once

#include "sparta/Dialect/SpartaOps.h"

#include "mlir/IR/BuiltinOps.h"
#include "mlir/Pass/Pass.h"
#include "llvm/ADT/StringMap.h"

namespace mlir::sparta {

#define GEN_PASS_DECL
#include "sparta/Dialect/Passes.h.inc"

#define GEN_PASS_REGISTRATION
#include "sparta/Dialect/Passes.h.inc"

/// Keeps the pattern called `name` in `module` (its only pattern when `name`
/// is empty) and erases the others, which may not accept the same bindings.
/// When the choice fails, the error lists the file's patterns and, for an
/// empty `name`, says to choose one with `option` (e.g. "--pattern NAME").
FailureOr<PatternOp> keepOnlyPattern(ModuleOp module, StringRef name, StringRef option);

/// Binds `pattern`'s parameters (`bindings` first, then the defaults) and
/// folds every expression of its body: sparta-instantiate on one pattern.
/// The caller verifies the result (T and L ranges, the ops' operands).
LogicalResult instantiatePattern(PatternOp pattern, const llvm::StringMap<int64_t> &bindings);

/// Runs the canonicalization rewrites on one op (a module or a pattern)
/// until nothing changes: the greedy driver, CSE, and the driver again.
LogicalResult canonicalizePatterns(Operation *root);

} // namespace mlir::sparta
