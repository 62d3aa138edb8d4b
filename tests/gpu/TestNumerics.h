//===- TestNumerics.h - Rounding and error statistics for the GPU tests ---===//
//
// The references themselves are the library's (sparta/ReferenceAttention.h:
// exact in double, and a straightforward bf16/fp16 implementation). A kernel
// passes when its error against the exact one is at most twice the error of
// the low-precision one plus a small absolute slack (FlashAttention's
// criterion); ErrorStats collects the maxima for that.
//
//===----------------------------------------------------------------------===//
#pragma once

#include "sparta/Float16.h"

#include <algorithm>
#include <cmath>
#include <cstdint>

namespace sparta::test {

/// Rounding of a value to the test's dtype (fp16 when `half`, else bf16).
struct Rounder {
  bool half = false;
  uint16_t bits(float f) const { return half ? fp16Bits(f) : bf16Bits(f); }
  float value(uint16_t b) const { return half ? fp16Value(b) : bf16Value(b); }
  float operator()(float f) const { return value(bits(f)); }
};

/// max |a - ref| and max |ref| over finite reference entries; counts NaNs in a.
struct ErrorStats {
  double maxErr = 0, maxRef = 0;
  long nan = 0;
  void add(float a, float ref) {
    if (std::isnan(a)) {
      ++nan;
      return;
    }
    if (!std::isfinite(ref))
      return;
    maxErr = std::max(maxErr, std::fabs(static_cast<double>(a) - ref));
    maxRef = std::max(maxRef, std::fabs(static_cast<double>(ref)));
  }
};

} // namespace sparta::test
