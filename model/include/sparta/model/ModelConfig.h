//===- ModelConfig.h - The Sparse Transformer's configuration and weights --===//
//
// Everything that fixes the shape of the model (docs/training.md, "The
// model"), the list of its parameters with their safetensors names, shapes
// and initialisation, and the seeded initialisation itself. CPU only: the
// GPU model (Transformer.h), the CPU reference (TransformerReference.h) and
// the PyTorch reference all start from initParameters() or a safetensors file.
//
// Parameters live in ONE flat fp32 buffer (master weights, gradients, Adam
// moments all share the layout): tensor i occupies [offset, offset + numel),
// offsets rounded up to multiples of 8 elements so that every tensor is
// 16-byte aligned in bf16 as well as in fp32. The padding is zero and stays
// zero (its gradient is never written).
//
// Initialisation (seed s): one splitmix64 stream (sparta::model::Rng, seeded
// with s) draws, tensor by tensor in layout order and element by element in
// row-major order, standard normals by Box-Muller (two uniforms u1, u2 in
// [0,1) per normal, z = sqrt(-2 ln(1 - u1)) cos(2 pi u2); the sine half is
// discarded), scaled by the tensor's std. Constant tensors (biases 0, LN
// weight 1 / bias 0) draw nothing.
//
//===----------------------------------------------------------------------===//
#pragma once

#include "sparta/Frontend.h"
#include "sparta/model/Checkpoint.h"

#include <cstdint>
#include <string>
#include <vector>

namespace sparta::model {

/// How the heads of a layer use the pattern's masks.
enum class HeadsMode {
  Multihead,   // head h uses mask h mod n (every layer)
  Merged,      // the pattern file's single (union) mask for every head
  Interleaved, // layer l uses mask l mod n for all of its heads
};
const char *headsModeName(HeadsMode mode);
/// "multihead" | "merged" | "interleaved"; throws sparta::Error otherwise.
HeadsMode parseHeadsMode(const std::string &name);

/// Learned position embeddings.
enum class PositionMode {
  Text,  // row [ceil(T/L), D] indexed t / L, col [L, D] indexed t mod L
  Image, // row [H, D] indexed t / W, col [W, D] indexed t mod W, channel [1, D]
};

struct ModelConfig {
  int layers = 8;
  int dModel = 512;
  int heads = 8;          // head dim = dModel / heads, one of 32, 64, 128
  int ffMult = 4;         // hidden = ffMult * dModel
  int T = 4096;
  int vocab = 256;
  std::string patternPath = "patterns/fixed.mlir";
  ParamBindings patternParams; // T is added from `T`
  HeadsMode headsMode = HeadsMode::Multihead;
  float dropout = 0.0f;
  bool recompute = false;
  PositionMode positions = PositionMode::Text;
  int gridL = 0;          // text: the row length L (0: the pattern's "L" parameter)
  int imageWidth = 28, imageHeight = 28;
  float layerNormEps = 1e-5f;

  int headDim() const { return heads > 0 ? dModel / heads : 0; }
  int hidden() const { return ffMult * dModel; }
  /// The text grid's L (gridL, else patternParams["L"]); 0 when neither.
  int textL() const;
  /// The pattern's bindings with T set.
  ParamBindings bindings() const;

  /// Throws sparta::Error naming the first bad field. Does not open the pattern.
  void validate() const;

  /// Loads the pattern file at bindings() and checks it against the model (its
  /// T; one mask for the merged heads mode). Needs no GPU. Throws sparta::Error.
  ConcretePattern loadPattern() const;

  /// Flat "key=value" pairs (stored in checkpoints) and their inverse.
  std::vector<std::pair<std::string, std::string>> toKeyValues() const;
  static ModelConfig fromKeyValues(const std::vector<std::pair<std::string, std::string>> &kv);
};

enum class InitKind { Normal, Zeros, Ones };

struct ParamSpec {
  std::string name;           // safetensors name, e.g. "blocks.0.attn.qkv.weight"
  std::vector<int64_t> shape; // row-major; weights [out, in]
  int64_t offset = 0;         // element offset in the flat buffer
  int64_t numel = 0;
  InitKind init = InitKind::Normal;
  float std = 0.f;            // InitKind::Normal
  bool decay = false;         // AdamW weight decay applies (every 2-D tensor)
};

struct ParameterLayout {
  std::vector<ParamSpec> params;
  int64_t totalElements = 0; // including padding
  int64_t parameterCount = 0; // excluding padding

  const ParamSpec &get(const std::string &name) const; // throws when absent
  int index(const std::string &name) const;             // -1 when absent
};

/// The parameters of `config`, in layout order (the order of the list in
/// docs/training.md): tok_emb, pos_emb.*, blocks.{l}.*, ln_f.*, head.weight.
ParameterLayout parameterLayout(const ModelConfig &config);

/// The seeded initial values, a flat buffer of layout.totalElements floats.
std::vector<float> initParameters(const ModelConfig &config, uint64_t seed);

/// The flat buffer as named tensors (for safetensors) and back.
std::vector<Tensor> parametersToTensors(const ParameterLayout &layout, const std::vector<float> &flat,
                                        const std::string &prefix = "");
/// Throws sparta::Error naming a missing tensor or a shape mismatch.
std::vector<float> parametersFromTensors(const ParameterLayout &layout,
                                         const std::vector<Tensor> &tensors,
                                         const std::string &prefix = "");

} // namespace sparta::model
