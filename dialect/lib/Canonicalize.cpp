//===- Canonicalize.cpp - The sparta-canonicalize pass ---------------------===//
//
// Exact simplification of mask expressions. Each rewrite keeps the set of
// allowed (i, j) pairs unchanged in the pattern's domain: 0 <= j <= i < T for
// a causal pattern, 0 <= i, j < T for a bidirectional one. Several use that
// window: i - j is always in [0, T-1] (causal) or [-(T-1), T-1], and i, j < T.
// Rules that need T only fire inside instantiated patterns. The grid ops
// become chunks and strides (rows and columns of an instantiated grid), and
// windows of one row or one column intersections with a band. The planner relies on
// the result: unions and intersections are flat, operands distinct, and a
// primitive that covers all or nothing is spelled sparta.dense/sparta.empty.
//
//===----------------------------------------------------------------------===//
#include "sparta/Dialect/Passes.h"

#include "mlir/IR/Dominance.h"
#include "mlir/IR/PatternMatch.h"
#include "mlir/Transforms/CSE.h"
#include "mlir/Transforms/GreedyPatternRewriteDriver.h"
#include "llvm/ADT/STLExtras.h"
#include "llvm/ADT/SetVector.h"
#include "llvm/ADT/SmallPtrSet.h"

namespace mlir::sparta {
#define GEN_PASS_DEF_SPARTACANONICALIZE
#include "sparta/Dialect/Passes.h.inc"
} // namespace mlir::sparta

using namespace mlir;
using namespace mlir::sparta;

namespace {

/// T of the enclosing pattern when it is instantiated.
static std::optional<int64_t> knownT(Operation *op) {
  auto pattern = op->getParentOfType<PatternOp>();
  return pattern ? pattern.getKnownT() : std::nullopt;
}

static std::optional<int64_t> constant(ExprAttr e) { return e.getConstantValue(); }

/// Whether the enclosing pattern is causal (the default).
static bool isCausal(Operation *op) {
  auto pattern = op->getParentOfType<PatternOp>();
  return !pattern || pattern.isCausal();
}

/// The value of parameter `name` of an instantiated enclosing pattern.
static std::optional<int64_t> knownParam(Operation *op, StringRef name) {
  auto pattern = op->getParentOfType<PatternOp>();
  return pattern ? pattern.getParamValue(name) : std::nullopt;
}

static Value createBand(PatternRewriter &rewriter, Location loc, int64_t lo, int64_t hi) {
  MLIRContext *ctx = rewriter.getContext();
  return BandOp::create(rewriter, loc, MaskType::get(ctx), ExprAttr::getConstant(ctx, lo),
                        ExprAttr::getConstant(ctx, hi));
}

static void replaceWithDense(PatternRewriter &rewriter, Operation *op) {
  rewriter.replaceOp(
      op, DenseOp::create(rewriter, op->getLoc(), MaskType::get(op->getContext())));
}

static void replaceWithEmpty(PatternRewriter &rewriter, Operation *op) {
  rewriter.replaceOp(
      op, EmptyOp::create(rewriter, op->getLoc(), MaskType::get(op->getContext())));
}

/// Union and intersect share one rewrite; they differ in which of dense and
/// empty absorbs (union: dense, intersect: empty) and which is neutral.
/// Nested ops of the same kind are spliced in whole, however deep, by the op
/// at the top of the nest; an op whose every user will splice it waits for
/// them. A chain of n unions is thus flattened once, in O(n), instead of
/// being rebuilt at every level.
template <typename OpTy, typename AbsorbingOp, typename NeutralOp>
struct SimplifySetOp : public OpRewritePattern<OpTy> {
  using OpRewritePattern<OpTy>::OpRewritePattern;

  LogicalResult matchAndRewrite(OpTy op, PatternRewriter &rewriter) const override {
    if (!op->use_empty() &&
        llvm::all_of(op->getUsers(), [](Operation *user) { return llvm::isa<OpTy>(user); }))
      return failure();
    llvm::SetVector<Value> operands;
    llvm::SmallPtrSet<Operation *, 8> spliced;
    bool changed = false;
    Value neutral;
    // Depth-first over the nest in operand order, with an explicit stack.
    llvm::SmallVector<Value> work(llvm::reverse(op.getInputs()));
    while (!work.empty()) {
      Value v = work.pop_back_val();
      Operation *def = v.getDefiningOp();
      if (def && llvm::isa<AbsorbingOp>(def)) {
        rewriter.replaceOp(op, v); // union(.., dense, ..) = dense; intersect(.., empty, ..) = empty
        return success();
      }
      if (def && llvm::isa<NeutralOp>(def)) {
        neutral = v;
        changed = true;
        continue;
      }
      if (auto nested = llvm::dyn_cast_or_null<OpTy>(def)) {
        // Associativity: splice the nested operands in (once per nested op:
        // a repeated operand would be dropped anyway, by idempotence).
        changed = true;
        if (spliced.insert(nested).second)
          work.append(llvm::to_vector(llvm::reverse(nested.getInputs())));
        continue;
      }
      changed |= !operands.insert(v); // idempotence: x | x = x
    }
    if (operands.empty()) {
      rewriter.replaceOp(op, neutral); // only neutral operands
      return success();
    }
    if (operands.size() == 1) {
      rewriter.replaceOp(op, operands.front());
      return success();
    }
    if (!changed)
      return failure();
    rewriter.replaceOpWithNewOp<OpTy>(op, op.getType(), operands.getArrayRef());
    return success();
  }
};

/// band: lo <= i-j <= hi with i-j in [0, T-1] (causal) or [-(T-1), T-1].
struct SimplifyBand : public OpRewritePattern<BandOp> {
  using OpRewritePattern::OpRewritePattern;
  LogicalResult matchAndRewrite(BandOp op, PatternRewriter &rewriter) const override {
    std::optional<int64_t> lo = constant(op.getLo()), hi = constant(op.getHi());
    if (!lo || !hi)
      return failure();
    std::optional<int64_t> t = knownT(op);
    bool causal = isCausal(op);
    int64_t least = causal ? 0 : t ? -(*t - 1) : *lo; // the domain's least i - j
    int64_t newLo = std::max<int64_t>(*lo, least);
    int64_t newHi = t ? std::min<int64_t>(*hi, *t - 1) : *hi;
    if (newLo > newHi) {
      replaceWithEmpty(rewriter, op);
      return success();
    }
    if (t && newLo == least && newHi == *t - 1) {
      replaceWithDense(rewriter, op);
      return success();
    }
    if (newLo == *lo && newHi == *hi)
      return failure();
    MLIRContext *ctx = op.getContext();
    rewriter.replaceOpWithNewOp<BandOp>(op, op.getType(), ExprAttr::getConstant(ctx, newLo),
                                        ExprAttr::getConstant(ctx, newHi));
    return success();
  }
};

/// stride: period 1 admits every i-j (the offset is then 0); a period >= T
/// admits only i-j = offset (and offset - period, bidirectional): |i-j| < T.
/// A written offset of 0 is dropped.
struct SimplifyStride : public OpRewritePattern<StrideOp> {
  using OpRewritePattern::OpRewritePattern;
  LogicalResult matchAndRewrite(StrideOp op, PatternRewriter &rewriter) const override {
    std::optional<int64_t> period = constant(op.getPeriod());
    std::optional<int64_t> offset = constant(op.getOffsetOrZero());
    if (!period || !offset)
      return failure();
    if (*period == 1) {
      replaceWithDense(rewriter, op);
      return success();
    }
    std::optional<int64_t> t = knownT(op);
    if (t && *period >= *t) {
      Value forward = createBand(rewriter, op.getLoc(), *offset, *offset);
      if (isCausal(op) || *offset == 0) {
        rewriter.replaceOp(op, forward);
        return success();
      }
      Value backward = createBand(rewriter, op.getLoc(), *offset - *period, *offset - *period);
      rewriter.replaceOpWithNewOp<UnionOp>(op, op.getType(), ValueRange{forward, backward});
      return success();
    }
    if (op.getOffsetAttr() && *offset == 0) {
      rewriter.replaceOpWithNewOp<StrideOp>(op, op.getType(), op.getPeriod(), ExprAttr());
      return success();
    }
    return failure();
  }
};

/// grid_rows = chunk size = W, grid_cols = stride period = W, once W is known.
template <typename OpTy, typename NewOpTy>
struct GridLine : public OpRewritePattern<OpTy> {
  using OpRewritePattern<OpTy>::OpRewritePattern;
  LogicalResult matchAndRewrite(OpTy op, PatternRewriter &rewriter) const override {
    std::optional<int64_t> w = knownParam(op, "W");
    if (!w)
      return failure();
    ExprAttr width = ExprAttr::getConstant(op.getContext(), *w);
    if constexpr (std::is_same_v<NewOpTy, ChunkOp>)
      rewriter.replaceOpWithNewOp<ChunkOp>(op, op.getType(), width);
    else
      rewriter.replaceOpWithNewOp<StrideOp>(op, op.getType(), width, ExprAttr());
    return success();
  }
};

/// grid_window of one row (dh = 0) is a band inside the row's chunk; of one
/// column (dw = 0), a band on the stride of W; covering the grid, dense.
struct SimplifyGridWindow : public OpRewritePattern<GridWindowOp> {
  using OpRewritePattern::OpRewritePattern;
  LogicalResult matchAndRewrite(GridWindowOp op, PatternRewriter &rewriter) const override {
    std::optional<int64_t> dh = constant(op.getDh()), dw = constant(op.getDw());
    std::optional<int64_t> w = knownParam(op, "W"), h = knownParam(op, "H");
    if (!dh || !dw || !w || !h)
      return failure();
    MLIRContext *ctx = op.getContext();
    if (*dh >= *h - 1 && *dw >= *w - 1) {
      replaceWithDense(rewriter, op);
      return success();
    }
    int64_t back = isCausal(op) ? 0 : 1; // whether the band reaches forward too
    Value line, band;
    if (*dh == 0) {
      line = ChunkOp::create(rewriter, op.getLoc(), MaskType::get(ctx), ExprAttr::getConstant(ctx, *w));
      band = createBand(rewriter, op.getLoc(), -back * *dw, *dw);
    } else if (*dw == 0) {
      line = StrideOp::create(rewriter, op.getLoc(), MaskType::get(ctx),
                              ExprAttr::getConstant(ctx, *w), ExprAttr());
      band = createBand(rewriter, op.getLoc(), -back * *dh * *w, *dh * *w);
    } else {
      return failure();
    }
    rewriter.replaceOpWithNewOp<IntersectOp>(op, op.getType(), ValueRange{line, band});
    return success();
  }
};

/// chunk: one chunk spans the whole sequence when size >= T.
struct SimplifyChunk : public OpRewritePattern<ChunkOp> {
  using OpRewritePattern::OpRewritePattern;
  LogicalResult matchAndRewrite(ChunkOp op, PatternRewriter &rewriter) const override {
    std::optional<int64_t> size = constant(op.getSize());
    std::optional<int64_t> t = knownT(op);
    if (!size || !t || *size < *t)
      return failure();
    replaceWithDense(rewriter, op);
    return success();
  }
};

/// summary: width == period keeps every key, width == 0 none.
struct SimplifySummary : public OpRewritePattern<SummaryOp> {
  using OpRewritePattern::OpRewritePattern;
  LogicalResult matchAndRewrite(SummaryOp op, PatternRewriter &rewriter) const override {
    std::optional<int64_t> period = constant(op.getPeriod()), width = constant(op.getWidth());
    // Structurally equal expressions (e.g. both `L`) are equal for every binding.
    if (op.getPeriod() == op.getWidth() || (period && width && *period == *width)) {
      replaceWithDense(rewriter, op);
      return success();
    }
    if (width && *width == 0) {
      replaceWithEmpty(rewriter, op);
      return success();
    }
    return failure();
  }
};

/// global_keys (j < count) and global_queries (i < count): count 0 admits
/// nothing, count >= T everything (both i and j are below T).
template <typename OpTy>
struct SimplifyGlobal : public OpRewritePattern<OpTy> {
  using OpRewritePattern<OpTy>::OpRewritePattern;
  LogicalResult matchAndRewrite(OpTy op, PatternRewriter &rewriter) const override {
    std::optional<int64_t> count = constant(op.getCount());
    if (!count)
      return failure();
    if (*count <= 0) {
      replaceWithEmpty(rewriter, op);
      return success();
    }
    std::optional<int64_t> t = knownT(op);
    if (t && *count >= *t) {
      replaceWithDense(rewriter, op);
      return success();
    }
    return failure();
  }
};

/// random_blocks: drawing no block admits nothing.
struct SimplifyRandomBlocks : public OpRewritePattern<RandomBlocksOp> {
  using OpRewritePattern::OpRewritePattern;
  LogicalResult matchAndRewrite(RandomBlocksOp op, PatternRewriter &rewriter) const override {
    std::optional<int64_t> count = constant(op.getCount());
    if (!count || *count > 0)
      return failure();
    replaceWithEmpty(rewriter, op);
    return success();
  }
};

/// The rewrites of single mask ops (everything but union and intersect).
void addLeafPatterns(RewritePatternSet &set) {
  set.add<SimplifyBand, SimplifyStride, SimplifyChunk, SimplifySummary,
          SimplifyGlobal<GlobalKeysOp>, SimplifyGlobal<GlobalQueriesOp>, SimplifyRandomBlocks,
          GridLine<GridRowsOp, ChunkOp>, GridLine<GridColsOp, StrideOp>, SimplifyGridWindow>(
      set.getContext());
}

struct CanonicalizePass : public mlir::sparta::impl::SpartaCanonicalizeBase<CanonicalizePass> {
  void runOnOperation() override {
    if (failed(canonicalizePatterns(getOperation())))
      signalPassFailure();
  }
};

} // namespace

LogicalResult mlir::sparta::canonicalizePatterns(Operation *root) {
  MLIRContext *ctx = root->getContext();
  RewritePatternSet leafSet(ctx);
  addLeafPatterns(leafSet);
  FrozenRewritePatternSet leaves(std::move(leafSet));
  RewritePatternSet allSet(ctx);
  addLeafPatterns(allSet);
  allSet.add<SimplifySetOp<UnionOp, DenseOp, EmptyOp>, SimplifySetOp<IntersectOp, EmptyOp, DenseOp>>(
      ctx);
  FrozenRewritePatternSet all(std::move(allSet));
  // Leaves first, on their own: every leaf rewrite re-queues the set ops that
  // use it, and a set op's rewrite reads all of its operands, so with both in
  // one run a union of n leaves that each simplify costs O(n^2) (16k
  // operands: seconds). Set op rewrites only reuse existing values, so they
  // never expose a leaf rewrite; each set op is then visited a bounded number
  // of times.
  // The mask ops have no folders and no constants: folding would only scan
  // every operand of each set op at every visit (quadratic in a union too).
  GreedyRewriteConfig config;
  config.enableFolding(false).enableConstantCSE(false);
  if (failed(applyPatternsGreedily(root, leaves, config)) ||
      failed(applyPatternsGreedily(root, all, config)))
    return root->emitError("sparta-canonicalize did not converge");
  // The driver erases unused mask ops (they are Pure). CSE then merges
  // identical ops, which exposes duplicate operands for a second round.
  IRRewriter rewriter(ctx);
  DominanceInfo dominance(root);
  bool changed = false;
  eliminateCommonSubExpressions(rewriter, dominance, root, &changed);
  if (changed && failed(applyPatternsGreedily(root, all, config)))
    return root->emitError("sparta-canonicalize did not converge");
  return success();
}
