//===- Load.h - Load an instantiated pattern module (for later stages) -----===//
//
// The front end's MLIR-level entry point: parse a pattern file, keep one
// pattern, run sparta-instantiate and sparta-canonicalize and verify. Stages
// that work on the IR (analysis, planning) start from the module it returns;
// stages that need no MLIR use sparta::loadPattern (sparta/Frontend.h).
// Implemented in compiler/lib/Frontend.cpp.
//
//===----------------------------------------------------------------------===//
#pragma once

#include "sparta/Frontend.h"
#include "sparta/Dialect/SpartaOps.h"

#include "mlir/IR/BuiltinOps.h"
#include "mlir/IR/OwningOpRef.h"

namespace sparta {

/// Loads the sparta dialect (and nothing else) into `context`.
void registerSpartaDialect(mlir::MLIRContext &context);

/// Parses `path`, keeps the pattern `patternName` (or the only one), binds the
/// parameters and canonicalizes. The module holds exactly one instantiated
/// sparta.pattern. Throws sparta::Error with the located diagnostics.
mlir::OwningOpRef<mlir::ModuleOp> loadInstantiatedModule(mlir::MLIRContext &context,
                                                         const std::string &path,
                                                         const ParamBindings &bindings,
                                                         const std::string &patternName = "");

/// The single pattern of a module returned by loadInstantiatedModule.
mlir::sparta::PatternOp getPattern(mlir::ModuleOp module);

/// Converts an instantiated, canonicalized pattern to its MLIR-free form.
/// Throws sparta::Error (file:line:col where the op has one) when an
/// expression is not constant or the masks exceed the node limits
/// (sparta/Dialect/Limits.h).
ConcretePattern toConcretePattern(mlir::sparta::PatternOp pattern);

} // namespace sparta
