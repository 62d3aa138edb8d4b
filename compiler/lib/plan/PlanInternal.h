//===- PlanInternal.h - Pieces of the planner shared between its files ----===//
#pragma once

#include "sparta/Plan.h"

#include <optional>
#include <string>
#include <vector>

namespace sparta {

//--- ClosedForms.cpp ----------------------------------------------------------

/// A closed-form component in the making: its schedule and the part of the
/// head's mask it computes (the operand, or one side of it, see ClosedForms.cpp),
/// less `excluded`: the pairs of the operand that a sibling piece computes
/// (a grid window's own row), beyond what earlier operands cover.
struct Candidate {
  std::string name;
  tiling::TileSchedule schedule;
  Mask part;
  std::vector<Mask> excluded = {};
};

/// Order in which union operands are planned: closed-form exclusions exist
/// for a later kind against an earlier one, not the other way round.
int planningRank(const Mask &m);

/// The closed-form components of one union operand (none: its kind has no
/// closed form): one, or the pieces that together compute it.
std::vector<Candidate> closedForm(const Mask &m, int T, bool causal);

/// Why `m` has no closed form of its own.
std::string noFormReason(const Mask &m);

enum class Exclusion { Disjoint, Adjusted, Everything, Unknown };

/// Subtracts the pairs of an earlier component's operand `e` from the
/// candidates of operand `m` in closed form; a candidate may become two (a
/// bidirectional band cut in its middle) or none. Unknown: no closed form
/// (the candidates are cleared); Everything: nothing is left.
Exclusion exclude(std::vector<Candidate> &candidates, const Mask &m, const Mask &e, int T,
                  bool causal);

//--- TableBuilder.cpp, PlanReport.cpp -----------------------------------------

/// Turns `component` (part and excluded already set) into a table-driven
/// component on identity maps: every tile pair that holds a pair of it, with
/// exact full/partial flags, forward lists and their transpose.
void buildTable(PlanComponent &component, int T, tiling::TileShape shape);

/// measureWork of one component of a plan for sequence length T; without
/// countPairs, allowedPairs stays 0 (partial tiles are not swept).
WorkReport componentWork(const PlanComponent &component, int64_t T, bool countPairs);

} // namespace sparta
