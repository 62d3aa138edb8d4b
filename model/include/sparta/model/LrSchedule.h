//===- LrSchedule.h - Learning-rate schedule: linear warm-up, cosine decay --===//
//
// The paper's schedule: the rate rises linearly from ~0 to its peak over the
// warm-up steps, then follows half a cosine down to a floor at the last step
// and stays there. A pure function of the step, so a resumed run needs no
// schedule state in its checkpoint.
//
//===----------------------------------------------------------------------===//
#pragma once

#include <cstdint>

namespace sparta::model {

struct LrSchedule {
  double peak = 1e-3;      // the rate at the end of warm-up
  double floor = 0;        // the rate at the last step and after it
  int64_t warmupSteps = 0; // steps 0 .. warmupSteps-1 ramp up
  int64_t totalSteps = 1;  // the decay ends at step totalSteps-1

  /// Throws sparta::Error naming the bad field (negative rates, floor above
  /// peak, warm-up not shorter than the run, ...).
  void validate() const;
  /// The rate for 0-based `step`:
  ///   step < warmup          : peak * (step + 1) / warmup
  ///   warmup <= step < total : floor + (peak - floor) * (1 + cos(pi * p)) / 2,
  ///                            p = (step - warmup) / (total - 1 - warmup)
  ///   step >= total - 1      : floor
  /// When warm-up leaves no step to decay over (warmup = total - 1), every
  /// step from warmup on uses the peak. Warm-up counts step + 1 so that step 0 takes a small
  /// non-zero step rather than wasting a batch.
  double at(int64_t step) const;
};

} // namespace sparta::model
