//===- KernelReference.h - CPU references of the model kernels -------------===//
//
// Straightforward fp64 implementations of every generated model kernel
// (Kernels.h), written from the formulas rather than from the kernels, for the
// GPU tests and for finite-difference checks of the backward formulas. Inputs
// are floats holding the values the GPU reads (bf16 inputs already rounded);
// outputs are the exact results as floats, with no rounding to bf16, so a test
// can measure how far the GPU is from exact and compare that with the error of
// the same computation done in bf16.
//
// Tensors are row-major std::vector<float>; shapes are passed explicitly.
//
//===----------------------------------------------------------------------===//
#pragma once

#include "sparta/model/Kernels.h"

#include <cstdint>
#include <vector>

namespace sparta::model::ref {

// ---- bf16 bits ------------------------------------------------------------------
/// Round to nearest even, as the GPU's cvt.rn.bf16.
std::vector<std::uint16_t> toBf16(const std::vector<float> &values);
std::vector<float> fromBf16(const std::vector<std::uint16_t> &bits);
/// Each value rounded to the bf16 grid.
std::vector<float> roundBf16(const std::vector<float> &values);

// ---- Embedding --------------------------------------------------------------------
/// out [rows, D]; positionTables[k] is [modulus_k, D].
std::vector<float> embeddingForward(const std::vector<std::int32_t> &tokens,
                                    const std::vector<float> &tokenTable,
                                    const std::vector<PositionIndex> &positions,
                                    const std::vector<std::vector<float>> &positionTables,
                                    int seqLen, int D);
/// dTokenTable [vocab, D] and dPositionTables[k] [modulus_k, D].
void embeddingBackward(const std::vector<std::int32_t> &tokens, const std::vector<float> &dout,
                       const std::vector<PositionIndex> &positions, int seqLen, int D, int vocab,
                       std::vector<float> &dTokenTable,
                       std::vector<std::vector<float>> &dPositionTables);

// ---- LayerNorm --------------------------------------------------------------------
void layerNormForward(const std::vector<float> &x, const std::vector<float> &gamma,
                      const std::vector<float> &beta, int D, float eps, std::vector<float> &y,
                      std::vector<float> &mean, std::vector<float> &rstd);
/// dresid may be empty (no residual gradient added).
void layerNormBackward(const std::vector<float> &dy, const std::vector<float> &x,
                       const std::vector<float> &gamma, const std::vector<float> &mean,
                       const std::vector<float> &rstd, const std::vector<float> &dresid, int D,
                       std::vector<float> &dx, std::vector<float> &dgamma,
                       std::vector<float> &dbeta);

// ---- GELU (tanh approximation) and column sums ----------------------------------------
double gelu(double x);
double geluGrad(double x);
/// Column sums of a [rows, cols] matrix.
std::vector<float> columnSums(const std::vector<float> &m, int cols);

// ---- Dropout ------------------------------------------------------------------------
/// Philox4x32-10 of counter (counter, offset) under key `seed`: four words.
void philox4x32(std::uint64_t counter, std::uint64_t offset, std::uint64_t seed, std::uint32_t out[4]);
/// Whether element i is kept (see DropoutParams in kernel_params.h).
bool dropoutKeep(std::int64_t i, float p, std::uint64_t seed, std::uint64_t offset);
/// x empty: the backward (da from dy = a).
std::vector<float> dropoutResidual(const std::vector<float> &x, const std::vector<float> &a, float p,
                                   std::uint64_t seed, std::uint64_t offset);

// ---- Cross-entropy --------------------------------------------------------------------
/// loss [rows]; dlogits [rows, vocab] = (softmax - onehot) * dlossScale; a row
/// whose target is kIgnoreTarget has loss 0 and zero dlogits, any other target
/// outside [0, vocab) a NaN loss.
void crossEntropy(const std::vector<float> &logits, const std::vector<std::int32_t> &targets,
                  int vocab, float dlossScale, std::vector<float> &loss, std::vector<float> &dlogits);

// ---- Optimizer ------------------------------------------------------------------------
GradNormResult gradNorm(const std::vector<float> &grad, float maxNorm);
/// One step in place; `scale` multiplies the gradient (the clip scale).
void adamW(std::vector<float> &master, const std::vector<float> &grad, std::vector<float> &m,
           std::vector<float> &v, const AdamWHyper &hyper, float scale);

} // namespace sparta::model::ref
