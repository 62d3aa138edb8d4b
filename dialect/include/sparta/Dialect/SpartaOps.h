//===- SpartaOps.h - The sparta operations ---------------------------------===//
//
// sparta.pattern, the mask ops and sparta.heads (SpartaOps.td).
//
//===----------------------------------------------------------------------===//
#pragma once

#include "sparta/Dialect/SpartaDialect.h"

#include "mlir/Bytecode/BytecodeOpInterface.h"
#include "mlir/IR/Builders.h"
#include "mlir/IR/BuiltinOps.h"
#include "mlir/IR/OpDefinition.h"
#include "mlir/IR/OpImplementation.h"
#include "mlir/IR/SymbolTable.h"
#include "mlir/Interfaces/SideEffectInterfaces.h"

namespace mlir::sparta {
class HeadsOp;
} // namespace mlir::sparta

#define GET_OP_CLASSES
#include "sparta/Dialect/SpartaOps.h.inc"
