// Plan IR round-trips: parse -> print -> parse gives the same text, in the
// custom and in the generic form, for every attribute spelling (each map
// kind, band with inf and rows_below, all prefix kinds, a grid box, a table, exclusions,
// a stored description, an empty head, nested masks, a 64-bit seed).
// RUN: sparta-opt %s | FileCheck %s
// RUN: sparta-opt %s | sparta-opt | FileCheck %s
// RUN: sparta-opt %s --mlir-print-op-generic | sparta-opt | FileCheck %s
// A whole pipeline's output parses back to itself.
// RUN: sparta-opt %sparta_src/patterns/bigbird.mlir --sparta-instantiate=bind=T=512,L=64 --sparta-plan > %t.plan.mlir
// RUN: sparta-opt %t.plan.mlir > %t.again.mlir
// RUN: diff %t.plan.mlir %t.again.mlir

// CHECK-LABEL: sparta.plan @every_form(T = 130, L = 10, c = 3) {
sparta.plan @every_form(T = 130, L = 10, c = 3) {
  // CHECK-NEXT: sparta.head_plan 1 mask = union(band(-2, 10), stride(10), intersect(chunk(10), summary(10, 3))) {
  sparta.head_plan 1 mask = union(band(-2, 10), stride(10), intersect(chunk(10), summary(10, 3))) {
    // CHECK-NEXT: sparta.component @band band(-2, 10) tile = 16x16, queries = identity, keys = identity, schedule = band<0, 10>, grid = <fwd = 9, bwd = 9>
    sparta.component @band band(-2, 10) tile = 16x16, queries = identity, keys = identity, schedule = band<0, 10>, grid = <fwd = 9, bwd = 9>
    // CHECK-NEXT: sparta.component @stride stride(10) minus band(-2, 10) tile = 16x16, queries = strided<10>, keys = strided<10>, schedule = band<2, inf>
    sparta.component @stride stride(10) minus band(-2, 10) tile = 16x16, queries = strided<10>, keys = strided<10>, schedule = band<2, inf>
    // CHECK-NEXT: sparta.component @chunk chunk(10) minus band(-2, 10), stride(10) description "hand-written" tile = 16x16, queries = chunked<10>, keys = chunked<10>, schedule = band<0, 0, rows_below = 3>
    sparta.component @chunk chunk(10) minus band(-2, 10), stride(10) description "hand-written" tile = 16x16, queries = chunked<10>, keys = chunked<10>, schedule = band<0, 0, rows_below = 3>
  }
  // CHECK-NEXT: }
  // CHECK-NEXT: sparta.head_plan 0 mask = union(summary(10, 3), global_keys(4), random_blocks(16, 2, 18446744073709551609)) {
  sparta.head_plan 0 mask = union(summary(10, 3), global_keys(4), random_blocks(16, 2, 18446744073709551609)) {
    // CHECK-NEXT: sparta.component @summary summary(10, 3) tile = 16x16, queries = identity, keys = summary_gather<10, 3>, schedule = prefix<summary>
    sparta.component @summary summary(10, 3) tile = 16x16, queries = identity, keys = summary_gather<10, 3>, schedule = prefix<summary>
    // CHECK-NEXT: schedule = prefix<summary_earlier_chunks>
    sparta.component @summary summary(10, 3) tile = 16x16, queries = identity, keys = summary_gather<10, 3>, schedule = prefix<summary_earlier_chunks>
    // CHECK-NEXT: sparta.component @global_keys global_keys(4) tile = 16x16, queries = identity, keys = identity, schedule = prefix<global_keys, count = 4, offset = 0>
    sparta.component @global_keys global_keys(4) tile = 16x16, queries = identity, keys = identity, schedule = prefix<global_keys, count = 4, offset = 0>
    // CHECK-NEXT: sparta.component @table random_blocks(16, 2, 18446744073709551609) tile = 16x16, queries = identity, keys = identity, schedule = table<fwd_offsets = [0, 1, 1, 1, 1, 1, 1, 1, 1, 2], fwd_entries = [0, 17], bwd_offsets = [0, 1, 1, 1, 1, 1, 1, 1, 1, 2], bwd_entries = [0, 17]>
    sparta.component @table random_blocks(16, 2, 18446744073709551609) tile = 16x16, queries = identity, keys = identity, schedule = table<fwd_offsets = [0, 1, 1, 1, 1, 1, 1, 1, 1, 2], fwd_entries = [0, 17], bwd_offsets = [0, 1, 1, 1, 1, 1, 1, 1, 1, 2], bwd_entries = [0, 17]>
  }
  // CHECK-NEXT: }
  // CHECK-NEXT: sparta.head_plan 2 mask = empty {
  // CHECK-NEXT: }
  sparta.head_plan 2 mask = empty {
  }
}
// CHECK-NEXT: }

// A grid window as the planner splits it: its own row, a band on the chunked
// map, and the other rows, a grid box.
// CHECK-LABEL: sparta.plan @grid(T = 256, W = 32) bidirectional {
sparta.plan @grid(T = 256, W = 32) bidirectional {
  // CHECK-NEXT: sparta.head_plan 0 mask = grid_window(32, 2, 5) {
  sparta.head_plan 0 mask = grid_window(32, 2, 5) {
    // CHECK-NEXT: sparta.component @window_row intersect(chunk(32), band(-5, 5)) tile = 16x16, queries = chunked<32>, keys = chunked<32>, schedule = band<-5, 5>
    sparta.component @window_row intersect(chunk(32), band(-5, 5)) tile = 16x16, queries = chunked<32>, keys = chunked<32>, schedule = band<-5, 5>
    // CHECK-NEXT: sparta.component @window grid_window(32, 2, 5) minus chunk(32) tile = 16x16, queries = identity, keys = identity, schedule = grid_box<width = 32, rows = [-2, 2], cols = [-5, 5]>
    sparta.component @window grid_window(32, 2, 5) minus chunk(32) tile = 16x16, queries = identity, keys = identity, schedule = grid_box<width = 32, rows = [-2, 2], cols = [-5, 5]>
  }
}

// The attributes also stand alone, with the dialect prefix.
// CHECK-LABEL: sparta.plan @attrs
// CHECK-SAME: a = #sparta.mask<union(band(0, 4), stride(2))>
// CHECK-SAME: b = #sparta.map<summary_gather<8, 2>>
// CHECK-SAME: c = #sparta.band<1, inf, rows_below = 5>
// CHECK-SAME: d = #sparta.prefix<global_keys, count = 2, offset = 1>
// CHECK-SAME: e = #sparta.table<fwd_offsets = [0, 0], fwd_entries = [], bwd_offsets = [0], bwd_entries = []>
// CHECK-SAME: f = #sparta.grid_box<width = 4, rows = [1, 1], cols = [-1, 0]>
sparta.plan @attrs(T = 8, L = 1) attributes {
    a = #sparta.mask<union(band(0, 4), stride(2))>, b = #sparta.map<summary_gather<8, 2>>,
    c = #sparta.band<1, inf, rows_below = 5>, d = #sparta.prefix<global_keys, count = 2, offset = 1>,
    e = #sparta.table<fwd_offsets = [0, 0], fwd_entries = [], bwd_offsets = [0], bwd_entries = []>,
    f = #sparta.grid_box<width = 4, rows = [1, 1], cols = [-1, 0]>} {
  sparta.head_plan 0 mask = dense {
  }
}
