//===- PlanPasses.h - The planning pass (sparta-plan) ------------------------===//
//
// sparta-plan (compiler/lib/plan/PlanPasses.td, PlanPass.cpp) and its
// registration hook for tools that drive passes by name (sparta-opt).
//
//===----------------------------------------------------------------------===//
#pragma once

#include "sparta/Dialect/SpartaPlanOps.h"

#include "mlir/Pass/Pass.h"

namespace mlir::sparta {

#define GEN_PASS_DECL
#include "sparta/PlanPasses.h.inc"

#define GEN_PASS_REGISTRATION
#include "sparta/PlanPasses.h.inc"

} // namespace mlir::sparta
