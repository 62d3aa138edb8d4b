//===- Parameters.cpp - Transformer construction, buffers, state, AdamW ----===//
#include "TransformerImpl.h"

#include "sparta/Error.h"
#include "sparta/Frontend.h"

#include <algorithm>
#include <cmath>

namespace sparta::model {
namespace detail {

namespace {
/// Hands out 256-byte aligned pieces of one allocation.
struct Carver {
  char *base;
  std::size_t size = 0;
  template <typename T> T *take(std::size_t count) {
    std::size_t off = (size + 255) / 256 * 256;
    size = off + count * sizeof(T);
    return base ? reinterpret_cast<T *>(base + off) : nullptr;
  }
};
} // namespace

void carveBuffers(const ModelConfig &c, const ParameterLayout &layout, int batch,
                  std::size_t workspaceBytes, char *const bases[5], Buffers &b, std::size_t sizes[5]) {
  const std::size_t P = layout.totalElements, R = std::size_t(batch) * c.T, D = c.dModel,
                    F = c.hidden(), V = c.vocab, lseRows = std::size_t(batch) * c.heads * c.T;
  Carver params{bases[0]}, opt{bases[1]}, act{bases[2]}, scratch{bases[3]}, ws{bases[4]};
  b.master = params.take<float>(P);
  b.grad = params.take<float>(P);
  b.weights = params.take<bf16>(P);
  b.m = opt.take<float>(P);
  b.v = opt.take<float>(P);

  b.acts.assign(c.layers, LayerActs{});
  // The tensors the backward recomputes: one set shared by every layer with
  // recompute, one per layer without.
  auto takeRecomputed = [&](LayerActs &a) {
    a.h1 = act.take<bf16>(R * D);
    a.qkv = act.take<bf16>(R * 3 * D);
    a.xmid = act.take<bf16>(R * D);
    a.h2 = act.take<bf16>(R * D);
    a.f = act.take<bf16>(R * F);
    a.u = act.take<bf16>(R * F);
    a.mean1 = act.take<float>(R);
    a.rstd1 = act.take<float>(R);
    a.mean2 = act.take<float>(R);
    a.rstd2 = act.take<float>(R);
  };
  LayerActs shared;
  if (c.recompute)
    takeRecomputed(shared);
  for (LayerActs &a : b.acts) {
    if (c.recompute)
      a = shared; // xin, o and lse are set below
    a.xin = act.take<bf16>(R * D);
    a.o = act.take<bf16>(R * D);
    a.lse = act.take<float>(lseRows);
    if (!c.recompute)
      takeRecomputed(a);
  }
  b.xfinal = act.take<bf16>(R * D);
  b.hf = act.take<bf16>(R * D);
  b.meanf = act.take<float>(R);
  b.rstdf = act.take<float>(R);

  b.tokens = scratch.take<std::int32_t>(R);
  b.targets = scratch.take<std::int32_t>(R);
  b.logits = scratch.take<bf16>(R * V);
  b.lossRows = scratch.take<float>(R);
  b.tmp = scratch.take<bf16>(R * D);
  b.dx = scratch.take<bf16>(R * D);
  b.dtmp = scratch.take<bf16>(R * D);
  b.dbig = scratch.take<bf16>(R * std::max(F, 3 * D));
  b.norm = scratch.take<GradNormResult>(1);

  b.ws = ws.take<float>((workspaceBytes + 3) / 4);
  sizes[0] = params.size, sizes[1] = opt.size, sizes[2] = act.size, sizes[3] = scratch.size;
  sizes[4] = ws.size;
}

} // namespace detail

std::vector<PositionIndex> positionIndices(const ModelConfig &c) {
  if (c.positions == PositionMode::Text) {
    int L = c.textL();
    return {{L, (c.T + L - 1) / L}, {1, L}};
  }
  return {{c.imageWidth, c.imageHeight}, {1, c.imageWidth}, {1, 1}};
}

MemoryReport plannedMemory(const ModelConfig &config, int batch) {
  ParameterLayout layout = parameterLayout(config);
  detail::Buffers b;
  char *const bases[5] = {nullptr, nullptr, nullptr, nullptr, nullptr};
  std::size_t sizes[5];
  detail::carveBuffers(config, layout, batch, 0, bases, b, sizes);
  return {sizes[0], sizes[1], sizes[2], sizes[3], sizes[4]};
}

Transformer::Impl::Impl(const ModelConfig &config, int maxBatch_)
    : cfg(config), layout(parameterLayout(config)), maxBatch(maxBatch_) {
  if (maxBatch < 1) throw Error("batch must be >= 1");
  N = cfg.layers, D = cfg.dModel, F = cfg.hidden(), V = cfg.vocab, T = cfg.T, H = cfg.heads;
  dh = cfg.headDim();

  // Attention: one compiled object per distinct set of head masks.
  ConcretePattern pattern = cfg.loadPattern();
  AttentionConfig ac;
  ac.patternPath = cfg.patternPath;
  ac.params = cfg.bindings();
  ac.headDim = dh;
  switch (cfg.headsMode) {
  case HeadsMode::Merged:
  case HeadsMode::Multihead:
    attention.push_back(std::make_unique<SparseAttention>(pattern, ac));
    layerAttention.assign(N, 0);
    break;
  case HeadsMode::Interleaved: {
    int n = int(pattern.heads.size());
    for (int i = 0; i < std::min(n, N); ++i) {
      ConcretePattern one = pattern;
      one.heads = {pattern.heads[i]};
      attention.push_back(std::make_unique<SparseAttention>(one, ac));
    }
    for (int l = 0; l < N; ++l) layerAttention.push_back(l % n);
    break;
  }
  }

  ModelKernelConfig kc;
  kc.dModel = D;
  kc.vocab = V;
  kc.layerNormEps = cfg.layerNormEps;
  k = std::make_unique<ModelKernels>(kc);
  gemm = std::make_unique<Gemm>();

  // Parameter offsets.
  tokEmb = layout.get("tok_emb").offset;
  positions = positionIndices(cfg);
  if (cfg.positions == PositionMode::Text) {
    posTables = {layout.get("pos_emb.row").offset, layout.get("pos_emb.col").offset};
  } else {
    posTables = {layout.get("pos_emb.row").offset, layout.get("pos_emb.col").offset,
                 layout.get("pos_emb.channel").offset};
  }
  for (int l = 0; l < N; ++l) {
    std::string p = "blocks." + std::to_string(l) + ".";
    auto o = [&](const char *n) { return layout.get(p + n).offset; };
    lp.push_back({o("ln1.weight"), o("ln1.bias"), o("attn.qkv.weight"), o("attn.qkv.bias"),
                  o("attn.proj.weight"), o("attn.proj.bias"), o("ln2.weight"), o("ln2.bias"),
                  o("mlp.fc1.weight"), o("mlp.fc1.bias"), o("mlp.fc2.weight"), o("mlp.fc2.bias")});
  }
  lnfW = layout.get("ln_f.weight").offset;
  lnfB = layout.get("ln_f.bias").offset;
  headW = layout.get("head.weight").offset;

  // Buffers.
  const int R = maxBatch * T;
  std::size_t wsBytes = std::max({k->layerNormBackwardWorkspaceBytes(R),
                                  k->columnSumWorkspaceBytes(R, std::max(F, 3 * D)),
                                  k->columnSumWorkspaceBytes(R, D),
                                  k->embeddingBackwardWorkspaceBytes(R, T),
                                  k->gradNormWorkspaceBytes(layout.totalElements)});
  std::size_t sizes[5];
  char *const none[5] = {nullptr, nullptr, nullptr, nullptr, nullptr};
  detail::carveBuffers(cfg, layout, maxBatch, wsBytes, none, b, sizes);
  char *bases[5];
  for (int i = 0; i < 5; ++i) {
    alloc[i] = rt::DeviceBuffer(std::max<std::size_t>(sizes[i], 256));
    bases[i] = reinterpret_cast<char *>(alloc[i].ptr());
  }
  detail::carveBuffers(cfg, layout, maxBatch, wsBytes, bases, b, sizes);
  mem = {sizes[0], sizes[1], sizes[2], sizes[3], sizes[4]};
  alloc[0].zero();
  alloc[1].zero();
}

Transformer::Transformer(const ModelConfig &config, int maxBatch, uint64_t seed)
    : impl_(std::make_unique<Impl>(config, maxBatch)) {
  setParameters(initParameters(config, seed));
}
Transformer::~Transformer() = default;

const ModelConfig &Transformer::config() const { return impl_->cfg; }
const ParameterLayout &Transformer::layout() const { return impl_->layout; }
int Transformer::maxBatch() const { return impl_->maxBatch; }
MemoryReport Transformer::memory() const { return impl_->mem; }
const rt::Stream &Transformer::stream() const { return impl_->stream; }
void Transformer::setBackwardStageHook(BackwardStageHook hook) { impl_->stageHook = std::move(hook); }

namespace {
void checkSize(const std::vector<float> &v, int64_t n, const char *what) {
  if (int64_t(v.size()) != n)
    throw Error(std::string(what) + " holds " + std::to_string(v.size()) + " floats, the model " +
                std::to_string(n));
}
std::vector<float> download(const float *p, int64_t n, const rt::Stream &s) {
  s.synchronize();
  std::vector<float> out(n);
  rt::memcpyDtoH(out.data(), reinterpret_cast<rt::DevicePtr>(p), n * sizeof(float));
  return out;
}
} // namespace

void Transformer::setParameters(const std::vector<float> &flat) {
  Impl &I = *impl_;
  checkSize(flat, I.layout.totalElements, "parameter buffer");
  I.stream.synchronize();
  rt::memcpyHtoD(reinterpret_cast<rt::DevicePtr>(I.b.master), flat.data(), flat.size() * 4);
  I.k->convertToBf16(I.b.master, I.layout.totalElements, I.b.weights, I.s());
  I.stream.synchronize();
}

std::vector<float> Transformer::parameters() const {
  return download(impl_->b.master, impl_->layout.totalElements, impl_->stream);
}
std::vector<float> Transformer::gradients() const {
  return download(impl_->b.grad, impl_->layout.totalElements, impl_->stream);
}
std::vector<float> Transformer::momentM() const {
  return download(impl_->b.m, impl_->layout.totalElements, impl_->stream);
}
std::vector<float> Transformer::momentV() const {
  return download(impl_->b.v, impl_->layout.totalElements, impl_->stream);
}

void Transformer::setMoments(const std::vector<float> &m, const std::vector<float> &v) {
  Impl &I = *impl_;
  checkSize(m, I.layout.totalElements, "moment m");
  checkSize(v, I.layout.totalElements, "moment v");
  I.stream.synchronize();
  rt::memcpyHtoD(reinterpret_cast<rt::DevicePtr>(I.b.m), m.data(), m.size() * 4);
  rt::memcpyHtoD(reinterpret_cast<rt::DevicePtr>(I.b.v), v.data(), v.size() * 4);
}

void Transformer::resetMoments() {
  impl_->stream.synchronize();
  impl_->alloc[1].zero();
}

GradNormResult Transformer::optimizerStep(const AdamWHyper &hyper, float clipNorm) {
  Impl &I = *impl_;
  const int64_t P = I.layout.totalElements;
  I.k->gradNorm(I.b.grad, P, clipNorm, I.b.norm, I.b.ws, I.s());
  // Consecutive tensors with the same decay flag form one AdamW launch (the
  // zero padding between them stays zero).
  const auto &ps = I.layout.params;
  for (size_t i = 0; i < ps.size();) {
    size_t j = i;
    while (j + 1 < ps.size() && ps[j + 1].decay == ps[i].decay) ++j;
    int64_t begin = ps[i].offset;
    int64_t end = j + 1 < ps.size() ? ps[j + 1].offset : P;
    AdamWHyper h = hyper;
    if (!ps[i].decay) h.weightDecay = 0.f;
    I.k->adamW(I.b.master + begin, I.b.grad + begin, I.b.m + begin, I.b.v + begin,
               I.b.weights + begin, end - begin, h, I.b.norm, I.s());
    i = j + 1;
  }
  GradNormResult r;
  rt::memcpyDtoH(&r, reinterpret_cast<rt::DevicePtr>(I.b.norm), sizeof r, I.s());
  I.stream.synchronize();
  return r;
}

bool Transformer::parametersFinite() {
  Impl &I = *impl_;
  // gradNorm's non-finite flag, applied to the master weights.
  I.k->gradNorm(I.b.master, I.layout.totalElements, 1.0f, I.b.norm, I.b.ws, I.s());
  GradNormResult r;
  rt::memcpyDtoH(&r, reinterpret_cast<rt::DevicePtr>(I.b.norm), sizeof r, I.s());
  I.stream.synchronize();
  return r.nonFinite == 0 && std::isfinite(r.norm);
}

} // namespace sparta::model
