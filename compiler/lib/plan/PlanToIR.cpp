//===- PlanToIR.cpp - sparta::Plan <-> sparta.plan, without loss ----------===//
//
// The planner works on plain C++ (sparta/Plan.h) because it runs inside the
// JIT path and in MLIR-free tests; the IR form exists for printing, testing
// and editing plans. The two conversions here are inverse to each other on
// every plan the planner makes, down to the TileSchedule fields that a kind
// does not use (the code generator prints the whole constexpr object, so a
// stray field would change the kernel source). What the IR leaves implicit
// is restored by the same rules the planner uses:
//
//   identity map           p = 1, w = 0, pack = 1 (Planner.cpp identityMap)
//   band without rows_below qlimit = T
//   table schedule          qlimit = T, identity maps (TableBuilder.cpp)
//   no description          "PART minus EXCLUDED, ..." (Planner.cpp describe)
//
//===----------------------------------------------------------------------===//
#include "sparta/PlanIR.h"

#include "sparta/Error.h"

#include "mlir/IR/Diagnostics.h"
#include "mlir/IR/Verifier.h"
#include "llvm/Support/raw_ostream.h"

namespace sparta {

using mlir::sparta::BandScheduleAttr;
using mlir::sparta::GridBoxScheduleAttr;
using mlir::sparta::ComponentOp;
using mlir::sparta::HeadPlanOp;
using mlir::sparta::IndexMapAttr;
using mlir::sparta::IndexMapKind;
using mlir::sparta::MaskAttr;
using mlir::sparta::MaskNodeKind;
using mlir::sparta::PlanOp;
using mlir::sparta::PrefixScheduleAttr;
using mlir::sparta::PrefixScheduleKind;
using mlir::sparta::TableScheduleAttr;

//===----------------------------------------------------------------------===//
// Masks
//===----------------------------------------------------------------------===//

MaskAttr toMaskAttr(mlir::MLIRContext *context, const Mask &m) {
  MaskNodeKind kind = MaskNodeKind::Empty;
  llvm::SmallVector<int64_t, 3> values;
  llvm::SmallVector<MaskAttr> operands;
  switch (m.kind) {
  case MaskKind::Dense: kind = MaskNodeKind::Dense; break;
  case MaskKind::Empty: kind = MaskNodeKind::Empty; break;
  case MaskKind::Band: kind = MaskNodeKind::Band; values = {m.lo, m.hi}; break;
  case MaskKind::Stride: kind = MaskNodeKind::Stride; values = {m.period, m.offset}; break;
  case MaskKind::GridWindow:
    kind = MaskNodeKind::GridWindow;
    values = {m.period, m.dh, m.dw};
    break;
  case MaskKind::Chunk: kind = MaskNodeKind::Chunk; values = {m.size}; break;
  case MaskKind::Summary: kind = MaskNodeKind::Summary; values = {m.period, m.width}; break;
  case MaskKind::GlobalKeys: kind = MaskNodeKind::GlobalKeys; values = {m.count}; break;
  case MaskKind::GlobalQueries: kind = MaskNodeKind::GlobalQueries; values = {m.count}; break;
  case MaskKind::RandomBlocks:
    kind = MaskNodeKind::RandomBlocks;
    values = {m.block, m.count, static_cast<int64_t>(m.seed)};
    break;
  case MaskKind::Union:
  case MaskKind::Intersect:
    kind = m.kind == MaskKind::Union ? MaskNodeKind::Union : MaskNodeKind::Intersect;
    for (const Mask &operand : m.operands)
      operands.push_back(toMaskAttr(context, operand));
    break;
  }
  return MaskAttr::get(context, kind, values, operands);
}

Mask fromMaskAttr(MaskAttr attr) {
  Mask m;
  llvm::ArrayRef<int64_t> v = attr.getValues();
  switch (attr.getKind()) {
  case MaskNodeKind::Dense: m.kind = MaskKind::Dense; break;
  case MaskNodeKind::Empty: m.kind = MaskKind::Empty; break;
  case MaskNodeKind::Band: m.kind = MaskKind::Band; m.lo = v[0]; m.hi = v[1]; break;
  case MaskNodeKind::Stride:
    m.kind = MaskKind::Stride;
    m.period = v[0];
    m.offset = v[1];
    break;
  case MaskNodeKind::GridWindow:
    m.kind = MaskKind::GridWindow;
    m.period = v[0];
    m.dh = v[1];
    m.dw = v[2];
    break;
  case MaskNodeKind::Chunk: m.kind = MaskKind::Chunk; m.size = v[0]; break;
  case MaskNodeKind::Summary:
    m.kind = MaskKind::Summary;
    m.period = v[0];
    m.width = v[1];
    break;
  case MaskNodeKind::GlobalKeys: m.kind = MaskKind::GlobalKeys; m.count = v[0]; break;
  case MaskNodeKind::GlobalQueries: m.kind = MaskKind::GlobalQueries; m.count = v[0]; break;
  case MaskNodeKind::RandomBlocks:
    m.kind = MaskKind::RandomBlocks;
    m.block = v[0];
    m.count = v[1];
    m.seed = static_cast<uint64_t>(v[2]);
    break;
  case MaskNodeKind::Union:
  case MaskNodeKind::Intersect:
    m.kind = attr.getKind() == MaskNodeKind::Union ? MaskKind::Union : MaskKind::Intersect;
    for (MaskAttr operand : attr.getOperands())
      m.operands.push_back(fromMaskAttr(operand));
    break;
  }
  return m;
}

//===----------------------------------------------------------------------===//
// Plan -> IR
//===----------------------------------------------------------------------===//

namespace {

IndexMapAttr toMapAttr(mlir::MLIRContext *context, const tiling::IndexMap &map) {
  auto kind = static_cast<IndexMapKind>(map.kind);
  if (kind == IndexMapKind::Identity)
    return IndexMapAttr::get(context, kind, 0, 0, 1);
  // w is the summary width of a gather and the rotation of a strided map.
  return IndexMapAttr::get(context, kind, map.p, kind == IndexMapKind::Chunked ? 0 : map.w,
                           map.pack);
}

mlir::Attribute toScheduleAttr(mlir::MLIRContext *context, const PlanComponent &c, int64_t T) {
  const tiling::TileSchedule &s = c.schedule;
  switch (s.kind) {
  case tiling::kBand:
    return BandScheduleAttr::get(context, s.dlo, s.dhi,
                                 s.qlimit < T ? std::optional<int64_t>(s.qlimit) : std::nullopt);
  case tiling::kPrefix:
    return PrefixScheduleAttr::get(context, static_cast<PrefixScheduleKind>(s.prefixKind),
                                   s.count, s.offset, s.skipPeriod);
  case tiling::kGridBox:
    return GridBoxScheduleAttr::get(context, s.box.width, s.box.rowLo, s.box.rowHi, s.box.colLo,
                                    s.box.colHi);
  default:
    return TableScheduleAttr::get(context, mlir::DenseI32ArrayAttr::get(context, c.fwdOffsets),
                                  mlir::DenseI32ArrayAttr::get(context, c.fwdEntries),
                                  mlir::DenseI32ArrayAttr::get(context, c.bwdOffsets),
                                  mlir::DenseI32ArrayAttr::get(context, c.bwdEntries));
  }
}

} // namespace

PlanOp buildPlanIR(const Plan &plan, mlir::OpBuilder &builder, mlir::Location loc) {
  mlir::MLIRContext *ctx = builder.getContext();
  // T first (it is what every reader looks for), then the rest by name.
  llvm::SmallVector<mlir::Attribute> names{builder.getStringAttr("T")};
  llvm::SmallVector<int64_t> values{plan.T};
  for (const auto &[name, value] : plan.params) {
    names.push_back(builder.getStringAttr(name));
    values.push_back(value);
  }

  auto planOp = PlanOp::create(builder, loc, builder.getStringAttr(plan.patternName),
                               builder.getArrayAttr(names), builder.getDenseI64ArrayAttr(values),
                               /*bidirectional=*/!plan.causal);
  mlir::OpBuilder::InsertionGuard guard(builder);
  builder.setInsertionPointToEnd(&planOp.getBody().emplaceBlock());
  for (const HeadPlan &head : plan.heads) {
    auto headOp = HeadPlanOp::create(builder, loc, builder.getI64IntegerAttr(head.maskIndex),
                                     toMaskAttr(ctx, head.mask));
    mlir::OpBuilder::InsertionGuard headGuard(builder);
    builder.setInsertionPointToEnd(&headOp.getBody().emplaceBlock());
    for (const PlanComponent &c : head.components) {
      llvm::SmallVector<mlir::Attribute> excluded;
      for (const Mask &e : c.excluded)
        excluded.push_back(toMaskAttr(ctx, e));
      auto op = ComponentOp::create(
          builder, loc, builder.getStringAttr(c.name), toMaskAttr(ctx, c.part),
          builder.getArrayAttr(excluded), /*description=*/nullptr,
          builder.getDenseI64ArrayAttr({c.schedule.qTile, c.schedule.kTile}),
          toMapAttr(ctx, c.schedule.q),
          toMapAttr(ctx, c.schedule.k), toScheduleAttr(ctx, c, plan.T),
          /*grid=*/nullptr);
      // Keep the description only when it says more than part and exclusions.
      if (c.description != op.getDefaultDescription())
        op.setDescription(c.description);
      auto [fwd, bwd] = op.computeGrid(plan.T);
      op.setGrid(llvm::ArrayRef<int64_t>{fwd, bwd});
    }
  }
  return planOp;
}

PlanOp buildPlanIR(const Plan &plan, mlir::OpBuilder &builder) {
  return buildPlanIR(plan, builder, builder.getUnknownLoc());
}

//===----------------------------------------------------------------------===//
// IR -> Plan
//===----------------------------------------------------------------------===//

namespace {


std::vector<int> toVector(mlir::DenseI32ArrayAttr array) {
  return std::vector<int>(array.asArrayRef().begin(), array.asArrayRef().end());
}

PlanComponent readComponent(ComponentOp op, int T, bool causal) {
  PlanComponent c;
  c.causal = causal;
  c.name = op.getComponentName().str();
  c.part = fromMaskAttr(op.getPart());
  for (MaskAttr e : op.getExcluded().getAsRange<MaskAttr>())
    c.excluded.push_back(fromMaskAttr(e));
  c.description = op.getDescription() ? op.getDescription()->str() : op.getDefaultDescription();
  tiling::TileSchedule &s = c.schedule; // value-initialized: unused fields stay 0
  s.q = op.getQueries().toTiling(T);
  s.k = op.getKeys().toTiling(T);
  s.qTile = int(op.getQueryTile());
  s.kTile = int(op.getKeyTile());
  mlir::Attribute schedule = op.getSchedule();
  if (auto band = llvm::dyn_cast<BandScheduleAttr>(schedule)) {
    s.kind = tiling::kBand;
    s.dlo = int(band.getDlo());
    s.dhi = int(band.getDhi());
    s.qlimit = int(band.getRowsBelow().value_or(T));
  } else if (auto prefix = llvm::dyn_cast<PrefixScheduleAttr>(schedule)) {
    s.kind = tiling::kPrefix;
    s.prefixKind = static_cast<int>(prefix.getKind());
    s.count = int(prefix.getCount());
    s.offset = int(prefix.getOffset());
    s.skipPeriod = int(prefix.getSkipPeriod());
  } else if (auto box = llvm::dyn_cast<GridBoxScheduleAttr>(schedule)) {
    s.kind = tiling::kGridBox;
    s.box = tiling::GridBox{int(box.getWidth()), int(box.getRowLo()), int(box.getRowHi()),
                            int(box.getColLo()), int(box.getColHi())};
  } else {
    auto table = llvm::cast<TableScheduleAttr>(schedule);
    s.kind = tiling::kTable;
    s.qlimit = T;
    c.fwdOffsets = toVector(table.getFwdOffsets());
    c.fwdEntries = toVector(table.getFwdEntries());
    c.bwdOffsets = toVector(table.getBwdOffsets());
    c.bwdEntries = toVector(table.getBwdEntries());
  }
  return c;
}

} // namespace

Plan readPlanIR(PlanOp op) {
  // The conversion trusts the verifier's invariants (T range, table shapes),
  // so check them first and report in the usual located form.
  std::string diagnostics;
  {
    mlir::ScopedDiagnosticHandler handler(op->getContext(), [&](mlir::Diagnostic &diag) {
      llvm::raw_string_ostream os(diagnostics);
      os << diag.getLocation() << ": error: " << diag << "\n";
      return mlir::success();
    });
    if (failed(mlir::verify(op)))
      throw Error(diagnostics.empty() ? "error: the plan does not verify" : diagnostics);
  }
  Plan plan;
  plan.patternName = op.getSymName().str();
  for (auto [name, value] : llvm::zip(op.getParamNames(), op.getParamValues()))
    if (llvm::cast<mlir::StringAttr>(name).getValue() != "T")
      plan.params[llvm::cast<mlir::StringAttr>(name).str()] = value;
  plan.T = op.getT();
  plan.causal = !op.getBidirectional();
  for (HeadPlanOp headOp : op.getBody().getOps<HeadPlanOp>()) {
    HeadPlan head;
    head.maskIndex = headOp.getMaskIndexValue();
    head.mask = fromMaskAttr(headOp.getMask());
    for (ComponentOp c : headOp.getBody().getOps<ComponentOp>())
      head.components.push_back(readComponent(c, int(plan.T), plan.causal));
    plan.heads.push_back(std::move(head));
  }
  return plan;
}

} // namespace sparta
