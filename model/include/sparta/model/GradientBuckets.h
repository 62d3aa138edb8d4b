//===- GradientBuckets.h - Which gradients are all-reduced together, when -===//
//
// A data-parallel step averages every gradient over the ranks. Rather than
// one all-reduce after the backward, the gradients go in buckets that are
// all-reduced while the backward goes on: a bucket is sent as soon as the
// backward stage that completes its last gradient has been queued.
//
// Backward stages, in the order the backward completes them (Backward.cpp):
//   stage 0              head.weight, ln_f.weight, ln_f.bias
//   stage 1 + (N-1-l)    blocks.l.* (layer N-1 first, layer 0 last)
//   stage N + 1          tok_emb and the position tables
//
// Parameters are taken in that order (within a stage, from the highest
// offset down) and a bucket is closed before the parameter that would take
// it past `maxBytes` (a parameter larger than that is a bucket of its own).
// As parameterLayout() places the stages in the reverse order, every bucket
// is one contiguous range of the flat gradient buffer, padding included (the
// padding is zero on every rank, so averaging it changes nothing): it is
// all-reduced in place, without copies. The buckets depend only on the
// layout and maxBytes, so every rank and every step sends the same buckets
// in the same order.
//
//===----------------------------------------------------------------------===//
#pragma once

#include "sparta/model/ModelConfig.h"

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

namespace sparta::model {

inline int headStage() { return 0; }
inline int layerStage(int layer, int layers) { return layers - layer; }
inline int embeddingStage(int layers) { return layers + 1; }
inline int backwardStageCount(int layers) { return layers + 2; }

/// The backward stage that completes the gradient of parameter `name` in a
/// model of `layers` layers. Throws sparta::Error for a name of no stage.
int backwardStage(const std::string &name, int layers);

struct GradientBucket {
  int64_t begin = 0, end = 0; // elements [begin, end) of the flat gradient buffer
  int readyStage = 0;         // all-reduced once this stage is queued
  std::vector<int> params;    // indices into ParameterLayout::params, in the order taken
  std::size_t bytes() const { return std::size_t(end - begin) * sizeof(float); }
};

/// The buckets of `layout` (a model of `layers` layers), in the order they
/// are sent: readyStage never decreases. Throws sparta::Error when maxBytes is 0.
std::vector<GradientBucket> gradientBuckets(const ParameterLayout &layout, int layers, std::size_t maxBytes);

} // namespace sparta::model
