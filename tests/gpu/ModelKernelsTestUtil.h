//===- ModelKernelsTestUtil.h - Helpers of the model kernel GPU tests ------===//
//
// Device tensors filled from host vectors, NaN poisoning, random bf16 data,
// and the two closeness checks the tests share (their tolerances are
// explained in ModelKernelsTest.cpp).
//
//===----------------------------------------------------------------------===//
#pragma once

#include "sparta/Error.h"
#include "sparta/model/KernelReference.h"
#include "sparta/model/Kernels.h"
#include "sparta/runtime/Cuda.h"

#include <gtest/gtest.h>

#include <cmath>
#include <cstdio>
#include <cstring>
#include <limits>
#include <map>
#include <memory>
#include <random>
#include <vector>

namespace sparta::model::test {

/// A device buffer with typed access and whole-buffer downloads.
class DeviceTensor {
public:
  explicit DeviceTensor(std::size_t bytes) : buf_(bytes) {}
  template <typename T> T *as() const { return buf_.as<T>(); }
  std::size_t size() const { return buf_.size(); }
  std::vector<char> bytes() const {
    std::vector<char> out(buf_.size());
    buf_.download(out.data(), out.size());
    return out;
  }
  template <typename T> void upload(const std::vector<T> &v) { buf_.upload(v.data(), v.size() * sizeof(T)); }
  void download(void *dst, std::size_t bytes) const { buf_.download(dst, bytes); }

private:
  rt::DeviceBuffer buf_;
};

template <typename T> DeviceTensor upload(const std::vector<T> &v) {
  DeviceTensor t(std::max<std::size_t>(v.size() * sizeof(T), 16));
  t.upload(v);
  return t;
}
inline DeviceTensor uploadBf16(const std::vector<float> &v) { return upload(ref::toBf16(v)); }

/// All bytes 0xff: NaN as fp32 and as bf16, so unwritten outputs fail.
inline void poison(DeviceTensor &t) { t.upload(std::vector<unsigned char>(t.size(), 0xff)); }
inline DeviceTensor poisoned(std::size_t bytes) {
  DeviceTensor t(std::max<std::size_t>(bytes, 16));
  poison(t);
  return t;
}

inline std::vector<float> downloadBf16(const DeviceTensor &t, std::size_t n) {
  std::vector<std::uint16_t> bits(n);
  t.download(bits.data(), n * 2);
  return ref::fromBf16(bits);
}
inline std::vector<float> downloadF32(const DeviceTensor &t, std::size_t n) {
  std::vector<float> v(n);
  t.download(v.data(), n * 4);
  return v;
}

inline std::vector<float> randomVector(std::size_t n, std::mt19937 &rng, float scale = 1.0f,
                                       float mean = 0.0f) {
  std::normal_distribution<float> dist(mean, scale);
  std::vector<float> v(n);
  for (float &x : v)
    x = dist(rng);
  return v;
}
/// Normal values already on the bf16 grid (what the GPU reads).
inline std::vector<float> randomBf16(std::size_t n, std::mt19937 &rng, float scale = 1.0f,
                                     float mean = 0.0f) {
  return ref::roundBf16(randomVector(n, rng, scale, mean));
}
inline std::vector<std::int32_t> randomTokens(std::size_t n, int vocab, std::mt19937 &rng) {
  std::vector<std::int32_t> t(n);
  for (auto &x : t)
    x = static_cast<std::int32_t>(rng() % static_cast<unsigned>(vocab));
  return t;
}

inline double maxAbs(const std::vector<float> &v) {
  double m = 0.0;
  for (float x : v)
    if (std::isfinite(x))
      m = std::max(m, static_cast<double>(std::fabs(x)));
  return m;
}

/// bf16 output vs exact: per element within 2^-8 |exact| + 1e-5 max|exact|,
/// and the largest error at most twice that of rounding the exact result.
/// Where the computation itself rounds an intermediate to bf16, `scale` gives
/// the per-element magnitude the 2^-8 applies to (the sum of the rounded
/// terms' magnitudes) and `baseline` the same math done straightforwardly in
/// bf16, whose largest error replaces the rounding's.
inline void expectBf16Close(const std::vector<float> &gpu, const std::vector<float> &exact,
                            const char *what, const std::vector<float> &scale = {},
                            const std::vector<float> &baseline = {}) {
  ASSERT_EQ(gpu.size(), exact.size()) << what;
  const double floor = 1e-5 * maxAbs(exact);
  double errMax = 0.0, baseMax = 0.0;
  std::size_t bad = 0;
  for (std::size_t i = 0; i < gpu.size(); ++i) {
    const double e = exact[i], g = gpu[i];
    const double err = std::isfinite(g) ? std::fabs(g - e) : std::numeric_limits<double>::infinity();
    if (std::isnan(e) && std::isnan(g))
      continue;
    const double magnitude = scale.empty() ? std::fabs(e) : scale[i];
    if (!(err <= std::ldexp(magnitude, -8) + floor) && bad++ < 5)
      ADD_FAILURE() << what << "[" << i << "]: gpu " << g << ", exact " << e;
    errMax = std::max(errMax, err);
    const double base = baseline.empty() ? ref::roundBf16({exact[i]})[0] : baseline[i];
    baseMax = std::max(baseMax, std::fabs(base - e));
  }
  EXPECT_EQ(bad, 0u) << what << ": elements out of tolerance";
  EXPECT_LE(errMax, 2 * baseMax + floor) << what << ": max error vs the straightforward bf16 result";
}

/// fp32 output vs exact: per element within 1e-5 (|exact| + rms(exact)).
inline void expectF32Close(const std::vector<float> &gpu, const std::vector<float> &exact,
                           const char *what) {
  ASSERT_EQ(gpu.size(), exact.size()) << what;
  double ss = 0.0;
  for (float e : exact)
    ss += static_cast<double>(e) * e;
  const double rms = std::sqrt(ss / std::max<std::size_t>(exact.size(), 1));
  std::size_t bad = 0;
  for (std::size_t i = 0; i < gpu.size(); ++i) {
    const double err = std::fabs(static_cast<double>(gpu[i]) - exact[i]);
    if (!(err <= 1e-5 * (std::fabs(exact[i]) + rms)) && bad++ < 5)
      ADD_FAILURE() << what << "[" << i << "]: gpu " << gpu[i] << ", exact " << exact[i];
  }
  EXPECT_EQ(bad, 0u) << what << ": elements out of tolerance";
}

/// One compiled kernel set per d_model for the whole test run.
inline const ModelKernels &kernelsFor(int dModel) {
  static std::map<int, std::unique_ptr<ModelKernels>> cache;
  auto &slot = cache[dModel];
  if (!slot) {
    ModelKernelConfig config;
    config.dModel = dModel;
    slot = std::make_unique<ModelKernels>(config);
  }
  return *slot;
}

} // namespace sparta::model::test
