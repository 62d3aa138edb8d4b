//===- FrontendTest.cpp - loadPattern and friends on real pattern files ----===//
//
// Every file in patterns/ must load and give the documented mask trees; bad
// input must come back as sparta::Error carrying file:line:col, never as a
// crash.
//
//===----------------------------------------------------------------------===//
#include "MaskBuilders.h"

#include "sparta/Load.h"
#include "sparta/Error.h"
#include "sparta/Frontend.h"

#include "mlir/IR/MLIRContext.h"

#include <gtest/gtest.h>

#include <string>

using namespace sparta;
using namespace sparta::testing;

namespace {

std::string patternPath(const std::string &file) {
  return std::string(SPARTA_SOURCE_DIR) + "/patterns/" + file;
}

Mask dense() { return Mask{MaskKind::Dense}; }
Mask empty() { return Mask{MaskKind::Empty}; }
/// The message of the sparta::Error that `f` throws ("" when none).
template <typename F> std::string errorOf(F &&f) {
  try {
    f();
  } catch (const Error &e) {
    return e.what();
  }
  return "";
}

#define EXPECT_HEADS(pattern, ...)                                                         \
  do {                                                                                     \
    std::vector<Mask> expected = {__VA_ARGS__};                                            \
    ASSERT_EQ((pattern).heads.size(), expected.size());                                    \
    for (size_t h = 0; h < expected.size(); ++h)                                           \
      EXPECT_EQ((pattern).heads[h], expected[h])                                           \
          << "head " << h << ": got " << toString((pattern).heads[h]) << ", expected "     \
          << toString(expected[h]);                                                        \
  } while (0)

TEST(Frontend, Strided) {
  ConcretePattern p = loadPattern(patternPath("strided.mlir"), {{"T", 64}, {"L", 8}});
  EXPECT_EQ(p.name, "strided");
  EXPECT_EQ(p.T, 64);
  EXPECT_EQ(p.params, (std::map<std::string, int64_t>{{"L", 8}})); // T is p.T
  EXPECT_HEADS(p, band(0, 8), stride(8));
}

TEST(Frontend, StridedMerged) {
  ConcretePattern p = loadPattern(patternPath("strided_merged.mlir"), {{"T", 64}, {"L", 8}});
  EXPECT_HEADS(p, unite({band(0, 8), stride(8)}));
}

TEST(Frontend, FixedWithDefault) {
  ConcretePattern p = loadPattern(patternPath("fixed.mlir"), {{"T", 256}, {"L", 16}});
  EXPECT_EQ(p.params.at("c"), 8);
  EXPECT_HEADS(p, chunk(16), summary(16, 8));
}

TEST(Frontend, FixedExplicitC) {
  ConcretePattern p =
      loadPattern(patternPath("fixed.mlir"), {{"T", 256}, {"L", 16}, {"c", 2}});
  EXPECT_EQ(p.params.at("c"), 2);
  EXPECT_HEADS(p, chunk(16), summary(16, 2));
}

TEST(Frontend, FixedWidthEqualsPeriodIsDense) {
  // c = L: every key is a summary key.
  ConcretePattern p = loadPattern(patternPath("fixed.mlir"), {{"T", 64}, {"L", 8}});
  EXPECT_HEADS(p, chunk(8), dense());
}

TEST(Frontend, FixedMerged) {
  ConcretePattern p = loadPattern(patternPath("fixed_merged.mlir"), {{"T", 256}, {"L", 16}});
  EXPECT_HEADS(p, unite({chunk(16), summary(16, 8)}));
}

TEST(Frontend, Dense) {
  ConcretePattern p = loadPattern(patternPath("dense.mlir"), {{"T", 32}, {"L", 4}});
  EXPECT_HEADS(p, dense());
}

TEST(Frontend, Local) {
  ConcretePattern p = loadPattern(patternPath("local.mlir"), {{"T", 100}, {"L", 10}});
  EXPECT_HEADS(p, band(0, 10));
}

TEST(Frontend, LocalBandCoveringEverythingIsDense) {
  ConcretePattern p = loadPattern(patternPath("local.mlir"), {{"T", 8}, {"L", 10}});
  EXPECT_HEADS(p, dense());
}

TEST(Frontend, Longformer) {
  ConcretePattern p = loadPattern(patternPath("longformer.mlir"), {{"T", 128}, {"L", 16}});
  EXPECT_EQ(p.params.at("W"), 16);
  EXPECT_EQ(p.params.at("g"), 1);
  EXPECT_HEADS(p, unite({band(0, 16), globalKeys(1), globalQueries(1)}));
}

TEST(Frontend, LongformerNoGlobals) {
  ConcretePattern p = loadPattern(patternPath("longformer.mlir"),
                                  {{"T", 128}, {"L", 16}, {"W", 4}, {"g", 0}});
  EXPECT_HEADS(p, band(0, 4));
}

TEST(Frontend, BigBird) {
  ConcretePattern p =
      loadPattern(patternPath("bigbird.mlir"), {{"T", 256}, {"L", 16}, {"seed", 7}});
  EXPECT_HEADS(p, unite({band(0, 16), globalKeys(1), globalQueries(1), randomBlocks(16, 2, 7)}));
}

TEST(Frontend, BidirectionalPatterns) {
  ConcretePattern l = loadPattern(patternPath("longformer_bidir.mlir"), {{"T", 1024}, {"L", 32}});
  EXPECT_FALSE(l.causal);
  EXPECT_HEADS(l, unite({band(-128, 128), globalKeys(1), globalQueries(1)}));
  ConcretePattern b = loadPattern(patternPath("bigbird_bidir.mlir"), {{"T", 1024}, {"L", 32}});
  EXPECT_FALSE(b.causal);
  EXPECT_HEADS(b, unite({band(-96, 96), globalKeys(1), globalQueries(1), randomBlocks(32, 2, 0)}));
  // Causal stays the default.
  EXPECT_TRUE(loadPattern(patternPath("longformer.mlir"), {{"T", 64}, {"L", 8}}).causal);
}

TEST(Frontend, GridOps) {
  // Rows are chunks of W, columns strides of W; a general window stays one.
  ConcretePattern a = loadPattern(patternPath("image_axial.mlir"), {{"T", 1000}, {"L", 32},
                                                                    {"H", 25}, {"W", 40}});
  EXPECT_HEADS(a, chunk(40), stride(40));
  ConcretePattern w = loadPattern(patternPath("image_window.mlir"), {{"T", 4096}, {"L", 64}});
  EXPECT_HEADS(w, unite({gridWindow(64, 2, 16), chunk(64)}));
  std::string error = errorOf(
      [&] { loadPattern(patternPath("image_axial.mlir"), {{"T", 1000}, {"L", 32}}); });
  EXPECT_NE(error.find("image_axial.mlir:"), std::string::npos) << error;
  EXPECT_NE(error.find("needs a grid of H rows of W positions with H * W == T, got H = 32, W = 32, "
                       "T = 1000"),
            std::string::npos)
      << error;
}

TEST(Frontend, StrideOffsets) {
  const char *source = R"(
sparta.pattern @offsets(T, L, k = 3) {
  %a = sparta.stride period = L, offset = k
  %b = sparta.stride period = L, offset = 0
  %c = sparta.stride period = 2 * T, offset = k
  sparta.heads %a, %b, %c
}
)";
  ConcretePattern p = loadPatternFromSource(source, "offsets.mlir", {{"T", 64}, {"L", 8}});
  // offset 0 is the plain stride; a period past T leaves one offset (causal).
  EXPECT_HEADS(p, stride(8, 3), stride(8), band(3, 3));
  EXPECT_EQ(toString(stride(8, 3)), "stride(8, 3)");
  std::string error =
      errorOf([&] { loadPatternFromSource(source, "offsets.mlir", {{"T", 64}, {"L", 8}, {"k", 9}}); });
  EXPECT_EQ(error.rfind("offsets.mlir:3:8: error: 'sparta.stride' op offset must be below period, "
                        "got offset = 9 >= period = 8",
                        0),
            0u)
      << error;
}

TEST(Frontend, SourceWithSeveralPatternsNeedsAName) {
  const char *source = R"(
sparta.pattern @a(T, L) {
  %d = sparta.dense
  sparta.heads %d
}
sparta.pattern @b(T, L, k = 2 * L + 1) {
  %x = sparta.band lo = 0, hi = k
  %y = sparta.stride period = T / L
  %u = sparta.union %x, %y, %x
  sparta.heads %u, %x
}
)";
  ConcretePattern b = loadPatternFromSource(source, "two.mlir", {{"T", 64}, {"L", 4}}, "b");
  EXPECT_EQ(b.params.at("k"), 9);
  EXPECT_HEADS(b, unite({band(0, 9), stride(16)}), band(0, 9));
  ConcretePattern a = loadPatternFromSource(source, "two.mlir", {{"T", 64}, {"L", 4}}, "a");
  EXPECT_HEADS(a, dense());
  std::string error = errorOf([&] { loadPatternFromSource(source, "two.mlir", {{"T", 64}, {"L", 4}}); });
  EXPECT_EQ(error.rfind("two.mlir:2:1: error: the file holds 2 patterns (@a (line 2), @b (line 6)); "
                        "choose one with --pattern NAME", 0),
            0u)
      << error;
  error = errorOf([&] { loadPatternFromSource(source, "two.mlir", {{"T", 64}, {"L", 4}}, "zz"); });
  EXPECT_EQ(error.rfind("two.mlir:2:1: error: no pattern named @zz (the file holds: @a (line 2), "
                        "@b (line 6))", 0),
            0u)
      << error;
}

TEST(Frontend, MissingFile) {
  std::string error = errorOf([] { loadPattern("/nonexistent/x.mlir", {}); });
  EXPECT_EQ(error.rfind("error: cannot open '/nonexistent/x.mlir': ", 0), 0u) << error;
}

TEST(Frontend, SyntaxErrorHasLocationAndCaret) {
  std::string error = errorOf([] {
    loadPatternFromSource("sparta.pattern @p(T, L) {\n  %x = sparta.band lo = 0, hi = L +\n}\n",
                          "bad.mlir", {{"T", 8}, {"L", 2}});
  });
  EXPECT_EQ(error.rfind("bad.mlir:3:1: error: ", 0), 0u) << error;
  EXPECT_NE(error.find("^"), std::string::npos) << error;
}

TEST(Frontend, UnknownParameterInBody) {
  std::string error = errorOf([] {
    loadPatternFromSource("sparta.pattern @p(T, L) {\n  %x = sparta.stride period = Q\n"
                          "  sparta.heads %x\n}\n",
                          "p.mlir", {{"T", 8}, {"L", 2}});
  });
  EXPECT_EQ(error.rfind("p.mlir:2:8: error: ", 0), 0u) << error;
  EXPECT_NE(error.find("unknown parameter 'Q'"), std::string::npos) << error;
  EXPECT_NE(error.find("declared: T, L"), std::string::npos) << error;
}

TEST(Frontend, UnknownAndMissingBindings) {
  std::string error =
      errorOf([] { loadPattern(patternPath("strided.mlir"), {{"T", 8}, {"L", 2}, {"c", 1}}); });
  EXPECT_NE(error.find("strided.mlir:6:1: error: unknown parameter 'c'"), std::string::npos)
      << error;
  error = errorOf([] { loadPattern(patternPath("strided.mlir"), {{"T", 8}}); });
  EXPECT_NE(error.find("strided.mlir:6:1: error: missing value for parameter 'L'"),
            std::string::npos)
      << error;
}

TEST(Frontend, ConcreteInvariants) {
  EXPECT_NE(errorOf([] { loadPattern(patternPath("strided.mlir"), {{"T", 0}, {"L", 2}}); })
                .find("T must be in [1, 268435456], got T = 0"),
            std::string::npos);
  EXPECT_NE(errorOf([] { loadPattern(patternPath("strided.mlir"), {{"T", 8}, {"L", 0}}); })
                .find("L must be at least 1"),
            std::string::npos);
  std::string error = errorOf(
      [] { loadPattern(patternPath("fixed.mlir"), {{"T", 64}, {"L", 8}, {"c", 9}}); });
  EXPECT_NE(error.find("fixed.mlir:7:14: error:"), std::string::npos) << error;
  EXPECT_NE(error.find("width must not exceed period"), std::string::npos) << error;
  // L = 1 and L >= T are legal; T need not be a multiple of L.
  EXPECT_NO_THROW(loadPattern(patternPath("strided.mlir"), {{"T", 8}, {"L", 1}}));
  EXPECT_NO_THROW(loadPattern(patternPath("strided.mlir"), {{"T", 8}, {"L", 100}}));
  EXPECT_NO_THROW(loadPattern(patternPath("fixed.mlir"), {{"T", 10}, {"L", 3}, {"c", 1}}));
}

TEST(Frontend, DivisionByZero) {
  std::string error = errorOf([] {
    loadPatternFromSource("sparta.pattern @p(T, L, k = 0) {\n  %x = sparta.chunk size = T / k\n"
                          "  sparta.heads %x\n}\n",
                          "div.mlir", {{"T", 8}, {"L", 2}});
  });
  EXPECT_EQ(error.rfind("div.mlir:2:8: error: ", 0), 0u) << error;
  EXPECT_NE(error.find("division by zero"), std::string::npos) << error;
}

TEST(Frontend, InstantiatedIR) {
  std::string ir = instantiatedIR(patternPath("strided.mlir"), {{"T", 64}, {"L", 8}});
  EXPECT_NE(ir.find("sparta.pattern @strided(T = 64, L = 8) instantiated"), std::string::npos)
      << ir;
  EXPECT_NE(ir.find("sparta.band lo = 0, hi = 8"), std::string::npos) << ir;
}

TEST(Frontend, InstantiatedModule) {
  mlir::MLIRContext context;
  auto module = loadInstantiatedModule(context, patternPath("fixed.mlir"),
                                       {{"T", 64}, {"L", 8}, {"c", 2}});
  mlir::sparta::PatternOp pattern = getPattern(*module);
  EXPECT_TRUE(pattern.getInstantiated());
  EXPECT_EQ(pattern.getKnownT(), 64);
  EXPECT_EQ(pattern.getParamValue("c"), 2);
  EXPECT_EQ(toConcretePattern(pattern).heads.size(), 2u);
}

TEST(Frontend, ParseBindings) {
  ParamBindings b = parseBindings({"T=1024", "L=32", "seed=-5"});
  EXPECT_EQ(b, (ParamBindings{{"T", 1024}, {"L", 32}, {"seed", -5}}));
  for (const char *bad : {"T", "=4", "T=", "T=x", "T=4x", "T = 4", "T=99999999999999999999",
                          "1T=4", "T=1.5"})
    EXPECT_THROW(parseBindings({bad}), Error) << bad;
  EXPECT_THROW(parseBindings({"T=1", "T=2"}), Error);
}

TEST(Frontend, MaskToString) {
  EXPECT_EQ(toString(unite({band(0, 8), stride(8)})), "union(band(0, 8), stride(8))");
  EXPECT_EQ(toString(summary(16, 2)), "summary(16, 2)");
  EXPECT_EQ(toString(empty()), "empty");
  EXPECT_NE(band(0, 8), band(0, 9));
  Mask a = chunk(4), b = chunk(4);
  b.lo = 99; // fields of other kinds do not matter
  EXPECT_EQ(a, b);
}

} // namespace
