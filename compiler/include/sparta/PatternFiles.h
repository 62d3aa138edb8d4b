//===- PatternFiles.h - Where pattern files are found -----------------------===//
//
// A pattern argument is a path; when no file exists there and it is a bare
// name ("fixed" or "fixed.mlir"), it names one of the patterns shipped with
// sparta, looked up in order in
//   $SPARTA_PATTERNS_DIR,
//   share/sparta/patterns of the tree libsparta was loaded from (an install
//   tree: lib/../share/sparta/patterns),
//   the source tree's patterns/ (a build tree).
//
//===----------------------------------------------------------------------===//
#pragma once

#include <string>

namespace sparta {

/// The file `pathOrName` refers to; `pathOrName` itself when nothing is found
/// (so that opening it reports the name the user gave).
std::string findPatternFile(const std::string &pathOrName);

/// The folder bare pattern names are resolved in first that exists; empty when none does.
std::string patternsDirectory();

} // namespace sparta
