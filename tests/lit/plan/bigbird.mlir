// sparta-plan on patterns/bigbird.mlir: the random blocks have no closed
// form, so they become a table component with explicit CSR tile lists
// (entry = (tile << 1) | full).
// RUN: sparta-opt %sparta_src/patterns/bigbird.mlir --sparta-instantiate=bind=T=256,L=32,seed=3 --sparta-plan | FileCheck %s

// CHECK:      sparta.plan @bigbird(T = 256, L = 32, W = 32, block = 32, g = 1, r = 2, seed = 3) {
// CHECK-NEXT:   sparta.head_plan 0 mask = union(band(0, 32), global_keys(1), global_queries(1), random_blocks(32, 2, 3)) {
// CHECK-NEXT:     sparta.component @band band(0, 32) tile = 64x64, queries = identity, keys = identity, schedule = band<0, 32>, grid = <fwd = 4, bwd = 4>
// CHECK-NEXT:     sparta.component @global_keys global_keys(1) minus band(0, 32) tile = 64x64, queries = identity, keys = identity, schedule = prefix<global_keys, count = 1, offset = 33>, grid = <fwd = 4, bwd = 4>
// CHECK-NEXT:     sparta.component @table random_blocks(32, 2, 3) minus band(0, 32), global_keys(1) tile = 64x64, queries = identity, keys = identity, schedule = table<fwd_offsets = [0, 1, 3, 5, 7], fwd_entries = [0, 0, 2, 0, 2, 0, 2], bwd_offsets = [0, 4, 7, 7, 7], bwd_entries = [0, 2, 4, 6, 2, 4, 6]>, grid = <fwd = 4, bwd = 4>
// CHECK-NEXT:   }
// CHECK-NEXT: }
