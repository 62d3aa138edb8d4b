//===- TransformerReference.h - The Sparse Transformer on the CPU ----------===//
//
// A straightforward fp32 implementation of the same model as Transformer.h
// (matrix products and reductions accumulate in double), the oracle of the
// GPU model's gradient test. Attention is the dense masked reference
// (sparta/ReferenceAttention.h) over the pattern's masks; dropout uses the
// same Philox masks (seed, offset + 2l, offset + 2l + 1) as the GPU kernels.
// Packed rows as in Transformer.h: the attention is the reference over the
// rows' documents (ReferenceAttention.h's cuSeqlens forms), ignored targets
// have no loss, and the loss is the counted ones' sum / meanOver.
// Slow: meant for tiny models (a few layers, d_model 64, T 64).
//
//===----------------------------------------------------------------------===//
#pragma once

#include "sparta/model/Data.h"
#include "sparta/model/ModelConfig.h"

#include <cstdint>
#include <vector>

namespace sparta::model {

struct ReferenceResult {
  double loss = 0;          // mean cross-entropy over rows*T targets (nats; packed: see above)
  std::vector<float> grads; // flat, the layout of parameterLayout(config)
};

/// Forward and backward over `rows` rows of T+1 bytes with flat parameters
/// `params` (parameterLayout order). The caller decides the weights'
/// precision (the GPU test passes weights already on the bf16 grid).
ReferenceResult referenceForwardBackward(const ModelConfig &config, const std::vector<float> &params,
                                         const uint8_t *tokens, int rows, uint64_t dropoutSeed = 0,
                                         uint64_t dropoutOffset = 0,
                                         const PackedRows *packed = nullptr);

} // namespace sparta::model
