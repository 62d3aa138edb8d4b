//===- LrSchedule.cpp - Learning-rate schedule: linear warm-up, cosine decay ===//
#include "sparta/model/LrSchedule.h"

#include "sparta/Error.h"

#include <fmt/format.h>

#include <cmath>

namespace sparta::model {

void LrSchedule::validate() const {
  if (!(peak > 0) || !std::isfinite(peak))
    throw Error(fmt::format("learning rate: the peak must be positive and finite (got {})", peak));
  if (!(floor >= 0) || floor > peak)
    throw Error(
        fmt::format("learning rate: the floor must lie in [0, peak = {}] (got {})", peak, floor));
  if (totalSteps < 1)
    throw Error(
        fmt::format("learning rate: the number of steps must be at least 1 (got {})", totalSteps));
  if (warmupSteps < 0 || warmupSteps >= totalSteps)
    throw Error(
        fmt::format("learning rate: warm-up must last 0 to {} steps, fewer than the {} steps "
                    "of the run (got {})",
                    totalSteps - 1, totalSteps, warmupSteps));
}

double LrSchedule::at(int64_t step) const {
  validate();
  if (step < 0)
    throw Error(fmt::format("learning rate: negative step {}", step));
  if (step < warmupSteps)
    return peak * double(step + 1) / double(warmupSteps);
  int64_t decaySteps = totalSteps - 1 - warmupSteps;
  if (decaySteps <= 0)
    return peak; // warm-up leaves no step to decay over
  if (step >= totalSteps - 1)
    return floor;
  double p = double(step - warmupSteps) / double(decaySteps);
  const double pi = std::acos(-1.0);
  return floor + (peak - floor) * 0.5 * (1 + std::cos(pi * p));
}

} // namespace sparta::model
