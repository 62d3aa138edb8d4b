//===- SpartaAttrs.td - The integer expression attribute -------------------===//
//
// #sparta.expr<...>: a 64-bit integer expression over the parameters of the
// enclosing pattern (literals, names, + - * / mod, unary minus). It is a
// small immutable tree, uniqued by MLIR like any attribute, so structurally
// equal expressions compare equal by pointer. Names are resolved by the op
// verifiers against the enclosing sparta.pattern, not here: an attribute has
// no parent.
//
//===----------------------------------------------------------------------===//
#ifndef SPARTA_ATTRS_TD
#define SPARTA_ATTRS_TD

include "sparta/Dialect/SpartaDialect.td"

def Sparta_ExprAttr : AttrDef<Sparta_Dialect, "Expr"> {
  let mnemonic = "expr";
  let summary = "an integer expression over pattern parameters";
  let parameters = (ins
    "::mlir::sparta::ExprKind":$kind,
    "int64_t":$value,                       // Constant
    StringRefParameter<"parameter name", "\"\"">:$name, // Param
    ArrayRefParameter<"::mlir::sparta::ExprAttr", "operands">:$operands);
  let hasCustomAssemblyFormat = 1;
  let genVerifyDecl = 0;
  let extraClassDeclaration = [{
    static ExprAttr getConstant(::mlir::MLIRContext *ctx, int64_t value);
    static ExprAttr getParam(::mlir::MLIRContext *ctx, ::llvm::StringRef name);
    static ExprAttr getUnary(::mlir::MLIRContext *ctx, ExprKind kind, ExprAttr operand);
    static ExprAttr getBinary(::mlir::MLIRContext *ctx, ExprKind kind, ExprAttr lhs,
                              ExprAttr rhs);

    /// The value when the expression has no parameter at all (after folding
    /// literal arithmetic; division by zero or overflow gives no value).
    std::optional<int64_t> getConstantValue() const;
    /// Appends every parameter name used, in order of appearance.
    void collectParams(::llvm::SmallVectorImpl<::llvm::StringRef> &names) const;
    /// Evaluates with the given parameter values. On failure (unknown name,
    /// division by zero, 64-bit overflow) returns failure and sets `error`.
    ::llvm::FailureOr<int64_t> evaluate(const ::llvm::StringMap<int64_t> &values,
                                        std::string &error) const;
  }];
}

// The plan attributes must share this TableGen run (see SpartaPlanAttrs.td).
include "sparta/Dialect/SpartaPlanAttrs.td"

#endif // SPARTA_ATTRS_TD
