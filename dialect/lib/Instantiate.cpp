//===- Instantiate.cpp - The sparta-instantiate pass -----------------------===//
//
// Binds a pattern's parameters to integers and folds every expression of its
// body to a constant. Values come from the `bind` option first, then from the
// defaults (which may use earlier parameters, hence the in-order evaluation).
// The result records the values as constant defaults and is marked
// `instantiated`, so later passes and the op verifiers see concrete numbers.
// Every failure is a diagnostic at the pattern's (or the op's) location,
// because a pattern file is user input. The front end calls the typed entry
// points (keepOnlyPattern, instantiatePattern) directly; the pass's text
// options are for sparta-opt.
//
//===----------------------------------------------------------------------===//
#include "sparta/Dialect/Passes.h"

#include "llvm/ADT/StringMap.h"

namespace mlir::sparta {
#define GEN_PASS_DEF_SPARTAINSTANTIATE
#include "sparta/Dialect/Passes.h.inc"
} // namespace mlir::sparta

using namespace mlir;
using namespace mlir::sparta;

namespace {

/// Splits the `bind` entries into name -> value; diagnoses malformed ones.
static LogicalResult parseBindOption(ArrayRef<std::string> entries, Location loc,
                                     llvm::StringMap<int64_t> &bound) {
  for (const std::string &entry : entries) {
    auto [name, text] = StringRef(entry).split('=');
    int64_t value = 0;
    if (name.trim().empty() || StringRef(entry).find('=') == StringRef::npos ||
        text.trim().getAsInteger(10, value))
      return emitError(loc) << "invalid binding '" << entry
                            << "': expected NAME=VALUE with a 64-bit integer VALUE";
    bound[name.trim()] = value;
  }
  return success();
}

/// "@a (line 1), @b (line 7)": the patterns of a file, for messages.
static std::string describePatterns(ArrayRef<PatternOp> patterns) {
  std::string text;
  for (PatternOp p : patterns) {
    text += (text.empty() ? "@" : ", @") + p.getSymName().str();
    if (auto loc = llvm::dyn_cast<FileLineColLoc>(p.getLoc()))
      text += " (line " + std::to_string(loc.getLine()) + ")";
  }
  return text.empty() ? "none" : text;
}

struct InstantiatePass : public mlir::sparta::impl::SpartaInstantiateBase<InstantiatePass> {
  using Base::Base;

  void runOnOperation() override {
    ModuleOp module = getOperation();
    llvm::StringMap<int64_t> bound;
    if (failed(parseBindOption(bind, module.getLoc(), bound)))
      return signalPassFailure();
    SmallVector<PatternOp> patterns(module.getOps<PatternOp>());
    if (!pattern.empty()) {
      // Keep only the requested pattern: the others may not accept the bindings.
      FailureOr<PatternOp> chosen = keepOnlyPattern(module, pattern, "pattern=NAME");
      if (failed(chosen))
        return signalPassFailure();
      patterns = {*chosen};
    }
    for (PatternOp p : patterns)
      if (failed(instantiatePattern(p, bound)))
        return signalPassFailure();
  }
};

} // namespace

FailureOr<PatternOp> mlir::sparta::keepOnlyPattern(ModuleOp module, StringRef name,
                                                   StringRef option) {
  SmallVector<PatternOp> patterns(module.getOps<PatternOp>());
  // A file-level problem is reported at the first pattern, which has a line;
  // the module's own location is line 0.
  Location where = patterns.empty() ? module.getLoc() : patterns.front().getLoc();
  PatternOp chosen;
  if (name.empty()) {
    if (patterns.size() != 1)
      return emitError(where) << "the file holds " << patterns.size() << " patterns ("
                              << describePatterns(patterns) << "); choose one with "
                              << option;
    chosen = patterns.front();
  } else {
    for (PatternOp p : patterns)
      if (p.getSymName() == name)
        chosen = p;
    if (!chosen)
      return emitError(where) << "no pattern named @" << name
                              << " (the file holds: " << describePatterns(patterns) << ")";
  }
  for (PatternOp p : patterns)
    if (p != chosen)
      p.erase();
  return chosen;
}

LogicalResult mlir::sparta::instantiatePattern(PatternOp pattern,
                                               const llvm::StringMap<int64_t> &bound) {
  MLIRContext *ctx = pattern.getContext();
  for (const auto &entry : bound)
    if (!pattern.lookupParam(entry.getKey()))
      return pattern.emitError() << "unknown parameter '" << entry.getKey()
                                 << "' for pattern @" << pattern.getSymName()
                                 << " (declared: " << pattern.getParamList() << ")";

  // Parameter values in declaration order: explicit binding, else default.
  llvm::StringMap<int64_t> values;
  SmallVector<Attribute> constants;
  for (unsigned k = 0, e = pattern.getNumParams(); k < e; ++k) {
    StringRef name = pattern.getParamName(k);
    int64_t value = 0;
    if (auto it = bound.find(name); it != bound.end()) {
      value = it->second;
    } else if (ExprAttr def = pattern.getParamDefault(k)) {
      std::string error;
      FailureOr<int64_t> v = def.evaluate(values, error);
      if (failed(v))
        return pattern.emitError() << "cannot evaluate the default of '" << name
                                   << "' = " << exprToString(def) << ": " << error;
      value = *v;
    } else {
      return pattern.emitError() << "missing value for parameter '" << name << "' of pattern @"
                                 << pattern.getSymName() << " (it has no default; set it, e.g. "
                                 << name << "=...)";
    }
    values[name] = value;
    constants.push_back(ExprAttr::getConstant(ctx, value));
  }

  // Fold every expression attribute of the body. The ranges of T, L and the
  // ops' operands are the verifiers' business: they run on the result.
  WalkResult walk = pattern.getBody().walk([&](Operation *op) -> WalkResult {
    for (NamedAttribute attr : op->getAttrs()) {
      auto expr = llvm::dyn_cast<ExprAttr>(attr.getValue());
      if (!expr)
        continue;
      std::string error;
      FailureOr<int64_t> v = expr.evaluate(values, error);
      if (failed(v)) {
        op->emitError() << "cannot evaluate '" << attr.getName().getValue()
                        << "' = " << exprToString(expr) << ": " << error;
        return WalkResult::interrupt();
      }
      op->setAttr(attr.getName(), ExprAttr::getConstant(ctx, *v));
    }
    return WalkResult::advance();
  });
  if (walk.wasInterrupted())
    return failure();

  pattern.setParamDefaultsAttr(ArrayAttr::get(ctx, constants));
  pattern.setInstantiated(true);
  return success();
}
