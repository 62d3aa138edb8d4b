//===- SpartaPlanOps.h - The plan ops ---------------------------------------===//
//
// sparta.plan, sparta.head_plan and sparta.component (SpartaPlanOps.td).
// Their attributes (#sparta.mask, #sparta.map, schedules) come with
// SpartaDialect.h.
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

#define GET_OP_CLASSES
#include "sparta/Dialect/SpartaPlanOps.h.inc"
