//===- PatternArguments.cpp - FILE, --set and --pattern for the tools -----===//
#include "sparta/cli/PatternArguments.h"

#include "sparta/PatternFiles.h"

#include "sparta/Frontend.h"

namespace sparta::cli {

std::vector<Option> patternOptions() {
  return {
      Option::text("set", "NAME=VALUE", "bind a pattern parameter, e.g. --set T=1024 --set L=32")
          .repeatable(),
      Option::text("pattern", "NAME", "the pattern to use when FILE holds several")
          .derivedDefault("the file's only pattern"),
  };
}

std::vector<Option> withPatternOptions(std::vector<Option> options) {
  std::vector<Option> common = patternOptions();
  options.insert(options.end(), common.begin(), common.end());
  return options;
}

ParamBindings bindingArguments(const Arguments &args) { return parseBindings(args.values("set")); }

ConcretePattern loadPatternArgument(const Arguments &args) {
  requirePositionals(args, 1, "pattern FILE");
  const std::string &file = args.positionals[0];
  ConcretePattern pattern =
      loadPattern(findPatternFile(file), bindingArguments(args),
                  args.has("pattern") ? args.text("pattern") : "");
  // The front end verifies this; the analyses rely on it, so check again.
  if (pattern.heads.empty())
    throw Error(file + ": error: pattern '" + pattern.name + "' has no heads");
  return pattern;
}

} // namespace sparta::cli
