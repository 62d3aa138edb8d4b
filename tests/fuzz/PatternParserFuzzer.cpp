//===- PatternParserFuzzer.cpp - libFuzzer target for the pattern front end -===//
//
// Feeds arbitrary bytes to loadPatternFromSource with small bindings. Any
// sparta::Error is a correct answer to bad input; a crash, an abort, a sanitizer
// report or an exception of another type is a bug. Patterns that do load are
// also run through the reference semantics on every pair, which must not crash
// either.
//
//===----------------------------------------------------------------------===//
#include "sparta/Error.h"
#include "sparta/Frontend.h"
#include "sparta/MaskSemantics.h"

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  const std::string source(reinterpret_cast<const char *>(data), size);
  const sparta::ParamBindings bindings = {{"T", 64}, {"L", 8}, {"c", 4}};
  try {
    sparta::ConcretePattern pattern =
        sparta::loadPatternFromSource(source, "fuzz.mlir", bindings);
    if (pattern.T > 0 && pattern.T <= 256)
      for (size_t h = 0; h < pattern.heads.size(); ++h)
        for (int64_t i = 0; i < pattern.T; ++i)
          for (int64_t j = 0; j <= i; ++j)
            (void)sparta::allowed(pattern, static_cast<int64_t>(h), i, j);
  } catch (const sparta::Error &) {
    // Bad input, reported properly.
  } catch (const std::exception &e) {
    std::fprintf(stderr, "unexpected exception (not sparta::Error): %s\n", e.what());
    std::abort();
  }
  return 0;
}
