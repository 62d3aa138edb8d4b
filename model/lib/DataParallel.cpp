//===- DataParallel.cpp - Bucketed gradient all-reduce beside the backward ===//
#include "sparta/model/DataParallel.h"

#include "sparta/Error.h"

#include <algorithm>

namespace sparta::model {
namespace {

constexpr std::size_t kMaxScalars = 16; // sumOverRanks' values per call

/// Rank 0 makes the NCCL id and hands it out; the others receive it.
rt::NcclUniqueId meet(const Ranks &ranks, const RendezvousOptions &rendezvous) {
  rt::NcclUniqueId id;
  if (ranks.rank == 0) {
    id = rt::ncclNewUniqueId();
    publishRendezvous(rendezvous, std::vector<uint8_t>(id.bytes.begin(), id.bytes.end()));
    return id;
  }
  const std::vector<uint8_t> token = joinRendezvous(rendezvous, ranks.rank);
  if (token.size() != id.bytes.size())
    throw Error("rendezvous file " + rendezvous.path + " holds a token of " + std::to_string(token.size()) +
                " bytes, not an NCCL id of " + std::to_string(id.bytes.size()));
  std::copy(token.begin(), token.end(), id.bytes.begin());
  return id;
}

} // namespace

DataParallel::DataParallel(const Ranks &ranks, const RendezvousOptions &rendezvous, Transformer &model,
                           std::size_t bucketBytes)
    : ranks_(ranks), model_(model), scalars_(kMaxScalars * sizeof(double)) {
  ranks_.validate();
  const int layers = model.config().layers;
  buckets_ = gradientBuckets(model.layout(), layers, bucketBytes);
  bucketsOfStage_.resize(backwardStageCount(layers));
  for (int i = 0; i < int(buckets_.size()); ++i) bucketsOfStage_[buckets_[i].readyStage].push_back(i);
  for (int s = 0; s < backwardStageCount(layers); ++s) stageEvents_.push_back(std::make_unique<rt::Event>(false));
  rt::requireNccl("--world-size > 1");
  comm_ = std::make_unique<rt::NcclCommunicator>(meet(ranks_, rendezvous), ranks_.worldSize, ranks_.rank);
  model_.setBackwardStageHook([this](int stage, float *gradients) { stageQueued(stage, gradients); });
}

DataParallel::~DataParallel() { model_.setBackwardStageHook({}); }

void DataParallel::stageQueued(int stage, float *gradients) {
  const std::vector<int> &ready = bucketsOfStage_[stage];
  if (!ready.empty()) {
    rt::Event &queued = *stageEvents_[stage];
    queued.record(&model_.stream());
    commStream_.waitFor(queued);
    rt::NcclCommunicator::grouped([&] {
      for (int i : ready)
        comm_->allReduceAverage(gradients + buckets_[i].begin, std::size_t(buckets_[i].end - buckets_[i].begin),
                                commStream_);
    });
  }
  if (stage == embeddingStage(model_.config().layers)) {
    reduced_.record(&commStream_);
    model_.stream().waitFor(reduced_);
  }
}

std::vector<double> DataParallel::sumOverRanks(const std::vector<double> &values) {
  if (values.empty() || values.size() > kMaxScalars)
    throw Error("sumOverRanks takes 1 to " + std::to_string(kMaxScalars) + " values, not " +
                std::to_string(values.size()));
  std::vector<double> sums(values);
  const std::size_t bytes = sums.size() * sizeof(double);
  rt::memcpyHtoD(scalars_.ptr(), sums.data(), bytes, &commStream_);
  comm_->allReduceSum(scalars_.as<double>(), sums.size(), commStream_);
  rt::memcpyDtoH(sums.data(), scalars_.ptr(), bytes, &commStream_);
  commStream_.synchronize();
  return sums;
}

double DataParallel::meanOverRanks(double value) { return sumOverRanks({value})[0] / ranks_.worldSize; }

} // namespace sparta::model
