//===- PlanInternal.h - Pieces of the planner shared between its files ----===//
#pragma once

#include "sparta/Plan.h"

namespace sparta {

/// Turns `component` (part and excluded already set) into a table-driven
/// component on identity maps: every tile pair that holds a pair of it, with
/// exact full/partial flags, forward lists and their transpose.
void buildTable(PlanComponent &component, int T, tiling::TileShape shape);

/// measureWork of one component of a plan for sequence length T; without
/// countPairs, allowedPairs stays 0 (partial tiles are not swept).
WorkReport componentWork(const PlanComponent &component, int64_t T, bool countPairs);

} // namespace sparta
