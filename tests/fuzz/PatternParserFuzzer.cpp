//===- PatternParserFuzzer.cpp - libFuzzer target for the pattern front end -===//
//
// Feeds arbitrary bytes to loadPatternFromSource. Any sparta::Error is a
// correct answer to bad input; a crash, an abort, a sanitizer report, a
// timeout or an exception of another type is a bug. Patterns that do load are
// also run through the reference semantics on every pair, which must not crash
// either.
//
// The parameters are fuzzed too: when the input holds a NUL byte, the bytes
// after the last one choose the bindings (a flag byte, then T, L and c as
// little-endian 32-bit integers, any of them missing keeps its default), so
// T, L and c range over every 32-bit value, zero and negative ones included.
// Without a NUL the input is all pattern text, bound to T = 64, L = 8 (the
// seeds in patterns/ are such inputs).
//
//===----------------------------------------------------------------------===//
#include "sparta/Error.h"
#include "sparta/Frontend.h"
#include "sparta/MaskSemantics.h"

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>

namespace {

/// The reference semantics are evaluated on every pair up to this T.
constexpr int64_t kMaxCheckedT = 256;

int32_t readInt32(const uint8_t *bytes, size_t size, size_t offset, int32_t fallback) {
  if (offset + 4 > size)
    return fallback;
  uint32_t value = 0;
  std::memcpy(&value, bytes + offset, 4);
  return static_cast<int32_t>(value);
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  size_t textSize = size;
  sparta::ParamBindings bindings = {{"T", 64}, {"L", 8}};
  if (const void *nul = memrchr(data, 0, size)) {
    textSize = static_cast<const uint8_t *>(nul) - data;
    const uint8_t *trailer = data + textSize + 1;
    size_t trailerSize = size - textSize - 1;
    uint8_t flags = trailerSize > 0 ? trailer[0] : 0;
    bindings["T"] = readInt32(trailer, trailerSize, 1, 64);
    bindings["L"] = readInt32(trailer, trailerSize, 5, 8);
    if (flags & 1) // only patterns that declare c accept a binding of it
      bindings["c"] = readInt32(trailer, trailerSize, 9, 4);
  }
  const std::string source(reinterpret_cast<const char *>(data), textSize);
  try {
    sparta::ConcretePattern pattern =
        sparta::loadPatternFromSource(source, "fuzz.mlir", bindings);
    if (pattern.T > 0 && pattern.T <= kMaxCheckedT)
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
