//===- SpartaPlanAttrs.cpp - Index maps and schedules of a plan ------------===//
//
// Index maps and the four schedules (#sparta.mask is in MaskAttr.cpp).
// Each has a *bare* form, used inside plan ops where the context already
// says what is expected (`queries = strided<64>`), and the usual
// `#sparta.mnemonic<...>` form, which wraps the bare map or, for schedules,
// is the bare form after its keyword.
//
// The verifiers check what an attribute can check alone (arities, ranges,
// CSR shape); facts that need T or the tile shape are the ops' business.
//
//===----------------------------------------------------------------------===//
#include "sparta/Dialect/SpartaPlanOps.h"
#include "sparta/Dialect/Limits.h"

#include "llvm/Support/raw_ostream.h"

using namespace mlir;
using namespace mlir::sparta;

/// An offset bound: an integer, `inf` or `-inf` (+-tiling::kUnbounded).
static ParseResult parseBound(AsmParser &parser, int64_t &value) {
  bool negative = succeeded(parser.parseOptionalMinus());
  if (succeeded(parser.parseOptionalKeyword("inf")))
    value = BandScheduleAttr::kUnbounded;
  else if (parser.parseInteger(value))
    return failure();
  if (negative)
    value = -value;
  return success();
}

static void printBound(raw_ostream &os, int64_t value) {
  if (value >= BandScheduleAttr::kUnbounded)
    os << "inf";
  else if (value <= -BandScheduleAttr::kUnbounded)
    os << "-inf";
  else
    os << value;
}

//===----------------------------------------------------------------------===//
// #sparta.map
//===----------------------------------------------------------------------===//

FailureOr<IndexMapAttr> IndexMapAttr::parseBare(AsmParser &parser) {
  SMLoc loc = parser.getCurrentLocation();
  StringRef keyword;
  if (parser.parseKeyword(&keyword))
    return failure();
  std::optional<IndexMapKind> kind = symbolizeIndexMapKind(keyword);
  if (!kind)
    return parser.emitError(loc, "unknown index map '")
           << keyword << "' (expected identity, strided, chunked or summary_gather)";
  int64_t period = 0, width = 0, pack = 1;
  if (*kind != IndexMapKind::Identity) {
    if (parser.parseLess() || parser.parseInteger(period))
      return failure();
    if (*kind == IndexMapKind::SummaryGather && (parser.parseComma() || parser.parseInteger(width)))
      return failure();
    // strided<p, rotate = k> keeps the rotation in `width` (tiling::IndexMap::w).
    while (*kind != IndexMapKind::SummaryGather && succeeded(parser.parseOptionalComma())) {
      StringRef key;
      SMLoc keyLoc = parser.getCurrentLocation();
      if (parser.parseKeyword(&key) || parser.parseEqual())
        return failure();
      if (key == "pack" || (key == "rotate" && *kind == IndexMapKind::Strided)) {
        if (parser.parseInteger(key == "pack" ? pack : width))
          return failure();
      } else {
        return parser.emitError(keyLoc, "unknown index map option '")
               << key << "' (expected pack" << (*kind == IndexMapKind::Strided ? " or rotate" : "")
               << ")";
      }
    }
    if (parser.parseGreater())
      return failure();
  }
  IndexMapAttr result = getChecked([&] { return parser.emitError(loc); }, parser.getContext(),
                                   *kind, period, width, pack);
  if (!result)
    return failure();
  return result;
}

void IndexMapAttr::printBare(raw_ostream &os) const {
  os << stringifyIndexMapKind(getKind());
  if (getKind() == IndexMapKind::Identity)
    return;
  os << '<' << getPeriod();
  if (getKind() == IndexMapKind::SummaryGather)
    os << ", " << getWidth();
  if (getKind() == IndexMapKind::Strided && getWidth() != 0)
    os << ", rotate = " << getWidth();
  if (getPack() != 1)
    os << ", pack = " << getPack();
  os << '>';
}

Attribute IndexMapAttr::parse(AsmParser &parser, Type) {
  if (parser.parseLess())
    return {};
  FailureOr<IndexMapAttr> map = parseBare(parser);
  if (failed(map) || parser.parseGreater())
    return {};
  return *map;
}

void IndexMapAttr::print(AsmPrinter &printer) const {
  printer << '<';
  printBare(printer.getStream());
  printer << '>';
}

LogicalResult IndexMapAttr::verify(function_ref<InFlightDiagnostic()> emitError,
                                   IndexMapKind kind, int64_t period, int64_t width,
                                   int64_t pack) {
  if (kind == IndexMapKind::Identity) {
    if (period != 0 || width != 0 || pack != 1)
      return emitError() << "index map 'identity' takes no parameters";
    return success();
  }
  if (pack < 1 || (kind == IndexMapKind::SummaryGather && pack != 1))
    return emitError() << "index map '" << stringifyIndexMapKind(kind)
                       << "': pack must be at least 1 (and 1 for summary_gather), got " << pack;
  if (period < 1)
    return emitError() << "index map '" << stringifyIndexMapKind(kind)
                       << "': period must be at least 1, got " << period;
  if (kind == IndexMapKind::Strided && width != 0 && (width < 0 || width >= period || pack != 1))
    return emitError() << "index map 'strided': rotate must be in [0, period) and the map "
                          "unpacked, got rotate = "
                       << width;
  if (kind == IndexMapKind::Chunked && width != 0)
    return emitError() << "index map '" << stringifyIndexMapKind(kind) << "' takes no width";
  if (kind == IndexMapKind::Strided)
    return success();
  if (width < 0 || width > period)
    return emitError() << "index map 'summary_gather': width must be in [0, period], got "
                       << width;
  return success();
}

::sparta::tiling::IndexMap IndexMapAttr::toTiling(int64_t T) const {
  if (getKind() == IndexMapKind::Identity)
    return {::sparta::tiling::kIdentity, int(T), 1, 0, 1};
  return {static_cast<int>(getKind()), int(T), int(getPeriod()), int(getWidth()), int(getPack())};
}

//===----------------------------------------------------------------------===//
// #sparta.band
//===----------------------------------------------------------------------===//

Attribute BandScheduleAttr::parse(AsmParser &parser, Type) {
  SMLoc loc = parser.getCurrentLocation();
  int64_t dlo = 0, dhi = 0;
  std::optional<int64_t> rowsBelow;
  if (parser.parseLess() || parseBound(parser, dlo) || parser.parseComma() ||
      parseBound(parser, dhi))
    return {};
  if (succeeded(parser.parseOptionalComma())) {
    int64_t rows = 0;
    if (parser.parseKeyword("rows_below") || parser.parseEqual() || parser.parseInteger(rows))
      return {};
    rowsBelow = rows;
  }
  if (parser.parseGreater())
    return {};
  return getChecked([&] { return parser.emitError(loc); }, parser.getContext(), dlo, dhi,
                    rowsBelow);
}

void BandScheduleAttr::print(AsmPrinter &printer) const {
  printer << '<';
  printBound(printer.getStream(), getDlo());
  printer << ", ";
  printBound(printer.getStream(), getDhi());
  if (getRowsBelow())
    printer << ", rows_below = " << *getRowsBelow();
  printer << '>';
}

LogicalResult BandScheduleAttr::verify(function_ref<InFlightDiagnostic()> emitError, int64_t dlo,
                                       int64_t dhi, std::optional<int64_t> rowsBelow) {
  // Offsets beyond +-kUnbounded would overflow the kernels' int arithmetic;
  // negative offsets (keys after the query) need a bidirectional plan, which
  // the component's verifier checks.
  if (dlo < -kUnbounded)
    return emitError() << "band schedule: dlo must be at least -2^30 (write -inf), got " << dlo;
  if (dlo > dhi)
    return emitError() << "band schedule: dlo must not exceed dhi, got dlo = " << dlo
                       << " > dhi = " << dhi;
  if (dhi > kUnbounded)
    return emitError() << "band schedule: dhi must be at most 2^30 (write inf), got " << dhi;
  if (rowsBelow && *rowsBelow < 0)
    return emitError() << "band schedule: rows_below must be at least 0, got " << *rowsBelow;
  return success();
}

//===----------------------------------------------------------------------===//
// #sparta.grid_box
//===----------------------------------------------------------------------===//

LogicalResult GridBoxScheduleAttr::verify(function_ref<InFlightDiagnostic()> emitError,
                                          int64_t width, int64_t rowLo, int64_t rowHi,
                                          int64_t colLo, int64_t colHi) {
  // The kernels' int arithmetic: offsets within +-T, T <= 2^28.
  const int64_t limit = ::sparta::limits::kMaxSequenceLength;
  if (width < 1 || width > limit)
    return emitError() << "grid_box schedule: width must lie in [1, 2^28], got " << width;
  if (rowLo > rowHi || colLo > colHi)
    return emitError() << "grid_box schedule: rows and cols must be [lo, hi] with lo <= hi, got rows = ["
                       << rowLo << ", " << rowHi << "], cols = [" << colLo << ", " << colHi << "]";
  for (int64_t v : {rowLo, rowHi, colLo, colHi})
    if (v < -limit || v > limit)
      return emitError() << "grid_box schedule: offsets must lie within +-2^28, got " << v;
  return success();
}

//===----------------------------------------------------------------------===//
// #sparta.prefix
//===----------------------------------------------------------------------===//

Attribute PrefixScheduleAttr::parse(AsmParser &parser, Type) {
  SMLoc loc = parser.getCurrentLocation();
  StringRef keyword;
  if (parser.parseLess() || parser.parseKeyword(&keyword))
    return {};
  std::optional<PrefixScheduleKind> kind = symbolizePrefixScheduleKind(keyword);
  if (!kind) {
    parser.emitError(loc, "unknown prefix schedule '")
        << keyword << "' (expected global_keys, summary or summary_earlier_chunks)";
    return {};
  }
  int64_t count = 0, offset = 0, skipPeriod = 0;
  if (*kind == PrefixScheduleKind::GlobalKeys &&
      (parser.parseComma() || parser.parseKeyword("count") || parser.parseEqual() ||
       parser.parseInteger(count) || parser.parseComma() || parser.parseKeyword("offset") ||
       parser.parseEqual() || parseBound(parser, offset)))
    return {};
  if (*kind == PrefixScheduleKind::GlobalKeys && succeeded(parser.parseOptionalComma()) &&
      (parser.parseKeyword("skip_period") || parser.parseEqual() ||
       parser.parseInteger(skipPeriod)))
    return {};
  if (parser.parseGreater())
    return {};
  return getChecked([&] { return parser.emitError(loc); }, parser.getContext(), *kind, count,
                    offset, skipPeriod);
}

void PrefixScheduleAttr::print(AsmPrinter &printer) const {
  printer << '<' << stringifyPrefixScheduleKind(getKind());
  if (getKind() == PrefixScheduleKind::GlobalKeys) {
    printer << ", count = " << getCount() << ", offset = ";
    printBound(printer.getStream(), getOffset());
  }
  if (getSkipPeriod() != 0)
    printer << ", skip_period = " << getSkipPeriod();
  printer << '>';
}

LogicalResult PrefixScheduleAttr::verify(function_ref<InFlightDiagnostic()> emitError,
                                         PrefixScheduleKind kind, int64_t count, int64_t offset,
                                         int64_t skipPeriod) {
  if (kind != PrefixScheduleKind::GlobalKeys && (count != 0 || offset != 0))
    return emitError() << "prefix schedule '" << stringifyPrefixScheduleKind(kind)
                       << "' takes no count or offset";
  if (count < 0 || offset < -BandScheduleAttr::kUnbounded || offset > BandScheduleAttr::kUnbounded)
    return emitError() << "prefix schedule: count must be at least 0 and offset within +-2^30, "
                          "got count = "
                       << count << ", offset = " << offset;
  if (skipPeriod != 0 && (kind != PrefixScheduleKind::GlobalKeys || skipPeriod < 2))
    return emitError() << "prefix schedule: skip_period must be 0 or at least 2, and only for "
                          "global_keys, got "
                       << skipPeriod;
  return success();
}

//===----------------------------------------------------------------------===//
// #sparta.table
//===----------------------------------------------------------------------===//

Attribute TableScheduleAttr::parse(AsmParser &parser, Type) {
  SMLoc loc = parser.getCurrentLocation();
  DenseI32ArrayAttr arrays[4];
  const char *names[] = {"fwd_offsets", "fwd_entries", "bwd_offsets", "bwd_entries"};
  if (parser.parseLess())
    return {};
  for (int k = 0; k < 4; ++k) {
    if ((k && parser.parseComma()) || parser.parseKeyword(names[k]) || parser.parseEqual())
      return {};
    arrays[k] = llvm::dyn_cast_or_null<DenseI32ArrayAttr>(DenseI32ArrayAttr::parse(parser, Type{}));
    if (!arrays[k])
      return {};
  }
  if (parser.parseGreater())
    return {};
  return getChecked([&] { return parser.emitError(loc); }, parser.getContext(), arrays[0],
                    arrays[1], arrays[2], arrays[3]);
}

void TableScheduleAttr::print(AsmPrinter &printer) const {
  printer << "<fwd_offsets = ";
  getFwdOffsets().print(printer);
  printer << ", fwd_entries = ";
  getFwdEntries().print(printer);
  printer << ", bwd_offsets = ";
  getBwdOffsets().print(printer);
  printer << ", bwd_entries = ";
  getBwdEntries().print(printer);
  printer << '>';
}

/// One CSR side: starts at 0, never decreases, ends at the entry count.
static LogicalResult verifyCsr(function_ref<InFlightDiagnostic()> emitError, StringRef side,
                               ArrayRef<int32_t> offsets, ArrayRef<int32_t> entries) {
  if (offsets.empty() || offsets.front() != 0)
    return emitError() << "table schedule: " << side << "_offsets must start with 0";
  for (size_t k = 1; k < offsets.size(); ++k)
    if (offsets[k] < offsets[k - 1])
      return emitError() << "table schedule: " << side << "_offsets must not decrease, got "
                         << offsets[k - 1] << " then " << offsets[k] << " at index " << k;
  if (offsets.back() != int64_t(entries.size()))
    return emitError() << "table schedule: " << side << "_offsets must end at the number of "
                       << side << "_entries (" << entries.size() << "), got " << offsets.back();
  for (int32_t entry : entries)
    if (entry < 0)
      return emitError() << "table schedule: " << side << "_entries must not be negative, got "
                         << entry;
  return success();
}

LogicalResult TableScheduleAttr::verify(function_ref<InFlightDiagnostic()> emitError,
                                        DenseI32ArrayAttr fwdOffsets, DenseI32ArrayAttr fwdEntries,
                                        DenseI32ArrayAttr bwdOffsets,
                                        DenseI32ArrayAttr bwdEntries) {
  if (!fwdOffsets || !fwdEntries || !bwdOffsets || !bwdEntries)
    return emitError() << "table schedule: missing array";
  if (failed(verifyCsr(emitError, "fwd", fwdOffsets.asArrayRef(), fwdEntries.asArrayRef())) ||
      failed(verifyCsr(emitError, "bwd", bwdOffsets.asArrayRef(), bwdEntries.asArrayRef())))
    return failure();
  // The backward lists are the transpose of the forward ones.
  if (fwdEntries.size() != bwdEntries.size())
    return emitError() << "table schedule: " << fwdEntries.size() << " forward entries but "
                       << bwdEntries.size() << " backward entries (one list is the transpose "
                       << "of the other)";
  return success();
}
