//===- SpartaDialect.td - The sparta dialect and its mask type -------------===//
//
// The sparta dialect describes sparse attention patterns: a pattern is a
// symbol with named integer parameters whose body builds one boolean mask per
// head out of a few primitive masks (band, stride, chunk, ...) combined with
// union and intersect. Masks have a single type, !sparta.mask.
//
//===----------------------------------------------------------------------===//
#ifndef SPARTA_DIALECT_TD
#define SPARTA_DIALECT_TD

include "mlir/IR/OpBase.td"
include "mlir/IR/AttrTypeBase.td"

def Sparta_Dialect : Dialect {
  let name = "sparta";
  let cppNamespace = "::mlir::sparta";
  let summary = "Declarative sparse attention patterns";
  let description = [{
    Patterns of the Sparse Transformer (Child et al. 2019) and its relatives,
    written once with symbolic parameters (T, L, ...) and instantiated for
    concrete values by the `sparta-instantiate` pass.
  }];
  let useDefaultTypePrinterParser = 1;
  let useDefaultAttributePrinterParser = 1;
}

class Sparta_Type<string name, string typeMnemonic> : TypeDef<Sparta_Dialect, name> {
  let mnemonic = typeMnemonic;
}

// A causal boolean mask over (query i, key j), 0 <= j <= i < T. Parameterless:
// every mask has the same type, so the custom assembly never spells it.
def Sparta_MaskType : Sparta_Type<"Mask", "mask"> {
  let summary = "a causal attention mask";
}

#endif // SPARTA_DIALECT_TD
