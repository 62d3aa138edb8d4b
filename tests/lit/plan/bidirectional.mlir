// sparta-plan on bidirectional patterns and strides with an offset. The plan
// says `bidirectional`; bands reach keys after the query (dlo < 0, -inf);
// a stride minus a symmetric band is two components, one per side, each
// restricted to its side by a band in its part; the global keys of
// Longformer start past the window, and its global query sees the keys past
// the window on the right only (the window and the global key cover the rest).
// A stride with offset k rotates the key map by k columns.
// RUN: sparta-opt %sparta_src/patterns/longformer_bidir.mlir --sparta-instantiate=bind=T=256,L=16 --sparta-plan | FileCheck %s --check-prefix=LONGFORMER
// RUN: sparta-opt %sparta_src/tests/plan-corpus/bidir_strided.mlir --sparta-instantiate=bind=T=256,L=16 --sparta-plan | FileCheck %s --check-prefix=STRIDED
// RUN: sparta-opt %sparta_src/tests/plan-corpus/stride_offset.mlir --sparta-instantiate=bind=T=256,L=16 --sparta-plan | FileCheck %s --check-prefix=OFFSET
// RUN: sparta-opt %sparta_src/patterns/image_axial.mlir --sparta-instantiate=bind=T=4096,L=64 --sparta-plan | FileCheck %s --check-prefix=AXIAL
// The printed plans parse back to the same text.
// RUN: sparta-opt %sparta_src/patterns/longformer_bidir.mlir --sparta-instantiate=bind=T=256,L=16 --sparta-plan | sparta-opt | FileCheck %s --check-prefix=LONGFORMER
// RUN: sparta-opt %sparta_src/tests/plan-corpus/stride_offset.mlir --sparta-instantiate=bind=T=256,L=16 --sparta-plan | sparta-opt | FileCheck %s --check-prefix=OFFSET

// LONGFORMER:      sparta.plan @longformer_bidir(T = 256, L = 16, W = 64, g = 1) bidirectional {
// LONGFORMER-NEXT:   sparta.head_plan 0 mask = union(band(-64, 64), global_keys(1), global_queries(1)) {
// LONGFORMER-NEXT:     sparta.component @band band(-64, 64) tile = 64x64, queries = identity, keys = identity, schedule = band<-64, 64>, grid = <fwd = 4, bwd = 4>
// LONGFORMER-NEXT:     sparta.component @global_keys global_keys(1) minus band(-64, 64) tile = 16x16, queries = identity, keys = identity, schedule = prefix<global_keys, count = 1, offset = 65>, grid = <fwd = 16, bwd = 16>
// LONGFORMER-NEXT:     sparta.component @global_queries intersect(global_queries(1), band(-256, -65)) minus band(-64, 64), global_keys(1) tile = 16x16, queries = identity, keys = identity, schedule = band<-inf, -65, rows_below = 1>, grid = <fwd = 16, bwd = 16>
// LONGFORMER-NEXT:   }
// LONGFORMER-NEXT: }

// STRIDED:      sparta.plan @bidir_strided(T = 256, L = 16) bidirectional {
// STRIDED:        sparta.component @band band(-16, 16) {{.*}} schedule = band<-16, 16>
// STRIDED-NEXT:   sparta.component @stride intersect(stride(16), band(-256, -32)) minus band(-16, 16) {{.*}} schedule = band<-inf, -2>
// STRIDED-NEXT:   sparta.component @stride intersect(stride(16), band(32, 256)) minus band(-16, 16) {{.*}} schedule = band<2, inf>

// OFFSET:      sparta.plan @stride_offset(T = 256, L = 16, k = 8) {
// OFFSET:        sparta.component @stride stride(16, 8) minus band(0, 16) tile = 16x16, queries = strided<16>, keys = strided<16, rotate = 8>, schedule = band<1, inf>, grid = <fwd = 16, bwd = 16>

// Rows and columns of a 64 x 64 image: each a whole group of 64, one full tile.
// AXIAL:      sparta.head_plan 0 mask = chunk(64) {
// AXIAL-NEXT:   sparta.component @chunk chunk(64) tile = 64x64, queries = chunked<64>, keys = chunked<64>, schedule = band<-inf, inf>, grid = <fwd = 64, bwd = 64>
// AXIAL:      sparta.head_plan 1 mask = stride(64) {
// AXIAL-NEXT:   sparta.component @stride stride(64) tile = 64x64, queries = strided<64>, keys = strided<64>, schedule = band<-inf, inf>, grid = <fwd = 64, bwd = 64>
