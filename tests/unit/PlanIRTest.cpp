//===- PlanIRTest.cpp - sparta::Plan -> sparta.plan -> sparta::Plan --------===//
//
// The plan IR must lose nothing the code generator reads (PlanIR.h). For
// every case of PatternCases.h (pattern files and hand-built masks over the
// parameter grid) and every tile choice of tileChoices(), the plan goes to IR
// and back twice: directly (buildPlanIR -> readPlanIR) and through text
// (print, parse with the verifier on, read). Both results must equal the
// planner's plan field by field, including the TileSchedule fields a schedule
// kind does not use, and the CUDA generated from them must be byte-identical. A few hand-edited
// plans check that readPlanIR refuses IR that does not verify.
//
//===----------------------------------------------------------------------===//
#include "PatternCases.h"

#include "sparta/CodeGen.h"
#include "sparta/Load.h"
#include "sparta/PlanIR.h"

#include "mlir/IR/MLIRContext.h"
#include "mlir/Parser/Parser.h"
#include "llvm/Support/raw_ostream.h"

#include <gtest/gtest.h>

using namespace sparta;
using namespace sparta::testing;

namespace {

void expectSameMap(const tiling::IndexMap &a, const tiling::IndexMap &b, const std::string &what) {
  EXPECT_EQ(a.kind, b.kind) << what;
  EXPECT_EQ(a.T, b.T) << what;
  EXPECT_EQ(a.p, b.p) << what;
  EXPECT_EQ(a.w, b.w) << what;
  EXPECT_EQ(a.pack, b.pack) << what;
}

void expectSameSchedule(const tiling::TileSchedule &a, const tiling::TileSchedule &b,
                        const std::string &what) {
  expectSameMap(a.q, b.q, what + " queries");
  expectSameMap(a.k, b.k, what + " keys");
  EXPECT_EQ(a.qTile, b.qTile) << what;
  EXPECT_EQ(a.kTile, b.kTile) << what;
  EXPECT_EQ(a.kind, b.kind) << what;
  EXPECT_EQ(a.dlo, b.dlo) << what;
  EXPECT_EQ(a.dhi, b.dhi) << what;
  EXPECT_EQ(a.qlimit, b.qlimit) << what;
  EXPECT_EQ(a.prefixKind, b.prefixKind) << what;
  EXPECT_EQ(a.count, b.count) << what;
  EXPECT_EQ(a.offset, b.offset) << what;
  EXPECT_EQ(a.skipPeriod, b.skipPeriod) << what;
}

void expectSamePlan(const Plan &a, const Plan &b, const std::string &label) {
  EXPECT_EQ(a.patternName, b.patternName) << label;
  EXPECT_EQ(a.T, b.T) << label;
  EXPECT_EQ(a.params, b.params) << label;
  EXPECT_EQ(a.causal, b.causal) << label;
  ASSERT_EQ(a.heads.size(), b.heads.size()) << label;
  for (size_t h = 0; h < a.heads.size(); ++h) {
    const HeadPlan &x = a.heads[h], &y = b.heads[h];
    std::string where = label + " head " + std::to_string(h);
    EXPECT_EQ(x.maskIndex, y.maskIndex) << where;
    EXPECT_EQ(x.mask, y.mask) << where << ": " << toString(x.mask) << " vs " << toString(y.mask);
    ASSERT_EQ(x.components.size(), y.components.size()) << where;
    for (size_t n = 0; n < x.components.size(); ++n) {
      const PlanComponent &c = x.components[n], &d = y.components[n];
      std::string what = where + " component " + std::to_string(n) + " (" + c.name + ")";
      EXPECT_EQ(c.name, d.name) << what;
      EXPECT_EQ(c.description, d.description) << what;
      EXPECT_EQ(c.part, d.part) << what;
      EXPECT_EQ(c.excluded, d.excluded) << what;
      EXPECT_EQ(c.causal, d.causal) << what;
      expectSameSchedule(c.schedule, d.schedule, what);
      EXPECT_EQ(c.fwdOffsets, d.fwdOffsets) << what;
      EXPECT_EQ(c.fwdEntries, d.fwdEntries) << what;
      EXPECT_EQ(c.bwdOffsets, d.bwdOffsets) << what;
      EXPECT_EQ(c.bwdEntries, d.bwdEntries) << what;
    }
  }
}

/// The kernel source, or the code generator's error (both must agree).
std::string cudaOf(const Plan &plan) {
  try {
    return generateKernels(plan, KernelOptions{}).source;
  } catch (const Error &error) {
    return std::string("error: ") + error.what();
  }
}

/// buildPlanIR -> print -> parse (verifying) -> readPlanIR.
Plan throughText(const Plan &plan, std::string *text = nullptr) {
  std::string printed = printPlan(plan);
  if (text)
    *text = printed;
  mlir::MLIRContext context(mlir::MLIRContext::Threading::DISABLED);
  registerSpartaDialect(context);
  mlir::OwningOpRef<mlir::ModuleOp> module =
      mlir::parseSourceString<mlir::ModuleOp>(printed, mlir::ParserConfig(&context));
  if (!module)
    throw Error("the printed plan does not parse:\n" + printed);
  auto plans = module->getOps<mlir::sparta::PlanOp>();
  if (plans.empty())
    throw Error("the printed plan holds no sparta.plan:\n" + printed);
  return readPlanIR(*plans.begin());
}

Plan directly(const Plan &plan) {
  mlir::MLIRContext context(mlir::MLIRContext::Threading::DISABLED);
  registerSpartaDialect(context);
  mlir::OpBuilder builder(&context);
  mlir::OwningOpRef<mlir::ModuleOp> module = mlir::ModuleOp::create(builder.getUnknownLoc());
  builder.setInsertionPointToEnd(module->getBody());
  return readPlanIR(buildPlanIR(plan, builder));
}

/// Corners of the mask syntax that the shared grid does not reach: a head
/// that allows nothing, a negative band bound, a seed above 2^63.
std::vector<PatternCase> syntaxCases() {
  std::vector<PatternCase> cases;
  for (int64_t T : {1, 64, 100})
    cases.push_back({"corners T=" + std::to_string(T),
                     makePattern("corners", T,
                                 {leaf(MaskKind::Empty), unite({band(-3, 2), stride(5)}),
                                  randomBlocks(8, 2, ~uint64_t(0) - 6)})});
  return cases;
}

TEST(PlanIR, RoundTripIsLossless) {
  std::vector<PatternCase> cases = allCases();
  ASSERT_GT(cases.size(), 100u);
  for (PatternCase &c : syntaxCases())
    cases.push_back(std::move(c));
  int tables = 0, prefixes = 0, withRowsBelow = 0, emptyHeads = 0, kernelSets = 0;
  int bidirectional = 0, rotated = 0;
  for (const PatternCase &pc : cases)
    for (const auto &[tiles, options] : tileChoices()) {
      std::string label = pc.label + " " + tiles;
      Plan plan = planPattern(pc.pattern, options);
      Plan direct = directly(plan);
      std::string text;
      Plan parsed = throughText(plan, &text);
      expectSamePlan(plan, direct, label + " (direct)");
      expectSamePlan(plan, parsed, label + " (text)\n" + text);
      std::string cuda = cudaOf(plan);
      EXPECT_EQ(cuda, cudaOf(direct)) << label;
      EXPECT_EQ(cuda, cudaOf(parsed)) << label;
      kernelSets += cuda.rfind("error: ", 0) != 0;
      for (const HeadPlan &head : plan.heads) {
        emptyHeads += head.components.empty();
        for (const PlanComponent &c : head.components) {
          tables += c.schedule.kind == tiling::kTable;
          prefixes += c.schedule.kind == tiling::kPrefix;
          withRowsBelow += c.schedule.kind == tiling::kBand && c.schedule.qlimit < plan.T;
          bidirectional += !c.causal;
          rotated += c.schedule.k.kind == tiling::kStrided && c.schedule.k.w > 0;
        }
      }
      if (HasFailure())
        return; // one broken case says enough
    }
  // The grid reaches every schedule form the IR spells differently.
  EXPECT_GT(tables, 0);
  EXPECT_GT(prefixes, 0);
  EXPECT_GT(withRowsBelow, 0);
  EXPECT_GT(emptyHeads, 0);
  EXPECT_GT(bidirectional, 0); // `bidirectional`, -inf bounds
  EXPECT_GT(rotated, 0);       // strided<p, rotate = k>
  // The kernels are built for square tiles of 64, 32 and 16 (tile=16 and
  // tile=64 here); the rectangular choice compares the code generator's
  // refusal, which is still the same for both.
  EXPECT_EQ(kernelSets, 2 * int(cases.size()));
}

TEST(PlanIR, PrintedPlanNamesTheSchedules) {
  ConcretePattern pattern = loadPatternFile("strided_merged", Params{4096, 64, 8});
  std::string text = printPlan(planPattern(pattern, PlanOptions::square(64)));
  EXPECT_NE(text.find("sparta.plan @strided_merged(T = 4096, L = 64) {"), std::string::npos)
      << text;
  EXPECT_NE(text.find("sparta.component @stride stride(64) minus band(0, 64) tile = 64x64, "
                      "queries = strided<64>, keys = strided<64>, schedule = band<2, inf>"),
            std::string::npos)
      << text;
}

TEST(PlanIR, PrintedPlanNamesPackingAndSkippedStrides) {
  // Strided groups of 28 rows, two to a 64-row tile; global keys minus a
  // band and a stride.
  ConcretePattern strided = loadPatternFile("strided", Params{784, 28, 8});
  std::string text = printPlan(planPattern(strided, PlanOptions::square(64)));
  EXPECT_NE(text.find("queries = strided<28, pack = 2>, keys = strided<28, pack = 2>"),
            std::string::npos)
      << text;
  ConcretePattern global = makePattern("g", 256, {unite({band(0, 16), stride(16), globalKeys(4)})});
  text = printPlan(planPattern(global));
  EXPECT_NE(text.find("schedule = prefix<global_keys, count = 4, offset = 17, skip_period = 16>"),
            std::string::npos)
      << text;
}

/// Parses `source` and reads its plan; returns the error text ("" if none).
std::string readError(const std::string &source) {
  mlir::MLIRContext context(mlir::MLIRContext::Threading::DISABLED);
  registerSpartaDialect(context);
  // Parse without verifying, so that readPlanIR sees the broken op.
  mlir::ParserConfig config(&context, /*verifyAfterParse=*/false);
  mlir::OwningOpRef<mlir::ModuleOp> module = mlir::parseSourceString<mlir::ModuleOp>(source, config);
  if (!module)
    return "parse error";
  try {
    readPlanIR(*module->getOps<mlir::sparta::PlanOp>().begin());
  } catch (const Error &error) {
    return error.what();
  }
  return "";
}

TEST(PlanIR, ReadRejectsPlansThatDoNotVerify) {
  const std::string ok = "sparta.plan @p(T = 64, L = 8) {\n"
                         "  sparta.head_plan 0 mask = dense {\n"
                         "    sparta.component @dense dense tile = 16x16, queries = identity, "
                         "keys = identity, schedule = band<0, inf>\n"
                         "  }\n"
                         "}\n";
  EXPECT_EQ(readError(ok), "");
  std::string badTile = ok;
  badTile.replace(badTile.find("tile = 16x16"), 12, "tile = 16x0");
  EXPECT_NE(readError(badTile).find("tile must be two positive sizes"), std::string::npos)
      << readError(badTile);
  std::string badHead = ok;
  badHead.replace(badHead.find("head_plan 0"), 11, "head_plan 3");
  EXPECT_NE(readError(badHead).find("mask index 3 is outside [0, 1)"), std::string::npos)
      << readError(badHead);
}

} // namespace

// A plan for a tile edge the kernels do not offer (what AttentionConfig::tile
// = 8 asks for) is refused by the code generator, naming the shapes offered.
TEST(PlanIR, CodeGeneratorRefusesTilesTheKernelsLack) {
  ConcretePattern pattern = loadPatternFile("strided", Params{256, 16, 8});
  Plan plan = planPattern(pattern, PlanOptions::square(8));
  try {
    generateKernels(plan, KernelOptions{});
    FAIL() << "an 8x8 plan was accepted";
  } catch (const Error &e) {
    EXPECT_NE(std::string(e.what()).find("is planned for 8x8 tiles, which the kernels do not offer "
                                         "(kernel tile shapes: 64x64, 32x32, 16x16)"),
              std::string::npos)
        << e.what();
  }
  EXPECT_NO_THROW(generateKernels(planPattern(pattern, PlanOptions::square(16)), KernelOptions{}));
}
