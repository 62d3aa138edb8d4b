//===- Decoder.h - Sampling one position at a time with a key/value cache --===//
//
//   Decoder dec(model, rows);                 // cache for rows x T positions
//   std::vector<float> logits = dec.step(bytes); // bytes[rows] at position 0
//   ... dec.step(next) ...                    // position 1, 2, ...
//
// Each step runs the model on one new position per row: embedding, and per
// layer LayerNorm, the QKV projection of that row, attention of its query
// against the cached keys and values of the positions its mask row allows
// (ModelKernels::decodeAttention, which also stores the new key and value),
// projection, residual, LayerNorm and feed-forward; then the final LayerNorm
// and the output head. A step therefore costs one row of every GEMM instead of
// a forward over the whole window, which is what the full-window sampling
// (sampleText, sampleImages) pays per byte. The logits agree with the full
// forward's to bf16 rounding (the GEMMs see other shapes and the attention
// sums in another order), not bit for bit.
//
// The mask rows come from the pattern file (MaskKeys below): 4 bytes per
// allowed (query, key) pair of each distinct mask, on the device (dense at
// T = 4096: 34 MB). The cache holds layers x rows x T x 2 d_model bf16.
//
//===----------------------------------------------------------------------===//
#pragma once

#include "sparta/Pattern.h"
#include "sparta/model/Trainer.h"
#include "sparta/model/Transformer.h"

#include <cstdint>
#include <memory>
#include <vector>

namespace sparta::model {

/// The allowed keys of every row of each mask, as one list: the keys of row i
/// of mask m are keys[rowStart[m * (T + 1) + i] .. rowStart[m * (T + 1) + i + 1]),
/// ascending (all <= i: masks are causal).
struct MaskKeys {
  int64_t T = 0;
  std::vector<int64_t> rowStart;
  std::vector<int32_t> keys;
};
MaskKeys maskKeys(const std::vector<Mask> &masks, int64_t T);

/// The mask index (into the pattern's heads) of head h of layer l, for the
/// heads mode of `config`: multihead h mod n, merged 0, interleaved l mod n.
int headMaskIndex(const ModelConfig &config, int masks, int layer, int head);

class Decoder {
public:
  /// A cache for `rows` rows (1 to model.maxBatch()). Reads the model's
  /// pattern file for the mask rows. The model must outlive the decoder, and
  /// its other calls (forwardBackward, evaluate, logitsAt) do not disturb it.
  Decoder(Transformer &model, int rows);
  ~Decoder();
  Decoder(const Decoder &) = delete;
  Decoder &operator=(const Decoder &) = delete;

  /// Feeds bytes[r] to row r at position(); returns the logits [rows, vocab]
  /// that predict each row's next byte. Throws when position() == T.
  std::vector<float> step(const uint8_t *bytes);
  /// The next position (the number of bytes fed since the last reset).
  int position() const;
  /// Empties the cache: the next step is at position 0.
  void reset();

private:
  struct State;
  std::unique_ptr<State> s_;
};

/// sampleText and sampleImages (Trainer.h) through a Decoder: the same
/// sampling from the same random stream, one step per byte. Text longer than
/// T: when the cache is full it restarts from the last T/2 bytes (so a byte
/// sees between T/2 and T bytes of context, where sampleText slides a window
/// of T by one byte per step).
std::vector<uint8_t> sampleTextCached(Transformer &model, const std::vector<uint8_t> &prompt, int length,
                                      const SampleOptions &options = {});
std::vector<uint8_t> sampleImagesCached(Transformer &model, int count, uint8_t startByte,
                                        const SampleOptions &options = {});

} // namespace sparta::model
