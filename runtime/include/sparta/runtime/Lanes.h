//===- Lanes.h - Independent launches of one call, overlapped ---------------===//
//
// A call such as a sparse attention backward queues launches that do not
// depend on one another: the kernels of different head masks write disjoint
// heads, and a mask's dK/dV and dQ kernels write different gradients. Queued
// on one stream, each such kernel waits for the one before it to drain, and
// the short kernels of sparse patterns leave most of the GPU idle in their
// last wave. Lanes give such launches their own streams:
//
//   lanes.fork(main, n);        lane 0 is `main`; lanes 1..n-1 are side
//                               streams that start after the work queued on
//                               `main` so far
//   launch(..., &lanes.lane(i));
//   lanes.join(main);           `main` continues after every lane's work
//
// Ordering is by events only (no host waits), so a call stays asynchronous
// and can be captured into a CUDA graph: the side streams join the capture
// at the fork and leave it at the join. The streams and events are created
// on first use in the current context and kept for later calls.
//
//===----------------------------------------------------------------------===//
#pragma once

#include "sparta/runtime/Cuda.h"

#include <memory>
#include <vector>

namespace sparta::rt {

class Lanes {
public:
  /// Lanes 1..count-1 wait for the work queued on `main` so far. count <= 1
  /// forks nothing: lane(0) is `main`.
  void fork(const Stream &main, int count);
  /// The stream of lane i < count of the current fork.
  const Stream &lane(int i) const;
  /// `main` waits for the work queued on every lane of the current fork.
  void join(const Stream &main);

private:
  struct Side {
    Stream stream;
    Event done{false}; // recorded at the join
  };
  const Stream *main_ = nullptr;
  int count_ = 1;
  Event forked_{false};
  std::vector<std::unique_ptr<Side>> sides_; // lanes 1.. (created on first use)
};

} // namespace sparta::rt
