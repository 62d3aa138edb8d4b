//===- Cost.h - How much work a pattern asks for --------------------------===//
//
// Per head and over the model: allowed keys per query, allowed (query, key)
// pairs, density and how many tiles of a plain row-major M x M tiling hold at
// least one allowed pair (what a block-sparse kernel without index maps must
// visit).
//
// Density is pairs / T^2, the convention of FlexAttention benchmarks: causal
// dense attention has density (T+1)/(2T), about 0.5.
//
// The domain's tiles are, in a causal pattern, the tiles (query tile qt, key
// tile kt) with kt <= qt, ceil(T/M) (ceil(T/M) + 1) / 2 of them, and in a
// bidirectional one all ceil(T/M)^2; a tile is full when every pair of the
// domain (j <= i < T, resp. i, j < T) it holds is allowed.
//
//===----------------------------------------------------------------------===//
#pragma once

#include "sparta/Pattern.h"

#include <cstdint>
#include <vector>

namespace sparta {

struct MaskCost {
  int64_t pairs = 0;          // allowed (i, j) pairs
  int64_t maxKeys = 0;        // max over queries of the allowed keys
  int64_t minKeys = 0;        // min over queries
  double meanKeys = 0;        // pairs / T
  int64_t emptyQueries = 0;   // queries with no allowed key (their softmax is empty)
  double density = 0;         // pairs / T^2
  int64_t tilesNonEmpty = 0;  // M x M tiles holding an allowed pair
  int64_t tilesFull = 0;      // tiles whose every pair of the domain is allowed
  int64_t tilesCausal = 0;    // tiles holding a pair of the domain (j <= i when causal)
};

struct CostReport {
  int64_t T = 0;
  int64_t tile = 0;
  std::vector<MaskCost> heads; // one per pattern head
  /// Over the heads: sums of pairs and tiles (one of each head), max/min of
  /// the per-head keys, means of meanKeys and density (so density is the
  /// density of a model with the same number of heads of each kind).
  MaskCost overall;
};

/// The cost of one mask in a causal (or bidirectional) pattern. Throws
/// sparta::Error when T <= 0 or tile <= 0.
MaskCost maskCost(const Mask &mask, int64_t T, int64_t tile, bool causal = true);

/// The cost of every head and overall. Throws sparta::Error as maskCost and
/// when the pattern has no heads.
CostReport costReport(const ConcretePattern &pattern, int64_t tile);

} // namespace sparta
