//===- SpartaOps.td - sparta.pattern and the mask ops ----------------------===//
//
// The operations users write in patterns/*.mlir. Every mask op is pure and
// yields a !sparta.mask; its integer operands are #sparta.expr attributes
// printed bare (`size = L`). Query i sees key j only when 0 <= i, j < T and,
// in a causal pattern (the default), j <= i; then iff the op's predicate holds.
// A `bidirectional` pattern drops j <= i.
//
//===----------------------------------------------------------------------===//
#ifndef SPARTA_OPS_TD
#define SPARTA_OPS_TD

include "sparta/Dialect/SpartaDialect.td"
include "sparta/Dialect/SpartaAttrs.td"
include "mlir/IR/SymbolInterfaces.td"
include "mlir/Interfaces/SideEffectInterfaces.td"

class Sparta_Op<string mnemonic, list<Trait> traits = []>
    : Op<Sparta_Dialect, mnemonic, traits>;

//===----------------------------------------------------------------------===//
// sparta.pattern
//===----------------------------------------------------------------------===//

def Sparta_PatternOp : Sparta_Op<"pattern", [
    Symbol, IsolatedFromAbove, SingleBlock, NoRegionArguments]> {
  let summary = "an attention pattern with named integer parameters";
  let description = [{
    ```mlir
    sparta.pattern @fixed(T, L, c = 8) {
      %chunk = sparta.chunk size = L
      %summary = sparta.summary period = L, width = c
      sparta.heads %chunk, %summary
    }
    ```
    `param_defaults[k]` is the default expression of parameter k, or a unit
    attribute when it has none. `causal` (the default, not printed) or
    `bidirectional` after the parameters says whether masks are intersected
    with j <= i (`sparta.pattern @longformer(T, L) bidirectional {`). After `sparta-instantiate` every default is a
    constant (the bound value) and `instantiated` is set; the pattern then
    prints as `sparta.pattern @fixed(T = 64, L = 8, c = 8) instantiated {`.
  }];
  let arguments = (ins SymbolNameAttr:$sym_name, StrArrayAttr:$param_names,
                       ArrayAttr:$param_defaults, UnitAttr:$bidirectional,
                       UnitAttr:$instantiated);
  let regions = (region SizedRegion<1>:$body);
  let hasCustomAssemblyFormat = 1;
  let hasVerifier = 1;
  let extraClassDeclaration = [{
    /// Number of declared parameters.
    unsigned getNumParams() { return getParamNames().size(); }
    ::llvm::StringRef getParamName(unsigned k);
    /// The default expression of parameter k, null when it has none.
    ExprAttr getParamDefault(unsigned k);
    /// Index of the parameter called `name`, if declared.
    std::optional<unsigned> lookupParam(::llvm::StringRef name);
    /// The bound value of `name` (instantiated patterns only).
    std::optional<int64_t> getParamValue(::llvm::StringRef name);
    /// Whether masks are intersected with j <= i (not `bidirectional`).
    bool isCausal() { return !getBidirectional(); }
    /// T of an instantiated pattern, std::nullopt otherwise.
    std::optional<int64_t> getKnownT() { return getParamValue("T"); }
    /// "T, L, c": the declared names, for diagnostics.
    std::string getParamList();
    /// The terminator listing the heads' masks.
    HeadsOp getHeadsOp();
  }];
}

//===----------------------------------------------------------------------===//
// Mask ops
//===----------------------------------------------------------------------===//

class Sparta_MaskOp<string mnemonic, list<Trait> traits = []>
    : Sparta_Op<mnemonic, !listconcat([Pure, HasParent<"PatternOp">], traits)> {
  let results = (outs Sparta_MaskType:$result);
}

def Sparta_DenseOp : Sparta_MaskOp<"dense"> {
  let summary = "every causal pair: j <= i";
  let assemblyFormat = "attr-dict";
}

def Sparta_EmptyOp : Sparta_MaskOp<"empty"> {
  let summary = "no key at all";
  let assemblyFormat = "attr-dict";
}

def Sparta_BandOp : Sparta_MaskOp<"band"> {
  let summary = "a diagonal band: lo <= i - j <= hi";
  let arguments = (ins Sparta_ExprAttr:$lo, Sparta_ExprAttr:$hi);
  let assemblyFormat = "`lo` `=` custom<OpExpr>($lo) `,` `hi` `=` custom<OpExpr>($hi) attr-dict";
  let hasVerifier = 1;
}

def Sparta_StrideOp : Sparta_MaskOp<"stride"> {
  let summary = "every period-th key: (i - j) mod period == offset (default 0)";
  let arguments = (ins Sparta_ExprAttr:$period, OptionalAttr<Sparta_ExprAttr>:$offset);
  let assemblyFormat =
      "`period` `=` custom<OpExpr>($period) (`,` `offset` `=` custom<OpExpr>($offset)^)? attr-dict";
  let extraClassDeclaration = [{
    /// The offset, 0 when it is not written.
    ExprAttr getOffsetOrZero();
  }];
  let hasVerifier = 1;
}

def Sparta_ChunkOp : Sparta_MaskOp<"chunk"> {
  let summary = "same chunk: i / size == j / size";
  let arguments = (ins Sparta_ExprAttr:$size);
  let assemblyFormat = "`size` `=` custom<OpExpr>($size) attr-dict";
  let hasVerifier = 1;
}

def Sparta_SummaryOp : Sparta_MaskOp<"summary"> {
  let summary = "the last `width` keys of every period: j mod period >= period - width";
  let arguments = (ins Sparta_ExprAttr:$period, Sparta_ExprAttr:$width);
  let assemblyFormat =
      "`period` `=` custom<OpExpr>($period) `,` `width` `=` custom<OpExpr>($width) attr-dict";
  let hasVerifier = 1;
}

def Sparta_GlobalKeysOp : Sparta_MaskOp<"global_keys"> {
  let summary = "the first `count` keys, seen by every query: j < count";
  let arguments = (ins Sparta_ExprAttr:$count);
  let assemblyFormat = "`count` `=` custom<OpExpr>($count) attr-dict";
  let hasVerifier = 1;
}

def Sparta_GlobalQueriesOp : Sparta_MaskOp<"global_queries"> {
  let summary = "the first `count` queries, which see every key: i < count";
  let arguments = (ins Sparta_ExprAttr:$count);
  let assemblyFormat = "`count` `=` custom<OpExpr>($count) attr-dict";
  let hasVerifier = 1;
}

def Sparta_RandomBlocksOp : Sparta_MaskOp<"random_blocks"> {
  let summary = "BigBird random blocks: `count` key blocks drawn per query block";
  let description = [{
    Key block j/block is allowed for query block i/block iff it is one of the
    `count` blocks drawn by sparta::randomBlockChosen(seed, i/block, j/block,
    count) (compiler/include/sparta/MaskSemantics.h).
  }];
  let arguments = (ins Sparta_ExprAttr:$block, Sparta_ExprAttr:$count,
                       Sparta_ExprAttr:$seed);
  let assemblyFormat = [{
    `block` `=` custom<OpExpr>($block) `,` `count` `=` custom<OpExpr>($count) `,`
    `seed` `=` custom<OpExpr>($seed) attr-dict
  }];
  let hasVerifier = 1;
}

//===----------------------------------------------------------------------===//
// Grid ops: positions as a row-major grid of H rows of W (parameters H, W of
// the pattern, H * W == T); row(i) = i / W, column(i) = i mod W.
//===----------------------------------------------------------------------===//

def Sparta_GridRowsOp : Sparta_MaskOp<"grid_rows"> {
  let summary = "same grid row: i / W == j / W";
  let assemblyFormat = "attr-dict";
  let hasVerifier = 1;
}

def Sparta_GridColsOp : Sparta_MaskOp<"grid_cols"> {
  let summary = "same grid column: i mod W == j mod W";
  let assemblyFormat = "attr-dict";
  let hasVerifier = 1;
}

def Sparta_GridWindowOp : Sparta_MaskOp<"grid_window"> {
  let summary = "a 2-D window: |row(i) - row(j)| <= dh and |column(i) - column(j)| <= dw";
  let arguments = (ins Sparta_ExprAttr:$dh, Sparta_ExprAttr:$dw);
  let assemblyFormat = "`dh` `=` custom<OpExpr>($dh) `,` `dw` `=` custom<OpExpr>($dw) attr-dict";
  let hasVerifier = 1;
}

def Sparta_UnionOp : Sparta_MaskOp<"union"> {
  let summary = "any operand holds";
  let arguments = (ins Variadic<Sparta_MaskType>:$inputs);
  let assemblyFormat = "$inputs attr-dict";
  let hasVerifier = 1;
}

def Sparta_IntersectOp : Sparta_MaskOp<"intersect"> {
  let summary = "every operand holds";
  let arguments = (ins Variadic<Sparta_MaskType>:$inputs);
  let assemblyFormat = "$inputs attr-dict";
  let hasVerifier = 1;
}

def Sparta_HeadsOp : Sparta_Op<"heads", [Terminator, HasParent<"PatternOp">]> {
  let summary = "the pattern's masks, one per head (head h uses mask h mod n)";
  let arguments = (ins Variadic<Sparta_MaskType>:$masks);
  let assemblyFormat = "$masks attr-dict";
  let hasVerifier = 1;
}

#endif // SPARTA_OPS_TD
