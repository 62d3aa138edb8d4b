//===- Frontend.cpp - Pattern file -> instantiated IR -> ConcretePattern ---===//
//
// The one place where user text enters the compiler. MLIR reports problems
// as diagnostics; here they are captured as text in the usual compiler form
// (file:line:col: error: message, then the source line and a caret) and
// turned into sparta::Error, so that no bad input can crash or abort a tool.
// Every call uses its own single-threaded MLIRContext: patterns are tiny and
// a private context keeps the API thread-safe.
//
// The text is untrusted: before MLIR sees it, the file must be a regular file
// within the size limit and its brackets nested within the depth limit (the
// parser recurses on them); after instantiation the mask DAG is converted to
// trees iteratively, within a node budget (sparta/Dialect/Limits.h).
//
//===----------------------------------------------------------------------===//
#include "sparta/Frontend.h"
#include "sparta/Load.h"
#include "sparta/Dialect/Limits.h"
#include "sparta/Dialect/Passes.h"
#include "sparta/Error.h"

#include "mlir/IR/Diagnostics.h"
#include "mlir/IR/MLIRContext.h"
#include "mlir/IR/Verifier.h"
#include "mlir/Parser/Parser.h"
#include "llvm/ADT/TypeSwitch.h"
#include "llvm/ADT/StringExtras.h"
#include "llvm/ADT/StringSet.h"
#include "llvm/Support/MemoryBuffer.h"
#include "llvm/Support/SourceMgr.h"
#include "llvm/Support/raw_ostream.h"

#include <cerrno>
#include <cstring>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

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

/// The registered sparta op nearest to a misspelt `name` ("sparta.stirde"),
/// or "" when none is close enough to be what the user meant.
std::string nearestOpName(MLIRContext &context, llvm::StringRef name) {
  std::string best;
  unsigned bestDistance = std::max<unsigned>(2, name.size() / 3) + 1;
  for (RegisteredOperationName op : context.getRegisteredOperations()) {
    llvm::StringRef candidate = op.getStringRef();
    if (!candidate.starts_with("sparta."))
      continue;
    unsigned distance = name.edit_distance(candidate, true, bestDistance);
    if (distance < bestDistance) {
      bestDistance = distance;
      best = candidate.str();
    }
  }
  return best;
}

/// Adds "did you mean 'sparta.stride'?" to the parser's unknown-op errors.
/// Registered after the capturing handler, so it sees each diagnostic first.
LogicalResult suggestOpName(MLIRContext &context, Diagnostic &diag) {
  if (diag.getSeverity() != DiagnosticSeverity::Error)
    return failure();
  std::string text = diag.str();
  if (text.find("is unknown") == std::string::npos &&
      text.find("Unregistered operation") == std::string::npos)
    return failure();
  size_t begin = text.find("'sparta.");
  if (begin == std::string::npos)
    return failure();
  size_t end = text.find('\'', begin + 1);
  llvm::StringRef name = llvm::StringRef(text).slice(begin + 1, end);
  std::string nearest = nearestOpName(context, name);
  if (!nearest.empty() && nearest != name)
    diag << "; did you mean '" << nearest << "'?";
  return failure(); // let the capturing handler render it
}

/// Rejects text whose brackets nest deeper than the limit, before MLIR's
/// recursive-descent parser could exhaust the stack on it. Counts (, [, {
/// and < outside string literals and comments; `->` closes nothing.
void checkNesting(llvm::SourceMgr &sourceMgr, unsigned bufferId) {
  llvm::StringRef text = sourceMgr.getMemoryBuffer(bufferId)->getBuffer();
  int depth = 0;
  for (size_t k = 0; k < text.size(); ++k) {
    char c = text[k];
    if (c == '"') { // a string literal, escapes included
      for (++k; k < text.size() && text[k] != '"' && text[k] != '\n'; ++k)
        if (text[k] == '\\')
          ++k;
    } else if (c == '/' && k + 1 < text.size() && text[k + 1] == '/') {
      k = std::min(text.find('\n', k), text.size());
    } else if (c == '(' || c == '[' || c == '{' || c == '<') {
      if (++depth > limits::kMaxNestingDepth) {
        std::string message;
        llvm::raw_string_ostream os(message);
        sourceMgr.PrintMessage(os, llvm::SMLoc::getFromPointer(text.data() + k),
                               llvm::SourceMgr::DK_Error,
                               "brackets nested more than " +
                                   std::to_string(limits::kMaxNestingDepth) +
                                   " deep (the limit for a pattern file)");
        throw Error(llvm::StringRef(message).rtrim().str());
      }
    } else if (c == ')' || c == ']' || c == '}' || (c == '>' && (k == 0 || text[k - 1] != '-'))) {
      depth = std::max(0, depth - 1);
    }
  }
}

/// Reads a pattern file: a regular file of at most kMaxPatternFileBytes.
/// Opened without blocking and checked on the open descriptor, so a FIFO,
/// a device such as /dev/zero or a directory is refused, never read.
std::unique_ptr<llvm::MemoryBuffer> readPatternFile(const std::string &path) {
  auto fail = [&](const std::string &why) -> Error {
    return Error("error: cannot open '" + path + "': " + why);
  };
  int fd = ::open(path.c_str(), O_RDONLY | O_NONBLOCK | O_CLOEXEC);
  if (fd < 0)
    throw fail(std::strerror(errno));
  struct FdCloser {
    int fd;
    ~FdCloser() { ::close(fd); }
  } closer{fd};
  struct stat info;
  if (::fstat(fd, &info) != 0)
    throw fail(std::strerror(errno));
  if (S_ISDIR(info.st_mode))
    throw fail(std::strerror(EISDIR));
  if (!S_ISREG(info.st_mode))
    throw fail("not a regular file");
  const std::string tooLarge = "larger than " + std::to_string(limits::kMaxPatternFileBytes) +
                               " bytes (the limit for a pattern file)";
  if (uint64_t(info.st_size) > limits::kMaxPatternFileBytes)
    throw fail(tooLarge);
  // The size can change after fstat: read at most one byte past the limit.
  std::string text;
  char chunk[65536];
  while (true) {
    ssize_t n = ::read(fd, chunk, sizeof chunk);
    if (n < 0 && errno == EINTR)
      continue;
    if (n < 0)
      throw fail(std::strerror(errno));
    if (n == 0)
      break;
    text.append(chunk, size_t(n));
    if (text.size() > limits::kMaxPatternFileBytes)
      throw fail(tooLarge);
  }
  return llvm::MemoryBuffer::getMemBufferCopy(text, path);
}

/// Whether an operand of a mask op of the (not yet instantiated) pattern
/// derives from T: T itself, or a parameter that `bindings` leaves to a
/// default using T or such a parameter (defaults use earlier parameters only).
bool masksUseT(PatternOp pattern, const ParamBindings &bindings) {
  llvm::StringSet<> fromT{"T"};
  auto usesT = [&](ExprAttr expr) {
    llvm::SmallVector<llvm::StringRef> names;
    expr.collectParams(names);
    return llvm::any_of(names, [&](llvm::StringRef name) { return fromT.contains(name); });
  };
  for (unsigned k = 0, e = pattern.getNumParams(); k < e; ++k) {
    llvm::StringRef name = pattern.getParamName(k);
    ExprAttr def = pattern.getParamDefault(k);
    if (!bindings.count(name.str()) && def && usesT(def))
      fromT.insert(name);
  }
  // Grid ops read H and W, whose product is T, without naming them.
  bool result = false;
  pattern.getBody().walk([&](Operation *op) {
    result |= llvm::isa<GridRowsOp, GridColsOp, GridWindowOp>(op);
    for (NamedAttribute attr : op->getAttrs())
      if (auto expr = llvm::dyn_cast<ExprAttr>(attr.getValue()))
        result |= usesT(expr);
  });
  return result;
}

/// Parses the buffer, keeps one pattern, binds it and canonicalizes.
/// `usesT`, when given, receives masksUseT of the pattern before binding.
OwningOpRef<ModuleOp> instantiateBuffer(MLIRContext &context,
                                        std::unique_ptr<llvm::MemoryBuffer> buffer,
                                        const ParamBindings &bindings,
                                        const std::string &patternName,
                                        bool *usesT = nullptr) {
  const std::string bufferName = buffer->getBufferIdentifier().str();
  if (buffer->getBufferSize() > limits::kMaxPatternFileBytes)
    throw Error(bufferName + ": error: larger than " +
                std::to_string(limits::kMaxPatternFileBytes) +
                " bytes (the limit for a pattern file)");
  llvm::SourceMgr sourceMgr;
  unsigned bufferId = sourceMgr.AddNewSourceBuffer(std::move(buffer), llvm::SMLoc());
  checkNesting(sourceMgr, bufferId);

  registerSpartaDialect(context);
  // Messages name the place in the user's file; a dump of the op adds noise.
  context.printOpOnDiagnostic(false);
  context.printStackTraceOnDiagnostic(false);
  DiagnosticCapture capture(sourceMgr, context);
  ScopedDiagnosticHandler suggestions(
      &context, [&](Diagnostic &diag) { return suggestOpName(context, diag); });
  ParserConfig config(&context);
  OwningOpRef<ModuleOp> module = parseSourceFile<ModuleOp>(sourceMgr, config);
  if (!module)
    throw Error(capture.message(bufferName + ": error: cannot parse the pattern file"));

  llvm::StringMap<int64_t> values;
  for (const auto &[name, value] : bindings)
    values[name] = value;
  FailureOr<PatternOp> chosen = keepOnlyPattern(*module, patternName, "--pattern NAME");
  if (succeeded(chosen) && usesT)
    *usesT = masksUseT(*chosen, bindings);
  if (failed(chosen) || failed(instantiatePattern(*chosen, values)) ||
      failed(verify(*module)) || failed(canonicalizePatterns(*module)))
    throw Error(capture.message(bufferName + ": error: cannot instantiate the pattern"));
  return module;
}

/// "file:line:col: error: " for an op of the user's file.
std::string errorAt(Operation *op) {
  if (auto loc = llvm::dyn_cast<FileLineColLoc>(op->getLoc()))
    return loc.getFilename().str() + ":" + std::to_string(loc.getLine()) + ":" +
           std::to_string(loc.getColumn()) + ": error: ";
  return "error: ";
}

int64_t constantOf(ExprAttr expr, Operation *op) {
  std::optional<int64_t> value = expr ? expr.getConstantValue() : std::nullopt;
  if (!value)
    throw Error(errorAt(op) + "'" + op->getName().getStringRef().str() +
                "' has a non-constant expression; the pattern is not instantiated");
  return *value;
}

/// W of the grid op's instantiated pattern (the verifier checked H * W == T).
int64_t gridWidth(Operation *op) {
  auto pattern = op->getParentOfType<PatternOp>();
  return constantOf(pattern.getParamDefault(*pattern.lookupParam("W")), op);
}

/// The fields of one mask op; for union and intersect only the kind (the
/// caller converts the operands).
void convertNode(Operation *op, Mask &m) {
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
        m.offset = constantOf(o.getOffsetOrZero(), op);
      })
      // Canonicalization turns rows and columns into chunks and strides; an
      // IR that skipped it still converts.
      .Case([&](GridRowsOp) {
        m.kind = MaskKind::Chunk;
        m.size = gridWidth(op);
      })
      .Case([&](GridColsOp) {
        m.kind = MaskKind::Stride;
        m.period = gridWidth(op);
      })
      .Case([&](GridWindowOp o) {
        m.kind = MaskKind::GridWindow;
        m.period = gridWidth(op);
        m.dh = constantOf(o.getDh(), op);
        m.dw = constantOf(o.getDw(), op);
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
      .Case([&](UnionOp) { m.kind = MaskKind::Union; })
      .Case([&](IntersectOp) { m.kind = MaskKind::Intersect; })
      .Default([&](Operation *other) {
        throw Error(errorAt(other) + "unexpected op '" +
                    other->getName().getStringRef().str() + "' in a mask expression");
      });
}

/// Converts the mask DAG rooted at `root` into a tree, with an explicit
/// work list (no recursion on the user's depth). A sub-mask used twice is
/// copied, so `budget` (nodes left) bounds the work however the DAG is shared;
/// `overBudget` says which limit it is when it runs out.
Mask convertMask(Value root, int64_t &budget, const std::string &overBudget) {
  Mask result;
  llvm::SmallVector<std::pair<Value, Mask *>> work{{root, &result}};
  while (!work.empty()) {
    auto [value, target] = work.pop_back_val();
    Operation *op = value.getDefiningOp();
    if (!op)
      throw Error("error: a mask that no op defines");
    if (--budget < 0)
      throw Error(errorAt(root.getDefiningOp()) + overBudget +
                  " (a sub-mask used more than once counts each time)");
    convertNode(op, *target);
    if (!llvm::isa<UnionOp, IntersectOp>(op))
      continue;
    // Sized once: the pointers into it stay valid while the work list holds them.
    target->operands.resize(op->getNumOperands());
    for (auto [operand, slot] : llvm::zip(op->getOperands(), target->operands))
      work.push_back({operand, &slot});
  }
  return result;
}

} // namespace

//===----------------------------------------------------------------------===//
// MLIR-level API (sparta/Load.h)
//===----------------------------------------------------------------------===//

void registerSpartaDialect(MLIRContext &context) { context.getOrLoadDialect<SpartaDialect>(); }

OwningOpRef<ModuleOp> loadInstantiatedModule(MLIRContext &context, const std::string &path,
                                             const ParamBindings &bindings,
                                             const std::string &patternName) {
  return instantiateBuffer(context, readPatternFile(path), bindings, patternName);
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
  result.causal = pattern.isCausal();
  for (unsigned k = 0, e = pattern.getNumParams(); k < e; ++k) {
    std::string name = pattern.getParamName(k).str();
    int64_t value = constantOf(pattern.getParamDefault(k), pattern);
    if (name == "T")
      result.T = value;
    else
      result.params[name] = value;
  }
  HeadsOp heads = pattern.getHeadsOp();
  if (!heads)
    throw Error(errorAt(pattern) + "pattern @" + result.name + " has no sparta.heads");
  int64_t patternBudget = limits::kMaxPatternMaskNodes;
  for (auto [h, mask] : llvm::enumerate(heads.getMasks())) {
    if (!mask.getDefiningOp())
      throw Error(errorAt(heads) + "a mask that no op defines");
    bool headLimit = limits::kMaxMaskNodes <= patternBudget;
    int64_t headBudget = headLimit ? limits::kMaxMaskNodes : patternBudget;
    int64_t left = headBudget;
    result.heads.push_back(convertMask(
        mask, left,
        headLimit ? "the mask of head " + std::to_string(h) + " has more than " +
                        std::to_string(limits::kMaxMaskNodes) + " nodes"
                  : "the masks of all heads have more than " +
                        std::to_string(limits::kMaxPatternMaskNodes) + " nodes together"));
    patternBudget -= headBudget - left;
  }
  return result;
}

//===----------------------------------------------------------------------===//
// MLIR-free API (sparta/Frontend.h)
//===----------------------------------------------------------------------===//

ConcretePattern loadPattern(const std::string &path, const ParamBindings &bindings,
                            const std::string &patternName) {
  MLIRContext context(MLIRContext::Threading::DISABLED);
  bool usesT = false;
  OwningOpRef<ModuleOp> module =
      instantiateBuffer(context, readPatternFile(path), bindings, patternName, &usesT);
  ConcretePattern result = toConcretePattern(getPattern(*module));
  result.masksUseT = usesT;
  return result;
}

ConcretePattern loadPatternFromSource(const std::string &source, const std::string &bufferName,
                                      const ParamBindings &bindings,
                                      const std::string &patternName) {
  MLIRContext context(MLIRContext::Threading::DISABLED);
  bool usesT = false;
  OwningOpRef<ModuleOp> module =
      instantiateBuffer(context, llvm::MemoryBuffer::getMemBufferCopy(source, bufferName),
                        bindings, patternName, &usesT);
  ConcretePattern result = toConcretePattern(getPattern(*module));
  result.masksUseT = usesT;
  return result;
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
