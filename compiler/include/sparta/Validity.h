//===- Validity.h - Can every key be reached from every query in k layers? -===//
//
// A factorized pattern is valid (Child et al. 2019, section 4.2) when stacking
// it k times (usually 2) lets every query i draw on every key j <= i (every
// key j < T in a bidirectional pattern): there is
// a path i = p0 -> p1 -> ... -> pk = j in which each step p(s-1) -> p(s) is
// allowed by the mask of the layer it crosses (query p(s-1) attends to key
// p(s)). The masks are used exactly as they are: a step from p to itself is
// only possible where the mask allows (p, p).
//
// Layers are numbered from the input: layer 0 reads the embeddings and the
// query i sits at the output of layer k-1, so the path's first step crosses
// layer k-1 and its last step layer 0.
//
//   * default mode: every layer attends to the union of all heads' masks
//     (multi-head attention concatenates the heads);
//   * interleaved: layer m uses the single mask heads[m mod n].
//
// The analysis works on rows of bits and stops at the first counterexample;
// at T = 16384 it takes a fraction of a second for the paper's sparse
// patterns and about a second for dense attention (one T x T bit matrix,
// 32 MiB, per distinct layer mask).
//
//===----------------------------------------------------------------------===//
#pragma once

#include "sparta/Pattern.h"

#include <cstdint>

namespace sparta {

struct ValidityOptions {
  int64_t layers = 2;       // k >= 1
  bool interleaved = false; // layer m uses heads[m % n] instead of the union
};

struct ValidityResult {
  bool valid = false;
  /// The first pair that cannot be reached (smallest query, then smallest
  /// key); both -1 when valid.
  int64_t query = -1;
  int64_t key = -1;
};

/// Decides validity. Throws sparta::Error when layers < 1, the pattern has no
/// heads or T <= 0, or when the bit matrices would not fit in memory (T is
/// limited to 65536).
ValidityResult checkValidity(const ConcretePattern &pattern,
                             const ValidityOptions &options = {});

/// The mask that layer `layer` (0 = next to the input) of a k-layer stack
/// attends to under `options`: union(heads) or heads[layer % n].
Mask layerMask(const ConcretePattern &pattern, const ValidityOptions &options,
               int64_t layer);

} // namespace sparta
