// sparta-plan on patterns/fixed.mlir: the chunk head is a causal band on the
// chunked map, four chunks of 16 rows to a 64-row tile; the summary head a
// prefix over the gathered summary keys.
// With 64-row tiles (--sparta-plan=tile=64) the short groups are packed;
// the planner's own choice at this size is 16-row tiles, one group each.
// RUN: sparta-opt %sparta_src/patterns/fixed.mlir --sparta-instantiate=bind=T=256,L=16,c=4 --sparta-plan=tile=64 | FileCheck %s
// RUN: sparta-opt %sparta_src/patterns/fixed.mlir --sparta-instantiate=bind=T=256,L=16,c=4 --sparta-plan | FileCheck %s --check-prefix=CHOSEN
// CHOSEN: tile = 16x16
// A summary of width 0 allows nothing: its head plan has no component.
// RUN: sparta-opt %sparta_src/patterns/fixed.mlir --sparta-instantiate=bind=T=256,L=16,c=0 --sparta-plan | FileCheck %s --check-prefix=EMPTY

// CHECK:      sparta.plan @fixed(T = 256, L = 16, c = 4) {
// CHECK-NEXT:   sparta.head_plan 0 mask = chunk(16) {
// CHECK-NEXT:     sparta.component @chunk chunk(16) tile = 64x64, queries = chunked<16, pack = 4>, keys = chunked<16, pack = 4>, schedule = band<0, inf>, grid = <fwd = 4, bwd = 4>
// CHECK-NEXT:   }
// CHECK-NEXT:   sparta.head_plan 1 mask = summary(16, 4) {
// CHECK-NEXT:     sparta.component @summary summary(16, 4) tile = 64x64, queries = identity, keys = summary_gather<16, 4>, schedule = prefix<summary>, grid = <fwd = 4, bwd = 1>
// CHECK-NEXT:   }
// CHECK-NEXT: }

// EMPTY:      sparta.head_plan 1 mask = empty {
// EMPTY-NEXT: }
