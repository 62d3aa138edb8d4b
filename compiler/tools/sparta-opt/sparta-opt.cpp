//===- sparta-opt.cpp - mlir-opt for the sparta dialect --------------------===//
//
// Parses, verifies, transforms and prints pattern files and plans; used by
// the lit tests. It registers the dialect, its passes (instantiate,
// canonicalize), the planning pass and MLIR's canonicalizer and CSE, and hands
// the rest to MLIR's opt driver. Unlike the other tools it links MLIR and the
// compiler statically instead of through libsparta, whose MLIR is private.
//
//===----------------------------------------------------------------------===//
#include "sparta/Dialect/Passes.h"
#include "sparta/Dialect/SpartaDialect.h"
#include "sparta/PlanPasses.h"

#include "mlir/IR/DialectRegistry.h"
#include "mlir/Tools/mlir-opt/MlirOptMain.h"
#include "mlir/Transforms/Passes.h"

int main(int argc, char **argv) {
  mlir::DialectRegistry registry;
  registry.insert<mlir::sparta::SpartaDialect>();
  mlir::sparta::registerSpartaPasses();
  mlir::sparta::registerSpartaPlanPasses();
  mlir::registerCanonicalizerPass();
  mlir::registerCSEPass();
  return mlir::asMainReturnCode(mlir::MlirOptMain(
      argc, argv, "sparta-opt: the sparta dialect's optimizer driver\n", registry));
}
