//===- CommandLineTest.cpp - The tools' command-line parser ---------------===//
//
// Typed values checked against their ranges as they are parsed (64-bit, never
// cut; reals finite), defaults and derived defaults in the help, repeated and
// inline values, `--`, short names, and the exit statuses runTool gives each
// kind of failure.
//
//===----------------------------------------------------------------------===//
#include "sparta/cli/CommandLine.h"

#include <gtest/gtest.h>

#include <cstdint>
#include <stdexcept>
#include <string>
#include <vector>

using namespace sparta;
using namespace sparta::cli;

namespace {

Command testCommand(std::function<int(const Arguments &)> run = nullptr) {
  return Command{
      "go",
      "a command for the tests",
      "[OPTIONS] [FILE]...",
      {
          Option::integer("layers", "N", {1, 256}, "layers").byDefault("8"),
          Option::integer("wide", "N", {}, "any 64-bit integer"),
          Option::real("lr", "X", {0, 1, true, false}, "rate").byDefault("1e-3"),
          Option::real("p", "P", {0, 1, false, true}, "probability"),
          Option::choice("mode", "MODE", {"a", "b"}, "mode").byDefault("a"),
          Option::text("set", "NAME=VALUE", "binding").repeatable(),
          Option::text("out", "PATH", "output").withShortName('o'),
          Option::integer("T", "N", {16, 1 << 20}, "length").derivedDefault("4096, 784 for images"),
          Option::flag("quiet", "quiet"),
      },
      std::move(run)};
}

Arguments parse(const std::vector<std::string> &argv) { return parseArguments(testCommand(), argv); }

std::string usageMessage(const std::vector<std::string> &argv) {
  try {
    parse(argv);
  } catch (const UsageError &e) {
    return e.what();
  }
  return "(accepted)";
}

TEST(CommandLine, TypedValuesAndDefaults) {
  Arguments args = parse({"--layers", "12", "--lr=0.5", "--mode", "b", "-o", "x.txt", "--quiet",
                          "file1", "--", "--not-an-option"});
  EXPECT_EQ(args.integer<int>("layers"), 12);
  EXPECT_DOUBLE_EQ(args.real("lr"), 0.5);
  EXPECT_EQ(args.text("mode"), "b");
  EXPECT_EQ(args.text("out"), "x.txt");
  EXPECT_TRUE(args.has("quiet"));
  EXPECT_EQ(args.positionals, (std::vector<std::string>{"file1", "--not-an-option"}));

  Arguments none = parse({});
  EXPECT_EQ(none.integer<int>("layers"), 8);
  EXPECT_DOUBLE_EQ(none.real("lr"), 1e-3);
  EXPECT_FALSE(none.has("quiet"));
  EXPECT_FALSE(none.has("T"));
  EXPECT_THROW(none.text("out"), std::logic_error); // neither value nor default
}

TEST(CommandLine, RepeatedValuesKeepTheirOrder) {
  Arguments args = parse({"--set", "L=4", "--set=c=2", "--layers", "3", "--layers", "5"});
  EXPECT_EQ(args.values("set"), (std::vector<std::string>{"L=4", "c=2"}));
  EXPECT_EQ(args.integer("layers"), 5); // not repeatable: the last one counts
}

TEST(CommandLine, IntegersAre64BitAndRangeChecked) {
  EXPECT_EQ(usageMessage({"--layers", "4294967298"}), "--layers 4294967298 is out of range [1, 256]");
  EXPECT_EQ(usageMessage({"--layers", "0"}), "--layers 0 is out of range [1, 256]");
  EXPECT_EQ(usageMessage({"--layers", "1e6"}), "--layers needs an integer in [1, 256], not '1e6'");
  EXPECT_EQ(usageMessage({"--layers", " 3"}), "--layers needs an integer in [1, 256], not ' 3'");
  EXPECT_EQ(usageMessage({"--wide", "99999999999999999999"}),
            "--wide needs an integer, not '99999999999999999999'");
  EXPECT_EQ(parse({"--wide", "-9223372036854775808"}).integer("wide"), INT64_MIN);
  // A range wider than the type asked for is the program's mistake, never a cut value.
  EXPECT_THROW(parse({"--wide", "1"}).integer<int>("wide"), std::logic_error);
  EXPECT_EQ(parse({"--wide", "1"}).integer<int64_t>("wide"), 1);
}

TEST(CommandLine, RealsAreFiniteAndRangeChecked) {
  EXPECT_EQ(usageMessage({"--lr", "inf"}), "--lr needs a finite number in (0, 1], not 'inf'");
  EXPECT_EQ(usageMessage({"--lr", "nan"}), "--lr needs a finite number in (0, 1], not 'nan'");
  EXPECT_EQ(usageMessage({"--lr", "1e999"}), "--lr needs a finite number in (0, 1], not '1e999'");
  EXPECT_EQ(usageMessage({"--lr", "0"}), "--lr 0 is out of range (0, 1]");
  EXPECT_EQ(usageMessage({"--p", "1"}), "--p 1 is out of range [0, 1)");
  EXPECT_EQ(usageMessage({"--p", "0.5x"}), "--p needs a finite number in [0, 1), not '0.5x'");
  EXPECT_DOUBLE_EQ(parse({"--p", "0"}).real("p"), 0.0);
}

TEST(CommandLine, MalformedCommandLines) {
  EXPECT_EQ(usageMessage({"--frobnicate"}), "unknown option '--frobnicate'");
  EXPECT_EQ(usageMessage({"-x"}), "unknown option '-x'");
  EXPECT_EQ(usageMessage({"--quiet=yes"}), "option '--quiet' takes no value");
  EXPECT_EQ(usageMessage({"--layers"}), "option '--layers' needs a value (N)");
  EXPECT_EQ(usageMessage({"--mode", "c"}), "unknown --mode 'c' (expected a or b)");
}

TEST(CommandLine, HelpComesFromTheTable) {
  const Tool tool{"tool", "A tool.", {testCommand()}, ""};
  const std::string help = commandUsage(tool, tool.commands[0]);
  EXPECT_NE(help.find("usage: tool go [OPTIONS] [FILE]..."), std::string::npos) << help;
  EXPECT_NE(help.find("layers (N in [1, 256]; default 8)"), std::string::npos) << help;
  EXPECT_NE(help.find("rate (X in (0, 1]; default 1e-3)"), std::string::npos) << help;
  EXPECT_NE(help.find("mode (one of a, b; default a)"), std::string::npos) << help;
  EXPECT_NE(help.find("binding (repeatable)"), std::string::npos) << help;
  EXPECT_NE(help.find("length (N in [16, 1048576]; default 4096, 784 for images)"),
            std::string::npos)
      << help;
  EXPECT_NE(help.find("-o, --out PATH"), std::string::npos) << help;
  EXPECT_NE(help.find("-h, --help"), std::string::npos) << help;
  EXPECT_NE(help.find("--version"), std::string::npos) << help;
}

int runWith(const Tool &tool, std::vector<std::string> argv) {
  argv.insert(argv.begin(), tool.name);
  std::vector<char *> pointers;
  for (std::string &arg : argv)
    pointers.push_back(arg.data());
  return runTool(tool, int(pointers.size()), pointers.data());
}

TEST(CommandLine, ExitStatuses) {
  bool ran = false;
  const Tool tool{"tool",
                  "A tool.",
                  {testCommand([&](const Arguments &args) {
                    ran = true;
                    if (args.has("quiet"))
                      throw Error("bad input");
                    return args.integer<int>("layers") == 1 ? kExitWorkFailed : kExitSuccess;
                  })},
                  ""};
  ::testing::internal::CaptureStdout();
  ::testing::internal::CaptureStderr();
  EXPECT_EQ(runWith(tool, {"go", "--help"}), kExitSuccess);
  EXPECT_EQ(runWith(tool, {"go", "--version"}), kExitSuccess);
  EXPECT_EQ(runWith(tool, {"--version"}), kExitSuccess);
  EXPECT_FALSE(ran); // --help and --version do no work
  EXPECT_EQ(runWith(tool, {"go"}), kExitSuccess);
  EXPECT_EQ(runWith(tool, {"go", "--layers", "1"}), kExitWorkFailed);
  EXPECT_EQ(runWith(tool, {"go", "--layers", "x"}), kExitUsage);
  EXPECT_EQ(runWith(tool, {"go", "--quiet"}), kExitUsage); // an input error before any work
  EXPECT_EQ(runWith(tool, {"stop"}), kExitUsage);
  EXPECT_EQ(runWith(tool, {}), kExitUsage);
  const std::string out = ::testing::internal::GetCapturedStdout();
  const std::string err = ::testing::internal::GetCapturedStderr();
  EXPECT_NE(out.find("tool (sparta) "), std::string::npos) << out;
  EXPECT_NE(err.find("tool go: error: --layers needs an integer in [1, 256], not 'x'\n"
                     "Run 'tool go --help' for usage.\n"),
            std::string::npos)
      << err;
  EXPECT_NE(err.find("tool go: error: bad input\n"), std::string::npos) << err;
  EXPECT_NE(err.find("tool: error: unknown command 'stop'"), std::string::npos) << err;
}

} // namespace
