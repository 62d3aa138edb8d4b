//===- GradientBuckets.cpp - Bucketing the gradients in backward order ----===//
#include "sparta/model/GradientBuckets.h"

#include "sparta/Error.h"

#include <algorithm>
#include <cstdlib>

namespace sparta::model {

int backwardStage(const std::string &name, int layers) {
  if (name == "head.weight" || name.rfind("ln_f.", 0) == 0) return headStage();
  if (name == "tok_emb" || name.rfind("pos_emb.", 0) == 0) return embeddingStage(layers);
  const std::string prefix = "blocks.";
  if (name.rfind(prefix, 0) == 0) {
    char *end = nullptr;
    const long layer = std::strtol(name.c_str() + prefix.size(), &end, 10);
    if (end != name.c_str() + prefix.size() && *end == '.' && layer >= 0 && layer < layers)
      return layerStage(int(layer), layers);
  }
  throw Error("parameter '" + name + "' belongs to no backward stage of a " + std::to_string(layers) +
              "-layer model");
}

std::vector<GradientBucket> gradientBuckets(const ParameterLayout &layout, int layers, std::size_t maxBytes) {
  if (maxBytes == 0) throw Error("the gradient bucket size must be at least 1 byte");
  struct Taken {
    int index, stage;
  };
  std::vector<Taken> order;
  for (int i = 0; i < int(layout.params.size()); ++i)
    order.push_back({i, backwardStage(layout.params[i].name, layers)});
  std::stable_sort(order.begin(), order.end(), [&](const Taken &a, const Taken &b) {
    if (a.stage != b.stage) return a.stage < b.stage;
    return layout.params[a.index].offset > layout.params[b.index].offset;
  });
  // A parameter's padded extent: up to the next parameter's offset.
  auto paddedEnd = [&](int i) {
    return i + 1 < int(layout.params.size()) ? layout.params[i + 1].offset : layout.totalElements;
  };
  std::vector<GradientBucket> buckets;
  for (const Taken &t : order) {
    const int64_t begin = layout.params[t.index].offset, end = paddedEnd(t.index);
    const std::size_t bytes = std::size_t(end - begin) * sizeof(float);
    if (buckets.empty() || buckets.back().bytes() + bytes > maxBytes) {
      buckets.push_back({begin, end, t.stage, {t.index}});
      continue;
    }
    GradientBucket &b = buckets.back();
    if (end != b.begin)
      throw Error("gradient buckets: parameter '" + layout.params[t.index].name +
                  "' does not end where its bucket begins (the layout is not in reverse backward order)");
    b.begin = begin;
    b.readyStage = t.stage;
    b.params.push_back(t.index);
  }
  return buckets;
}

} // namespace sparta::model
