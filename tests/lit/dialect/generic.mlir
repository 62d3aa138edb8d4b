// The generic form and the standalone attribute syntax parse, and print back
// in the custom form; the mask type is spelled !sparta.mask.
// RUN: sparta-opt %s | FileCheck %s
// RUN: sparta-opt %s --mlir-print-op-generic | FileCheck %s --check-prefix=GENERIC

// CHECK: sparta.pattern @g(T, L) {
// CHECK-NEXT: sparta.band lo = 1, hi = L * 2
// GENERIC: "sparta.pattern"() <{param_defaults = [unit, unit], param_names = ["T", "L"], sym_name = "g"}>
// GENERIC: "sparta.band"() <{hi = #sparta.expr<L * 2>, lo = #sparta.expr<1>}> : () -> !sparta.mask
"sparta.pattern"() <{param_defaults = [unit, unit], param_names = ["T", "L"], sym_name = "g"}> ({
  %0 = "sparta.band"() <{hi = #sparta.expr<L * 2>, lo = #sparta.expr<1>}> : () -> !sparta.mask
  "sparta.heads"(%0) : (!sparta.mask) -> ()
}) : () -> ()
