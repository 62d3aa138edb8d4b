//===- Forward.cpp - Transformer forward pass, loss, evaluation, logits ----===//
#include "TransformerImpl.h"

#include "sparta/Error.h"
#include "sparta/Float16.h"

#include <cmath>

namespace sparta::model {

using detail::LayerActs;
using detail::Phase;

void Transformer::Impl::linear(const bf16 *x, int64_t wOff, int64_t bOff, int rows, int in, int out,
                               bf16 *y) {
  GemmArgs a;
  a.M = rows, a.N = out, a.K = in;
  a.A = x;
  a.B = w(wOff);
  a.transB = true;
  a.C = y;
  a.bias = bOff >= 0 ? w(bOff) : nullptr;
  gemm->run(a, s());
}

TensorView Transformer::Impl::qkvView(const bf16 *qkv, int which, int rows) const {
  TensorView t;
  t.data = reinterpret_cast<rt::DevicePtr>(qkv + int64_t(which) * D);
  t.B = rows, t.H = H, t.T = T, t.d = dh;
  t.strideB = int64_t(T) * 3 * D;
  t.strideT = 3 * D;
  t.strideH = dh;
  return t;
}

TensorView Transformer::Impl::headsView(const bf16 *o, int rows) const {
  return TensorView::bthd(reinterpret_cast<rt::DevicePtr>(o), rows, H, T, dh);
}

void Transformer::Impl::uploadTokens(const uint8_t *bytes, int rows, int stride, bool withTargets,
                                     const PackedRows *rowsPacked) {
  if (rows < 1 || rows > maxBatch)
    throw Error("batch of " + std::to_string(rows) + " rows; the model holds 1 to " +
                std::to_string(maxBatch));
  if (rowsPacked && rowsPacked->documents < 1)
    throw Error("packed rows need at least one document per row (got " +
                std::to_string(rowsPacked->documents) + ")");
  std::vector<std::int32_t> in(std::size_t(rows) * T), tg(withTargets ? in.size() : 0);
  for (int r = 0; r < rows; ++r)
    for (int t = 0; t < T; ++t) {
      const std::size_t i = std::size_t(r) * T + t;
      in[i] = bytes[std::size_t(r) * stride + t];
      if (withTargets)
        tg[i] = rowsPacked && !rowsPacked->counted[i] ? kIgnoreTarget
                                                       : bytes[std::size_t(r) * stride + t + 1];
    }
  // The previous call's kernels may still read the buffers (and the old cu_seqlens).
  stream.synchronize();
  rt::memcpyHtoD(reinterpret_cast<rt::DevicePtr>(b.tokens), in.data(), in.size() * 4);
  if (withTargets)
    rt::memcpyHtoD(reinterpret_cast<rt::DevicePtr>(b.targets), tg.data(), tg.size() * 4);
  packed = rowsPacked != nullptr;
  if (!packed) return;
  const std::size_t cuBytes = std::size_t(rows) * std::size_t(rowsPacked->documents + 1) * 4;
  if (cuSeqlens.size() < cuBytes) cuSeqlens = rt::DeviceBuffer(cuBytes);
  rt::memcpyHtoD(cuSeqlens.ptr(), rowsPacked->cuSeqlens, cuBytes);
  documents = Documents{cuSeqlens.ptr(), rowsPacked->documents};
}

// One block. Phase::Recompute (backward with recompute on) redoes everything
// the layer's backward reads except the attention (o and lse are kept) and
// the feed-forward output projection + residual (only the next layer reads it).
void Transformer::Impl::layerForward(int l, int rows, float p, uint64_t seed, uint64_t offset,
                                     Phase phase) {
  const LayerActs &a = b.acts[l];
  const detail::LayerParams &P = lp[l];
  const int R = rows * T;
  const int64_t n = int64_t(R) * D;
  k->layerNormForward(a.xin, w(P.ln1w), w(P.ln1b), R, a.h1, a.mean1, a.rstd1, s());
  linear(a.h1, P.qkvw, P.qkvb, R, D, 3 * D, a.qkv);
  if (phase == Phase::Forward)
    attention[layerAttention[l]]->forward(qkvView(a.qkv, 0, rows), qkvView(a.qkv, 1, rows),
                                          qkvView(a.qkv, 2, rows), headsView(a.o, rows),
                                          reinterpret_cast<rt::DevicePtr>(a.lse), stream, nullptr,
                                          attentionDocuments());
  linear(a.o, P.projw, P.projb, R, D, D, b.tmp);
  k->dropoutResidualForward(a.xin, b.tmp, n, p, seed, offset + 2 * l, a.xmid, s());
  k->layerNormForward(a.xmid, w(P.ln2w), w(P.ln2b), R, a.h2, a.mean2, a.rstd2, s());
  linear(a.h2, P.fc1w, P.fc1b, R, D, F, a.f);
  k->geluForward(a.f, int64_t(R) * F, a.u, s());
  if (phase == Phase::Forward) {
    linear(a.u, P.fc2w, P.fc2b, R, F, D, b.tmp);
    bf16 *xout = l + 1 < N ? b.acts[l + 1].xin : b.xfinal;
    k->dropoutResidualForward(a.xmid, b.tmp, n, p, seed, offset + 2 * l + 1, xout, s());
  }
}

void Transformer::Impl::forward(int rows, float p, uint64_t seed, uint64_t offset) {
  const int R = rows * T;
  std::vector<const bf16 *> tables;
  for (int64_t off : posTables) tables.push_back(w(off));
  k->embeddingForward(b.tokens, w(tokEmb), positions, tables, R, T, b.acts[0].xin, s());
  for (int l = 0; l < N; ++l) layerForward(l, rows, p, seed, offset, Phase::Forward);
  k->layerNormForward(b.xfinal, w(lnfW), w(lnfB), R, b.hf, b.meanf, b.rstdf, s());
  linear(b.hf, headW, -1, R, D, V, b.logits);
}

double Transformer::Impl::lossAndGradient(int rows, bool wantGradient, double meanOver) {
  const int R = rows * T;
  k->crossEntropy(b.logits, b.targets, R, 1.0f / float(meanOver), b.lossRows,
                  wantGradient ? b.logits : nullptr, s());
  std::vector<float> losses(R);
  rt::memcpyDtoH(losses.data(), reinterpret_cast<rt::DevicePtr>(b.lossRows), std::size_t(R) * 4, s());
  stream.synchronize();
  // A fixed-order double sum: deterministic, and exact enough for any R.
  double sum = 0;
  for (float x : losses) sum += x;
  return sum;
}

double Transformer::forwardBackward(const uint8_t *tokens, int rows, uint64_t dropoutSeed,
                                    uint64_t dropoutOffset, const PackedRows *packed) {
  Impl &I = *impl_;
  const double meanOver = packed ? packed->meanOver : double(rows) * I.T;
  if (!(meanOver > 0))
    throw Error("forwardBackward: the loss is a mean over PackedRows::meanOver targets, which "
                "must be positive (got " + std::to_string(meanOver) + ")");
  I.uploadTokens(tokens, rows, I.T + 1, true, packed);
  const float p = I.cfg.dropout;
  I.forward(rows, p, dropoutSeed, dropoutOffset);
  double sum = I.lossAndGradient(rows, true, meanOver);
  I.backward(rows, p, dropoutSeed, dropoutOffset);
  I.stream.synchronize();
  return sum / meanOver;
}

double Transformer::evaluate(const uint8_t *tokens, int rows, const PackedRows *packed) {
  Impl &I = *impl_;
  I.uploadTokens(tokens, rows, I.T + 1, true, packed);
  I.forward(rows, 0.f, 0, 0);
  return I.lossAndGradient(rows, false, 1.0); // no gradient: the scale is unused
}

std::vector<float> Transformer::logitsAt(const uint8_t *inputs, int rows, int pos) {
  Impl &I = *impl_;
  if (pos < 0 || pos >= I.T) throw Error("logitsAt: position out of range");
  I.uploadTokens(inputs, rows, I.T, false, nullptr);
  I.forward(rows, 0.f, 0, 0);
  std::vector<bf16> raw(std::size_t(rows) * I.V);
  for (int r = 0; r < rows; ++r)
    rt::memcpyDtoH(raw.data() + std::size_t(r) * I.V,
                   reinterpret_cast<rt::DevicePtr>(I.b.logits + (int64_t(r) * I.T + pos) * I.V),
                   std::size_t(I.V) * 2, I.s());
  I.stream.synchronize();
  std::vector<float> out(raw.size());
  for (std::size_t i = 0; i < raw.size(); ++i) out[i] = bf16Value(raw[i]);
  return out;
}

} // namespace sparta::model
