//===- Float16.h - bf16 and fp16 on the host, round to nearest even --------===//
//
// The one host-side conversion between float and the kernels' 16-bit types,
// used by the references, the tests, the checkpoints and the tools. Values
// convert exactly in the other direction. Overflow rounds to infinity, NaN
// stays NaN, subnormals are kept (both formats have them).
//
//===----------------------------------------------------------------------===//
#pragma once

#include <cmath>
#include <cstdint>
#include <cstring>

namespace sparta {

/// The bf16 bits nearest to x (ties to even).
inline uint16_t bf16Bits(float x) {
  uint32_t u;
  std::memcpy(&u, &x, 4);
  if ((u & 0x7fffffffu) > 0x7f800000u)
    return uint16_t((u >> 16) | 0x40u); // NaN: keep the sign, make it quiet
  // Adding 0x7fff plus the lowest kept bit rounds the dropped half to even.
  u += 0x7fffu + ((u >> 16) & 1u);
  return uint16_t(u >> 16);
}

inline float bf16Value(uint16_t bits) {
  uint32_t u = uint32_t(bits) << 16;
  float x;
  std::memcpy(&x, &u, 4);
  return x;
}

/// The fp16 (binary16) bits nearest to x (ties to even).
inline uint16_t fp16Bits(float x) {
  uint32_t u;
  std::memcpy(&u, &x, 4);
  const uint32_t sign = (u >> 16) & 0x8000u;
  const uint32_t a = u & 0x7fffffffu;
  if (a > 0x7f800000u)
    return uint16_t(sign | 0x7e00u); // NaN
  if (a >= 0x477ff000u)              // >= 65520 rounds to 2^16: infinity
    return uint16_t(sign | 0x7c00u);
  if (a < 0x38800000u) { // below 2^-14: a subnormal half (or zero)
    float magnitude;
    std::memcpy(&magnitude, &a, 4);
    // In units of the subnormal quantum 2^-24; nearbyint rounds ties to even
    // (the default mode), and 1024 units is the smallest normal's encoding.
    return uint16_t(sign | uint32_t(std::nearbyint(magnitude * 16777216.0f)));
  }
  uint32_t r = a + 0xfffu + ((a >> 13) & 1u); // round the 13 dropped bits to even
  r -= 0x38000000u;                           // exponent bias 127 -> 15
  return uint16_t(sign | (r >> 13));
}

inline float fp16Value(uint16_t bits) {
  const uint32_t sign = uint32_t(bits & 0x8000u) << 16;
  const uint32_t e = (bits >> 10) & 0x1fu, m = bits & 0x3ffu;
  uint32_t u;
  if (e == 0) {
    float x = std::ldexp(float(m), -24);
    std::memcpy(&u, &x, 4);
    u |= sign;
  } else if (e == 31) {
    u = sign | 0x7f800000u | (m << 13);
  } else {
    u = sign | ((e + 112) << 23) | (m << 13);
  }
  float x;
  std::memcpy(&x, &u, 4);
  return x;
}

} // namespace sparta
