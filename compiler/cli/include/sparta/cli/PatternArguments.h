//===- PatternArguments.h - FILE, --set and --pattern for the tools -------===//
//
// The tools that read one pattern file take it the same way: FILE as the only
// positional argument, `--set NAME=VALUE` (repeated) for its parameters and
// `--pattern NAME` to pick one pattern of a file that holds several.
//
//===----------------------------------------------------------------------===//
#pragma once

#include "sparta/Frontend.h"
#include "sparta/Pattern.h"
#include "sparta/cli/CommandLine.h"

#include <vector>

namespace sparta::cli {

/// --set NAME=VALUE (repeated) and --pattern NAME.
std::vector<Option> patternOptions();

/// `options` followed by the pattern options.
std::vector<Option> withPatternOptions(std::vector<Option> options);

/// The --set bindings. Throws sparta::Error for a malformed one.
ParamBindings bindingArguments(const Arguments &args);

/// Loads the pattern named by the single positional FILE, with the --set
/// bindings and --pattern name. Throws UsageError when FILE is missing or
/// repeated, sparta::Error for a bad file, binding or parameter value.
ConcretePattern loadPatternArgument(const Arguments &args);

} // namespace sparta::cli
