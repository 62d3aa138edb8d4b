//===- TransformerReference.cpp - CPU fp32 Sparse Transformer (the oracle) -===//
#include "sparta/model/TransformerReference.h"

#include "sparta/Error.h"
#include "sparta/Frontend.h"
#include "sparta/ReferenceAttention.h"
#include "sparta/model/KernelReference.h"
#include "sparta/model/Transformer.h"

#include <cmath>

namespace sparta::model {
namespace {

using Vec = std::vector<float>;

/// y[r, o] = sum_i x[r, i] W[o, i] (+ b[o]).
Vec linear(const Vec &x, int rows, int in, const float *W, const float *bias, int out) {
  Vec y(std::size_t(rows) * out);
  for (int r = 0; r < rows; ++r)
    for (int o = 0; o < out; ++o) {
      double acc = bias ? bias[o] : 0.0;
      const float *xr = x.data() + std::size_t(r) * in, *wr = W + std::size_t(o) * in;
      for (int i = 0; i < in; ++i) acc += double(xr[i]) * wr[i];
      y[std::size_t(r) * out + o] = float(acc);
    }
  return y;
}

/// dW = dy^T x, db = colsum(dy) (when non-null), returns dx = dy W.
Vec linearBackward(const Vec &dy, const Vec &x, int rows, int in, int out, const float *W, float *dW,
                   float *db) {
  for (int o = 0; o < out; ++o) {
    for (int i = 0; i < in; ++i) {
      double acc = 0;
      for (int r = 0; r < rows; ++r) acc += double(dy[std::size_t(r) * out + o]) * x[std::size_t(r) * in + i];
      dW[std::size_t(o) * in + i] = float(acc);
    }
    if (db) {
      double acc = 0;
      for (int r = 0; r < rows; ++r) acc += dy[std::size_t(r) * out + o];
      db[o] = float(acc);
    }
  }
  Vec dx(std::size_t(rows) * in);
  for (int r = 0; r < rows; ++r)
    for (int i = 0; i < in; ++i) {
      double acc = 0;
      for (int o = 0; o < out; ++o) acc += double(dy[std::size_t(r) * out + o]) * W[std::size_t(o) * in + i];
      dx[std::size_t(r) * in + i] = float(acc);
    }
  return dx;
}

Vec slice(const std::vector<float> &flat, const ParamSpec &p) {
  return Vec(flat.begin() + p.offset, flat.begin() + p.offset + p.numel);
}

struct Layer {
  Vec xin, h1, mean1, rstd1, qkv, q, k, v, o, ocat, xmid, h2, mean2, rstd2, f, u;
};

} // namespace

ReferenceResult referenceForwardBackward(const ModelConfig &c, const std::vector<float> &params,
                                         const uint8_t *tokens, int rows, uint64_t seed,
                                         uint64_t offset, const PackedRows *packed) {
  const ParameterLayout layout = parameterLayout(c);
  if (int64_t(params.size()) != layout.totalElements) throw Error("reference: parameter size mismatch");
  const int N = c.layers, D = c.dModel, F = c.hidden(), V = c.vocab, T = c.T, H = c.heads,
            dh = c.headDim(), R = rows * T;
  const float p = c.dropout, eps = c.layerNormEps;
  const double scale = 1.0 / std::sqrt(double(dh));
  ConcretePattern pattern = loadPattern(c.patternPath, c.bindings());
  auto masksOf = [&](int l) {
    if (c.headsMode == HeadsMode::Interleaved)
      return std::vector<Mask>{pattern.heads[l % pattern.heads.size()]};
    return pattern.heads;
  };
  // Packed rows: layer l's masks as a pattern, for the references over documents.
  std::vector<int32_t> cuSeqlens;
  if (packed)
    cuSeqlens.assign(packed->cuSeqlens, packed->cuSeqlens + std::size_t(rows) * (packed->documents + 1));
  auto patternOf = [&](int l) {
    ConcretePattern layer = pattern;
    layer.heads = masksOf(l);
    return layer;
  };
  const double meanOver = packed ? packed->meanOver : double(R);
  auto P = [&](const std::string &name) { return params.data() + layout.get(name).offset; };
  auto G = [&](std::vector<float> &grads, const std::string &name) {
    return grads.data() + layout.get(name).offset;
  };
  auto PV = [&](const std::string &name) { return slice(params, layout.get(name)); };

  std::vector<std::int32_t> in(R), tg(R);
  for (int r = 0; r < rows; ++r)
    for (int t = 0; t < T; ++t) {
      in[r * T + t] = tokens[std::size_t(r) * (T + 1) + t];
      tg[r * T + t] = packed && !packed->counted[r * T + t] ? kIgnoreTarget
                                                             : tokens[std::size_t(r) * (T + 1) + t + 1];
    }
  const std::vector<PositionIndex> positions = positionIndices(c);
  std::vector<std::string> posNames = {"pos_emb.row", "pos_emb.col"};
  if (c.positions == PositionMode::Image) posNames.push_back("pos_emb.channel");
  std::vector<Vec> posTables;
  for (const auto &n : posNames) posTables.push_back(PV(n));

  // [R, 3D] -> [B, H, T, dh] for part `which` (0 q, 1 k, 2 v), and back.
  auto split = [&](const Vec &qkv, int which) {
    Vec out(std::size_t(R) * D);
    for (int r = 0; r < R; ++r)
      for (int h = 0; h < H; ++h)
        for (int j = 0; j < dh; ++j) {
          int bIdx = r / T, t = r % T;
          out[((std::size_t(bIdx) * H + h) * T + t) * dh + j] = qkv[std::size_t(r) * 3 * D + which * D + h * dh + j];
        }
    return out;
  };
  auto merge = [&](const Vec &bhtd, Vec &dst, int width, int colOffset) {
    for (int r = 0; r < R; ++r)
      for (int h = 0; h < H; ++h)
        for (int j = 0; j < dh; ++j) {
          int bIdx = r / T, t = r % T;
          dst[std::size_t(r) * width + colOffset + h * dh + j] = bhtd[((std::size_t(bIdx) * H + h) * T + t) * dh + j];
        }
  };
  const AttentionShape shape{rows, H, T, dh};

  // ---- Forward ----
  std::vector<Layer> L(N);
  Vec x = ref::embeddingForward(in, PV("tok_emb"), positions, posTables, T, D);
  for (int l = 0; l < N; ++l) {
    const std::string pre = "blocks." + std::to_string(l) + ".";
    Layer &a = L[l];
    a.xin = x;
    ref::layerNormForward(a.xin, PV(pre + "ln1.weight"), PV(pre + "ln1.bias"), D, eps, a.h1, a.mean1, a.rstd1);
    a.qkv = linear(a.h1, R, D, P(pre + "attn.qkv.weight"), P(pre + "attn.qkv.bias"), 3 * D);
    a.q = split(a.qkv, 0), a.k = split(a.qkv, 1), a.v = split(a.qkv, 2);
    a.o = packed ? referenceForward(patternOf(l), cuSeqlens, rows, H, dh, a.q, a.k, a.v, scale).o
                 : referenceForward(masksOf(l), shape, a.q, a.k, a.v, scale).o;
    a.ocat.assign(std::size_t(R) * D, 0.f);
    merge(a.o, a.ocat, D, 0);
    Vec proj = linear(a.ocat, R, D, P(pre + "attn.proj.weight"), P(pre + "attn.proj.bias"), D);
    a.xmid = ref::dropoutResidual(a.xin, proj, p, seed, offset + 2 * l);
    ref::layerNormForward(a.xmid, PV(pre + "ln2.weight"), PV(pre + "ln2.bias"), D, eps, a.h2, a.mean2, a.rstd2);
    a.f = linear(a.h2, R, D, P(pre + "mlp.fc1.weight"), P(pre + "mlp.fc1.bias"), F);
    a.u.resize(a.f.size());
    for (std::size_t i = 0; i < a.f.size(); ++i) a.u[i] = float(ref::gelu(a.f[i]));
    Vec y = linear(a.u, R, F, P(pre + "mlp.fc2.weight"), P(pre + "mlp.fc2.bias"), D);
    x = ref::dropoutResidual(a.xmid, y, p, seed, offset + 2 * l + 1);
  }
  Vec hf, meanf, rstdf;
  ref::layerNormForward(x, PV("ln_f.weight"), PV("ln_f.bias"), D, eps, hf, meanf, rstdf);
  Vec logits = linear(hf, R, D, P("head.weight"), nullptr, V);
  Vec loss, dlogits;
  ref::crossEntropy(logits, tg, V, 1.0f / float(meanOver), loss, dlogits);
  ReferenceResult result;
  for (float e : loss) result.loss += e;
  result.loss /= meanOver;

  // ---- Backward ----
  std::vector<float> &grads = result.grads;
  grads.assign(layout.totalElements, 0.f);
  auto setGrad = [&](const std::string &name, const Vec &g) {
    std::copy(g.begin(), g.end(), G(grads, name));
  };
  Vec dhf = linearBackward(dlogits, hf, R, D, V, P("head.weight"), G(grads, "head.weight"), nullptr);
  Vec dx, dgam, dbet;
  ref::layerNormBackward(dhf, x, PV("ln_f.weight"), meanf, rstdf, {}, D, dx, dgam, dbet);
  setGrad("ln_f.weight", dgam), setGrad("ln_f.bias", dbet);
  for (int l = N - 1; l >= 0; --l) {
    const std::string pre = "blocks." + std::to_string(l) + ".";
    Layer &a = L[l];
    Vec dy = ref::dropoutResidual({}, dx, p, seed, offset + 2 * l + 1);
    Vec du = linearBackward(dy, a.u, R, F, D, P(pre + "mlp.fc2.weight"), G(grads, pre + "mlp.fc2.weight"),
                            G(grads, pre + "mlp.fc2.bias"));
    for (std::size_t i = 0; i < du.size(); ++i) du[i] = float(du[i] * ref::geluGrad(a.f[i]));
    Vec dh2 = linearBackward(du, a.h2, R, D, F, P(pre + "mlp.fc1.weight"), G(grads, pre + "mlp.fc1.weight"),
                             G(grads, pre + "mlp.fc1.bias"));
    Vec dxm;
    ref::layerNormBackward(dh2, a.xmid, PV(pre + "ln2.weight"), a.mean2, a.rstd2, dx, D, dxm, dgam, dbet);
    setGrad(pre + "ln2.weight", dgam), setGrad(pre + "ln2.bias", dbet);
    dx = dxm;
    Vec dproj = ref::dropoutResidual({}, dx, p, seed, offset + 2 * l);
    Vec docat = linearBackward(dproj, a.ocat, R, D, D, P(pre + "attn.proj.weight"),
                               G(grads, pre + "attn.proj.weight"), G(grads, pre + "attn.proj.bias"));
    Vec dO(std::size_t(R) * D);
    for (int r = 0; r < R; ++r)
      for (int h = 0; h < H; ++h)
        for (int j = 0; j < dh; ++j)
          dO[((std::size_t(r / T) * H + h) * T + r % T) * dh + j] = docat[std::size_t(r) * D + h * dh + j];
    AttentionGrads ag =
        packed ? referenceBackward(patternOf(l), cuSeqlens, rows, H, dh, a.q, a.k, a.v, dO, scale)
               : referenceBackward(masksOf(l), shape, a.q, a.k, a.v, dO, scale);
    Vec dqkv(std::size_t(R) * 3 * D);
    merge(ag.dq, dqkv, 3 * D, 0), merge(ag.dk, dqkv, 3 * D, D), merge(ag.dv, dqkv, 3 * D, 2 * D);
    Vec dh1 = linearBackward(dqkv, a.h1, R, D, 3 * D, P(pre + "attn.qkv.weight"),
                             G(grads, pre + "attn.qkv.weight"), G(grads, pre + "attn.qkv.bias"));
    Vec dxi;
    ref::layerNormBackward(dh1, a.xin, PV(pre + "ln1.weight"), a.mean1, a.rstd1, dx, D, dxi, dgam, dbet);
    setGrad(pre + "ln1.weight", dgam), setGrad(pre + "ln1.bias", dbet);
    dx = dxi;
  }
  Vec dtok;
  std::vector<Vec> dpos;
  ref::embeddingBackward(in, dx, positions, T, D, V, dtok, dpos);
  setGrad("tok_emb", dtok);
  for (std::size_t i = 0; i < posNames.size(); ++i) setGrad(posNames[i], dpos[i]);
  return result;
}

} // namespace sparta::model
