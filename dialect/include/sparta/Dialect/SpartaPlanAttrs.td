//===- SpartaPlanAttrs.td - Masks, index maps and schedules of a plan ------===//
//
// The attributes that sparta.plan ops (SpartaPlanOps.td) carry. They mirror
// the planner's C++ types one to one (sparta/Plan.h, runtime/device/sparta/
// tiling.h) so that a plan converts to IR and back without loss:
//
//   #sparta.mask<union(band(0, 64), stride(64))>   a concrete mask expression
//   #sparta.map<strided<64>>                       an index map
//   #sparta.band<2, inf, rows_below = 128>         a band schedule
//   #sparta.prefix<global_keys, count = 1, offset = 65>
//   #sparta.grid_box<width = 64, rows = [-2, 2], cols = [-16, 16]>
//   #sparta.table<fwd_offsets = [...], ...>        explicit CSR tile lists
//
// grid_box has a declarative format. The others use hand-written syntax
// (SpartaPlanAttrs.cpp): the forms are small grammars (masks nest, maps and
// prefixes vary by kind) that the declarative format cannot express. Inside plan ops they are printed without the
// `#sparta.` prefix. Checks that need T and the tile shape live in the op
// verifiers, since an attribute does not know its op.
//
// This file is included from SpartaAttrs.td: every attribute of the dialect
// must come from one TableGen run, which also generates the dialect's
// attribute parser and printer.
//
//===----------------------------------------------------------------------===//
#ifndef SPARTA_PLAN_ATTRS_TD
#define SPARTA_PLAN_ATTRS_TD

include "sparta/Dialect/SpartaDialect.td"
include "mlir/IR/EnumAttr.td"

//===----------------------------------------------------------------------===//
// Kinds (plain C++ enums with stringify/symbolize; no enum attribute)
//===----------------------------------------------------------------------===//

def Sparta_MaskNodeKind : I32EnumAttr<"MaskNodeKind", "kind of a mask expression node", [
    I32EnumAttrCase<"Dense", 0, "dense">,
    I32EnumAttrCase<"Empty", 1, "empty">,
    I32EnumAttrCase<"Band", 2, "band">,
    I32EnumAttrCase<"Stride", 3, "stride">,
    I32EnumAttrCase<"Chunk", 4, "chunk">,
    I32EnumAttrCase<"Summary", 5, "summary">,
    I32EnumAttrCase<"GlobalKeys", 6, "global_keys">,
    I32EnumAttrCase<"GlobalQueries", 7, "global_queries">,
    I32EnumAttrCase<"RandomBlocks", 8, "random_blocks">,
    I32EnumAttrCase<"Union", 9, "union">,
    I32EnumAttrCase<"Intersect", 10, "intersect">,
    I32EnumAttrCase<"GridWindow", 11, "grid_window">]> {
  let cppNamespace = "::mlir::sparta";
  let genSpecializedAttr = 0;
}

// Values equal tiling::MapKind, so conversions are casts.
def Sparta_IndexMapKind : I32EnumAttr<"IndexMapKind", "kind of an index map", [
    I32EnumAttrCase<"Identity", 0, "identity">,
    I32EnumAttrCase<"Strided", 1, "strided">,
    I32EnumAttrCase<"Chunked", 2, "chunked">,
    I32EnumAttrCase<"SummaryGather", 3, "summary_gather">]> {
  let cppNamespace = "::mlir::sparta";
  let genSpecializedAttr = 0;
}

// Values equal tiling::PrefixKind.
def Sparta_PrefixScheduleKind : I32EnumAttr<"PrefixScheduleKind", "kind of a prefix schedule", [
    I32EnumAttrCase<"GlobalKeys", 0, "global_keys">,
    I32EnumAttrCase<"Summary", 1, "summary">,
    I32EnumAttrCase<"SummaryEarlierChunks", 2, "summary_earlier_chunks">]> {
  let cppNamespace = "::mlir::sparta";
  let genSpecializedAttr = 0;
}

//===----------------------------------------------------------------------===//
// Attributes
//===----------------------------------------------------------------------===//

def Sparta_MaskAttr : AttrDef<Sparta_Dialect, "Mask"> {
  let mnemonic = "mask";
  let summary = "a concrete mask expression (the syntax of sparta::toString)";
  let description = [{
    `#sparta.mask<union(band(0, 64), stride(64))>`. `values` holds the
    node's integers in the order they are written (band: lo, hi; summary:
    period, width; random_blocks: block, count, seed as an unsigned 64-bit
    value stored in the same bits); `operands` the children of union and
    intersect.
  }];
  let parameters = (ins
    "::mlir::sparta::MaskNodeKind":$kind,
    ArrayRefParameter<"int64_t", "integers">:$values,
    ArrayRefParameter<"::mlir::sparta::MaskAttr", "operands">:$operands);
  let hasCustomAssemblyFormat = 1;
  let genVerifyDecl = 1;
  let extraClassDeclaration = [{
    /// Number of integers a node of `kind` holds.
    static unsigned arity(MaskNodeKind kind);
    /// Parses / prints the bare form `union(band(0, 64), stride(64))`.
    static ::mlir::FailureOr<MaskAttr> parseBare(::mlir::AsmParser &parser);
    void printBare(::mlir::raw_ostream &os) const;
  }];
}

def Sparta_IndexMapAttr : AttrDef<Sparta_Dialect, "IndexMap"> {
  let mnemonic = "map";
  let summary = "an index map: identity, strided<p>, chunked<s> or summary_gather<p, w>";
  let description = [{
    `strided<28, pack = 2>` and `chunked<s, pack = k>` concatenate k groups
    of the map into one (tiling::IndexMap::pack); pack = 1 is not printed.
  }];
  let parameters = (ins "::mlir::sparta::IndexMapKind":$kind,
                        DefaultValuedParameter<"int64_t", "0">:$period,
                        DefaultValuedParameter<"int64_t", "0">:$width,
                        DefaultValuedParameter<"int64_t", "1">:$pack);
  let hasCustomAssemblyFormat = 1;
  let genVerifyDecl = 1;
  let extraClassDeclaration = [{
    static ::mlir::FailureOr<IndexMapAttr> parseBare(::mlir::AsmParser &parser);
    void printBare(::mlir::raw_ostream &os) const;
    /// The tiling::IndexMap of this map for sequence length T.
    ::sparta::tiling::IndexMap toTiling(int64_t T) const;
  }];
}

def Sparta_BandScheduleAttr : AttrDef<Sparta_Dialect, "BandSchedule"> {
  let mnemonic = "band";
  let summary = "same group, dlo <= qpos - kpos <= dhi, query rows below rows_below";
  let description = [{
    `#sparta.band<0, 64>`, `#sparta.band<2, inf>`,
    `#sparta.band<0, inf, rows_below = 1>`. `inf` stands for
    tiling::kUnbounded; a missing rows_below means T (every row).
  }];
  let parameters = (ins "int64_t":$dlo, "int64_t":$dhi,
                        OptionalParameter<"std::optional<int64_t>">:$rowsBelow);
  let hasCustomAssemblyFormat = 1;
  let genVerifyDecl = 1;
  let extraClassDeclaration = [{
    /// The upper offset bound that means "none" (tiling::kUnbounded).
    static constexpr int64_t kUnbounded = int64_t(1) << 30;
  }];
}

def Sparta_PrefixScheduleAttr : AttrDef<Sparta_Dialect, "PrefixSchedule"> {
  let mnemonic = "prefix";
  let summary = "one group, identity queries, keys [0, n(q)) for a monotone n";
  let description = [{
    `#sparta.prefix<global_keys, count = 1, offset = 65>`,
    `#sparta.prefix<global_keys, count = 1, offset = 33, skip_period = 32>`,
    `#sparta.prefix<summary>`, `#sparta.prefix<summary_earlier_chunks>`.
    count, offset and skip_period belong to global_keys only (zero
    otherwise); skip_period = 0 (no stride removed) is not printed.
  }];
  let parameters = (ins "::mlir::sparta::PrefixScheduleKind":$kind,
                        DefaultValuedParameter<"int64_t", "0">:$count,
                        DefaultValuedParameter<"int64_t", "0">:$offset,
                        DefaultValuedParameter<"int64_t", "0">:$skipPeriod);
  let hasCustomAssemblyFormat = 1;
  let genVerifyDecl = 1;
}

def Sparta_GridBoxScheduleAttr : AttrDef<Sparta_Dialect, "GridBoxSchedule"> {
  let mnemonic = "grid_box";
  let summary = "a 2-D window on a row-major grid, the query's own grid row excluded";
  let description = [{
    `#sparta.grid_box<width = 64, rows = [-2, 2], cols = [-16, 16]>`: the
    positions form rows of `width`; query (r, c) sees key (R, C) iff
    rows[0] <= r - R <= rows[1], r != R, and cols[0] <= c - C <= cols[1]
    (tiling::GridBox). The component's verifier checks that T is a multiple
    of width, and width of both tile edges.
  }];
  let parameters = (ins "int64_t":$width, "int64_t":$rowLo, "int64_t":$rowHi,
                        "int64_t":$colLo, "int64_t":$colHi);
  let assemblyFormat = [{
    `<` `width` `=` $width `,` `rows` `=` `[` $rowLo `,` $rowHi `]` `,`
        `cols` `=` `[` $colLo `,` $colHi `]` `>`
  }];
  let genVerifyDecl = 1;
}

def Sparta_TableScheduleAttr : AttrDef<Sparta_Dialect, "TableSchedule"> {
  let mnemonic = "table";
  let summary = "explicit tile lists (CSR) of a table-driven component";
  let description = [{
    `#sparta.table<fwd_offsets = [0, 2], fwd_entries = [1, 2],
                   bwd_offsets = [0, 1, 2], bwd_entries = [1, 0]>`:
    the layout of tiling::TableData. An entry is (tile << 1) | full.
  }];
  let parameters = (ins "::mlir::DenseI32ArrayAttr":$fwdOffsets,
                        "::mlir::DenseI32ArrayAttr":$fwdEntries,
                        "::mlir::DenseI32ArrayAttr":$bwdOffsets,
                        "::mlir::DenseI32ArrayAttr":$bwdEntries);
  let hasCustomAssemblyFormat = 1;
  let genVerifyDecl = 1;
}

#endif // SPARTA_PLAN_ATTRS_TD
