//===- AttentionReference.h - CPU references for the attention kernel tests ===//
//
// Straightforward dense masked attention on the element mask, for one head:
//  * exact():   double precision from the (already 16-bit-rounded) inputs;
//  * lowPrecision(): what a plain bf16/fp16 implementation computes: S, P,
//    O, dP, dS and the gradients rounded to the dtype after each product
//    (fp32 accumulation inside each product), softmax statistics in fp32.
// The kernel passes when its error against exact() is at most twice the
// error of lowPrecision() plus a small absolute slack (FlashAttention's
// criterion).
//
//===----------------------------------------------------------------------===//
#pragma once

#include "sparta/Float16.h"

#include <cmath>
#include <cstdint>
#include <cstring>
#include <functional>
#include <limits>
#include <vector>

namespace sparta::test {

/// Rounding of a value to the test's dtype (fp16 when `half`, else bf16).
struct Rounder {
  bool half = false;
  uint16_t bits(float f) const { return half ? fp16Bits(f) : bf16Bits(f); }
  float value(uint16_t b) const { return half ? fp16Value(b) : bf16Value(b); }
  float operator()(float f) const { return value(bits(f)); }
};

/// One head's problem: inputs [T, d] row-major (already rounded), the mask.
struct HeadProblem {
  int T = 0, d = 0;
  float scale = 1.f;
  const float *q = nullptr, *k = nullptr, *v = nullptr, *dout = nullptr;
  const std::vector<std::vector<int>> *keys = nullptr; // allowed keys of each row
};

struct HeadResult {
  std::vector<float> o, lse, dq, dk, dv; // [T, d] / [T]
};

/// allowed(i, j) -> per-row key lists.
inline std::vector<std::vector<int>> keyLists(int T, const std::function<bool(int, int)> &allowed) {
  std::vector<std::vector<int>> keys(T);
  for (int i = 0; i < T; ++i)
    for (int j = 0; j < T; ++j)
      if (allowed(i, j))
        keys[i].push_back(j);
  return keys;
}

/// exact (rnd == nullptr) or low-precision (rnd = the dtype's rounding).
inline HeadResult referenceHead(const HeadProblem &pb, const Rounder *rnd) {
  const int T = pb.T, d = pb.d;
  auto R = [&](double x) { return rnd ? static_cast<double>((*rnd)(static_cast<float>(x))) : x; };
  // In low precision each product accumulates in fp32 (as tensor cores do).
  auto dot = [&](const float *a, const float *b) {
    if (rnd) {
      float s = 0.f;
      for (int x = 0; x < d; ++x)
        s += a[x] * b[x];
      return static_cast<double>(s);
    }
    double s = 0;
    for (int x = 0; x < d; ++x)
      s += static_cast<double>(a[x]) * b[x];
    return s;
  };
  HeadResult r;
  r.o.assign(static_cast<size_t>(T) * d, 0.f);
  r.lse.assign(T, -std::numeric_limits<float>::infinity());
  r.dq.assign(static_cast<size_t>(T) * d, 0.f);
  r.dk.assign(static_cast<size_t>(T) * d, 0.f);
  r.dv.assign(static_cast<size_t>(T) * d, 0.f);
  std::vector<double> dk(static_cast<size_t>(T) * d, 0.0), dv(static_cast<size_t>(T) * d, 0.0);
  std::vector<double> s, p, dp, acc(d);
  for (int i = 0; i < T; ++i) {
    const std::vector<int> &ks = (*pb.keys)[i];
    if (ks.empty())
      continue; // O = 0, lse = -inf, no gradient
    const float *qi = pb.q + static_cast<size_t>(i) * d;
    const float *doi = pb.dout + static_cast<size_t>(i) * d;
    const size_t n = ks.size();
    s.resize(n);
    p.resize(n);
    dp.resize(n);
    double m = -INFINITY;
    for (size_t a = 0; a < n; ++a) {
      s[a] = R(pb.scale * dot(qi, pb.k + static_cast<size_t>(ks[a]) * d));
      m = std::max(m, s[a]);
    }
    double l = 0;
    for (size_t a = 0; a < n; ++a) {
      p[a] = std::exp(s[a] - m);
      l += p[a];
    }
    r.lse[i] = static_cast<float>(m + std::log(l));
    for (size_t a = 0; a < n; ++a)
      p[a] = R(p[a] / l);
    std::fill(acc.begin(), acc.end(), 0.0);
    for (size_t a = 0; a < n; ++a) {
      const float *vj = pb.v + static_cast<size_t>(ks[a]) * d;
      for (int x = 0; x < d; ++x)
        acc[x] += p[a] * vj[x];
    }
    std::vector<float> oi(d);
    for (int x = 0; x < d; ++x)
      oi[x] = static_cast<float>(R(acc[x]));
    std::copy(oi.begin(), oi.end(), r.o.begin() + static_cast<size_t>(i) * d);
    // Backward: D_i = sum_j P_ij dP_ij (== rowsum(dO o O) in exact arithmetic).
    double Di = 0;
    for (size_t a = 0; a < n; ++a) {
      dp[a] = R(dot(doi, pb.v + static_cast<size_t>(ks[a]) * d));
      Di += p[a] * dp[a];
    }
    std::fill(acc.begin(), acc.end(), 0.0);
    for (size_t a = 0; a < n; ++a) {
      const int j = ks[a];
      const double ds = R(p[a] * (dp[a] - Di));
      const float *kj = pb.k + static_cast<size_t>(j) * d;
      for (int x = 0; x < d; ++x) {
        acc[x] += ds * kj[x];
        dk[static_cast<size_t>(j) * d + x] += ds * qi[x];
        dv[static_cast<size_t>(j) * d + x] += p[a] * doi[x];
      }
    }
    for (int x = 0; x < d; ++x)
      r.dq[static_cast<size_t>(i) * d + x] = static_cast<float>(R(pb.scale * acc[x]));
  }
  for (size_t e = 0; e < dk.size(); ++e) {
    r.dk[e] = static_cast<float>(R(pb.scale * dk[e]));
    r.dv[e] = static_cast<float>(R(dv[e]));
  }
  return r;
}

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
