//===- Frontend.h - From a pattern file to a ConcretePattern ---------------===//
//
// The front end parses a pattern file written in the sparta dialect, binds its
// parameters (explicit bindings first, then the pattern's defaults), runs the
// instantiate and canonicalize passes, verifies the result and converts it to
// the MLIR-free ConcretePattern that the rest of sparta consumes.
//
// Every user error (missing or unreadable file, syntax error, unknown or missing
// parameter, a value that breaks an invariant such as T <= 0 or width > period)
// is thrown as sparta::Error whose message starts with "file:line:col: error: "
// wherever the problem has a place in the file (followed by the source line
// and a caret); a file that cannot be read (missing, a directory, not a
// regular file, over the size limit) gives "error: cannot open 'PATH':
// REASON". Input beyond the limits of sparta/Dialect/Limits.h (file size,
// bracket nesting, mask size, random-block count, T) is such an error, so no
// input can make the front end crash, hang or run out of memory. Stages that
// want the IR rather than a ConcretePattern use sparta/Load.h
// (loadInstantiatedModule).
//
//===----------------------------------------------------------------------===//
#pragma once

#include "sparta/Pattern.h"

#include <cstdint>
#include <map>
#include <string>
#include <vector>

namespace sparta {

/// Parameter values given by the user, e.g. from `--set T=1024 --set L=32`.
using ParamBindings = std::map<std::string, int64_t>;

/// Loads the pattern named `patternName` from the file at `path` (when empty,
/// the file must hold exactly one pattern) and instantiates it.
ConcretePattern loadPattern(const std::string &path, const ParamBindings &bindings,
                            const std::string &patternName = "");

/// Same, from text in memory (e.g. a pattern embedded in a program, or a
/// fuzzer's input); `bufferName` stands in for the file name in messages.
ConcretePattern loadPatternFromSource(const std::string &source,
                                      const std::string &bufferName,
                                      const ParamBindings &bindings,
                                      const std::string &patternName = "");

/// The instantiated, canonicalized IR of the pattern, as text (`--emit=mlir`).
std::string instantiatedIR(const std::string &path, const ParamBindings &bindings,
                           const std::string &patternName = "");

/// Parses `--set` arguments of the form NAME=VALUE; throws sparta::Error on
/// anything else (no '=', empty name, a value that is not a 64-bit integer).
ParamBindings parseBindings(const std::vector<std::string> &assignments);

} // namespace sparta
