//===- Decoder.cpp - Sampling one position at a time with a key/value cache ===//
//
// The step reuses the model's own kernels, weights and GEMM wrapper (through
// Transformer::Impl) on buffers of `rows` rows; only the attention of one
// query against the cache is a kernel of its own (decode.cu). The embedding of
// position t is the embedding kernel run with sequence length 1 on position
// tables offset to t's rows.
//
//===----------------------------------------------------------------------===//
#include "sparta/model/Decoder.h"

#include "TransformerImpl.h"

#include "sparta/Error.h"
#include "sparta/Float16.h"
#include "sparta/Frontend.h"
#include "sparta/MaskRows.h"

#include <limits>

namespace sparta::model {

MaskKeys maskKeys(const std::vector<Mask> &masks, int64_t T) {
  MaskKeys mk;
  mk.T = T;
  mk.rowStart.reserve(masks.size() * std::size_t(T + 1));
  std::vector<uint64_t> words(std::size_t(wordsFor(T)));
  for (const Mask &mask : masks) {
    for (int64_t i = 0; i < T; ++i) {
      mk.rowStart.push_back(int64_t(mk.keys.size()));
      std::fill(words.begin(), words.begin() + i / 64 + 1, 0);
      fillMaskRow(mask, T, i, words.data());
      for (int64_t w = 0; w <= i / 64; ++w)
        for (uint64_t bits = words[std::size_t(w)]; bits; bits &= bits - 1) {
          int64_t j = w * 64 + __builtin_ctzll(bits);
          if (j > std::numeric_limits<int32_t>::max()) throw Error("maskKeys: T is too large");
          mk.keys.push_back(int32_t(j));
        }
    }
    mk.rowStart.push_back(int64_t(mk.keys.size()));
  }
  return mk;
}

int headMaskIndex(const ModelConfig &config, int masks, int layer, int head) {
  switch (config.headsMode) {
  case HeadsMode::Merged: return 0;
  case HeadsMode::Interleaved: return layer % masks;
  case HeadsMode::Multihead: break;
  }
  return head % masks;
}

struct Decoder::State {
  Transformer::Impl &I;
  int rows = 0, pos = 0;
  rt::DeviceBuffer cache, rowStart, keys, headMask, tokens;
  rt::DeviceBuffer x, xmid, h, qkv, o, tmp, f, u, logits;

  State(Transformer::Impl &impl, int rows_) : I(impl), rows(rows_) {}
  template <typename T> T *p(const rt::DeviceBuffer &b) const { return b.as<T>(); }
};

Decoder::Decoder(Transformer &model, int rows) {
  Transformer::Impl &I = *model.impl_;
  if (rows < 1 || rows > I.maxBatch)
    throw Error("decoder: " + std::to_string(rows) + " rows; the model holds 1 to " +
                std::to_string(I.maxBatch));
  s_ = std::make_unique<State>(I, rows);
  ConcretePattern pattern = loadPattern(I.cfg.patternPath, I.cfg.bindings());
  MaskKeys mk = maskKeys(pattern.heads, I.T);
  std::vector<int32_t> headMask(std::size_t(I.N) * I.H);
  for (int l = 0; l < I.N; ++l)
    for (int h = 0; h < I.H; ++h)
      headMask[std::size_t(l) * I.H + h] = headMaskIndex(I.cfg, int(pattern.heads.size()), l, h);

  auto upload = [](rt::DeviceBuffer &b, const void *data, std::size_t bytes) {
    b = rt::DeviceBuffer(std::max<std::size_t>(bytes, 16));
    if (bytes) b.upload(data, bytes);
  };
  upload(s_->rowStart, mk.rowStart.data(), mk.rowStart.size() * sizeof(int64_t));
  upload(s_->keys, mk.keys.data(), mk.keys.size() * sizeof(int32_t));
  upload(s_->headMask, headMask.data(), headMask.size() * sizeof(int32_t));
  const std::size_t R = std::size_t(rows), D = std::size_t(I.D);
  s_->cache = rt::DeviceBuffer(std::size_t(I.N) * R * std::size_t(I.T) * 2 * D * sizeof(bf16));
  s_->tokens = rt::DeviceBuffer(std::max<std::size_t>(R * 4, 16));
  for (rt::DeviceBuffer *b : {&s_->x, &s_->xmid, &s_->h, &s_->o, &s_->tmp})
    *b = rt::DeviceBuffer(R * D * sizeof(bf16));
  s_->qkv = rt::DeviceBuffer(R * 3 * D * sizeof(bf16));
  s_->f = rt::DeviceBuffer(R * std::size_t(I.F) * sizeof(bf16));
  s_->u = rt::DeviceBuffer(R * std::size_t(I.F) * sizeof(bf16));
  s_->logits = rt::DeviceBuffer(R * std::size_t(I.V) * sizeof(bf16));
}

Decoder::~Decoder() = default;

int Decoder::position() const { return s_->pos; }
void Decoder::reset() { s_->pos = 0; }

std::vector<float> Decoder::step(const uint8_t *bytes) {
  State &S = *s_;
  Transformer::Impl &I = S.I;
  if (S.pos >= I.T)
    throw Error("decoder: the cache is full (" + std::to_string(I.T) + " positions); reset() first");
  const int R = S.rows, D = I.D;
  std::vector<int32_t> tokens(bytes, bytes + R);
  I.stream.synchronize();
  S.tokens.upload(tokens.data(), tokens.size() * 4);

  // Position pos of every table: the kernel's index of position 0 (sequence
  // length 1) into tables that start at pos's rows.
  std::vector<const bf16 *> tables;
  for (std::size_t k = 0; k < I.posTables.size(); ++k) {
    const PositionIndex &pi = I.positions[k];
    tables.push_back(I.w(I.posTables[k]) + int64_t((S.pos / pi.divisor) % pi.modulus) * D);
  }
  const std::vector<PositionIndex> first(I.positions.size(), PositionIndex{1, 1});
  bf16 *x = S.p<bf16>(S.x), *xmid = S.p<bf16>(S.xmid), *h = S.p<bf16>(S.h), *qkv = S.p<bf16>(S.qkv),
       *o = S.p<bf16>(S.o), *tmp = S.p<bf16>(S.tmp), *f = S.p<bf16>(S.f), *u = S.p<bf16>(S.u);
  I.k->embeddingForward(S.p<int32_t>(S.tokens), I.w(I.tokEmb), first, tables, R, 1, x, I.s());
  const int64_t n = int64_t(R) * D;
  const std::size_t layerCache = std::size_t(R) * std::size_t(I.T) * 2 * std::size_t(D);
  for (int l = 0; l < I.N; ++l) {
    const detail::LayerParams &P = I.lp[std::size_t(l)];
    I.k->layerNormForward(x, I.w(P.ln1w), I.w(P.ln1b), R, h, nullptr, nullptr, I.s());
    I.linear(h, P.qkvw, P.qkvb, R, D, 3 * D, qkv);
    I.k->decodeAttention(qkv, S.p<bf16>(S.cache) + std::size_t(l) * layerCache, S.p<int64_t>(S.rowStart),
                         S.p<int32_t>(S.keys), S.p<int32_t>(S.headMask) + std::size_t(l) * I.H, R, I.T, I.H,
                         I.dh, S.pos, o, I.s());
    I.linear(o, P.projw, P.projb, R, D, D, tmp);
    I.k->dropoutResidualForward(x, tmp, n, 0.0f, 0, 0, xmid, I.s());
    I.k->layerNormForward(xmid, I.w(P.ln2w), I.w(P.ln2b), R, h, nullptr, nullptr, I.s());
    I.linear(h, P.fc1w, P.fc1b, R, D, I.F, f);
    I.k->geluForward(f, int64_t(R) * I.F, u, I.s());
    I.linear(u, P.fc2w, P.fc2b, R, I.F, D, tmp);
    I.k->dropoutResidualForward(xmid, tmp, n, 0.0f, 0, 0, x, I.s());
  }
  I.k->layerNormForward(x, I.w(I.lnfW), I.w(I.lnfB), R, h, nullptr, nullptr, I.s());
  I.linear(h, I.headW, -1, R, D, I.V, S.p<bf16>(S.logits));
  std::vector<bf16> raw(std::size_t(R) * I.V);
  rt::memcpyDtoH(raw.data(), S.logits.ptr(), raw.size() * 2, I.s());
  I.stream.synchronize();
  ++S.pos;
  std::vector<float> out(raw.size());
  for (std::size_t i = 0; i < raw.size(); ++i) out[i] = bf16Value(raw[i]);
  return out;
}

} // namespace sparta::model
