//===- Frontend.cpp - Pattern file -> instantiated IR -> ConcretePattern ---===//
//
// The one place where user text enters the compiler. MLIR reports problems
// as diagnostics; here they are captured as text in the usual compiler form
// (file:line:col: error: message, then the source line and a caret) and
// turned into sparta::Error, so that no bad input can crash or abort a tool.
// Every call uses its own single-threaded MLIRContext: patterns are tiny and
// a private context keeps the API thread-safe.
//
//===----------------------------------------------------------------------===//
#include "sparta/Frontend.h"
#include "sparta/Load.h"
#include "sparta/Dialect/Passes.h"
#include "sparta/Error.h"

#include "mlir/IR/Diagnostics.h"
#include "mlir/IR/MLIRContext.h"
#include "mlir/Parser/Parser.h"
#include "mlir/Pass/PassManager.h"
#include "mlir/Transforms/Passes.h"
#include "llvm/ADT/TypeSwitch.h"
#include "llvm/ADT/StringExtras.h"
#include "llvm/Support/MemoryBuffer.h"
#include "llvm/Support/SourceMgr.h"
#include "llvm/Support/raw_ostream.h"

using namespace mlir;
using namespace mlir::sparta;

namespace sparta {
namespace {

/// Collects every diagnostic emitted while it lives, rendered with location,
/// source line and caret by MLIR's SourceMgr handler.
class DiagnosticCapture {
public:
  DiagnosticCapture(llvm::SourceMgr &sourceMgr, MLIRContext &context)
      : os(text), handler(sourceMgr, &context, os) {}

  /// The captured text, or `fallback` when nothing was reported.
  std::string message(const std::string &fallback) {
    std::string result = text;
    while (!result.empty() && (result.back() == '\n' || result.back() == ' '))
      result.pop_back();
    return result.empty() ? fallback : result;
  }

private:
  std::string text;
  llvm::raw_string_ostream os;
  SourceMgrDiagnosticHandler handler;
};

std::string describePatterns(ModuleOp module) {
  std::string names;
  for (PatternOp p : module.getOps<PatternOp>())
    names += (names.empty() ? "@" : ", @") + p.getSymName().str();
  return names.empty() ? "none" : names;
}

/// Parses the buffer already in `sourceMgr` and instantiates it.
OwningOpRef<ModuleOp> instantiateBuffer(MLIRContext &context, llvm::SourceMgr &sourceMgr,
                                        const std::string &bufferName,
                                        const ParamBindings &bindings,
                                        const std::string &patternName) {
  registerSpartaDialect(context);
  // Messages name the place in the user's file; a dump of the op adds noise.
  context.printOpOnDiagnostic(false);
  context.printStackTraceOnDiagnostic(false);
  DiagnosticCapture capture(sourceMgr, context);
  ParserConfig config(&context);
  OwningOpRef<ModuleOp> module = parseSourceFile<ModuleOp>(sourceMgr, config);
  if (!module)
    throw Error(capture.message(bufferName + ": error: cannot parse the pattern file"));

  // Choose the pattern before binding: other patterns in the file may not
  // accept the same parameters.
  std::string chosen = patternName;
  if (chosen.empty()) {
    auto patterns = module->getOps<PatternOp>();
    size_t count = std::distance(patterns.begin(), patterns.end());
    if (count != 1)
      throw Error(bufferName + ": error: the file holds " + std::to_string(count) +
                  " patterns (" + describePatterns(*module) +
                  "); name the one to use");
    chosen = (*patterns.begin()).getSymName().str();
  }

  SpartaInstantiateOptions options;
  for (const auto &[name, value] : bindings)
    options.bind.push_back(name + "=" + std::to_string(value));
  options.pattern = chosen;
  PassManager pm(&context);
  pm.addPass(createSpartaInstantiate(options));
  pm.addPass(createSpartaCanonicalize());
  if (failed(pm.run(*module)))
    throw Error(capture.message(bufferName + ": error: cannot instantiate @" + chosen));
  return module;
}

int64_t constantOf(ExprAttr expr, Operation *op) {
  std::optional<int64_t> value = expr ? expr.getConstantValue() : std::nullopt;
  if (!value)
    throw Error("error: '" + op->getName().getStringRef().str() +
                "' has a non-constant expression; the pattern is not instantiated");
  return *value;
}

Mask toMask(Value value) {
  Operation *op = value.getDefiningOp();
  if (!op)
    throw Error("error: a mask that no op defines");
  Mask m;
  auto setOperands = [&](OperandRange inputs) {
    for (Value input : inputs)
      m.operands.push_back(toMask(input));
  };
  llvm::TypeSwitch<Operation *>(op)
      .Case([&](DenseOp) { m.kind = MaskKind::Dense; })
      .Case([&](EmptyOp) { m.kind = MaskKind::Empty; })
      .Case([&](BandOp o) {
        m.kind = MaskKind::Band;
        m.lo = constantOf(o.getLo(), op);
        m.hi = constantOf(o.getHi(), op);
      })
      .Case([&](StrideOp o) {
        m.kind = MaskKind::Stride;
        m.period = constantOf(o.getPeriod(), op);
      })
      .Case([&](ChunkOp o) {
        m.kind = MaskKind::Chunk;
        m.size = constantOf(o.getSize(), op);
      })
      .Case([&](SummaryOp o) {
        m.kind = MaskKind::Summary;
        m.period = constantOf(o.getPeriod(), op);
        m.width = constantOf(o.getWidth(), op);
      })
      .Case([&](GlobalKeysOp o) {
        m.kind = MaskKind::GlobalKeys;
        m.count = constantOf(o.getCount(), op);
      })
      .Case([&](GlobalQueriesOp o) {
        m.kind = MaskKind::GlobalQueries;
        m.count = constantOf(o.getCount(), op);
      })
      .Case([&](RandomBlocksOp o) {
        m.kind = MaskKind::RandomBlocks;
        m.block = constantOf(o.getBlock(), op);
        m.count = constantOf(o.getCount(), op);
        m.seed = static_cast<uint64_t>(constantOf(o.getSeed(), op));
      })
      .Case([&](UnionOp o) {
        m.kind = MaskKind::Union;
        setOperands(o.getInputs());
      })
      .Case([&](IntersectOp o) {
        m.kind = MaskKind::Intersect;
        setOperands(o.getInputs());
      })
      .Default([&](Operation *other) {
        throw Error("error: unexpected op '" + other->getName().getStringRef().str() +
                    "' in a mask expression");
      });
  return m;
}

} // namespace

//===----------------------------------------------------------------------===//
// MLIR-level API (sparta/Load.h)
//===----------------------------------------------------------------------===//

void registerSpartaDialect(MLIRContext &context) { context.getOrLoadDialect<SpartaDialect>(); }

OwningOpRef<ModuleOp> loadInstantiatedModuleFromSource(MLIRContext &context,
                                                       const std::string &source,
                                                       const std::string &bufferName,
                                                       const ParamBindings &bindings,
                                                       const std::string &patternName) {
  llvm::SourceMgr sourceMgr;
  sourceMgr.AddNewSourceBuffer(llvm::MemoryBuffer::getMemBufferCopy(source, bufferName),
                               llvm::SMLoc());
  return instantiateBuffer(context, sourceMgr, bufferName, bindings, patternName);
}

OwningOpRef<ModuleOp> loadInstantiatedModule(MLIRContext &context, const std::string &path,
                                             const ParamBindings &bindings,
                                             const std::string &patternName) {
  auto buffer = llvm::MemoryBuffer::getFile(path, /*IsText=*/true);
  if (std::error_code ec = buffer.getError())
    throw Error("error: cannot open '" + path + "': " + ec.message());
  llvm::SourceMgr sourceMgr;
  sourceMgr.AddNewSourceBuffer(std::move(*buffer), llvm::SMLoc());
  return instantiateBuffer(context, sourceMgr, path, bindings, patternName);
}

PatternOp getPattern(ModuleOp module) {
  auto patterns = module.getOps<PatternOp>();
  if (patterns.empty())
    throw Error("error: the module holds no sparta.pattern");
  return *patterns.begin();
}

ConcretePattern toConcretePattern(PatternOp pattern) {
  if (!pattern.getInstantiated())
    throw Error("error: pattern @" + pattern.getSymName().str() + " is not instantiated");
  ConcretePattern result;
  result.name = pattern.getSymName().str();
  for (unsigned k = 0, e = pattern.getNumParams(); k < e; ++k)
    result.params[pattern.getParamName(k).str()] =
        constantOf(pattern.getParamDefault(k), pattern);
  result.T = result.params.at("T");
  HeadsOp heads = pattern.getHeadsOp();
  if (!heads)
    throw Error("error: pattern @" + result.name + " has no sparta.heads");
  for (Value mask : heads.getMasks())
    result.heads.push_back(toMask(mask));
  return result;
}

//===----------------------------------------------------------------------===//
// MLIR-free API (sparta/Frontend.h)
//===----------------------------------------------------------------------===//

ConcretePattern loadPattern(const std::string &path, const ParamBindings &bindings,
                            const std::string &patternName) {
  MLIRContext context(MLIRContext::Threading::DISABLED);
  OwningOpRef<ModuleOp> module = loadInstantiatedModule(context, path, bindings, patternName);
  return toConcretePattern(getPattern(*module));
}

ConcretePattern loadPatternFromSource(const std::string &source, const std::string &bufferName,
                                      const ParamBindings &bindings,
                                      const std::string &patternName) {
  MLIRContext context(MLIRContext::Threading::DISABLED);
  OwningOpRef<ModuleOp> module =
      loadInstantiatedModuleFromSource(context, source, bufferName, bindings, patternName);
  return toConcretePattern(getPattern(*module));
}

std::string instantiatedIR(const std::string &path, const ParamBindings &bindings,
                           const std::string &patternName) {
  MLIRContext context(MLIRContext::Threading::DISABLED);
  OwningOpRef<ModuleOp> module = loadInstantiatedModule(context, path, bindings, patternName);
  std::string text;
  llvm::raw_string_ostream os(text);
  module->print(os);
  return text;
}

ParamBindings parseBindings(const std::vector<std::string> &assignments) {
  ParamBindings bindings;
  for (const std::string &assignment : assignments) {
    llvm::StringRef text(assignment);
    size_t eq = text.find('=');
    if (eq == llvm::StringRef::npos)
      throw Error("error: invalid parameter setting '" + assignment +
                  "': expected NAME=VALUE, e.g. T=1024");
    llvm::StringRef name = text.take_front(eq), valueText = text.drop_front(eq + 1);
    bool identifier = !name.empty() && (llvm::isAlpha(name[0]) || name[0] == '_') &&
                      llvm::all_of(name, [](char c) { return llvm::isAlnum(c) || c == '_'; });
    if (!identifier)
      throw Error("error: invalid parameter setting '" + assignment +
                  "': the name must be an identifier");
    int64_t value = 0;
    // getAsInteger rejects empty text, signs alone, trailing junk and overflow.
    if (valueText.empty() || valueText.getAsInteger(10, value))
      throw Error("error: invalid parameter setting '" + assignment +
                  "': the value must be a 64-bit integer");
    if (!bindings.emplace(name.str(), value).second)
      throw Error("error: parameter '" + name.str() + "' is set twice");
  }
  return bindings;
}

} // namespace sparta
