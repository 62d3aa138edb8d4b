//===- Sampling.cpp - Sampling text and images from a trained model --------===//
//
// Two ways with the same random stream: the full-window functions (Trainer.h)
// run a forward over the whole window for every byte, the cached ones
// (Decoder.h) one step of a Decoder. The first are the reference the second
// are tested against, and the baseline of their speed.
//
//===----------------------------------------------------------------------===//
#include "sparta/model/Decoder.h"
#include "sparta/model/Trainer.h"

#include "sparta/Error.h"

#include <algorithm>
#include <cmath>

namespace sparta::model {

namespace {
int sampleFrom(const float *logits, int V, double temperature, Rng &rng) {
  if (temperature <= 0) {
    int best = 0;
    for (int i = 1; i < V; ++i)
      if (logits[i] > logits[best]) best = i;
    return best;
  }
  double mx = -1e300;
  for (int i = 0; i < V; ++i) mx = std::max(mx, double(logits[i]));
  std::vector<double> p(V);
  double sum = 0;
  for (int i = 0; i < V; ++i) sum += p[i] = std::exp((logits[i] - mx) / temperature);
  double u = rng.uniform() * sum;
  for (int i = 0; i < V; ++i) {
    if (u < p[i]) return i;
    u -= p[i];
  }
  return V - 1;
}
} // namespace

std::vector<uint8_t> sampleText(Transformer &model, const std::vector<uint8_t> &prompt, int length,
                                const SampleOptions &options) {
  const int T = model.config().T, V = model.config().vocab;
  Rng rng(options.seed);
  std::vector<uint8_t> text = prompt;
  if (text.empty()) text.push_back('\n');
  std::vector<uint8_t> window(T, 0);
  for (int i = 0; i < length; ++i) {
    const int n = std::min<int>(int(text.size()), T);
    std::fill(window.begin(), window.end(), 0);
    std::copy(text.end() - n, text.end(), window.begin());
    std::vector<float> logits = model.logitsAt(window.data(), 1, n - 1);
    text.push_back(uint8_t(sampleFrom(logits.data(), V, options.temperature, rng)));
  }
  return std::vector<uint8_t>(text.begin() + (prompt.empty() ? 1 : long(prompt.size())), text.end());
}

std::vector<uint8_t> sampleImages(Transformer &model, int count, uint8_t startByte,
                                  const SampleOptions &options) {
  const int T = model.config().T, V = model.config().vocab;
  if (count < 1 || count > model.maxBatch()) throw Error("sample count must be in [1, maxBatch]");
  Rng rng(options.seed);
  std::vector<uint8_t> rows(std::size_t(count) * T, 0);
  for (int r = 0; r < count; ++r) rows[std::size_t(r) * T] = startByte;
  std::vector<uint8_t> pixels(std::size_t(count) * T);
  for (int t = 0; t < T; ++t) {
    std::vector<float> logits = model.logitsAt(rows.data(), count, t);
    for (int r = 0; r < count; ++r) {
      uint8_t px = uint8_t(sampleFrom(logits.data() + std::size_t(r) * V, V, options.temperature, rng));
      pixels[std::size_t(r) * T + t] = px;
      if (t + 1 < T) rows[std::size_t(r) * T + t + 1] = px;
    }
  }
  return pixels;
}

std::vector<uint8_t> sampleTextCached(Transformer &model, const std::vector<uint8_t> &prompt, int length,
                                      const SampleOptions &options) {
  const int T = model.config().T, V = model.config().vocab;
  Rng rng(options.seed);
  std::vector<uint8_t> text = prompt;
  if (text.empty()) text.push_back('\n');
  Decoder decoder(model, 1);
  std::vector<float> logits;
  // Feeds text[from..) into an empty cache; logits then predict the byte after the text.
  auto refill = [&](std::size_t from) {
    decoder.reset();
    for (std::size_t i = from; i < text.size(); ++i) logits = decoder.step(&text[i]);
  };
  refill(text.size() > std::size_t(T) ? text.size() - T : 0);
  for (int i = 0; i < length; ++i) {
    uint8_t next = uint8_t(sampleFrom(logits.data(), V, options.temperature, rng));
    text.push_back(next);
    if (i + 1 == length) break;
    if (decoder.position() == T)
      refill(text.size() - std::size_t(std::max(1, T / 2)));
    else
      logits = decoder.step(&next);
  }
  return std::vector<uint8_t>(text.begin() + (prompt.empty() ? 1 : long(prompt.size())), text.end());
}

std::vector<uint8_t> sampleImagesCached(Transformer &model, int count, uint8_t startByte,
                                        const SampleOptions &options) {
  const int T = model.config().T, V = model.config().vocab;
  if (count < 1 || count > model.maxBatch()) throw Error("sample count must be in [1, maxBatch]");
  Rng rng(options.seed);
  Decoder decoder(model, count);
  std::vector<uint8_t> fed(std::size_t(count), startByte);
  std::vector<uint8_t> pixels(std::size_t(count) * T);
  for (int t = 0; t < T; ++t) {
    std::vector<float> logits = decoder.step(fed.data());
    for (int r = 0; r < count; ++r) {
      uint8_t px = uint8_t(sampleFrom(logits.data() + std::size_t(r) * V, V, options.temperature, rng));
      pixels[std::size_t(r) * T + t] = px;
      fed[std::size_t(r)] = px;
    }
  }
  return pixels;
}

} // namespace sparta::model
