//===- SpartaPlanOps.cpp - Syntax and verifiers of the plan ops ------------===//
//
// sparta.plan prints its parameters like an instantiated pattern does
// (`@name(T = 64, L = 8) {`), and sparta.component prints its
// attributes bare, in the order a reader asks about them: which pairs, then
// how they are mapped and scheduled. The verifiers hold every invariant that
// the code generator and tiling.h assume, because a plan may also come from
// a file (sparta-opt, tests) rather than from the planner.
//
//===----------------------------------------------------------------------===//
#include "sparta/Dialect/SpartaPlanOps.h"
#include "sparta/Dialect/Limits.h"

#include "llvm/ADT/STLExtras.h"
#include "llvm/ADT/StringSet.h"

using namespace mlir;
using namespace mlir::sparta;

// Glue for `custom<BareMask>($mask)` in head_plan's assembly format.
static ParseResult parseBareMask(OpAsmParser &parser, MaskAttr &result) {
  FailureOr<MaskAttr> mask = MaskAttr::parseBare(parser);
  if (failed(mask))
    return failure();
  result = *mask;
  return success();
}
static void printBareMask(OpAsmPrinter &printer, Operation *, MaskAttr mask) {
  mask.printBare(printer.getStream());
}

#define GET_OP_CLASSES
#include "sparta/Dialect/SpartaPlanOps.cpp.inc"

//===----------------------------------------------------------------------===//
// PlanOp
//===----------------------------------------------------------------------===//

std::optional<int64_t> PlanOp::getParamValue(StringRef name) {
  for (auto [key, value] : llvm::zip(getParamNames(), getParamValues()))
    if (llvm::cast<StringAttr>(key).getValue() == name)
      return value;
  return std::nullopt;
}

ParseResult PlanOp::parse(OpAsmParser &parser, OperationState &result) {
  MLIRContext *ctx = parser.getContext();
  StringAttr symName;
  SmallVector<Attribute> names;
  SmallVector<int64_t> values;
  auto parseParam = [&]() -> ParseResult {
    StringRef name;
    int64_t value = 0;
    if (parser.parseKeyword(&name) || parser.parseEqual() || parser.parseInteger(value))
      return failure();
    names.push_back(StringAttr::get(ctx, name));
    values.push_back(value);
    return success();
  };
  if (parser.parseSymbolName(symName) ||
      parser.parseCommaSeparatedList(OpAsmParser::Delimiter::Paren, parseParam))
    return failure();
  result.addAttribute(getSymNameAttrName(result.name), symName);
  result.addAttribute(getParamNamesAttrName(result.name), ArrayAttr::get(ctx, names));
  result.addAttribute(getParamValuesAttrName(result.name), DenseI64ArrayAttr::get(ctx, values));
  if (succeeded(parser.parseOptionalKeyword("bidirectional")))
    result.addAttribute(getBidirectionalAttrName(result.name), UnitAttr::get(ctx));
  if (parser.parseOptionalAttrDictWithKeyword(result.attributes))
    return failure();
  Region *body = result.addRegion();
  if (parser.parseRegion(*body, /*arguments=*/{}))
    return failure();
  if (body->empty())
    body->emplaceBlock();
  return success();
}

void PlanOp::print(OpAsmPrinter &p) {
  p << ' ';
  p.printSymbolName(getSymName());
  p << '(';
  for (auto [k, entry] : llvm::enumerate(llvm::zip(getParamNames(), getParamValues())))
    p << (k ? ", " : "") << llvm::cast<StringAttr>(std::get<0>(entry)).getValue() << " = "
      << std::get<1>(entry);
  p << ')';
  if (getBidirectional())
    p << " bidirectional";
  p.printOptionalAttrDictWithKeyword((*this)->getAttrs(),
                                     {getSymNameAttrName(), getParamNamesAttrName(),
                                      getParamValuesAttrName(), getBidirectionalAttrName()});
  p << ' ';
  p.printRegion(getBody(), /*printEntryBlockArgs=*/false, /*printBlockTerminators=*/false);
}

LogicalResult PlanOp::verify() {
  if (getParamNames().size() != getParamValues().size())
    return emitOpError() << "has " << getParamNames().size() << " parameter names but "
                         << getParamValues().size() << " values";
  llvm::StringSet<> seen;
  for (Attribute name : getParamNames())
    if (!seen.insert(llvm::cast<StringAttr>(name).getValue()).second)
      return emitOpError() << "duplicate parameter '" << llvm::cast<StringAttr>(name).getValue()
                           << "'";
  std::optional<int64_t> t = getParamValue("T");
  if (!t)
    return emitOpError() << "must have parameter 'T' (the sequence length)";
  if (*t < 1 || *t > ::sparta::limits::kMaxSequenceLength)
    return emitOpError() << "sequence length T must be in [1, "
                         << ::sparta::limits::kMaxSequenceLength << "], got T = " << *t;
  return success();
}

LogicalResult PlanOp::verifyRegions() {
  // Head h of a model uses head_plan h mod n: indices must be 0..n-1, once each.
  SmallVector<HeadPlanOp> heads(getBody().getOps<HeadPlanOp>());
  if (heads.empty())
    return emitOpError() << "must plan at least one head mask";
  SmallVector<bool> present(heads.size(), false);
  for (HeadPlanOp head : heads) {
    int64_t index = head.getMaskIndexValue();
    if (index < 0 || index >= int64_t(heads.size()))
      return head.emitOpError() << "mask index " << index << " is outside [0, " << heads.size()
                                << "): head indices must be dense";
    if (present[index])
      return head.emitOpError() << "duplicate mask index " << index;
    present[index] = true;
  }
  for (Operation &op : getBody().front())
    if (!llvm::isa<HeadPlanOp>(op))
      return op.emitOpError() << "is not allowed in a sparta.plan (expected sparta.head_plan)";
  return success();
}

//===----------------------------------------------------------------------===//
// ComponentOp
//===----------------------------------------------------------------------===//

std::string ComponentOp::getDefaultDescription() {
  std::string text;
  llvm::raw_string_ostream os(text);
  getPart().printBare(os);
  for (auto [k, excluded] : llvm::enumerate(getExcluded().getAsRange<MaskAttr>())) {
    os << (k ? ", " : " minus ");
    excluded.printBare(os);
  }
  return text;
}

std::pair<int64_t, int64_t> ComponentOp::computeGrid(int64_t T) {
  auto blocks = [&](IndexMapAttr map, int64_t tile) {
    ::sparta::tiling::IndexMap m = map.toTiling(T);
    return int64_t(m.groups()) * ((m.maxLen() + tile - 1) / tile);
  };
  return {blocks(getQueries(), getQueryTile()), blocks(getKeys(), getKeyTile())};
}

static ParseResult parseBareSchedule(OpAsmParser &parser, Attribute &result) {
  SMLoc loc = parser.getCurrentLocation();
  StringRef keyword;
  if (parser.parseKeyword(&keyword))
    return failure();
  if (keyword == BandScheduleAttr::getMnemonic())
    result = BandScheduleAttr::parse(parser, Type{});
  else if (keyword == PrefixScheduleAttr::getMnemonic())
    result = PrefixScheduleAttr::parse(parser, Type{});
  else if (keyword == GridBoxScheduleAttr::getMnemonic())
    result = GridBoxScheduleAttr::parse(parser, Type{});
  else if (keyword == TableScheduleAttr::getMnemonic())
    result = TableScheduleAttr::parse(parser, Type{});
  else
    return parser.emitError(loc, "unknown schedule '")
           << keyword << "' (expected band, prefix, grid_box or table)";
  return success(result != nullptr);
}

ParseResult ComponentOp::parse(OpAsmParser &parser, OperationState &result) {
  MLIRContext *ctx = parser.getContext();
  StringAttr name;
  if (parser.parseSymbolName(name))
    return failure();
  FailureOr<MaskAttr> part = MaskAttr::parseBare(parser);
  if (failed(part))
    return failure();
  SmallVector<Attribute> excluded;
  if (succeeded(parser.parseOptionalKeyword("minus"))) {
    do {
      FailureOr<MaskAttr> mask = MaskAttr::parseBare(parser);
      if (failed(mask))
        return failure();
      excluded.push_back(*mask);
    } while (succeeded(parser.parseOptionalComma()));
  }
  std::string description;
  bool hasDescription = succeeded(parser.parseOptionalKeyword("description"));
  if (hasDescription && parser.parseString(&description))
    return failure();
  FailureOr<IndexMapAttr> queries, keys;
  Attribute schedule;
  SmallVector<int64_t, 2> tile;
  if (parser.parseKeyword("tile") || parser.parseEqual() ||
      parser.parseDimensionList(tile, /*allowDynamic=*/false, /*withTrailingX=*/false) ||
      parser.parseComma() || parser.parseKeyword("queries") || parser.parseEqual() ||
      failed(queries = IndexMapAttr::parseBare(parser)) || parser.parseComma() ||
      parser.parseKeyword("keys") || parser.parseEqual() ||
      failed(keys = IndexMapAttr::parseBare(parser)) || parser.parseComma() ||
      parser.parseKeyword("schedule") || parser.parseEqual() ||
      parseBareSchedule(parser, schedule))
    return failure();
  if (succeeded(parser.parseOptionalComma())) {
    int64_t fwd = 0, bwd = 0;
    if (parser.parseKeyword("grid") || parser.parseEqual() || parser.parseLess() ||
        parser.parseKeyword("fwd") || parser.parseEqual() || parser.parseInteger(fwd) ||
        parser.parseComma() || parser.parseKeyword("bwd") || parser.parseEqual() ||
        parser.parseInteger(bwd) || parser.parseGreater())
      return failure();
    result.addAttribute(getGridAttrName(result.name), DenseI64ArrayAttr::get(ctx, {fwd, bwd}));
  }
  result.addAttribute(getComponentNameAttrName(result.name), name);
  result.addAttribute(getPartAttrName(result.name), *part);
  result.addAttribute(getExcludedAttrName(result.name), ArrayAttr::get(ctx, excluded));
  if (hasDescription)
    result.addAttribute(getDescriptionAttrName(result.name), StringAttr::get(ctx, description));
  result.addAttribute(getTileAttrName(result.name), DenseI64ArrayAttr::get(ctx, tile));
  result.addAttribute(getQueriesAttrName(result.name), *queries);
  result.addAttribute(getKeysAttrName(result.name), *keys);
  result.addAttribute(getScheduleAttrName(result.name), schedule);
  return parser.parseOptionalAttrDict(result.attributes);
}

void ComponentOp::print(OpAsmPrinter &p) {
  p << ' ';
  p.printSymbolName(getComponentName());
  p << ' ';
  getPart().printBare(p.getStream());
  for (auto [k, excluded] : llvm::enumerate(getExcluded().getAsRange<MaskAttr>())) {
    p << (k ? ", " : " minus ");
    excluded.printBare(p.getStream());
  }
  if (std::optional<StringRef> description = getDescription())
  {
    p << " description ";
    p.printString(*description);
  }
  p << " tile = ";
  llvm::interleave(getTile(), p.getStream(), "x");
  p << ", queries = ";
  getQueries().printBare(p.getStream());
  p << ", keys = ";
  getKeys().printBare(p.getStream());
  p << ", schedule = ";
  Attribute schedule = getSchedule();
  if (auto band = llvm::dyn_cast<BandScheduleAttr>(schedule)) {
    p << BandScheduleAttr::getMnemonic();
    band.print(p);
  } else if (auto prefix = llvm::dyn_cast<PrefixScheduleAttr>(schedule)) {
    p << PrefixScheduleAttr::getMnemonic();
    prefix.print(p);
  } else if (auto box = llvm::dyn_cast<GridBoxScheduleAttr>(schedule)) {
    p << GridBoxScheduleAttr::getMnemonic();
    box.print(p);
  } else {
    p << TableScheduleAttr::getMnemonic();
    llvm::cast<TableScheduleAttr>(schedule).print(p);
  }
  if (std::optional<ArrayRef<int64_t>> grid = getGrid(); grid && grid->size() == 2)
    p << ", grid = <fwd = " << (*grid)[0] << ", bwd = " << (*grid)[1] << '>';
  p.printOptionalAttrDict((*this)->getAttrs(),
                          {getComponentNameAttrName(), getPartAttrName(), getExcludedAttrName(),
                           getDescriptionAttrName(), getTileAttrName(), getQueriesAttrName(),
                           getKeysAttrName(),
                           getScheduleAttrName(), getGridAttrName()});
}

/// Checks one side of a table against the tile counts: `offsets` has one
/// entry per own tile plus one; every entry names a tile of the other side.
static LogicalResult verifyTableSide(ComponentOp op, StringRef side, ArrayRef<int32_t> offsets,
                                     ArrayRef<int32_t> entries, int64_t ownTiles,
                                     int64_t otherTiles) {
  if (int64_t(offsets.size()) != ownTiles + 1)
    return op.emitOpError() << "table " << side << "_offsets has " << offsets.size()
                            << " entries, expected " << ownTiles + 1 << " (tiles + 1)";
  for (int32_t entry : entries)
    if ((entry >> 1) >= otherTiles)
      return op.emitOpError() << "table " << side << "_entries names tile " << (entry >> 1)
                              << ", outside [0, " << otherTiles << ")";
  return success();
}

LogicalResult ComponentOp::verify() {
  auto plan = (*this)->getParentOfType<PlanOp>();
  std::optional<int64_t> knownT = plan ? plan.getParamValue("T") : std::nullopt;
  if (!knownT || *knownT < 1 || *knownT > ::sparta::limits::kMaxSequenceLength)
    return success(); // the plan's verifier reports it
  int64_t T = *knownT;
  if (getTile().size() != 2 || getQueryTile() < 1 || getKeyTile() < 1)
    return emitOpError() << "tile must be two positive sizes (query x key positions)";
  IndexMapAttr queries = getQueries(), keys = getKeys();
  bool identityQueries = queries.getKind() == IndexMapKind::Identity;
  bool identityKeys = keys.getKind() == IndexMapKind::Identity;

  // Query group g only ever meets key group g (tiling.h).
  int64_t queryGroups = queries.toTiling(T).groups(), keyGroups = keys.toTiling(T).groups();
  if (queryGroups != keyGroups)
    return emitOpError() << "query map has " << queryGroups << " groups but key map has "
                         << keyGroups << " (query group g meets only key group g)";
  // A packed group is one tile pair of a band schedule, with the same
  // sub-groups on both sides (tiling.h).
  if (queries.getPack() > 1 || keys.getPack() > 1) {
    if (queries != keys || !llvm::isa<BandScheduleAttr>(getSchedule()) ||
        llvm::cast<BandScheduleAttr>(getSchedule()).getRowsBelow())
      return emitOpError() << "packed maps need equal query and key maps and a band schedule "
                              "without rows_below";
    if (queries.toTiling(T).maxLen() > std::min(getQueryTile(), getKeyTile()))
      return emitOpError() << "a packed group of " << queries.toTiling(T).maxLen()
                           << " positions does not fit one tile";
  }

  Attribute schedule = getSchedule();
  // Keys after the query exist only in a bidirectional plan.
  bool causal = !plan.getBidirectional();
  if (auto band = llvm::dyn_cast<BandScheduleAttr>(schedule)) {
    if (std::optional<int64_t> rows = band.getRowsBelow(); rows && *rows > T)
      return emitOpError() << "band rows_below = " << *rows << " exceeds T = " << T;
    if (causal && band.getDlo() < 0)
      return emitOpError() << "band dlo = " << band.getDlo()
                           << " < 0 (keys after the query) needs a bidirectional plan";
  } else if (auto prefix = llvm::dyn_cast<PrefixScheduleAttr>(schedule)) {
    if (causal && prefix.getOffset() < 0)
      return emitOpError() << "prefix offset = "
                           << (prefix.getOffset() <= -BandScheduleAttr::kUnbounded
                                   ? std::string("-inf")
                                   : std::to_string(prefix.getOffset()))
                           << " < 0 (keys after the query) needs a bidirectional plan";
    if (!identityQueries)
      return emitOpError() << "prefix schedules need the identity query map";
    bool global = prefix.getKind() == PrefixScheduleKind::GlobalKeys;
    if (global && !identityKeys)
      return emitOpError() << "prefix<global_keys> needs the identity key map";
    if (!global && keys.getKind() != IndexMapKind::SummaryGather)
      return emitOpError() << "prefix<" << stringifyPrefixScheduleKind(prefix.getKind())
                           << "> needs a summary_gather key map";
  } else if (auto box = llvm::dyn_cast<GridBoxScheduleAttr>(schedule)) {
    if (!identityQueries || !identityKeys)
      return emitOpError() << "grid_box schedules need identity query and key maps";
    if (T % box.getWidth() != 0)
      return emitOpError() << "grid_box width = " << box.getWidth()
                           << " does not divide T = " << T << " into grid rows";
    if (box.getWidth() % getQueryTile() != 0 || box.getWidth() % getKeyTile() != 0)
      return emitOpError() << "grid_box width = " << box.getWidth()
                           << " is not a multiple of the tile edges " << getQueryTile() << "x"
                           << getKeyTile() << " (tiles lie inside one grid row)";
    if (causal && box.getRowLo() < 0)
      return emitOpError() << "grid_box rows = [" << box.getRowLo() << ", " << box.getRowHi()
                           << "] reach later rows, which needs a bidirectional plan";
  } else {
    auto table = llvm::cast<TableScheduleAttr>(schedule);
    if (!identityQueries || !identityKeys)
      return emitOpError() << "table schedules need identity query and key maps";
    int64_t qTiles = (T + getQueryTile() - 1) / getQueryTile();
    int64_t kTiles = (T + getKeyTile() - 1) / getKeyTile();
    if (failed(verifyTableSide(*this, "fwd", table.getFwdOffsets().asArrayRef(),
                               table.getFwdEntries().asArrayRef(), qTiles, kTiles)) ||
        failed(verifyTableSide(*this, "bwd", table.getBwdOffsets().asArrayRef(),
                               table.getBwdEntries().asArrayRef(), kTiles, qTiles)))
      return failure();
  }

  if (std::optional<ArrayRef<int64_t>> grid = getGrid()) {
    auto [fwd, bwd] = computeGrid(T);
    if (grid->size() != 2 || (*grid)[0] != fwd || (*grid)[1] != bwd)
      return emitOpError() << "grid does not match the index maps: expected <fwd = " << fwd
                           << ", bwd = " << bwd << ">";
  }
  return success();
}
