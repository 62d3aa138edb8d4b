// sparta-plan on patterns/strided.mlir: one plan per head mask; the stride
// head runs on the strided transpose, where it is a causal band, its groups
// of 16 rows packed four to a 64-row tile.
// With 64-row tiles (--sparta-plan=tile=64) the short groups are packed;
// the planner's own choice at this size is 16-row tiles, one group each.
// RUN: sparta-opt %sparta_src/patterns/strided.mlir --sparta-instantiate=bind=T=256,L=16 --sparta-plan=tile=64 | FileCheck %s
// RUN: sparta-opt %sparta_src/patterns/strided.mlir --sparta-instantiate=bind=T=256,L=16 --sparta-plan | FileCheck %s --check-prefix=CHOSEN
// CHOSEN: tile = 16x16
// RUN: sparta-opt %sparta_src/patterns/strided.mlir --sparta-instantiate=bind=T=256,L=16 --sparta-plan=tile=16 | FileCheck %s --check-prefix=TILE16

// CHECK-NOT: sparta.pattern
// CHECK:      sparta.plan @strided(T = 256, L = 16) {
// CHECK-NEXT:   sparta.head_plan 0 mask = band(0, 16) {
// CHECK-NEXT:     sparta.component @band band(0, 16) tile = 64x64, queries = identity, keys = identity, schedule = band<0, 16>, grid = <fwd = 4, bwd = 4>
// CHECK-NEXT:   }
// CHECK-NEXT:   sparta.head_plan 1 mask = stride(16) {
// CHECK-NEXT:     sparta.component @stride stride(16) tile = 64x64, queries = strided<16, pack = 4>, keys = strided<16, pack = 4>, schedule = band<0, inf>, grid = <fwd = 4, bwd = 4>
// CHECK-NEXT:   }
// CHECK-NEXT: }

// The tile option reaches the planner: 16 x 16 tiles, 16 query tiles.
// TILE16: sparta.plan @strided(T = 256, L = 16) {
// TILE16: sparta.component @band {{.*}} grid = <fwd = 16, bwd = 16>
