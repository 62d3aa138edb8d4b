//===- KernelReference.cpp - fp64 CPU references of the model kernels -------===//
#include "sparta/model/KernelReference.h"

#include "sparta/Error.h"
#include "sparta/Float16.h"
#include "sparta/ReferenceAttention.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <limits>

namespace sparta::model::ref {

std::vector<std::uint16_t> toBf16(const std::vector<float> &values) {
  std::vector<std::uint16_t> out(values.size());
  for (std::size_t i = 0; i < values.size(); ++i)
    out[i] = bf16Bits(values[i]);
  return out;
}

std::vector<float> fromBf16(const std::vector<std::uint16_t> &bits) {
  std::vector<float> out(bits.size());
  for (std::size_t i = 0; i < bits.size(); ++i)
    out[i] = bf16Value(bits[i]);
  return out;
}

std::vector<float> roundBf16(const std::vector<float> &values) {
  std::vector<float> out(values.size());
  for (std::size_t i = 0; i < values.size(); ++i)
    out[i] = roundToBF16(values[i]);
  return out;
}

std::vector<float> embeddingForward(const std::vector<std::int32_t> &tokens,
                                    const std::vector<float> &tokenTable,
                                    const std::vector<PositionIndex> &positions,
                                    const std::vector<std::vector<float>> &positionTables,
                                    int seqLen, int D) {
  std::vector<float> out(tokens.size() * D);
  for (std::size_t n = 0; n < tokens.size(); ++n) {
    int t = static_cast<int>(n % seqLen);
    for (int c = 0; c < D; ++c) {
      double sum = tokenTable[static_cast<std::size_t>(tokens[n]) * D + c];
      for (std::size_t k = 0; k < positions.size(); ++k) {
        int index = (t / positions[k].divisor) % positions[k].modulus;
        sum += positionTables[k][static_cast<std::size_t>(index) * D + c];
      }
      out[n * D + c] = static_cast<float>(sum);
    }
  }
  return out;
}

void embeddingBackward(const std::vector<std::int32_t> &tokens, const std::vector<float> &dout,
                       const std::vector<PositionIndex> &positions, int seqLen, int D, int vocab,
                       std::vector<float> &dTokenTable,
                       std::vector<std::vector<float>> &dPositionTables) {
  std::vector<double> tok(static_cast<std::size_t>(vocab) * D, 0.0);
  std::vector<std::vector<double>> pos(positions.size());
  for (std::size_t k = 0; k < positions.size(); ++k)
    pos[k].assign(static_cast<std::size_t>(positions[k].modulus) * D, 0.0);
  for (std::size_t n = 0; n < tokens.size(); ++n) {
    int t = static_cast<int>(n % seqLen);
    for (int c = 0; c < D; ++c) {
      double g = dout[n * D + c];
      tok[static_cast<std::size_t>(tokens[n]) * D + c] += g;
      for (std::size_t k = 0; k < positions.size(); ++k)
        pos[k][static_cast<std::size_t>((t / positions[k].divisor) % positions[k].modulus) * D + c] += g;
    }
  }
  dTokenTable.assign(tok.begin(), tok.end());
  dPositionTables.resize(positions.size());
  for (std::size_t k = 0; k < positions.size(); ++k)
    dPositionTables[k].assign(pos[k].begin(), pos[k].end());
}

void layerNormForward(const std::vector<float> &x, const std::vector<float> &gamma,
                      const std::vector<float> &beta, int D, float eps, std::vector<float> &y,
                      std::vector<float> &mean, std::vector<float> &rstd) {
  const std::size_t rows = x.size() / D;
  y.resize(x.size());
  mean.resize(rows);
  rstd.resize(rows);
  for (std::size_t r = 0; r < rows; ++r) {
    const float *row = &x[r * D];
    double mu = 0.0, var = 0.0;
    for (int c = 0; c < D; ++c)
      mu += row[c];
    mu /= D;
    for (int c = 0; c < D; ++c)
      var += (row[c] - mu) * (row[c] - mu);
    var /= D;
    double s = 1.0 / std::sqrt(var + static_cast<double>(eps));
    for (int c = 0; c < D; ++c)
      y[r * D + c] = static_cast<float>((row[c] - mu) * s * gamma[c] + beta[c]);
    mean[r] = static_cast<float>(mu);
    rstd[r] = static_cast<float>(s);
  }
}

void layerNormBackward(const std::vector<float> &dy, const std::vector<float> &x,
                       const std::vector<float> &gamma, const std::vector<float> &mean,
                       const std::vector<float> &rstd, const std::vector<float> &dresid, int D,
                       std::vector<float> &dx, std::vector<float> &dgamma,
                       std::vector<float> &dbeta) {
  const std::size_t rows = x.size() / D;
  dx.resize(x.size());
  std::vector<double> dg(D, 0.0), db(D, 0.0);
  for (std::size_t r = 0; r < rows; ++r) {
    double meanG = 0.0, meanGX = 0.0;
    for (int c = 0; c < D; ++c) {
      double xhat = (x[r * D + c] - static_cast<double>(mean[r])) * rstd[r];
      double g = static_cast<double>(dy[r * D + c]) * gamma[c];
      meanG += g;
      meanGX += g * xhat;
      dg[c] += dy[r * D + c] * xhat;
      db[c] += dy[r * D + c];
    }
    meanG /= D;
    meanGX /= D;
    for (int c = 0; c < D; ++c) {
      double xhat = (x[r * D + c] - static_cast<double>(mean[r])) * rstd[r];
      double g = static_cast<double>(dy[r * D + c]) * gamma[c];
      double v = rstd[r] * (g - meanG - xhat * meanGX);
      if (!dresid.empty())
        v += dresid[r * D + c];
      dx[r * D + c] = static_cast<float>(v);
    }
  }
  dgamma.assign(dg.begin(), dg.end());
  dbeta.assign(db.begin(), db.end());
}

double gelu(double x) {
  const double k = std::sqrt(2.0 / M_PI);
  return 0.5 * x * (1.0 + std::tanh(k * (x + 0.044715 * x * x * x)));
}

double geluGrad(double x) {
  const double k = std::sqrt(2.0 / M_PI);
  double t = std::tanh(k * (x + 0.044715 * x * x * x));
  return 0.5 * (1.0 + t) + 0.5 * x * (1.0 - t * t) * k * (1.0 + 3.0 * 0.044715 * x * x);
}

std::vector<float> columnSums(const std::vector<float> &m, int cols) {
  std::vector<double> sums(cols, 0.0);
  for (std::size_t i = 0; i < m.size(); ++i)
    sums[i % cols] += m[i];
  return std::vector<float>(sums.begin(), sums.end());
}

void philox4x32(std::uint64_t counter, std::uint64_t offset, std::uint64_t seed, std::uint32_t out[4]) {
  std::uint32_t c[4] = {static_cast<std::uint32_t>(counter), static_cast<std::uint32_t>(counter >> 32),
                        static_cast<std::uint32_t>(offset), static_cast<std::uint32_t>(offset >> 32)};
  std::uint32_t k[2] = {static_cast<std::uint32_t>(seed), static_cast<std::uint32_t>(seed >> 32)};
  for (int round = 0; round < 10; ++round) {
    std::uint64_t p0 = 0xD2511F53ull * c[0], p1 = 0xCD9E8D57ull * c[2];
    std::uint32_t next[4] = {static_cast<std::uint32_t>(p1 >> 32) ^ c[1] ^ k[0],
                             static_cast<std::uint32_t>(p1),
                             static_cast<std::uint32_t>(p0 >> 32) ^ c[3] ^ k[1],
                             static_cast<std::uint32_t>(p0)};
    std::memcpy(c, next, sizeof c);
    k[0] += 0x9E3779B9u;
    k[1] += 0xBB67AE85u;
  }
  std::memcpy(out, c, sizeof c);
}

bool dropoutKeep(std::int64_t i, float p, std::uint64_t seed, std::uint64_t offset) {
  std::uint32_t threshold = dropoutThreshold(p);
  if (threshold == 0)
    return true;
  std::uint32_t words[4];
  philox4x32(static_cast<std::uint64_t>(i / 4), offset, seed, words);
  return words[i % 4] >= threshold;
}

std::vector<float> dropoutResidual(const std::vector<float> &x, const std::vector<float> &a, float p,
                                   std::uint64_t seed, std::uint64_t offset) {
  const float scale = 1.0f / (1.0f - p); // as the launcher computes it
  std::vector<float> out(a.size());
  for (std::size_t i = 0; i < a.size(); ++i) {
    double kept = dropoutKeep(static_cast<std::int64_t>(i), p, seed, offset)
                      ? static_cast<double>(a[i]) * scale : 0.0;
    out[i] = static_cast<float>(x.empty() ? kept : x[i] + kept);
  }
  return out;
}

void crossEntropy(const std::vector<float> &logits, const std::vector<std::int32_t> &targets,
                  int vocab, float dlossScale, std::vector<float> &loss, std::vector<float> &dlogits) {
  const std::size_t rows = targets.size();
  loss.resize(rows);
  dlogits.resize(logits.size());
  for (std::size_t r = 0; r < rows; ++r) {
    const float *z = &logits[r * vocab];
    if (targets[r] == kIgnoreTarget) {
      loss[r] = 0.0f;
      std::fill(dlogits.begin() + r * vocab, dlogits.begin() + (r + 1) * vocab, 0.0f);
      continue;
    }
    double mx = -std::numeric_limits<double>::infinity();
    for (int c = 0; c < vocab; ++c)
      mx = std::max(mx, static_cast<double>(z[c]));
    double sum = 0.0;
    for (int c = 0; c < vocab; ++c)
      sum += std::exp(z[c] - mx);
    const double lse = mx + std::log(sum);
    const int t = targets[r];
    const bool valid = t >= 0 && t < vocab;
    loss[r] = valid ? static_cast<float>(lse - z[t]) : std::numeric_limits<float>::quiet_NaN();
    for (int c = 0; c < vocab; ++c)
      dlogits[r * vocab + c] =
          static_cast<float>((std::exp(z[c] - lse) - (c == t ? 1.0 : 0.0)) * dlossScale);
  }
}

GradNormResult gradNorm(const std::vector<float> &grad, float maxNorm) {
  double sum = 0.0;
  bool finite = true;
  for (float g : grad) {
    finite = finite && std::isfinite(g);
    sum += static_cast<double>(g) * g;
  }
  GradNormResult r{};
  double norm = std::sqrt(sum);
  r.norm = static_cast<float>(norm);
  r.clipScale = static_cast<float>(std::min(1.0, maxNorm / (norm + 1e-6)));
  r.nonFinite = finite && std::isfinite(sum) ? 0 : 1;
  return r;
}

void adamW(std::vector<float> &master, const std::vector<float> &grad, std::vector<float> &m,
           std::vector<float> &v, const AdamWHyper &h, float scale) {
  const double t = static_cast<double>(h.step);
  const double bc1 = 1.0 - std::pow(static_cast<double>(h.beta1), t);
  const double bc2 = 1.0 - std::pow(static_cast<double>(h.beta2), t);
  for (std::size_t i = 0; i < master.size(); ++i) {
    double g = static_cast<double>(grad[i]) * scale;
    double mi = h.beta1 * static_cast<double>(m[i]) + (1.0 - h.beta1) * g;
    double vi = h.beta2 * static_cast<double>(v[i]) + (1.0 - h.beta2) * g * g;
    double w = master[i] * (1.0 - static_cast<double>(h.lr) * h.weightDecay);
    w -= h.lr / bc1 * mi / (std::sqrt(vi) / std::sqrt(bc2) + h.eps);
    m[i] = static_cast<float>(mi);
    v[i] = static_cast<float>(vi);
    master[i] = static_cast<float>(w);
  }
}

} // namespace sparta::model::ref
