//===- SpartaDialect.h - The sparta dialect, its type and attribute --------===//
//
// Include this (or SpartaOps.h, which includes it) to use the dialect from
// C++. ExprKind is declared here by hand because the TableGen'd expression
// attribute stores it as a parameter.
//
//===----------------------------------------------------------------------===//
#pragma once

#include "mlir/IR/BuiltinAttributes.h"
#include "mlir/IR/Dialect.h"
#include "mlir/IR/DialectImplementation.h"
#include "llvm/ADT/StringMap.h"

#include "sparta/tiling.h"

#include <optional>
#include <string>

namespace mlir::sparta {

/// Node kinds of an integer expression (#sparta.expr). Division and `mod`
/// are floor division and its remainder (the result has the divisor's sign).
enum class ExprKind : uint8_t {
  Constant, // value
  Param,    // name
  Neg,      // -operands[0]
  Add,
  Sub,
  Mul,
  FloorDiv, // `/`
  Mod,      // `mod`
};

class ExprAttr;

} // namespace mlir::sparta

#include "sparta/Dialect/SpartaDialect.h.inc"

#define GET_TYPEDEF_CLASSES
#include "sparta/Dialect/SpartaTypes.h.inc"

// Kinds of the plan attributes (SpartaPlanAttrs.td), used as their parameters.
#include "sparta/Dialect/SpartaEnums.h.inc"

#define GET_ATTRDEF_CLASSES
#include "sparta/Dialect/SpartaAttrs.h.inc"

namespace mlir::sparta {

/// Parses an expression in the surface syntax (`2 * L`, `T / L - 1`, `c mod 4`).
ParseResult parseExpr(AsmParser &parser, ExprAttr &result);
/// Prints an expression in the surface syntax with the fewest parentheses.
void printExpr(AsmPrinter &printer, ExprAttr expr);
/// The surface syntax as a string (for diagnostics and tests).
std::string exprToString(ExprAttr expr);

/// Checked 64-bit arithmetic used by every fold: failure on overflow or
/// division by zero, with a message in `error`.
FailureOr<int64_t> applyExprOp(ExprKind kind, int64_t lhs, int64_t rhs, std::string &error);

} // namespace mlir::sparta
