// Every op and the expression syntax print in the custom form and re-parse
// to the same text.
// RUN: sparta-opt %s | sparta-opt | FileCheck %s

// CHECK-LABEL: sparta.pattern @all_ops(T, L, c = 8, seed = 0) {
sparta.pattern @all_ops(T, L, c = 8, seed = 0) {
  // CHECK-NEXT: %[[D:.*]] = sparta.dense
  %d = sparta.dense
  // CHECK-NEXT: %[[E:.*]] = sparta.empty
  %e = sparta.empty
  // CHECK-NEXT: %[[B:.*]] = sparta.band lo = 0, hi = L
  %b = sparta.band lo = 0, hi = L
  // CHECK-NEXT: %[[S:.*]] = sparta.stride period = L
  %s = sparta.stride period = L
  // CHECK-NEXT: %[[C:.*]] = sparta.chunk size = L
  %c = sparta.chunk size = L
  // CHECK-NEXT: %[[M:.*]] = sparta.summary period = L, width = c
  %m = sparta.summary period = L, width = c
  // CHECK-NEXT: %[[GK:.*]] = sparta.global_keys count = 2
  %gk = sparta.global_keys count = 2
  // CHECK-NEXT: %[[GQ:.*]] = sparta.global_queries count = c
  %gq = sparta.global_queries count = c
  // CHECK-NEXT: %[[R:.*]] = sparta.random_blocks block = L, count = 3, seed = seed
  %r = sparta.random_blocks block = L, count = 3, seed = seed
  // CHECK-NEXT: %[[U:.*]] = sparta.union %[[B]], %[[S]], %[[GK]]
  %u = sparta.union %b, %s, %gk
  // CHECK-NEXT: %[[I:.*]] = sparta.intersect %[[C]], %[[M]]
  %i = sparta.intersect %c, %m
  // CHECK-NEXT: %[[U1:.*]] = sparta.union %[[D]]
  %u1 = sparta.union %d
  // CHECK-NEXT: sparta.heads %[[U]], %[[I]], %[[E]], %[[GQ]], %[[R]], %[[U1]]
  sparta.heads %u, %i, %e, %gq, %r, %u1
}

// Expressions keep their structure and print with the fewest parentheses.
// CHECK-LABEL: sparta.pattern @exprs(T, L, a = 2 * L, b = T / L, c = T mod L, d = (T + 1) * (L - 1), e = T - (L - 1), f = T - L - 1, g = -L, h = -(T + L), i = -7, j = T - -7, k = T * (L * 2), m = a + b * c - d / e mod f) {
sparta.pattern @exprs(T, L, a = 2*L, b = T/L, c = T mod L, d = (T+1)*(L-1),
                      e = T - (L - 1), f = (T - L) - 1, g = -L, h = -(T + L),
                      i = -7, j = T - -7, k = T * (L * 2),
                      m = a + b * c - d / e mod f) {
  // CHECK-NEXT: sparta.band lo = -(L / 2), hi = T{{$}}
  %b = sparta.band lo = -(L / 2), hi = ((T))
  sparta.heads %b
}

// Several patterns per module; a parameterless default chain.
// CHECK-LABEL: sparta.pattern @second(T = 16, L = T / 4)
sparta.pattern @second(T = 16, L = T / 4) {
  // CHECK-NEXT: sparta.band lo = 0, hi = 0
  %b = sparta.band lo = 0, hi = 0
  sparta.heads %b
}

// Instantiated patterns keep their marker.
// CHECK-LABEL: sparta.pattern @done(T = 64, L = 8) instantiated {
sparta.pattern @done(T = 64, L = 8) instantiated {
  %b = sparta.band lo = 0, hi = 8
  sparta.heads %b
}

// Directions: `causal` is the default and is not printed; `bidirectional`
// is, before `instantiated`. Strides with offsets and the grid ops.
// CHECK-LABEL: sparta.pattern @written_causal(T, L) {
sparta.pattern @written_causal(T, L) causal {
  // CHECK-NEXT: sparta.stride period = L, offset = L / 2{{$}}
  %s = sparta.stride period = L, offset = L / 2
  sparta.heads %s
}

// CHECK-LABEL: sparta.pattern @both_ways(T, L, H = L, W = L) bidirectional {
sparta.pattern @both_ways(T, L, H = L, W = L) bidirectional {
  // CHECK-NEXT: sparta.band lo = -L, hi = L{{$}}
  // CHECK-NEXT: sparta.grid_rows{{$}}
  // CHECK-NEXT: sparta.grid_cols{{$}}
  // CHECK-NEXT: sparta.grid_window dh = 1, dw = W / 4{{$}}
  %b = sparta.band lo = -L, hi = L
  %r = sparta.grid_rows
  %c = sparta.grid_cols
  %w = sparta.grid_window dh = 1, dw = W / 4
  sparta.heads %b, %r, %c, %w
}

// CHECK-LABEL: sparta.pattern @both_ways_done(T = 16, L = 4) bidirectional instantiated {
sparta.pattern @both_ways_done(T = 16, L = 4) bidirectional instantiated {
  %b = sparta.band lo = -4, hi = -1
  sparta.heads %b
}
