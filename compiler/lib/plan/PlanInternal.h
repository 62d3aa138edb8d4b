//===- PlanInternal.h - Pieces of the planner shared between its files ----===//
#pragma once

#include "sparta/Plan.h"

namespace sparta {

/// Turns `component` (part and excluded already set) into a table-driven
/// component on identity maps: every tile pair that holds a pair of it, with
/// exact full/partial flags, forward lists and their transpose.
void buildTable(PlanComponent &component, int T, int tile);

} // namespace sparta
