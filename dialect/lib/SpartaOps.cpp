//===- SpartaOps.cpp - sparta.pattern syntax and every op verifier ----------===//
//
// The pattern op's custom syntax (`@name(T, L, c = 8) [instantiated] {...}`)
// and the verifiers: parameter declarations, names used by expressions
// (checked against the enclosing pattern, since an attribute has no parent),
// and the range invariants of expressions that are already constant. After
// sparta-instantiate every expression is constant, so the same verifiers
// check the concrete pattern.
//
//===----------------------------------------------------------------------===//
#include "sparta/Dialect/SpartaOps.h"
#include "sparta/Dialect/Limits.h"

#include "llvm/ADT/STLExtras.h"
#include "llvm/ADT/StringSet.h"
#include "llvm/ADT/StringExtras.h"

using namespace mlir;
using namespace mlir::sparta;

// Glue for `custom<Expr>($attr)` in the ops' assembly formats.
static ParseResult parseOpExpr(OpAsmParser &parser, ExprAttr &result) {
  return parseExpr(parser, result);
}
static void printOpExpr(OpAsmPrinter &printer, Operation *, ExprAttr expr) {
  printExpr(printer, expr);
}

#define GET_OP_CLASSES
#include "sparta/Dialect/SpartaOps.cpp.inc"

//===----------------------------------------------------------------------===//
// PatternOp
//===----------------------------------------------------------------------===//

StringRef PatternOp::getParamName(unsigned k) {
  return llvm::cast<StringAttr>(getParamNames()[k]).getValue();
}

ExprAttr PatternOp::getParamDefault(unsigned k) {
  if (k >= getParamDefaults().size())
    return {};
  return llvm::dyn_cast<ExprAttr>(getParamDefaults()[k]);
}

std::optional<unsigned> PatternOp::lookupParam(StringRef name) {
  for (unsigned k = 0, e = getNumParams(); k < e; ++k)
    if (getParamName(k) == name)
      return k;
  return std::nullopt;
}

std::optional<int64_t> PatternOp::getParamValue(StringRef name) {
  if (!getInstantiated())
    return std::nullopt;
  std::optional<unsigned> k = lookupParam(name);
  if (!k)
    return std::nullopt;
  ExprAttr value = getParamDefault(*k);
  return value ? value.getConstantValue() : std::nullopt;
}

std::string PatternOp::getParamList() {
  std::string list;
  for (unsigned k = 0, e = getNumParams(); k < e; ++k)
    list += (k ? ", " : "") + getParamName(k).str();
  return list.empty() ? "none" : list;
}

HeadsOp PatternOp::getHeadsOp() {
  Region &body = getBody();
  if (body.empty() || body.front().empty())
    return {};
  return llvm::dyn_cast<HeadsOp>(body.front().back());
}

static bool isIdentifier(StringRef name) {
  if (name.empty() || !(llvm::isAlpha(name[0]) || name[0] == '_'))
    return false;
  return llvm::all_of(name, [](char c) { return llvm::isAlnum(c) || c == '_'; });
}

ParseResult PatternOp::parse(OpAsmParser &parser, OperationState &result) {
  MLIRContext *ctx = parser.getContext();
  StringAttr symName;
  if (parser.parseSymbolName(symName))
    return failure();
  SmallVector<Attribute> names, defaults;
  // Parameters: `(` (name (`=` expr)?) (`,` ...)* `)`; the verifier judges names.
  if (parser.parseLParen())
    return failure();
  if (failed(parser.parseOptionalRParen())) {
    do {
      StringRef name;
      if (failed(parser.parseOptionalKeyword(&name)))
        return parser.emitError(parser.getCurrentLocation(), "expected a parameter name");
      names.push_back(StringAttr::get(ctx, name));
      ExprAttr def;
      if (succeeded(parser.parseOptionalEqual())) {
        if (parseExpr(parser, def))
          return failure();
        defaults.push_back(def);
      } else {
        defaults.push_back(UnitAttr::get(ctx));
      }
    } while (succeeded(parser.parseOptionalComma()));
    if (parser.parseRParen())
      return failure();
  }
  result.addAttribute(getSymNameAttrName(result.name), symName);
  result.addAttribute(getParamNamesAttrName(result.name), ArrayAttr::get(ctx, names));
  result.addAttribute(getParamDefaultsAttrName(result.name), ArrayAttr::get(ctx, defaults));
  // `causal` is the default and only accepted; `bidirectional` is the attribute.
  if (succeeded(parser.parseOptionalKeyword("bidirectional")))
    result.addAttribute(getBidirectionalAttrName(result.name), UnitAttr::get(ctx));
  else
    (void)parser.parseOptionalKeyword("causal");
  if (succeeded(parser.parseOptionalKeyword("instantiated")))
    result.addAttribute(getInstantiatedAttrName(result.name), UnitAttr::get(ctx));
  if (parser.parseOptionalAttrDictWithKeyword(result.attributes))
    return failure();
  Region *body = result.addRegion();
  SMLoc bodyLoc = parser.getCurrentLocation();
  if (parser.parseRegion(*body, /*arguments=*/{}))
    return failure();
  // Say what is missing rather than let the structural verifier complain
  // about an empty block.
  if (body->empty() || body->front().empty())
    return parser.emitError(bodyLoc, "the pattern body must end with sparta.heads");
  return success();
}

void PatternOp::print(OpAsmPrinter &p) {
  p << ' ';
  p.printSymbolName(getSymName());
  p << '(';
  for (unsigned k = 0, e = getNumParams(); k < e; ++k) {
    if (k)
      p << ", ";
    p << getParamName(k);
    if (ExprAttr def = getParamDefault(k)) {
      p << " = ";
      printExpr(p, def);
    }
  }
  p << ')';
  if (getBidirectional())
    p << " bidirectional";
  if (getInstantiated())
    p << " instantiated";
  p.printOptionalAttrDictWithKeyword(
      (*this)->getAttrs(), {getSymNameAttrName(), getParamNamesAttrName(),
                            getParamDefaultsAttrName(), getBidirectionalAttrName(),
                            getInstantiatedAttrName()});
  p << ' ';
  p.printRegion(getBody(), /*printEntryBlockArgs=*/false, /*printBlockTerminators=*/true);
}

LogicalResult PatternOp::verify() {
  if (getParamDefaults().size() != getParamNames().size())
    return emitOpError() << "has " << getParamNames().size() << " parameters but "
                         << getParamDefaults().size() << " default entries";
  llvm::StringSet<> seen;
  for (unsigned k = 0, e = getNumParams(); k < e; ++k) {
    StringRef name = getParamName(k);
    if (!isIdentifier(name) || name == "mod" || name == "instantiated" || name == "causal" ||
        name == "bidirectional")
      return emitOpError() << "parameter name '" << name
                           << "' is not an identifier (or is a reserved word)";
    if (!seen.insert(name).second)
      return emitOpError() << "duplicate parameter '" << name << "'";
    Attribute def = getParamDefaults()[k];
    if (!llvm::isa<ExprAttr, UnitAttr>(def))
      return emitOpError() << "default of parameter '" << name
                           << "' must be an expression or unit";
  }
  for (StringRef required : {"T", "L"})
    if (!seen.contains(required))
      return emitOpError() << "must declare parameter '" << required
                           << "' (declared: " << getParamList() << ")";
  // A default may use only earlier parameters: defaults are evaluated in order.
  for (unsigned k = 0, e = getNumParams(); k < e; ++k) {
    ExprAttr def = getParamDefault(k);
    if (!def)
      continue;
    SmallVector<StringRef> used;
    def.collectParams(used);
    for (StringRef name : used) {
      std::optional<unsigned> index = lookupParam(name);
      if (!index)
        return emitOpError() << "unknown parameter '" << name << "' in the default of '"
                             << getParamName(k) << "' (declared: " << getParamList() << ")";
      if (*index >= k)
        return emitOpError() << "default of '" << getParamName(k) << "' uses '" << name
                             << "', which is not an earlier parameter";
    }
  }
  if (getInstantiated()) {
    for (unsigned k = 0, e = getNumParams(); k < e; ++k) {
      ExprAttr def = getParamDefault(k);
      if (!def || def.getKind() != ExprKind::Constant)
        return emitOpError() << "is instantiated but parameter '" << getParamName(k)
                             << "' has no constant value";
    }
    int64_t t = *getParamValue("T"), l = *getParamValue("L");
    if (t < 1 || t > ::sparta::limits::kMaxSequenceLength)
      return emitOpError() << "sequence length T must be in [1, "
                         << ::sparta::limits::kMaxSequenceLength << "], got T = " << t;
    if (l < 1)
      return emitOpError() << "stride L must be at least 1, got L = " << l;
  }
  if (!getBody().empty() && !getBody().front().empty() && !getHeadsOp())
    return emitOpError() << "body must end with sparta.heads";
  return success();
}

//===----------------------------------------------------------------------===//
// Mask op verifiers
//===----------------------------------------------------------------------===//

namespace {
/// One expression operand of an op: its keyword (for messages) and value.
struct NamedExpr {
  StringRef field;
  ExprAttr expr;
};
} // namespace

/// Checks that every name used is a parameter of the enclosing pattern and
/// that parameter-free expressions evaluate; returns each constant value
/// (std::nullopt where the expression still uses parameters).
static FailureOr<SmallVector<std::optional<int64_t>>>
verifyExprs(Operation *op, ArrayRef<NamedExpr> exprs) {
  auto pattern = op->getParentOfType<PatternOp>();
  SmallVector<std::optional<int64_t>> values;
  for (const NamedExpr &e : exprs) {
    SmallVector<StringRef> used;
    e.expr.collectParams(used);
    for (StringRef name : used)
      if (!pattern || !pattern.lookupParam(name))
        return op->emitOpError() << "uses unknown parameter '" << name << "' in '" << e.field
                                 << "' (declared: "
                                 << (pattern ? pattern.getParamList() : "none") << ")";
    if (!used.empty()) {
      values.push_back(std::nullopt);
      continue;
    }
    std::string error;
    FailureOr<int64_t> value = e.expr.evaluate({}, error);
    if (failed(value))
      return op->emitOpError() << "cannot evaluate '" << e.field << "': " << error;
    values.push_back(*value);
  }
  return values;
}

/// `value >= min`, when the value is known.
static LogicalResult checkAtLeast(Operation *op, StringRef field, std::optional<int64_t> value,
                                  int64_t min) {
  if (value && *value < min)
    return op->emitOpError() << field << " must be at least " << min << ", got " << *value;
  return success();
}

LogicalResult BandOp::verify() {
  auto v = verifyExprs(*this, {{"lo", getLo()}, {"hi", getHi()}});
  if (failed(v))
    return failure();
  // In a causal pattern j <= i anyway: a negative lo would only read as if the
  // band reached forward, which it never can.
  auto pattern = (*this)->getParentOfType<PatternOp>();
  if (std::optional<int64_t> lo = (*v)[0]; lo && *lo < 0 && pattern && pattern.isCausal())
    return emitOpError() << "lo = " << *lo
                         << " reaches keys after the query (j > i), which a causal pattern "
                            "never allows; declare the pattern 'bidirectional' or write lo >= 0";
  return success();
}

ExprAttr StrideOp::getOffsetOrZero() {
  return getOffsetAttr() ? getOffsetAttr() : ExprAttr::getConstant(getContext(), 0);
}

LogicalResult StrideOp::verify() {
  auto v = verifyExprs(*this, {{"period", getPeriod()}, {"offset", getOffsetOrZero()}});
  if (failed(v) || failed(checkAtLeast(*this, "period", (*v)[0], 1)) ||
      failed(checkAtLeast(*this, "offset", (*v)[1], 0)))
    return failure();
  std::optional<int64_t> period = (*v)[0], offset = (*v)[1];
  if (period && offset && *offset >= *period)
    return emitOpError() << "offset must be below period, got offset = " << *offset
                         << " >= period = " << *period;
  return success();
}

/// The grid ops need parameters H and W, and H * W == T once they are known.
static LogicalResult verifyGrid(Operation *op) {
  auto pattern = op->getParentOfType<PatternOp>();
  if (!pattern)
    return success();
  for (StringRef name : {"H", "W"})
    if (!pattern.lookupParam(name))
      return op->emitOpError() << "needs pattern parameters H and W (a grid of H rows of W "
                                  "positions), but '"
                               << name << "' is not declared (declared: "
                               << pattern.getParamList() << ")";
  std::optional<int64_t> h = pattern.getParamValue("H"), w = pattern.getParamValue("W"),
                         t = pattern.getKnownT();
  if (!h || !w || !t)
    return success();
  int64_t cells = 0;
  if (*h < 1 || *w < 1 || __builtin_mul_overflow(*h, *w, &cells) || cells != *t)
    return op->emitOpError() << "needs a grid of H rows of W positions with H * W == T, got H = "
                             << *h << ", W = " << *w << ", T = " << *t;
  return success();
}

LogicalResult GridRowsOp::verify() { return verifyGrid(*this); }

LogicalResult GridColsOp::verify() { return verifyGrid(*this); }

LogicalResult GridWindowOp::verify() {
  auto v = verifyExprs(*this, {{"dh", getDh()}, {"dw", getDw()}});
  if (failed(v) || failed(checkAtLeast(*this, "dh", (*v)[0], 0)) ||
      failed(checkAtLeast(*this, "dw", (*v)[1], 0)))
    return failure();
  return verifyGrid(*this);
}

LogicalResult ChunkOp::verify() {
  auto v = verifyExprs(*this, {{"size", getSize()}});
  if (failed(v))
    return failure();
  return checkAtLeast(*this, "size", (*v)[0], 1);
}

LogicalResult SummaryOp::verify() {
  auto v = verifyExprs(*this, {{"period", getPeriod()}, {"width", getWidth()}});
  if (failed(v) || failed(checkAtLeast(*this, "period", (*v)[0], 1)) ||
      failed(checkAtLeast(*this, "width", (*v)[1], 0)))
    return failure();
  std::optional<int64_t> period = (*v)[0], width = (*v)[1];
  if (period && width && *width > *period)
    return emitOpError() << "width must not exceed period, got width = " << *width
                         << " > period = " << *period;
  return success();
}

LogicalResult GlobalKeysOp::verify() {
  auto v = verifyExprs(*this, {{"count", getCount()}});
  if (failed(v))
    return failure();
  return checkAtLeast(*this, "count", (*v)[0], 0);
}

LogicalResult GlobalQueriesOp::verify() {
  auto v = verifyExprs(*this, {{"count", getCount()}});
  if (failed(v))
    return failure();
  return checkAtLeast(*this, "count", (*v)[0], 0);
}

LogicalResult RandomBlocksOp::verify() {
  auto v = verifyExprs(*this, {{"block", getBlock()}, {"count", getCount()}, {"seed", getSeed()}});
  if (failed(v) || failed(checkAtLeast(*this, "block", (*v)[0], 1)) ||
      failed(checkAtLeast(*this, "count", (*v)[1], 0)) ||
      failed(checkAtLeast(*this, "seed", (*v)[2], 0)))
    return failure();
  // Each membership test replays the draws: a huge count is unbounded work.
  if (std::optional<int64_t> count = (*v)[1]; count && *count > ::sparta::limits::kMaxRandomBlockCount)
    return emitOpError() << "count must be at most " << ::sparta::limits::kMaxRandomBlockCount
                         << " (blocks drawn per query block), got " << *count;
  return success();
}

LogicalResult UnionOp::verify() {
  if (getInputs().empty())
    return emitOpError() << "expects at least one operand";
  return success();
}

LogicalResult IntersectOp::verify() {
  if (getInputs().empty())
    return emitOpError() << "expects at least one operand";
  return success();
}

LogicalResult HeadsOp::verify() {
  if (getMasks().empty())
    return emitOpError() << "expects at least one mask (head h uses mask h mod n)";
  return success();
}
