//===- MaskCommand.cpp - sparta mask: a head's mask as rows of 0/1 --------===//
//
// Prints exactly T lines of T characters: character j of line i is '1' iff
// query i of the head may attend to key j, by the reference semantics
// (MaskSemantics.h). Nothing else goes to stdout, so the output can be diffed
// against any other implementation.
//
//===----------------------------------------------------------------------===//
#include "sparta/cli/PatternArguments.h"
#include "sparta/MaskSemantics.h"

#include <cstdint>
#include <cstdio>
#include <string>

namespace sparta::cli {

static constexpr int64_t kMaxMaskT = 65536;

static int runMask(const Arguments &args) {
  ConcretePattern pattern = loadPatternArgument(args);
  const int64_t heads = static_cast<int64_t>(pattern.heads.size());
  const int64_t head = args.integer("head");
  if (head < 0 || head >= heads)
    throw Error("--head " + std::to_string(head) + " is out of range: pattern '" +
                     pattern.name + "' has " + std::to_string(heads) +
                     (heads == 1 ? " head (0)" : " heads (0.." + std::to_string(heads - 1) + ")"));
  const int64_t T = pattern.T;
  if (T > kMaxMaskT)
    throw Error("T = " + std::to_string(T) + " is too large to print a mask (at most " +
                std::to_string(kMaxMaskT) + ")");
  const Mask &mask = pattern.heads[head];
  std::string line(T + 1, '0');
  line[T] = '\n';
  for (int64_t i = 0; i < T; ++i) {
    for (int64_t j = 0; j < T; ++j)
      line[j] = allowed(mask, T, i, j, pattern.causal) ? '1' : '0';
    if (std::fwrite(line.data(), 1, line.size(), stdout) != line.size())
      throw Error("cannot write to standard output");
  }
  if (std::fflush(stdout) != 0)
    throw Error("cannot write to standard output");
  return 0;
}

SPARTA_COMMAND({"mask", "print one head's mask as T rows of T '0'/'1' characters",
                "FILE [--set NAME=VALUE]... [--pattern NAME] [--head K]",
                withPatternOptions({Option::integer("head", "K", {},
                                                    "the head to print, 0 <= K < number of heads")
                                        .byDefault("0")}),
                runMask});

} // namespace sparta::cli
