// sparta-plan on patterns/strided_merged.mlir: the union becomes two
// components; the stride part minus the local band 0 <= i - j <= L is, on the
// strided transpose (row = r * L + col), the band r - r' >= 2.
// RUN: sparta-opt %sparta_src/patterns/strided_merged.mlir --sparta-instantiate=bind=T=4096,L=64 --sparta-plan | FileCheck %s

// CHECK:      sparta.plan @strided_merged(T = 4096, L = 64) {
// CHECK-NEXT:   sparta.head_plan 0 mask = union(band(0, 64), stride(64)) {
// CHECK-NEXT:     sparta.component @band band(0, 64) tile = 64x64, queries = identity, keys = identity, schedule = band<0, 64>, grid = <fwd = 64, bwd = 64>
// CHECK-NEXT:     sparta.component @stride stride(64) minus band(0, 64) tile = 64x64, queries = strided<64>, keys = strided<64>, schedule = band<2, inf>, grid = <fwd = 64, bwd = 64>
// CHECK-NEXT:   }
// CHECK-NEXT: }
