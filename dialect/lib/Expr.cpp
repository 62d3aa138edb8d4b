//===- Expr.cpp - #sparta.expr: build, evaluate, parse, print --------------===//
//
// Integer expressions over pattern parameters. The tree is kept as the user
// wrote it (only `-<literal>` is folded into a negative literal so that
// printing and re-parsing is a fixed point); evaluation is checked 64-bit
// arithmetic with floor division, so an instantiation either gives the exact
// value or a diagnostic, never a silently wrapped number.
//
//===----------------------------------------------------------------------===//
#include "sparta/Dialect/SpartaDialect.h"

#include "mlir/IR/OpImplementation.h"
#include "llvm/ADT/SmallString.h"
#include "llvm/ADT/StringExtras.h"
#include "llvm/Support/MathExtras.h"
#include "llvm/Support/raw_ostream.h"

using namespace mlir;
using namespace mlir::sparta;

//===----------------------------------------------------------------------===//
// Construction and evaluation
//===----------------------------------------------------------------------===//

ExprAttr ExprAttr::getConstant(MLIRContext *ctx, int64_t value) {
  return get(ctx, ExprKind::Constant, value, "", {});
}

ExprAttr ExprAttr::getParam(MLIRContext *ctx, StringRef name) {
  return get(ctx, ExprKind::Param, 0, name, {});
}

ExprAttr ExprAttr::getUnary(MLIRContext *ctx, ExprKind kind, ExprAttr operand) {
  return get(ctx, kind, 0, "", {operand});
}

ExprAttr ExprAttr::getBinary(MLIRContext *ctx, ExprKind kind, ExprAttr lhs, ExprAttr rhs) {
  return get(ctx, kind, 0, "", {lhs, rhs});
}

FailureOr<int64_t> mlir::sparta::applyExprOp(ExprKind kind, int64_t a, int64_t b,
                                             std::string &error) {
  int64_t r = 0;
  switch (kind) {
  case ExprKind::Neg:
    if (llvm::SubOverflow<int64_t>(0, a, r))
      break;
    return r;
  case ExprKind::Add:
    if (llvm::AddOverflow(a, b, r))
      break;
    return r;
  case ExprKind::Sub:
    if (llvm::SubOverflow(a, b, r))
      break;
    return r;
  case ExprKind::Mul:
    if (llvm::MulOverflow(a, b, r))
      break;
    return r;
  case ExprKind::FloorDiv:
  case ExprKind::Mod: {
    if (b == 0) {
      error = kind == ExprKind::Mod ? "modulo by zero" : "division by zero";
      return failure();
    }
    // INT64_MIN / -1 is the one quotient that does not fit; its remainder is 0.
    if (b == -1)
      return kind == ExprKind::Mod ? FailureOr<int64_t>(0)
                                   : applyExprOp(ExprKind::Neg, a, 0, error);
    int64_t q = a / b, m = a % b;
    // C++ truncates; floor semantics move the quotient down when the signs differ.
    if (m != 0 && ((m < 0) != (b < 0))) {
      q -= 1;
      m += b;
    }
    return kind == ExprKind::Mod ? m : q;
  }
  case ExprKind::Constant:
  case ExprKind::Param:
    error = "not an operator";
    return failure();
  }
  error = "integer overflow (the value does not fit in 64 bits)";
  return failure();
}

FailureOr<int64_t> ExprAttr::evaluate(const llvm::StringMap<int64_t> &values,
                                      std::string &error) const {
  switch (getKind()) {
  case ExprKind::Constant:
    return getValue();
  case ExprKind::Param: {
    auto it = values.find(getName());
    if (it == values.end()) {
      error = ("unknown parameter '" + getName() + "'").str();
      return failure();
    }
    return it->second;
  }
  default:
    break;
  }
  ArrayRef<ExprAttr> ops = getOperands();
  if (ops.empty() || (getKind() != ExprKind::Neg && ops.size() != 2)) {
    error = "malformed expression";
    return failure();
  }
  FailureOr<int64_t> lhs = ops[0].evaluate(values, error);
  if (failed(lhs))
    return failure();
  int64_t rhsValue = 0;
  if (getKind() != ExprKind::Neg) {
    FailureOr<int64_t> rhs = ops[1].evaluate(values, error);
    if (failed(rhs))
      return failure();
    rhsValue = *rhs;
  }
  return applyExprOp(getKind(), *lhs, rhsValue, error);
}

std::optional<int64_t> ExprAttr::getConstantValue() const {
  if (getKind() == ExprKind::Constant)
    return getValue();
  std::string error;
  FailureOr<int64_t> value = evaluate({}, error);
  if (failed(value))
    return std::nullopt;
  return *value;
}

void ExprAttr::collectParams(SmallVectorImpl<StringRef> &names) const {
  if (getKind() == ExprKind::Param)
    names.push_back(getName());
  for (ExprAttr operand : getOperands())
    operand.collectParams(names);
}

//===----------------------------------------------------------------------===//
// Printing
//===----------------------------------------------------------------------===//

// Binding strength: sums < products < unary minus < atoms. A child is
// parenthesised when it binds less tightly than its position requires.
static int precedence(ExprAttr e) {
  switch (e.getKind()) {
  case ExprKind::Add:
  case ExprKind::Sub:
    return 1;
  case ExprKind::Mul:
  case ExprKind::FloorDiv:
  case ExprKind::Mod:
    return 2;
  case ExprKind::Neg:
    return 3;
  case ExprKind::Constant:
    return e.getValue() < 0 ? 3 : 4;
  case ExprKind::Param:
    return 4;
  }
  return 4;
}

static void print(llvm::raw_ostream &os, ExprAttr e, int minPrec) {
  bool parens = precedence(e) < minPrec;
  if (parens)
    os << '(';
  switch (e.getKind()) {
  case ExprKind::Constant:
    os << e.getValue();
    break;
  case ExprKind::Param:
    os << e.getName();
    break;
  case ExprKind::Neg:
    os << '-';
    // `-(-x)` rather than `--x`, so the text reads unambiguously.
    print(os, e.getOperands()[0], 4);
    break;
  default: {
    const char *op = e.getKind() == ExprKind::Add        ? " + "
                     : e.getKind() == ExprKind::Sub      ? " - "
                     : e.getKind() == ExprKind::Mul      ? " * "
                     : e.getKind() == ExprKind::FloorDiv ? " / "
                                                         : " mod ";
    int prec = precedence(e);
    if (e.getOperands().size() != 2) {
      os << "<malformed>";
      break;
    }
    // Left associative: the right operand needs strictly tighter binding.
    print(os, e.getOperands()[0], prec);
    os << op;
    print(os, e.getOperands()[1], prec + 1);
    break;
  }
  }
  if (parens)
    os << ')';
}

std::string mlir::sparta::exprToString(ExprAttr expr) {
  std::string text;
  llvm::raw_string_ostream os(text);
  print(os, expr, 0);
  return text;
}

void mlir::sparta::printExpr(AsmPrinter &printer, ExprAttr expr) {
  print(printer.getStream(), expr, 0);
}

//===----------------------------------------------------------------------===//
// Parsing: a recursive descent over the AsmParser's tokens.
//   expr    := term (('+' | '-') term)*
//   term    := unary (('*' | '/' | 'mod') unary)*
//   unary   := '-' unary | primary
//   primary := integer | name | '(' expr ')'
//===----------------------------------------------------------------------===//

static ParseResult parseSum(AsmParser &parser, ExprAttr &result, unsigned depth);

// Evaluation and printing recurse over the tree, so untrusted text must not
// build one deep enough to exhaust the stack (the fuzzer's favourite trick).
static constexpr unsigned kMaxExprDepth = 256;

static ParseResult checkDepth(AsmParser &parser, SMLoc loc, unsigned depth) {
  if (depth > kMaxExprDepth)
    return parser.emitError(loc, "expression nested too deeply (more than ")
           << kMaxExprDepth << " levels)";
  return success();
}

/// `L % 3` is C's remainder, but `%` starts an SSA name in MLIR, and the
/// lexer reports "invalid SSA name" as soon as the token before it is
/// consumed. So an operand looks ahead in the text, from `end` (just past its
/// own token): a `%` on the same line followed by a space, or by a number
/// that does not name a new op (`%3 = ...`), is taken for that mistake.
static ParseResult rejectPercentAfter(AsmParser &parser, const char *end) {
  const char *p = end;
  while (*p == ' ' || *p == '\t')
    ++p;
  if (*p != '%')
    return success();
  const char *percent = p++;
  bool modulo = *p == ' ' || *p == '\t';
  if (llvm::isDigit(*p)) {
    while (llvm::isDigit(*p))
      ++p;
    while (*p == ' ' || *p == '\t')
      ++p;
    modulo = *p != '=' && *p != ',' && *p != ':' && *p != ')';
  }
  if (!modulo)
    return success();
  return parser.emitError(llvm::SMLoc::getFromPointer(percent),
                          "uses '%', which is not an operator: write the remainder as "
                          "'mod', e.g. 'L mod 3'");
}

/// Past the identifier or integer token that starts at `p`.
static const char *skipWordToken(const char *p) {
  while (llvm::isAlnum(*p) || *p == '_' || *p == '$' || *p == '.')
    ++p;
  return p;
}

static ParseResult parsePrimary(AsmParser &parser, ExprAttr &result, unsigned depth) {
  MLIRContext *ctx = parser.getContext();
  const char *token = parser.getCurrentLocation().getPointer();
  if (succeeded(parser.parseOptionalLParen())) {
    if (parseSum(parser, result, depth + 1))
      return failure();
    const char *close = parser.getCurrentLocation().getPointer();
    if (*close == ')' && failed(rejectPercentAfter(parser, close + 1)))
      return failure();
    return parser.parseRParen();
  }
  if (llvm::isAlnum(*token) || *token == '_')
    if (failed(rejectPercentAfter(parser, skipWordToken(token))))
      return failure();
  int64_t value = 0;
  OptionalParseResult integer = parser.parseOptionalInteger(value);
  if (integer.has_value()) {
    if (failed(*integer))
      return failure();
    result = ExprAttr::getConstant(ctx, value);
    return success();
  }
  SMLoc loc = parser.getCurrentLocation();
  StringRef name;
  if (succeeded(parser.parseOptionalKeyword(&name))) {
    if (name == "mod")
      return parser.emitError(loc, "expected an operand before 'mod'");
    // MLIR's bare identifiers may hold '.' and '$' (`sparta.heads` is one);
    // parameter names may not, which turns `hi = L +` at the end of a line
    // into a clear error instead of a parameter called `sparta.heads`.
    if (name.find_first_of(".$") != StringRef::npos)
      return parser.emitError(loc, "expected an integer expression, found '") << name << "'";
    result = ExprAttr::getParam(ctx, name);
    return success();
  }
  return parser.emitError(loc, "expected an integer expression (a number, a parameter "
                               "name, '-' or '(')");
}

static ParseResult parseUnary(AsmParser &parser, ExprAttr &result, unsigned depth) {
  if (failed(checkDepth(parser, parser.getCurrentLocation(), depth)))
    return failure();
  if (succeeded(parser.parseOptionalMinus())) {
    ExprAttr operand;
    if (parseUnary(parser, operand, depth + 1))
      return failure();
    // Fold `-<literal>` so that a printed negative literal re-parses to itself.
    if (operand.getKind() == ExprKind::Constant &&
        operand.getValue() != std::numeric_limits<int64_t>::min()) {
      result = ExprAttr::getConstant(parser.getContext(), -operand.getValue());
      return success();
    }
    result = ExprAttr::getUnary(parser.getContext(), ExprKind::Neg, operand);
    return success();
  }
  return parsePrimary(parser, result, depth);
}

static ParseResult parseProduct(AsmParser &parser, ExprAttr &result, unsigned depth) {
  if (parseUnary(parser, result, depth))
    return failure();
  // Each loop turn makes the tree one level deeper (it is left-leaning).
  for (;; ++depth) {
    if (failed(checkDepth(parser, parser.getCurrentLocation(), depth)))
      return failure();
    ExprKind kind;
    if (succeeded(parser.parseOptionalStar()))
      kind = ExprKind::Mul;
    else if (succeeded(parser.parseOptionalSlash()))
      kind = ExprKind::FloorDiv;
    else if (succeeded(parser.parseOptionalKeyword("mod")))
      kind = ExprKind::Mod;
    else
      return success();
    ExprAttr rhs;
    if (parseUnary(parser, rhs, depth + 1))
      return failure();
    result = ExprAttr::getBinary(parser.getContext(), kind, result, rhs);
  }
}

static ParseResult parseSum(AsmParser &parser, ExprAttr &result, unsigned depth) {
  if (parseProduct(parser, result, depth))
    return failure();
  for (;; ++depth) {
    if (failed(checkDepth(parser, parser.getCurrentLocation(), depth)))
      return failure();
    ExprKind kind;
    if (succeeded(parser.parseOptionalPlus()))
      kind = ExprKind::Add;
    else if (succeeded(parser.parseOptionalMinus()))
      kind = ExprKind::Sub;
    else
      return success();
    ExprAttr rhs;
    if (parseProduct(parser, rhs, depth + 1))
      return failure();
    result = ExprAttr::getBinary(parser.getContext(), kind, result, rhs);
  }
}

ParseResult mlir::sparta::parseExpr(AsmParser &parser, ExprAttr &result) {
  return parseSum(parser, result, 0);
}

//===----------------------------------------------------------------------===//
// The attribute's own syntax: #sparta.expr<2 * L>
//===----------------------------------------------------------------------===//

Attribute ExprAttr::parse(AsmParser &parser, Type) {
  ExprAttr expr;
  if (parser.parseLess() || parseExpr(parser, expr) || parser.parseGreater())
    return {};
  return expr;
}

void ExprAttr::print(AsmPrinter &printer) const {
  printer << '<';
  printExpr(printer, *this);
  printer << '>';
}
