// sparta-plan on patterns/bigbird.mlir: the random blocks have no closed
// form, so they become a table component with explicit CSR tile lists
// (entry = (tile << 1) | full).
// RUN: sparta-opt %sparta_src/patterns/bigbird.mlir --sparta-instantiate=bind=T=256,L=32,seed=3 --sparta-plan | FileCheck %s

// CHECK:      sparta.plan @bigbird(T = 256, L = 32, W = 32, block = 32, g = 1, r = 2, seed = 3) {
// CHECK-NEXT:   sparta.head_plan 0 mask = union(band(0, 32), global_keys(1), global_queries(1), random_blocks(32, 2, 3)) {
// CHECK-NEXT:     sparta.component @band band(0, 32) tile = 32x32, queries = identity, keys = identity, schedule = band<0, 32>, grid = <fwd = 8, bwd = 8>
// CHECK-NEXT:     sparta.component @global_keys global_keys(1) minus band(0, 32) tile = 16x16, queries = identity, keys = identity, schedule = prefix<global_keys, count = 1, offset = 33>, grid = <fwd = 16, bwd = 16>
// CHECK-NEXT:     sparta.component @table random_blocks(32, 2, 3) minus band(0, 32), global_keys(1) tile = 16x16, queries = identity, keys = identity, schedule = table<fwd_offsets = [0, 0, 0, 1, 3, 4, 6, 7, 9, 13, 17, 19, 21, 23, 25, 27, 29], fwd_entries = [0, 0, 2, 4, 5, 6, 8, 9, 10, 0, 3, 5, 7, 0, 3, 5, 7, 13, 15, 13, 15, 0, 3, 0, 3, 13, 15, 13, 15], bwd_offsets = [0, 6, 11, 15, 18, 20, 21, 25, 29, 29, 29, 29, 29, 29, 29, 29, 29], bwd_entries = [4, 6, 16, 18, 24, 26, 6, 17, 19, 25, 27, 8, 11, 17, 19, 10, 17, 19, 12, 15, 14, 21, 23, 29, 31, 21, 23, 29, 31]>, grid = <fwd = 16, bwd = 16>
// CHECK-NEXT:   }
// CHECK-NEXT: }
