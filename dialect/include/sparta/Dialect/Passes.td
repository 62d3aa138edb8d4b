//===- Passes.td - The sparta dialect's passes ------------------------------===//
//
// sparta-instantiate binds parameters and folds every expression; after it a
// pattern is concrete. sparta-canonicalize simplifies the mask expressions
// (exactly, never changing which (i, j) pairs are allowed). The pass that
// plans a pattern (sparta-plan) runs the C++ planner, so it is declared beside
// it, in compiler/lib/plan/PlanPasses.td.
//
//===----------------------------------------------------------------------===//
#ifndef SPARTA_PASSES_TD
#define SPARTA_PASSES_TD

include "mlir/Pass/PassBase.td"

def SpartaInstantiate : Pass<"sparta-instantiate", "::mlir::ModuleOp"> {
  let summary = "Bind pattern parameters and fold every expression to a constant";
  let description = [{
    Values come from `bind` (NAME=VALUE entries), then from the parameters'
    defaults, which may use earlier parameters. Every expression in the body
    is folded; the pattern records its values and is marked `instantiated`.
    Errors (at the pattern's location): unknown or missing parameter, bad
    binding syntax, division by zero, overflow; the verifiers then reject T
    outside [1, 2^28], L < 1 and out-of-range operands. With `pattern`
    set, only that pattern is kept and instantiated.
  }];
  let options = [
    ListOption<"bind", "bind", "std::string",
               "parameter values, NAME=VALUE (e.g. bind=T=64,L=8)">,
    Option<"pattern", "pattern", "std::string", /*default=*/"\"\"",
           "instantiate only this pattern and erase the others">,
  ];
}

def SpartaCanonicalize : Pass<"sparta-canonicalize", "::mlir::ModuleOp"> {
  let summary = "Simplify mask expressions exactly";
  let description = [{
    Flattens and deduplicates unions and intersections, removes dense/empty
    identities, and, in instantiated patterns where T is known, rewrites
    primitives that cover everything or nothing into dense/empty (band
    clamping, stride/chunk/global counts against T). Merges identical ops and
    erases unused ones.
  }];
}

#endif // SPARTA_PASSES_TD
