//===- Error.h - The exception every sparta API throws for bad input -------===//
//
// sparta reports user errors (bad pattern files, bad parameters, shapes that
// do not fit a kernel, CUDA failures) by throwing sparta::Error. Its message is
// complete and user-facing: where there is a source location it starts with
// "file:line:col: error: ". Tools catch it at the top and exit with status 2.
//
//===----------------------------------------------------------------------===//
#pragma once

#include <stdexcept>
#include <string>

namespace sparta {

class Error : public std::runtime_error {
public:
  explicit Error(const std::string &message) : std::runtime_error(message) {}
};

} // namespace sparta
