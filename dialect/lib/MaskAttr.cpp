//===- MaskAttr.cpp - #sparta.mask: a concrete mask as an attribute --------===//
//
// The masks of a plan (a head's mask, a component's part and exclusions) are
// attributes rather than mask ops: plans are data for the code generator,
// with no SSA values to thread through, and an attribute nests and uniques
// by itself. The syntax is exactly what sparta::toString prints, so plans
// read like the diagnostics and reports of the rest of the compiler. The
// verifier repeats the range checks of the pattern ops (SpartaOps.cpp) on
// constants.
//
//===----------------------------------------------------------------------===//
#include "sparta/Dialect/SpartaPlanOps.h"

#include "llvm/Support/raw_ostream.h"

using namespace mlir;
using namespace mlir::sparta;

//===----------------------------------------------------------------------===//
// #sparta.mask
//===----------------------------------------------------------------------===//

unsigned MaskAttr::arity(MaskNodeKind kind) {
  switch (kind) {
  case MaskNodeKind::Band:
  case MaskNodeKind::Summary:
  case MaskNodeKind::Stride: // period, offset (written only when not 0)
    return 2;
  case MaskNodeKind::Chunk:
  case MaskNodeKind::GlobalKeys:
  case MaskNodeKind::GlobalQueries:
    return 1;
  case MaskNodeKind::RandomBlocks:
  case MaskNodeKind::GridWindow:
    return 3;
  default:
    return 0;
  }
}

static bool isCombinator(MaskNodeKind kind) {
  return kind == MaskNodeKind::Union || kind == MaskNodeKind::Intersect;
}

FailureOr<MaskAttr> MaskAttr::parseBare(AsmParser &parser) {
  SMLoc loc = parser.getCurrentLocation();
  StringRef keyword;
  if (parser.parseKeyword(&keyword))
    return failure();
  std::optional<MaskNodeKind> kind = symbolizeMaskNodeKind(keyword);
  if (!kind)
    return parser.emitError(loc, "unknown mask '") << keyword << "'";
  SmallVector<int64_t> values;
  SmallVector<MaskAttr> operands;
  unsigned n = arity(*kind);
  if (isCombinator(*kind)) {
    auto parseOperand = [&]() -> ParseResult {
      FailureOr<MaskAttr> operand = parseBare(parser);
      if (failed(operand))
        return failure();
      operands.push_back(*operand);
      return success();
    };
    if (parser.parseCommaSeparatedList(AsmParser::Delimiter::Paren, parseOperand))
      return failure();
  } else if (n > 0) {
    if (parser.parseLParen())
      return failure();
    for (unsigned k = 0; k < n; ++k) {
      // A stride's offset is optional: stride(8) is stride(8, 0).
      if (*kind == MaskNodeKind::Stride && k == 1 && failed(parser.parseOptionalComma())) {
        values.push_back(0);
        break;
      }
      if (k && !(*kind == MaskNodeKind::Stride && k == 1) && parser.parseComma())
        return failure();
      // The seed of random_blocks is unsigned 64-bit (sparta::Mask::seed).
      if (*kind == MaskNodeKind::RandomBlocks && k == 2) {
        uint64_t seed = 0;
        if (parser.parseInteger(seed))
          return failure();
        values.push_back(static_cast<int64_t>(seed));
      } else {
        int64_t value = 0;
        if (parser.parseInteger(value))
          return failure();
        values.push_back(value);
      }
    }
    if (parser.parseRParen())
      return failure();
  }
  // ArrayRef arguments: SmallVectors would select Base's generic getChecked.
  MaskAttr result = getChecked([&] { return parser.emitError(loc); }, parser.getContext(), *kind,
                               ArrayRef<int64_t>(values), ArrayRef<MaskAttr>(operands));
  if (!result)
    return failure();
  return result;
}

void MaskAttr::printBare(raw_ostream &os) const {
  MaskNodeKind kind = getKind();
  os << stringifyMaskNodeKind(kind);
  if (isCombinator(kind)) {
    os << '(';
    llvm::interleaveComma(getOperands(), os, [&](MaskAttr m) { m.printBare(os); });
    os << ')';
    return;
  }
  if (getValues().empty())
    return;
  os << '(';
  for (auto [k, value] : llvm::enumerate(getValues())) {
    if (kind == MaskNodeKind::Stride && k == 1 && value == 0)
      break;
    if (k)
      os << ", ";
    if (kind == MaskNodeKind::RandomBlocks && k == 2)
      os << static_cast<uint64_t>(value);
    else
      os << value;
  }
  os << ')';
}

Attribute MaskAttr::parse(AsmParser &parser, Type) {
  if (parser.parseLess())
    return {};
  FailureOr<MaskAttr> mask = parseBare(parser);
  if (failed(mask) || parser.parseGreater())
    return {};
  return *mask;
}

void MaskAttr::print(AsmPrinter &printer) const {
  printer << '<';
  printBare(printer.getStream());
  printer << '>';
}

LogicalResult MaskAttr::verify(function_ref<InFlightDiagnostic()> emitError, MaskNodeKind kind,
                               ArrayRef<int64_t> values, ArrayRef<MaskAttr> operands) {
  StringRef name = stringifyMaskNodeKind(kind);
  if (values.size() != arity(kind))
    return emitError() << "mask '" << name << "' takes " << arity(kind) << " integers, got "
                       << values.size();
  if (isCombinator(kind) ? operands.empty() : !operands.empty())
    return emitError() << "mask '" << name << "' "
                       << (isCombinator(kind) ? "needs at least one operand" : "takes no operand");
  // The ranges of the pattern ops' verifiers (SpartaOps.cpp), on constants.
  auto atLeast = [&](unsigned k, int64_t min, StringRef field) -> LogicalResult {
    if (values[k] < min)
      return emitError() << "mask '" << name << "': " << field << " must be at least " << min
                         << ", got " << values[k];
    return success();
  };
  switch (kind) {
  case MaskNodeKind::Stride:
    if (failed(atLeast(0, 1, "period")) || failed(atLeast(1, 0, "offset")))
      return failure();
    if (values[1] >= values[0])
      return emitError() << "mask 'stride': offset must be below period, got offset = "
                         << values[1] << " >= period = " << values[0];
    return success();
  case MaskNodeKind::GridWindow:
    return failure(failed(atLeast(0, 1, "width")) || failed(atLeast(1, 0, "dh")) ||
                   failed(atLeast(2, 0, "dw")));
  case MaskNodeKind::Chunk:
    return atLeast(0, 1, "size");
  case MaskNodeKind::Summary:
    if (failed(atLeast(0, 1, "period")) || failed(atLeast(1, 0, "width")))
      return failure();
    if (values[1] > values[0])
      return emitError() << "mask 'summary': width must not exceed period, got width = "
                         << values[1] << " > period = " << values[0];
    return success();
  case MaskNodeKind::GlobalKeys:
  case MaskNodeKind::GlobalQueries:
    return atLeast(0, 0, "count");
  case MaskNodeKind::RandomBlocks:
    return failure(failed(atLeast(0, 1, "block")) || failed(atLeast(1, 0, "count")));
  default:
    return success();
  }
}
