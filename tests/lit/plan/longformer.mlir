// sparta-plan on patterns/longformer.mlir: the global keys minus the window
// are a prefix that starts W + 1 rows below the diagonal; the global queries
// (g <= g global keys) are covered by the global keys and get no component.
// RUN: sparta-opt %sparta_src/patterns/longformer.mlir --sparta-instantiate=bind=T=256,L=16 --sparta-plan | FileCheck %s

// CHECK:      sparta.plan @longformer(T = 256, L = 16, W = 16, g = 1) {
// CHECK-NEXT:   sparta.head_plan 0 mask = union(band(0, 16), global_keys(1), global_queries(1)) {
// CHECK-NEXT:     sparta.component @band band(0, 16) tile = 16x16, queries = identity, keys = identity, schedule = band<0, 16>, grid = <fwd = 16, bwd = 16>
// CHECK-NEXT:     sparta.component @global_keys global_keys(1) minus band(0, 16) tile = 16x16, queries = identity, keys = identity, schedule = prefix<global_keys, count = 1, offset = 17>, grid = <fwd = 16, bwd = 16>
// CHECK-NEXT:   }
// CHECK-NEXT: }
