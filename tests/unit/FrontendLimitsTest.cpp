//===- FrontendLimitsTest.cpp - Hostile input and actionable messages -----===//
//
// The front end's answers to input built to exhaust it (deep or shared mask
// expressions, deep brackets, huge counts, files that are not files) and its
// hints for common mistakes. Each case must end in a sparta::Error naming
// the place and the limit, or in the right pattern, quickly: the inputs are
// far past the limits so that a missing check shows up as a crash or a hang.
//
//===----------------------------------------------------------------------===//
#include "sparta/Dialect/Limits.h"
#include "sparta/Error.h"
#include "sparta/Frontend.h"

#include <gtest/gtest.h>

#include <chrono>
#include <functional>
#include <cstdio>
#include <string>
#include <sys/stat.h>
#include <unistd.h>

using namespace sparta;

namespace {

const ParamBindings kBindings = {{"T", 64}, {"L", 8}};

std::string errorOf(const std::string &source, const ParamBindings &bindings = kBindings,
                    const std::string &patternName = "") {
  try {
    loadPatternFromSource(source, "p.mlir", bindings, patternName);
  } catch (const Error &e) {
    return e.what();
  }
  return "";
}

std::string errorOfFile(const std::string &path) {
  try {
    loadPattern(path, kBindings);
  } catch (const Error &e) {
    return e.what();
  }
  return "";
}

/// `%m0 = band; %mk = union/intersect(%m(k-1), stride(k+1))`: n levels deep.
std::string chain(int n) {
  std::string s = "sparta.pattern @chain(T, L) {\n  %m0 = sparta.band lo = 0, hi = L\n";
  for (int k = 1; k <= n; ++k)
    s += "  %p" + std::to_string(k) + " = sparta.stride period = " + std::to_string(k + 1) +
         "\n  %m" + std::to_string(k) + (k % 2 ? " = sparta.union %m" : " = sparta.intersect %m") +
         std::to_string(k - 1) + ", %p" + std::to_string(k) + "\n";
  return s + "  sparta.heads %m" + std::to_string(n) + "\n}\n";
}

/// Each level uses the previous mask twice: 2^n nodes as a tree.
std::string dag(int n) {
  std::string s = "sparta.pattern @dag(T, L) {\n  %m0 = sparta.band lo = 0, hi = L\n";
  for (int k = 1; k <= n; ++k) {
    std::string K = std::to_string(k), P = std::to_string(k - 1);
    s += "  %s" + K + " = sparta.stride period = " + std::to_string(k + 1) + "\n  %i" + K +
         " = sparta.intersect %m" + P + ", %s" + K + "\n  %m" + K + " = sparta.union %m" + P +
         ", %i" + K + "\n";
  }
  return s + "  sparta.heads %m" + std::to_string(n) + "\n}\n";
}

double secondsOf(const std::function<void()> &f) {
  auto start = std::chrono::steady_clock::now();
  f();
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

} // namespace

TEST(FrontendLimits, DeepChainStopsAtTheNodeLimit) {
  std::string error;
  double seconds = secondsOf([&] { error = errorOf(chain(30000)); });
  EXPECT_NE(error.find("error: the mask of head 0 has more than 256 nodes"), std::string::npos)
      << error;
  EXPECT_EQ(error.rfind("p.mlir:", 0), 0u) << error;
  EXPECT_LT(seconds, 30.0);
  // Under the limit the chain loads, nested as written.
  ConcretePattern p = loadPatternFromSource(chain(100), "p.mlir", kBindings);
  const Mask *m = &p.heads.at(0);
  int depth = 0;
  while (!m->operands.empty()) {
    m = &m->operands.front();
    ++depth;
  }
  EXPECT_EQ(depth, 100);
}

TEST(FrontendLimits, SharedSubMasksAreNotExpandedPastTheLimit) {
  std::string error;
  double seconds = secondsOf([&] { error = errorOf(dag(40)); });
  EXPECT_NE(error.find("has more than 256 nodes (a sub-mask used more than once counts each time)"),
            std::string::npos)
      << error;
  EXPECT_LT(seconds, 30.0);
}

TEST(FrontendLimits, AllHeadsTogetherAreBounded) {
  // 200 heads of a 7-node mask: each head is fine, all of them are not.
  std::string s = "sparta.pattern @p(T, L) {\n  %a = sparta.band lo = 0, hi = L\n"
                  "  %b = sparta.stride period = L\n  %c = sparta.chunk size = L\n"
                  "  %d = sparta.summary period = L, width = 1\n"
                  "  %e = sparta.intersect %a, %b\n  %f = sparta.intersect %c, %d\n"
                  "  %u = sparta.union %e, %f\n  sparta.heads %u";
  for (int h = 1; h < 200; ++h)
    s += ", %u";
  s += "\n}\n";
  std::string error = errorOf(s);
  EXPECT_NE(error.find("the masks of all heads have more than 1024 nodes together"),
            std::string::npos)
      << error;
}

TEST(FrontendLimits, DeepBracketsAreRefusedBeforeParsing) {
  std::string attr = "sparta.pattern @p(T, L) {\n  %d = \"sparta.dense\"() {x = " +
                     std::string(10000, '[') + std::string(10000, ']') +
                     "} : () -> !sparta.mask\n  sparta.heads %d\n}\n";
  std::string error = errorOf(attr);
  EXPECT_EQ(error.rfind("p.mlir:2:92: error: brackets nested more than 64 deep", 0), 0u) << error;
  std::string modules;
  for (int k = 0; k < 10000; ++k)
    modules += "module {";
  modules += std::string(10000, '}');
  EXPECT_NE(errorOf(modules).find("brackets nested more than 64 deep"), std::string::npos);
  // Brackets in comments and strings do not count.
  std::string quiet = "// " + std::string(100, '(') + "\nsparta.pattern @p(T, L) {\n"
                      "  %d = \"sparta.dense\"() {note = \"" + std::string(100, '[') +
                      "\"} : () -> !sparta.mask\n  sparta.heads %d\n}\n";
  EXPECT_EQ(errorOf(quiet), "");
}

TEST(FrontendLimits, RandomBlockCountIsBounded) {
  for (const char *count : {"100000000", "10000000000"}) {
    std::string error = errorOf(std::string("sparta.pattern @p(T, L) {\n  %r = sparta.random_blocks "
                                            "block = 1, count = ") +
                                count + ", seed = 0\n  sparta.heads %r\n}\n");
    EXPECT_EQ(error.rfind("p.mlir:2:8: error: 'sparta.random_blocks' op count must be at most 1024", 0),
              0u)
        << error;
  }
  // The count may come from a parameter: the limit applies once it is bound.
  std::string error = errorOf("sparta.pattern @p(T, L, r) {\n  %r = sparta.random_blocks "
                              "block = 1, count = r, seed = 0\n  sparta.heads %r\n}\n",
                              {{"T", 64}, {"L", 8}, {"r", 5000}});
  EXPECT_NE(error.find("count must be at most 1024"), std::string::npos) << error;
}

TEST(FrontendLimits, SequenceLengthIsBounded) {
  std::string source = "sparta.pattern @p(T, L) {\n  %d = sparta.dense\n  sparta.heads %d\n}\n";
  EXPECT_EQ(errorOf(source, {{"T", limits::kMaxSequenceLength}, {"L", 8}}), "");
  std::string error = errorOf(source, {{"T", limits::kMaxSequenceLength + 1}, {"L", 8}});
  EXPECT_NE(error.find("sequence length T must be in [1, 268435456], got T = 268435457"),
            std::string::npos)
      << error;
}

TEST(FrontendLimits, OnlyRegularFilesWithinTheSizeLimitAreRead) {
  EXPECT_EQ(errorOfFile("/dev/zero"), "error: cannot open '/dev/zero': not a regular file");
  std::string dir = ::testing::TempDir() + "frontend-limits-" + std::to_string(::getpid());
  ASSERT_EQ(::mkdir(dir.c_str(), 0700), 0);
  EXPECT_EQ(errorOfFile(dir), "error: cannot open '" + dir + "': Is a directory");
  std::string fifo = dir + "/fifo.mlir";
  ASSERT_EQ(::mkfifo(fifo.c_str(), 0600), 0);
  EXPECT_EQ(errorOfFile(fifo), "error: cannot open '" + fifo + "': not a regular file");
  std::string big = dir + "/big.mlir";
  {
    std::FILE *file = std::fopen(big.c_str(), "w");
    ASSERT_NE(file, nullptr);
    std::fclose(file);
  }
  ASSERT_EQ(::truncate(big.c_str(), off_t(limits::kMaxPatternFileBytes) + 1), 0);
  EXPECT_EQ(errorOfFile(big), "error: cannot open '" + big + "': larger than 4194304 bytes (the "
                              "limit for a pattern file)");
  ::unlink(big.c_str());
  ::unlink(fifo.c_str());
  ::rmdir(dir.c_str());
}

TEST(FrontendMessages, PercentSuggestsMod) {
  std::string error = errorOf("sparta.pattern @p(T, L) {\n  %b = sparta.band lo = 0, hi = L % 3\n"
                              "  sparta.heads %b\n}\n");
  EXPECT_EQ(error.rfind("p.mlir:2:35: error: custom op 'sparta.band' uses '%', which is not an "
                        "operator: write the remainder as 'mod', e.g. 'L mod 3'",
                        0),
            0u)
      << error;
  error = errorOf("sparta.pattern @p(T, L) {\n  %b = sparta.band lo = 0, hi = (L + 1) % 3\n"
                  "  sparta.heads %b\n}\n");
  EXPECT_NE(error.find("p.mlir:2:41: error: custom op 'sparta.band' uses '%'"), std::string::npos)
      << error;
  // `%3 = ...` after an expression is a new op, not a modulo.
  EXPECT_EQ(errorOf("sparta.pattern @p(T, L) {\n  %b = sparta.band lo = 0, hi = L %3 = sparta.dense\n"
                    "  sparta.heads %b, %3\n}\n"),
            "");
}

TEST(FrontendMessages, MisspeltOpNamesTheNearestOne) {
  std::string error = errorOf("sparta.pattern @p(T, L) {\n  %s = sparta.stirde period = L\n"
                              "  sparta.heads %s\n}\n");
  EXPECT_EQ(error.rfind("p.mlir:2:8: error: custom op 'sparta.stirde' is unknown", 0), 0u) << error;
  EXPECT_NE(error.find("did you mean 'sparta.stride'?"), std::string::npos) << error;
  // Nothing close: no guess.
  error = errorOf("sparta.pattern @p(T, L) {\n  %s = sparta.zzzzzzzzzz\n  sparta.heads %s\n}\n");
  EXPECT_EQ(error.find("did you mean"), std::string::npos) << error;
}
