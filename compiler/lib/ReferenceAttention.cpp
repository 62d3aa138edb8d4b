//===- ReferenceAttention.cpp - Dense masked attention, the numeric oracle -===//
//
// See ReferenceAttention.h. Written for obviousness, not speed: every row
// enumerates its allowed keys through sparta::allowed and computes softmax
// attention the textbook way (max, exp, normalise), with no tiling, no online
// rescaling and no exploitation of the mask's structure, so that it shares no
// failure mode with the planner, the CPU executor or the kernels.
//
//===----------------------------------------------------------------------===//
#include "sparta/ReferenceAttention.h"

#include "sparta/Error.h"
#include "sparta/Float16.h"
#include "sparta/MaskSemantics.h"

#include <algorithm>
#include <cmath>
#include <limits>

namespace sparta {

//--- rounding ---------------------------------------------------------------

// The bit conversions (Float16.h) are the one definition of the rounding.
float roundToBF16(float x) { return bf16Value(bf16Bits(x)); }

float roundToFP16(float x) { return fp16Value(fp16Bits(x)); }

float roundTo(LowPrecision precision, float x) {
  return precision == LowPrecision::BF16 ? roundToBF16(x) : roundToFP16(x);
}

std::vector<float> roundAll(LowPrecision precision, const std::vector<float> &values) {
  std::vector<float> out(values.size());
  for (size_t n = 0; n < values.size(); ++n)
    out[n] = roundTo(precision, values[n]);
  return out;
}

//--- shared plumbing ----------------------------------------------------------

namespace {
constexpr double kNegInf = -std::numeric_limits<double>::infinity();

void checkShape(const RowKeys &keys, const AttentionShape &s,
                std::initializer_list<const std::vector<float> *> tensors) {
  if (keys.perMask.empty())
    throw Error("reference attention: the pattern has no heads");
  for (const auto &rows : keys.perMask)
    if (static_cast<int64_t>(rows.size()) != s.T)
      throw Error("reference attention: the key lists are not for T rows");
  if (s.B <= 0 || s.H <= 0 || s.T <= 0 || s.d <= 0)
    throw Error("reference attention: B, H, T and d must be positive");
  for (const std::vector<float> *t : tensors)
    if (static_cast<int64_t>(t->size()) != s.elements())
      throw Error("reference attention: a tensor's size is not B*H*T*d");
}

template <typename Acc>
Acc dot(const float *a, const float *b, int64_t d) {
  Acc sum = 0;
  for (int64_t x = 0; x < d; ++x)
    sum += static_cast<Acc>(a[x]) * static_cast<Acc>(b[x]);
  return sum;
}
} // namespace

static RowKeys keysOf(const std::vector<Mask> &heads, int64_t T, bool causal) {
  RowKeys keys;
  for (const Mask &mask : heads) {
    std::vector<std::vector<int64_t>> rows(T);
    for (int64_t i = 0; i < T; ++i)
      for (int64_t j = 0; j < (causal ? i + 1 : T); ++j)
        if (allowed(mask, T, i, j, causal))
          rows[i].push_back(j);
    keys.perMask.push_back(std::move(rows));
  }
  return keys;
}

RowKeys RowKeys::fromMasks(const std::vector<Mask> &heads, int64_t T) {
  return keysOf(heads, T, /*causal=*/true);
}

RowKeys RowKeys::fromPattern(const ConcretePattern &pattern) {
  return keysOf(pattern.heads, pattern.T, pattern.causal);
}

RowKeys RowKeys::fromDocuments(const ConcretePattern &pattern,
                               const std::vector<int32_t> &cuSeqlens, int64_t B, int64_t b) {
  const size_t bounds = cuSeqlens.size() / size_t(B);
  const int32_t *cu = &cuSeqlens[size_t(b) * bounds];
  RowKeys keys;
  for (size_t m = 0; m < pattern.heads.size(); ++m) {
    std::vector<std::vector<int64_t>> rows(pattern.T);
    for (size_t n = 0; n + 1 < bounds; ++n)
      for (int64_t i = cu[n]; i < cu[n + 1]; ++i)
        for (int64_t j = cu[n]; j < cu[n + 1]; ++j)
          if (allowed(pattern, int64_t(m), i - cu[n], j - cu[n]))
            rows[i].push_back(j);
    keys.perMask.push_back(std::move(rows));
  }
  return keys;
}

RowKeys RowKeys::fromPredicates(int64_t T,
                                const std::vector<std::function<bool(int64_t, int64_t)>> &allowed) {
  RowKeys keys;
  for (const auto &pred : allowed) {
    std::vector<std::vector<int64_t>> rows(T);
    for (int64_t i = 0; i < T; ++i)
      for (int64_t j = 0; j < T; ++j)
        if (pred(i, j))
          rows[i].push_back(j);
    keys.perMask.push_back(std::move(rows));
  }
  return keys;
}

//--- exact --------------------------------------------------------------------

AttentionOutput referenceForward(const RowKeys &lists, const AttentionShape &s,
                                 const std::vector<float> &q, const std::vector<float> &k,
                                 const std::vector<float> &v, double scale) {
  checkShape(lists, s, {&q, &k, &v});
  AttentionOutput out{std::vector<float>(s.elements(), 0.0f),
                      std::vector<float>(s.rows(), static_cast<float>(kNegInf))};
  const int64_t d = s.d;
  for (int64_t bh = 0; bh < s.B * s.H; ++bh) {
    const int64_t base = bh * s.T * d;
    for (int64_t i = 0; i < s.T; ++i) {
      const std::vector<int64_t> &keys = lists.keys(bh % s.H, i);
      if (keys.empty())
        continue; // O = 0, lse = -inf
      std::vector<double> scores;
      for (int64_t j : keys)
        scores.push_back(scale * dot<double>(&q[base + i * d], &k[base + j * d], d));
      double m = *std::max_element(scores.begin(), scores.end());
      double l = 0;
      std::vector<double> acc(d, 0.0);
      for (size_t n = 0; n < keys.size(); ++n) {
        double p = std::exp(scores[n] - m);
        l += p;
        for (int64_t x = 0; x < d; ++x)
          acc[x] += p * v[base + keys[n] * d + x];
      }
      for (int64_t x = 0; x < d; ++x)
        out.o[base + i * d + x] = static_cast<float>(acc[x] / l);
      out.lse[bh * s.T + i] = static_cast<float>(m + std::log(l));
    }
  }
  return out;
}

AttentionGrads referenceBackward(const RowKeys &lists, const AttentionShape &s,
                                 const std::vector<float> &q, const std::vector<float> &k,
                                 const std::vector<float> &v, const std::vector<float> &dout,
                                 double scale) {
  checkShape(lists, s, {&q, &k, &v, &dout});
  const int64_t d = s.d;
  AttentionGrads g;
  g.dq.assign(s.elements(), 0.0f);
  g.dk.assign(s.elements(), 0.0f);
  g.dv.assign(s.elements(), 0.0f);
  for (int64_t bh = 0; bh < s.B * s.H; ++bh) {
    const int64_t base = bh * s.T * d;
    // dK and dV collect contributions from many rows: accumulate in double.
    std::vector<double> dk(s.T * d, 0.0), dv(s.T * d, 0.0);
    for (int64_t i = 0; i < s.T; ++i) {
      const std::vector<int64_t> &keys = lists.keys(bh % s.H, i);
      if (keys.empty())
        continue;
      const float *qi = &q[base + i * d], *doi = &dout[base + i * d];
      std::vector<double> p;
      for (int64_t j : keys)
        p.push_back(scale * dot<double>(qi, &k[base + j * d], d));
      double m = *std::max_element(p.begin(), p.end()), l = 0;
      for (double &x : p)
        l += (x = std::exp(x - m));
      for (double &x : p)
        x /= l;
      // dP_ij = dO_i . v_j, and D_i = rowsum(dO_i * O_i) = sum_j P_ij dP_ij.
      std::vector<double> dp;
      double D = 0;
      for (size_t n = 0; n < keys.size(); ++n) {
        dp.push_back(dot<double>(doi, &v[base + keys[n] * d], d));
        D += p[n] * dp.back();
      }
      std::vector<double> dq(d, 0.0);
      for (size_t n = 0; n < keys.size(); ++n) {
        const int64_t j = keys[n];
        double ds = p[n] * (dp[n] - D); // softmax gradient
        for (int64_t x = 0; x < d; ++x) {
          dq[x] += scale * ds * k[base + j * d + x];
          dk[j * d + x] += scale * ds * qi[x];
          dv[j * d + x] += p[n] * doi[x];
        }
      }
      for (int64_t x = 0; x < d; ++x)
        g.dq[base + i * d + x] = static_cast<float>(dq[x]);
    }
    for (int64_t n = 0; n < s.T * d; ++n) {
      g.dk[base + n] = static_cast<float>(dk[n]);
      g.dv[base + n] = static_cast<float>(dv[n]);
    }
  }
  return g;
}

//--- naive low precision ------------------------------------------------------

namespace {
/// Row i's rounded softmax probabilities over `keys` (the forward's P), and
/// its fp32 lse. Inputs are already rounded.
std::vector<float> lowPrecisionProbs(const std::vector<float> &q, const std::vector<float> &k,
                                     int64_t base, int64_t i, int64_t d,
                                     const std::vector<int64_t> &keys, double scale,
                                     LowPrecision prec, float *lse) {
  std::vector<float> s;
  for (int64_t j : keys)
    s.push_back(roundTo(prec, static_cast<float>(scale) *
                                  dot<float>(&q[base + i * d], &k[base + j * d], d)));
  float m = *std::max_element(s.begin(), s.end()), l = 0;
  for (float x : s)
    l += std::exp(x - m);
  for (float &x : s)
    x = roundTo(prec, std::exp(x - m) / l);
  *lse = m + std::log(l);
  return s;
}
} // namespace

AttentionOutput lowPrecisionForward(const RowKeys &lists, const AttentionShape &s,
                                    const std::vector<float> &q0, const std::vector<float> &k0,
                                    const std::vector<float> &v0, double scale,
                                    LowPrecision prec) {
  checkShape(lists, s, {&q0, &k0, &v0});
  std::vector<float> q = roundAll(prec, q0), k = roundAll(prec, k0), v = roundAll(prec, v0);
  AttentionOutput out{std::vector<float>(s.elements(), 0.0f),
                      std::vector<float>(s.rows(), static_cast<float>(kNegInf))};
  const int64_t d = s.d;
  for (int64_t bh = 0; bh < s.B * s.H; ++bh) {
    const int64_t base = bh * s.T * d;
    for (int64_t i = 0; i < s.T; ++i) {
      const std::vector<int64_t> &keys = lists.keys(bh % s.H, i);
      if (keys.empty())
        continue;
      std::vector<float> p =
          lowPrecisionProbs(q, k, base, i, d, keys, scale, prec, &out.lse[bh * s.T + i]);
      for (int64_t x = 0; x < d; ++x) {
        float acc = 0;
        for (size_t n = 0; n < keys.size(); ++n)
          acc += p[n] * v[base + keys[n] * d + x];
        out.o[base + i * d + x] = roundTo(prec, acc);
      }
    }
  }
  return out;
}

AttentionGrads lowPrecisionBackward(const RowKeys &lists, const AttentionShape &s,
                                    const std::vector<float> &q0, const std::vector<float> &k0,
                                    const std::vector<float> &v0, const std::vector<float> &do0,
                                    double scale, LowPrecision prec) {
  checkShape(lists, s, {&q0, &k0, &v0, &do0});
  std::vector<float> q = roundAll(prec, q0), k = roundAll(prec, k0), v = roundAll(prec, v0),
                     dout = roundAll(prec, do0);
  const int64_t d = s.d;
  const float fscale = static_cast<float>(scale);
  AttentionGrads g;
  g.dq.assign(s.elements(), 0.0f);
  g.dk.assign(s.elements(), 0.0f);
  g.dv.assign(s.elements(), 0.0f);
  for (int64_t bh = 0; bh < s.B * s.H; ++bh) {
    const int64_t base = bh * s.T * d;
    // The matmuls dK = dS^T Q and dV = P^T dO accumulate in fp32 and are
    // rounded once at the end, as a framework's GEMM would.
    std::vector<float> dk(s.T * d, 0.0f), dv(s.T * d, 0.0f);
    for (int64_t i = 0; i < s.T; ++i) {
      const std::vector<int64_t> &keys = lists.keys(bh % s.H, i);
      if (keys.empty())
        continue;
      float lse;
      std::vector<float> p = lowPrecisionProbs(q, k, base, i, d, keys, scale, prec, &lse);
      const float *qi = &q[base + i * d], *doi = &dout[base + i * d];
      std::vector<float> dp;
      float D = 0;
      for (size_t n = 0; n < keys.size(); ++n) {
        dp.push_back(roundTo(prec, dot<float>(doi, &v[base + keys[n] * d], d)));
        D += p[n] * dp.back();
      }
      std::vector<float> dq(d, 0.0f);
      for (size_t n = 0; n < keys.size(); ++n) {
        const int64_t j = keys[n];
        float ds = roundTo(prec, p[n] * (dp[n] - D));
        for (int64_t x = 0; x < d; ++x) {
          dq[x] += ds * k[base + j * d + x];
          dk[j * d + x] += ds * qi[x];
          dv[j * d + x] += p[n] * doi[x];
        }
      }
      for (int64_t x = 0; x < d; ++x)
        g.dq[base + i * d + x] = roundTo(prec, fscale * dq[x]);
    }
    for (int64_t n = 0; n < s.T * d; ++n) {
      g.dk[base + n] = roundTo(prec, fscale * dk[n]);
      g.dv[base + n] = roundTo(prec, dv[n]);
    }
  }
  return g;
}

//--- masks -------------------------------------------------------------------

AttentionOutput referenceForward(const std::vector<Mask> &heads, const AttentionShape &shape,
                                 const std::vector<float> &q, const std::vector<float> &k,
                                 const std::vector<float> &v, double scale) {
  return referenceForward(RowKeys::fromMasks(heads, shape.T), shape, q, k, v, scale);
}

AttentionGrads referenceBackward(const std::vector<Mask> &heads, const AttentionShape &shape,
                                 const std::vector<float> &q, const std::vector<float> &k,
                                 const std::vector<float> &v, const std::vector<float> &dout,
                                 double scale) {
  return referenceBackward(RowKeys::fromMasks(heads, shape.T), shape, q, k, v, dout, scale);
}

AttentionOutput lowPrecisionForward(const std::vector<Mask> &heads, const AttentionShape &shape,
                                    const std::vector<float> &q, const std::vector<float> &k,
                                    const std::vector<float> &v, double scale,
                                    LowPrecision precision) {
  return lowPrecisionForward(RowKeys::fromMasks(heads, shape.T), shape, q, k, v, scale, precision);
}

AttentionGrads lowPrecisionBackward(const std::vector<Mask> &heads, const AttentionShape &shape,
                                    const std::vector<float> &q, const std::vector<float> &k,
                                    const std::vector<float> &v, const std::vector<float> &dout,
                                    double scale, LowPrecision precision) {
  return lowPrecisionBackward(RowKeys::fromMasks(heads, shape.T), shape, q, k, v, dout, scale,
                              precision);
}

//--- conveniences -------------------------------------------------------------

AttentionOutput referenceForward(const ConcretePattern &pattern, int64_t B, int64_t H, int64_t d,
                                 const std::vector<float> &q, const std::vector<float> &k,
                                 const std::vector<float> &v, double scale) {
  return referenceForward(RowKeys::fromPattern(pattern), AttentionShape{B, H, pattern.T, d}, q, k,
                          v, scale);
}

AttentionGrads referenceBackward(const ConcretePattern &pattern, int64_t B, int64_t H, int64_t d,
                                 const std::vector<float> &q, const std::vector<float> &k,
                                 const std::vector<float> &v, const std::vector<float> &dout,
                                 double scale) {
  return referenceBackward(RowKeys::fromPattern(pattern), AttentionShape{B, H, pattern.T, d}, q, k,
                           v, dout, scale);
}

namespace {

/// Runs `run(keys, shape, slice)` on each batch row of packed documents, a
/// problem of B = 1 over the row's [H, T, d] slices, and concatenates the
/// rows' results (each field of Result is a per-row vector).
template <typename Result, typename Run>
Result perDocumentRow(const ConcretePattern &pattern, const std::vector<int32_t> &cuSeqlens,
                      int64_t B, int64_t H, int64_t d,
                      const std::vector<const std::vector<float> *> &inputs, Run run) {
  const AttentionShape row{1, H, pattern.T, d};
  Result result;
  for (int64_t b = 0; b < B; ++b) {
    std::vector<std::vector<float>> slices;
    for (const std::vector<float> *in : inputs)
      slices.emplace_back(in->begin() + b * row.elements(), in->begin() + (b + 1) * row.elements());
    Result part = run(RowKeys::fromDocuments(pattern, cuSeqlens, B, b), row, slices);
    result.append(part);
  }
  return result;
}

struct OutputRows : AttentionOutput {
  OutputRows() = default;
  OutputRows(AttentionOutput out) : AttentionOutput(std::move(out)) {}
  void append(const OutputRows &part) {
    o.insert(o.end(), part.o.begin(), part.o.end());
    lse.insert(lse.end(), part.lse.begin(), part.lse.end());
  }
};

struct GradRows : AttentionGrads {
  GradRows() = default;
  GradRows(AttentionGrads grads) : AttentionGrads(std::move(grads)) {}
  void append(const GradRows &part) {
    dq.insert(dq.end(), part.dq.begin(), part.dq.end());
    dk.insert(dk.end(), part.dk.begin(), part.dk.end());
    dv.insert(dv.end(), part.dv.begin(), part.dv.end());
  }
};

} // namespace

AttentionOutput referenceForward(const ConcretePattern &pattern,
                                 const std::vector<int32_t> &cuSeqlens, int64_t B, int64_t H,
                                 int64_t d, const std::vector<float> &q,
                                 const std::vector<float> &k, const std::vector<float> &v,
                                 double scale) {
  return perDocumentRow<OutputRows>(
      pattern, cuSeqlens, B, H, d, {&q, &k, &v}, [&](const RowKeys &keys, auto shape, auto &x) {
        return OutputRows(referenceForward(keys, shape, x[0], x[1], x[2], scale));
      });
}

AttentionGrads referenceBackward(const ConcretePattern &pattern,
                                 const std::vector<int32_t> &cuSeqlens, int64_t B, int64_t H,
                                 int64_t d, const std::vector<float> &q,
                                 const std::vector<float> &k, const std::vector<float> &v,
                                 const std::vector<float> &dout, double scale) {
  return perDocumentRow<GradRows>(
      pattern, cuSeqlens, B, H, d, {&q, &k, &v, &dout},
      [&](const RowKeys &keys, auto shape, auto &x) {
        return GradRows(referenceBackward(keys, shape, x[0], x[1], x[2], x[3], scale));
      });
}

AttentionOutput lowPrecisionForward(const ConcretePattern &pattern,
                                    const std::vector<int32_t> &cuSeqlens, int64_t B, int64_t H,
                                    int64_t d, const std::vector<float> &q,
                                    const std::vector<float> &k, const std::vector<float> &v,
                                    double scale, LowPrecision precision) {
  return perDocumentRow<OutputRows>(
      pattern, cuSeqlens, B, H, d, {&q, &k, &v}, [&](const RowKeys &keys, auto shape, auto &x) {
        return OutputRows(lowPrecisionForward(keys, shape, x[0], x[1], x[2], scale, precision));
      });
}

AttentionGrads lowPrecisionBackward(const ConcretePattern &pattern,
                                    const std::vector<int32_t> &cuSeqlens, int64_t B, int64_t H,
                                    int64_t d, const std::vector<float> &q,
                                    const std::vector<float> &k, const std::vector<float> &v,
                                    const std::vector<float> &dout, double scale,
                                    LowPrecision precision) {
  return perDocumentRow<GradRows>(
      pattern, cuSeqlens, B, H, d, {&q, &k, &v, &dout},
      [&](const RowKeys &keys, auto shape, auto &x) {
        return GradRows(
            lowPrecisionBackward(keys, shape, x[0], x[1], x[2], x[3], scale, precision));
      });
}

double maxAbsDiff(const std::vector<float> &a, const std::vector<float> &b) {
  if (a.size() != b.size())
    return std::numeric_limits<double>::infinity();
  double worst = 0;
  for (size_t n = 0; n < a.size(); ++n) {
    if (a[n] == b[n])
      continue; // also equal infinities
    double diff = std::fabs(static_cast<double>(a[n]) - static_cast<double>(b[n]));
    if (std::isnan(diff))
      return std::numeric_limits<double>::infinity();
    worst = std::max(worst, diff);
  }
  return worst;
}

double maxAbs(const std::vector<float> &a) {
  double worst = 0;
  for (float x : a)
    if (std::isfinite(x))
      worst = std::max(worst, static_cast<double>(std::fabs(x)));
  return worst;
}

} // namespace sparta
