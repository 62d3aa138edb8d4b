// sparta-plan on patterns/dense.mlir: one unbounded band; a ragged T
// (200 = 3 * 64 + 8) still needs ceil(200 / 64) = 4 tiles per side.
// RUN: sparta-opt %sparta_src/patterns/dense.mlir --sparta-instantiate=bind=T=200,L=16 --sparta-plan | FileCheck %s

// CHECK:      sparta.plan @dense(T = 200, L = 16) {
// CHECK-NEXT:   sparta.head_plan 0 mask = dense {
// CHECK-NEXT:     sparta.component @dense dense tile = 64x64, queries = identity, keys = identity, schedule = band<0, inf>, grid = <fwd = 4, bwd = 4>
// CHECK-NEXT:   }
// CHECK-NEXT: }
