//===- DataParallel.h - One rank of a data-parallel run, on its GPU -------===//
//
// Each rank holds the whole model and trains on its rows of every global
// batch (Ranks.h); after the backward every rank must hold the gradient of
// the mean loss over the whole batch, which is the mean of the ranks'
// gradients (each the gradient of the mean over its equal share of rows).
//
// DataParallel hooks into the model's backward (Transformer::
// setBackwardStageHook): when a backward stage is queued it records an event
// on the model's stream, and a communication stream waits for it and
// all-reduces (ncclAvg, fp32, in place) every gradient bucket of that stage
// (GradientBuckets.h), so the last layers' gradients travel while the first
// layers' backward runs. After the last stage the model's stream waits for
// the communication stream, so the gradient norm and AdamW see averaged
// gradients, identical on every rank; the optimizer steps, and with them the
// weights, stay the same on every rank without ever being exchanged.
//
// Construction meets the other ranks through the rendezvous file
// (Rendezvous.h; rank 0 makes the NCCL id) and joins the communicator on the
// selected device (rt::DeviceScope). Only the trainer makes one, and only
// for more than one rank: a one-rank run makes no NCCL call.
//
//===----------------------------------------------------------------------===//
#pragma once

#include "sparta/model/GradientBuckets.h"
#include "sparta/model/Ranks.h"
#include "sparta/model/Rendezvous.h"
#include "sparta/model/Transformer.h"
#include "sparta/runtime/Nccl.h"

#include <memory>
#include <vector>

namespace sparta::model {

class DataParallel {
public:
  DataParallel(const Ranks &ranks, const RendezvousOptions &rendezvous, Transformer &model,
               std::size_t bucketBytes);
  ~DataParallel(); // removes the hook
  DataParallel(const DataParallel &) = delete;
  DataParallel &operator=(const DataParallel &) = delete;

  /// The element-wise sums of `values` over the ranks (every rank calls it
  /// with as many values, at the same point of the run); blocks.
  std::vector<double> sumOverRanks(const std::vector<double> &values);
  /// The mean of `value` over the ranks.
  double meanOverRanks(double value);

  const std::vector<GradientBucket> &buckets() const { return buckets_; }

private:
  void stageQueued(int stage, float *gradients);

  Ranks ranks_;
  Transformer &model_;
  std::vector<GradientBucket> buckets_;
  std::vector<std::vector<int>> bucketsOfStage_; // stage -> indices into buckets_
  std::unique_ptr<rt::NcclCommunicator> comm_;
  rt::Stream commStream_;
  std::vector<std::unique_ptr<rt::Event>> stageEvents_; // one per stage, reused every step
  rt::Event reduced_{false};                            // the last bucket's all-reduce
  rt::DeviceBuffer scalars_;                            // sumOverRanks' values
};

} // namespace sparta::model
