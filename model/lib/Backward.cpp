//===- Backward.cpp - Transformer backward pass -----------------------------===//
//
// Gradients of the mean cross-entropy. The cross-entropy kernel has already
// replaced the logits by dlogits = (softmax - onehot) / R (R: the targets the
// mean is over; zero rows for ignored targets). Packed rows pass the same
// documents to the attention's backward as to its forward. b.dx carries the
// gradient of the residual stream from the top down; every LayerNorm
// backward adds its branch's gradient into it in place.
//
//===----------------------------------------------------------------------===//
#include "TransformerImpl.h"

#include "sparta/model/GradientBuckets.h"

namespace sparta::model {

using detail::LayerActs;
using detail::Phase;

// y = x W^T (+ b), W [out, in]: dW = dy^T x (fp32, overwritten); dx = dy W.
void Transformer::Impl::linearBackward(const bf16 *dy, const bf16 *x, int64_t wOff, int rows, int in,
                                       int out, bf16 *dxOut) {
  GemmArgs gw;
  gw.M = out, gw.N = in, gw.K = rows;
  gw.A = dy;
  gw.transA = true;
  gw.B = x;
  gw.C = g(wOff);
  gw.cType = GemmOutput::FP32;
  gemm->run(gw, s());
  if (dxOut) {
    GemmArgs gx;
    gx.M = rows, gx.N = in, gx.K = out;
    gx.A = dy;
    gx.B = w(wOff);
    gx.C = dxOut;
    gemm->run(gx, s());
  }
}

void Transformer::Impl::layerBackward(int l, int rows, float p, uint64_t seed, uint64_t offset) {
  const LayerActs &a = b.acts[l];
  const detail::LayerParams &P = lp[l];
  const int R = rows * T;
  const int64_t n = int64_t(R) * D;
  float *ws = b.ws;

  // Feed-forward branch: x_out = x_mid + dropout(u W2^T + b2).
  k->dropoutBackward(b.dx, n, p, seed, offset + 2 * l + 1, b.tmp, s());
  linearBackward(b.tmp, a.u, P.fc2w, R, F, D, b.dbig);
  k->biasGradient(b.tmp, R, D, g(P.fc2b), false, ws, s());
  k->geluBackward(b.dbig, a.f, R, F, b.dbig, g(P.fc1b), false, ws, s());
  linearBackward(b.dbig, a.h2, P.fc1w, R, D, F, b.dtmp);
  k->layerNormBackward(b.dtmp, a.xmid, w(P.ln2w), a.mean2, a.rstd2, b.dx, R, b.dx, g(P.ln2w),
                       g(P.ln2b), false, ws, s());

  // Attention branch: x_mid = x_in + dropout(o Wo^T + bo).
  k->dropoutBackward(b.dx, n, p, seed, offset + 2 * l, b.tmp, s());
  linearBackward(b.tmp, a.o, P.projw, R, D, D, b.dtmp); // dtmp = dO
  k->biasGradient(b.tmp, R, D, g(P.projb), false, ws, s());
  bf16 *dqkv = b.dbig;
  attention[layerAttention[l]]->backward(
      qkvView(a.qkv, 0, rows), qkvView(a.qkv, 1, rows), qkvView(a.qkv, 2, rows),
      headsView(a.o, rows), reinterpret_cast<rt::DevicePtr>(a.lse), headsView(b.dtmp, rows),
      qkvView(dqkv, 0, rows), qkvView(dqkv, 1, rows), qkvView(dqkv, 2, rows), stream, nullptr,
      attentionDocuments());
  k->biasGradient(dqkv, R, 3 * D, g(P.qkvb), false, ws, s());
  linearBackward(dqkv, a.h1, P.qkvw, R, D, 3 * D, b.dtmp);
  k->layerNormBackward(b.dtmp, a.xin, w(P.ln1w), a.mean1, a.rstd1, b.dx, R, b.dx, g(P.ln1w),
                       g(P.ln1b), false, ws, s());
}

void Transformer::Impl::backward(int rows, float p, uint64_t seed, uint64_t offset) {
  const int R = rows * T;
  // Head and final LayerNorm (no residual: dx starts here).
  linearBackward(b.logits, b.hf, headW, R, D, V, b.dtmp);
  k->layerNormBackward(b.dtmp, b.xfinal, w(lnfW), b.meanf, b.rstdf, nullptr, R, b.dx, g(lnfW),
                       g(lnfB), false, b.ws, s());
  stageQueued(headStage());
  for (int l = N - 1; l >= 0; --l) {
    if (cfg.recompute) layerForward(l, rows, p, seed, offset, Phase::Recompute);
    layerBackward(l, rows, p, seed, offset);
    stageQueued(layerStage(l, N));
  }
  std::vector<float *> dPos;
  for (int64_t off : posTables) dPos.push_back(g(off));
  k->embeddingBackward(b.tokens, b.dx, positions, R, T, g(tokEmb), dPos, false, b.ws, s());
  stageQueued(embeddingStage(N));
}

} // namespace sparta::model
