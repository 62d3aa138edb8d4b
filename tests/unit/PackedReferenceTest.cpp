//===- PackedReferenceTest.cpp - The CPU Sparse Transformer on packed rows ===//
//
// referenceForwardBackward with PackedRows, the oracle of the GPU model's
// packed test (tests/gpu/PackedTrainingTest.cpp), checked on the CPU:
//  * one document per row with every target counted is the unpacked model;
//  * documents do not see each other: with the position tables zeroed (so
//    that where a document sits does not matter) the loss and gradients of a
//    row packed with two documents are the sums of those of two rows that
//    each hold one of them at offset 0, the rest of the row ignored.
//
//===----------------------------------------------------------------------===//
#include "sparta/model/Data.h"
#include "sparta/model/ModelConfig.h"
#include "sparta/model/TransformerReference.h"

#include <gtest/gtest.h>

#include <cmath>
#include <string>
#include <vector>

using namespace sparta;
using namespace sparta::model;

namespace {

ModelConfig tinyFixed() {
  ModelConfig c;
  c.layers = 2, c.dModel = 64, c.heads = 2, c.ffMult = 2, c.T = 64;
  c.patternPath = std::string(SPARTA_SOURCE_DIR) + "/patterns/fixed.mlir";
  c.patternParams = {{"L", 8}, {"c", 2}}; // translation period 8
  return c;
}

std::vector<uint8_t> textBytes(size_t n, uint64_t seed) {
  Rng rng(seed);
  std::vector<uint8_t> out(n);
  for (uint8_t &b : out) b = uint8_t('a' + rng.below(26));
  return out;
}

/// Rows of one document each: cu = {0, T}; `counted` as given.
struct OneDocumentRows {
  std::vector<int32_t> cu;
  std::vector<uint8_t> counted;
  PackedRows view(double meanOver) const { return {1, cu.data(), counted.data(), meanOver}; }
};

void expectGradientsClose(const ModelConfig &c, const std::vector<float> &got,
                          const std::vector<float> &want, double rel) {
  for (const ParamSpec &p : parameterLayout(c).params) {
    double err = 0, norm = 0;
    for (int64_t i = p.offset; i < p.offset + p.numel; ++i) {
      err += double(got[i] - want[i]) * (got[i] - want[i]);
      norm += double(want[i]) * want[i];
    }
    EXPECT_LE(std::sqrt(err), rel * std::sqrt(norm) + 1e-9) << p.name;
  }
}

TEST(PackedReference, OneDocumentPerRowIsTheUnpackedModel) {
  const ModelConfig c = tinyFixed();
  const int B = 2;
  std::vector<float> params = initParameters(c, 3);
  std::vector<uint8_t> tokens = textBytes(size_t(B) * (c.T + 1), 1);
  OneDocumentRows rows{{0, c.T, 0, c.T}, std::vector<uint8_t>(size_t(B) * c.T, 1)};
  PackedRows packed = rows.view(double(B) * c.T);
  ReferenceResult plain = referenceForwardBackward(c, params, tokens.data(), B);
  ReferenceResult one = referenceForwardBackward(c, params, tokens.data(), B, 0, 0, &packed);
  EXPECT_NEAR(one.loss, plain.loss, 1e-9 * plain.loss);
  expectGradientsClose(c, one.grads, plain.grads, 1e-6);
}

TEST(PackedReference, DocumentsAreIndependent) {
  const ModelConfig c = tinyFixed();
  const int T = c.T;
  std::vector<float> params = initParameters(c, 5);
  // Larger weights than the init's, so every path carries a gradient; no positions.
  for (float &x : params) x *= 2;
  const ParameterLayout layout = parameterLayout(c);
  for (const char *name : {"pos_emb.row", "pos_emb.col"}) {
    const ParamSpec &p = layout.get(name);
    std::fill(params.begin() + p.offset, params.begin() + p.offset + p.numel, 0.f);
  }
  // The packed row: document A (20 bytes) at 0, pads to 24, document B (36 bytes) at 24.
  const std::vector<uint8_t> a = textBytes(20, 2), b = textBytes(36, 3);
  std::vector<uint8_t> packedRow(T + 1, 0), rowA(T + 1, 0), rowB(T + 1, 0);
  std::copy(a.begin(), a.end(), packedRow.begin());
  std::copy(b.begin(), b.end(), packedRow.begin() + 24);
  std::copy(a.begin(), a.end(), rowA.begin());
  std::copy(b.begin(), b.end(), rowB.begin());
  std::vector<int32_t> cu = {0, 24, T};
  std::vector<uint8_t> counted(T, 0), countedA(T, 0), countedB(T, 0);
  std::fill(counted.begin(), counted.begin() + 19, 1);
  std::fill(counted.begin() + 24, counted.begin() + 24 + 35, 1);
  std::fill(countedA.begin(), countedA.begin() + 19, 1);
  std::fill(countedB.begin(), countedB.begin() + 35, 1);
  // meanOver 1: sums, which add up over documents.
  PackedRows both{2, cu.data(), counted.data(), 1.0};
  OneDocumentRows onlyA{{0, T}, countedA}, onlyB{{0, T}, countedB};
  PackedRows viewA = onlyA.view(1.0), viewB = onlyB.view(1.0);
  ReferenceResult whole = referenceForwardBackward(c, params, packedRow.data(), 1, 0, 0, &both);
  ReferenceResult ra = referenceForwardBackward(c, params, rowA.data(), 1, 0, 0, &viewA);
  ReferenceResult rb = referenceForwardBackward(c, params, rowB.data(), 1, 0, 0, &viewB);
  EXPECT_NEAR(whole.loss, ra.loss + rb.loss, 1e-6 * whole.loss);
  // Position t's row table entry is t / 8: B's bytes use entries 3.. packed
  // and 0.. alone (its column entries t mod 8 are the same, 24 being a multiple of 8).
  std::vector<float> sum(ra.grads.size());
  for (size_t i = 0; i < sum.size(); ++i) sum[i] = ra.grads[i] + rb.grads[i];
  const ParamSpec &rowTable = layout.get("pos_emb.row");
  for (int64_t i = 0; i < rowTable.numel; ++i) {
    const int64_t shifted = i - 3 * c.dModel;
    sum[rowTable.offset + i] = ra.grads[rowTable.offset + i] +
                               (shifted >= 0 ? rb.grads[rowTable.offset + shifted] : 0.f);
  }
  expectGradientsClose(c, whole.grads, sum, 1e-4);
  // The mean divides that sum: 54 targets count.
  both.meanOver = 54;
  ReferenceResult mean = referenceForwardBackward(c, params, packedRow.data(), 1, 0, 0, &both);
  EXPECT_NEAR(mean.loss, whole.loss / 54, 1e-9 * mean.loss);
  // Without documents B's bytes would see A's: the row is not the same model.
  PackedRows oneDocument{1, onlyA.cu.data(), counted.data(), 1.0};
  ReferenceResult mixed =
      referenceForwardBackward(c, params, packedRow.data(), 1, 0, 0, &oneDocument);
  EXPECT_GT(std::fabs(mixed.loss - whole.loss), 1e-3 * whole.loss);
}

} // namespace
