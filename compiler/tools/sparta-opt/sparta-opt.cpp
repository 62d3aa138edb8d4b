//===- sparta-opt.cpp - mlir-opt for the sparta dialect --------------------===//
//
// Parses, verifies, transforms and prints pattern files and plans; used by
// the lit tests. It registers the dialect, its passes (instantiate,
// canonicalize), the planning pass and MLIR's canonicalizer and CSE, and hands
// the rest to MLIR's opt driver. Unlike the other tools it links MLIR and the
// compiler statically instead of through libsparta, whose MLIR is private.
// Its options are MLIR's (llvm::cl); `--version` prints sparta's version like
// every tool.
//
//===----------------------------------------------------------------------===//
#include "sparta/Compiler.h"
#include "sparta/Dialect/Passes.h"
#include "sparta/Dialect/SpartaDialect.h"
#include "sparta/PlanPasses.h"

#include "mlir/IR/DialectRegistry.h"
#include "mlir/Tools/mlir-opt/MlirOptMain.h"
#include "mlir/Transforms/Passes.h"
#include "llvm/Support/CommandLine.h"
#include "llvm/Support/raw_ostream.h"

int main(int argc, char **argv) {
  mlir::DialectRegistry registry;
  registry.insert<mlir::sparta::SpartaDialect>();
  mlir::sparta::registerSpartaPasses();
  mlir::sparta::registerSpartaPlanPasses();
  mlir::registerCanonicalizerPass();
  mlir::registerCSEPass();
  llvm::cl::SetVersionPrinter([](llvm::raw_ostream &os) {
    os << "sparta-opt (sparta) " << sparta::spartaVersion() << "\n";
  });
  return mlir::asMainReturnCode(mlir::MlirOptMain(
      argc, argv, "sparta-opt: the sparta dialect's optimizer driver\n", registry));
}
