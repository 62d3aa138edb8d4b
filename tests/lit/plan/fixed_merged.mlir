// sparta-plan on patterns/fixed_merged.mlir: the summary part minus the
// query's own chunk keeps the summary keys of earlier chunks only.
// RUN: sparta-opt %sparta_src/patterns/fixed_merged.mlir --sparta-instantiate=bind=T=256,L=16,c=4 --sparta-plan | FileCheck %s

// CHECK:      sparta.plan @fixed_merged(T = 256, L = 16, c = 4) {
// CHECK-NEXT:   sparta.head_plan 0 mask = union(chunk(16), summary(16, 4)) {
// CHECK-NEXT:     sparta.component @chunk chunk(16) tile = 16x16, queries = chunked<16>, keys = chunked<16>, schedule = band<0, inf>, grid = <fwd = 16, bwd = 16>
// CHECK-NEXT:     sparta.component @summary summary(16, 4) minus chunk(16) tile = 64x64, queries = identity, keys = summary_gather<16, 4>, schedule = prefix<summary_earlier_chunks>, grid = <fwd = 4, bwd = 1>
// CHECK-NEXT:   }
// CHECK-NEXT: }
