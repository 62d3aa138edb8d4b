//===- SpartaPlanOps.td - sparta.plan, sparta.head_plan, sparta.component -===//
//
// The plan of an instantiated pattern as IR: what the planner
// (compiler/lib/plan/Planner.cpp) decided and the code generator consumes.
// One sparta.plan per pattern, one sparta.head_plan per head mask, one
// sparta.component per kernel launch of that head:
//
//   sparta.plan @strided_merged(T = 1024, L = 64) {
//     sparta.head_plan 0 mask = union(band(0, 64), stride(64)) {
//       sparta.component @band band(0, 64) tile = 64x64, queries = identity,
//           keys = identity, schedule = band<0, 64>, grid = <fwd = 16, bwd = 16>
//       sparta.component @stride stride(64) minus band(0, 64) tile = 64x64,
//           queries = strided<64>, keys = strided<64>, schedule = band<2, inf>, ...
//     }
//   }
//
// The sparta-plan pass produces it (replacing each sparta.pattern);
// sparta/PlanIR.h converts it to and from sparta::Plan. The
// verifiers check every invariant the kernels rely on, so hand-written or
// edited plans fail with a diagnostic instead of a wrong kernel.
//
//===----------------------------------------------------------------------===//
#ifndef SPARTA_PLAN_OPS_TD
#define SPARTA_PLAN_OPS_TD

include "sparta/Dialect/SpartaDialect.td"
include "sparta/Dialect/SpartaAttrs.td"
include "mlir/IR/SymbolInterfaces.td"

class Sparta_PlanOp<string mnemonic, list<Trait> traits = []>
    : Op<Sparta_Dialect, mnemonic, traits>;

def Sparta_ScheduleAttr : AnyAttrOf<[Sparta_BandScheduleAttr, Sparta_PrefixScheduleAttr, Sparta_GridBoxScheduleAttr,
                                     Sparta_TableScheduleAttr]>;
def Sparta_MaskArrayAttr : TypedArrayAttrBase<Sparta_MaskAttr, "array of masks">;

def Sparta_PlanOp : Sparta_PlanOp<"plan", [
    Symbol, IsolatedFromAbove, SingleBlock, NoTerminator, NoRegionArguments]> {
  let summary = "the plan of an instantiated pattern";
  let description = [{
    `sparta.plan @name(T = 4096, L = 64, ...) [bidirectional] { head_plans }`.
    The parameters are the pattern's values (T first); `bidirectional` says
    the pattern's masks are not intersected with j <= i. The body holds one
    sparta.head_plan per mask of the pattern, with indices 0..n-1 (head h
    uses plan h mod n).
  }];
  let arguments = (ins SymbolNameAttr:$sym_name, StrArrayAttr:$param_names,
                       DenseI64ArrayAttr:$param_values, UnitAttr:$bidirectional);
  let regions = (region SizedRegion<1>:$body);
  let hasCustomAssemblyFormat = 1;
  let hasVerifier = 1;
  let hasRegionVerifier = 1;
  let extraClassDeclaration = [{
    /// The value of parameter `name`, if the plan has one.
    std::optional<int64_t> getParamValue(::llvm::StringRef name);
    /// The sequence length (the verifier guarantees it exists).
    int64_t getT() { return getParamValue("T").value_or(0); }
  }];
}

def Sparta_HeadPlanOp : Sparta_PlanOp<"head_plan", [
    HasParent<"PlanOp">, SingleBlock, NoTerminator, NoRegionArguments]> {
  let summary = "the components of one head mask, in launch order";
  let description = [{
    `sparta.head_plan 1 mask = stride(64) { components }`. An empty body
    means the mask allows nothing: the head's output is zero.
  }];
  let arguments = (ins I64Attr:$mask_index, Sparta_MaskAttr:$mask);
  let regions = (region SizedRegion<1>:$body);
  let assemblyFormat = [{
    $mask_index `mask` `=` custom<BareMask>($mask) attr-dict-with-keyword $body
  }];
  let extraClassDeclaration = [{
    /// The mask index, signed (I64Attr's accessor is unsigned).
    int64_t getMaskIndexValue() { return getMaskIndexAttr().getInt(); }
  }];
}

def Sparta_ComponentOp : Sparta_PlanOp<"component", [HasParent<"HeadPlanOp">]> {
  let summary = "one kernel launch: index maps, tile schedule and its pairs";
  let description = [{
    ```
    sparta.component @NAME PART [minus EXCLUDED, ...] [description "..."]
        tile = QxK, queries = MAP, keys = MAP, schedule = SCHEDULE
        [, grid = <fwd = N, bwd = N>]
    ```
    The component computes the pairs of PART (an operand of the head's
    union) that none of EXCLUDED (the parts of earlier components) holds,
    in tiles of Q query positions by K key positions.
    `description` is only printed when it is not "PART minus EXCLUDED".
    `grid` (CTAs per batch and head of the forward/dQ and the dK/dV
    kernels) is informational; when present it must match the maps.
  }];
  let arguments = (ins StrAttr:$component_name, Sparta_MaskAttr:$part,
                       Sparta_MaskArrayAttr:$excluded, OptionalAttr<StrAttr>:$description,
                       DenseI64ArrayAttr:$tile, Sparta_IndexMapAttr:$queries, Sparta_IndexMapAttr:$keys,
                       Sparta_ScheduleAttr:$schedule, OptionalAttr<DenseI64ArrayAttr>:$grid);
  let hasCustomAssemblyFormat = 1;
  let hasVerifier = 1;
  let extraClassDeclaration = [{
    /// "PART minus E1, E2": the description when none is stored.
    std::string getDefaultDescription();
    /// Query and key positions per tile (the verifier checks there are two).
    int64_t getQueryTile() { return getTile()[0]; }
    int64_t getKeyTile() { return getTile()[1]; }
    /// The forward and backward grid sizes the maps and the tile imply.
    std::pair<int64_t, int64_t> computeGrid(int64_t T);
  }];
}

#endif // SPARTA_PLAN_OPS_TD
