// sparta-canonicalize: one pattern per rewrite. Patterns marked
// `instantiated` have a known T (16 here), which the T-dependent rules need.
// RUN: sparta-opt %s --sparta-canonicalize | FileCheck %s

// CHECK-LABEL: @flatten_dedup(
// CHECK-NEXT: %[[A:.*]] = sparta.band lo = 0, hi = 2
// CHECK-NEXT: %[[B:.*]] = sparta.stride period = 4
// CHECK-NEXT: %[[C:.*]] = sparta.chunk size = 4
// CHECK-NEXT: %[[U:.*]] = sparta.union %[[A]], %[[B]], %[[C]]
// CHECK-NEXT: %[[I:.*]] = sparta.intersect %[[A]], %[[B]], %[[C]]
// CHECK-NEXT: sparta.heads %[[U]], %[[I]]
sparta.pattern @flatten_dedup(T = 16, L = 4) instantiated {
  %a = sparta.band lo = 0, hi = 2
  %b = sparta.stride period = 4
  %c = sparta.chunk size = 4
  %ab = sparta.union %a, %b
  %u = sparta.union %ab, %a, %c, %b
  %ia = sparta.intersect %a, %b
  %ib = sparta.intersect %ia, %c
  %i = sparta.intersect %ib, %a
  sparta.heads %u, %i
}

// A nest is flattened by the op at its top, however deep, and a nested op
// that something else also uses stays for that user. Here %ab feeds a union
// (spliced there) and an intersect (kept), %abc only the top union.
// CHECK-LABEL: @flatten_nest(
// CHECK-NEXT: %[[A:.*]] = sparta.band lo = 0, hi = 2
// CHECK-NEXT: %[[B:.*]] = sparta.stride period = 4
// CHECK-NEXT: %[[C:.*]] = sparta.chunk size = 4
// CHECK-NEXT: %[[G:.*]] = sparta.global_keys count = 2
// CHECK-NEXT: %[[AB:.*]] = sparta.union %[[A]], %[[B]]
// CHECK-NEXT: %[[U:.*]] = sparta.union %[[A]], %[[B]], %[[C]], %[[G]]
// CHECK-NEXT: %[[I:.*]] = sparta.intersect %[[AB]], %[[C]]
// CHECK-NEXT: sparta.heads %[[U]], %[[I]]
sparta.pattern @flatten_nest(T = 16, L = 4) instantiated {
  %a = sparta.band lo = 0, hi = 2
  %b = sparta.stride period = 4
  %c = sparta.chunk size = 4
  %g = sparta.global_keys count = 2
  %ab = sparta.union %a, %b
  %abc = sparta.union %ab, %c
  %u = sparta.union %abc, %g, %ab
  %i = sparta.intersect %ab, %c
  sparta.heads %u, %i
}

// Identical ops are merged, which makes their uses duplicates.
// CHECK-LABEL: @merge_identical(
// CHECK-NEXT: %[[A:.*]] = sparta.band lo = 0, hi = 2
// CHECK-NEXT: sparta.heads %[[A]], %[[A]]
sparta.pattern @merge_identical(T = 16, L = 4) instantiated {
  %a = sparta.band lo = 0, hi = 2
  %b = sparta.band lo = 0, hi = 2
  %u = sparta.union %a, %b
  sparta.heads %u, %b
}

// CHECK-LABEL: @dense_and_empty(
// CHECK-NEXT: %[[D:.*]] = sparta.dense
// CHECK-NEXT: %[[E:.*]] = sparta.empty
// CHECK-NEXT: %[[A:.*]] = sparta.band lo = 0, hi = 2
// CHECK-NEXT: %[[S:.*]] = sparta.stride period = 4
// CHECK-NEXT: %[[U:.*]] = sparta.union %[[A]], %[[S]]
// CHECK-NEXT: %[[I:.*]] = sparta.intersect %[[A]], %[[S]]
// CHECK-NEXT: sparta.heads %[[D]], %[[A]], %[[E]], %[[A]], %[[U]], %[[I]], %[[E]], %[[D]]
sparta.pattern @dense_and_empty(T = 16, L = 4) instantiated {
  %d = sparta.dense
  %e = sparta.empty
  %a = sparta.band lo = 0, hi = 2
  %s = sparta.stride period = 4
  // union with dense -> dense
  %u1 = sparta.union %a, %d
  // intersect with dense -> dense dropped (-> single operand -> operand)
  %i1 = sparta.intersect %d, %a
  // empty in intersect -> empty
  %i2 = sparta.intersect %a, %e, %s
  // empty in union -> dropped (-> single operand)
  %u2 = sparta.union %e, %a
  %u3 = sparta.union %a, %e, %s
  %i3 = sparta.intersect %a, %d, %s
  // only neutral operands
  %u4 = sparta.union %e, %e
  %i4 = sparta.intersect %d
  sparta.heads %u1, %i1, %i2, %u2, %u3, %i3, %u4, %i4
}

// CHECK-LABEL: @band(
// CHECK-NEXT: %[[B1:.*]] = sparta.band lo = 0, hi = 3
// CHECK-NEXT: %[[B2:.*]] = sparta.band lo = 2, hi = 15
// CHECK-NEXT: %[[E:.*]] = sparta.empty
// CHECK-NEXT: %[[D:.*]] = sparta.dense
// CHECK-NEXT: %[[B3:.*]] = sparta.band lo = 5, hi = 5
// CHECK-NEXT: sparta.heads %[[B1]], %[[B2]], %[[E]], %[[E]], %[[D]], %[[D]], %[[B3]]
sparta.pattern @band(T = 16, L = 4) instantiated {
  %b1 = sparta.band lo = 0, hi = 3
  %b2 = sparta.band lo = 2, hi = 100   // hi clamped to T-1
  %b3 = sparta.band lo = 4, hi = 3     // lo > hi
  %b4 = sparta.band lo = 16, hi = 20   // beyond T-1
  %b5 = sparta.band lo = 0, hi = 15    // everything
  %b6 = sparta.band lo = 0, hi = 40
  %b7 = sparta.band lo = 5, hi = 5
  sparta.heads %b1, %b2, %b3, %b4, %b5, %b6, %b7
}

// CHECK-LABEL: @stride_chunk(
// CHECK-NEXT: %[[D:.*]] = sparta.dense
// CHECK-NEXT: %[[Z:.*]] = sparta.band lo = 0, hi = 0
// CHECK-NEXT: %[[S:.*]] = sparta.stride period = 15
// CHECK-NEXT: %[[C:.*]] = sparta.chunk size = 15
// CHECK-NEXT: sparta.heads %[[D]], %[[Z]], %[[Z]], %[[S]], %[[D]], %[[D]], %[[C]]
sparta.pattern @stride_chunk(T = 16, L = 4) instantiated {
  %s1 = sparta.stride period = 1
  %s2 = sparta.stride period = 16
  %s3 = sparta.stride period = 99
  %s4 = sparta.stride period = 15
  %c1 = sparta.chunk size = 16
  %c2 = sparta.chunk size = 17
  %c3 = sparta.chunk size = 15
  sparta.heads %s1, %s2, %s3, %s4, %c1, %c2, %c3
}

// CHECK-LABEL: @summary_global(
// CHECK-NEXT: %[[D:.*]] = sparta.dense
// CHECK-NEXT: %[[E:.*]] = sparta.empty
// CHECK-NEXT: %[[S:.*]] = sparta.summary period = 4, width = 1
// CHECK-NEXT: %[[GK:.*]] = sparta.global_keys count = 15
// CHECK-NEXT: %[[GQ:.*]] = sparta.global_queries count = 3
// CHECK-NEXT: %[[R:.*]] = sparta.random_blocks block = 4, count = 1, seed = 0
// CHECK-NEXT: sparta.heads %[[D]], %[[E]], %[[S]], %[[E]], %[[E]], %[[D]], %[[D]], %[[GK]], %[[GQ]], %[[E]], %[[R]]
sparta.pattern @summary_global(T = 16, L = 4) instantiated {
  %m1 = sparta.summary period = 4, width = 4
  %m2 = sparta.summary period = 4, width = 0
  %m3 = sparta.summary period = 4, width = 1
  %g1 = sparta.global_keys count = 0
  %g2 = sparta.global_queries count = 0
  %g3 = sparta.global_keys count = 16
  %g4 = sparta.global_queries count = 20
  %g5 = sparta.global_keys count = 15
  %g6 = sparta.global_queries count = 3
  %r0 = sparta.random_blocks block = 4, count = 0, seed = 0
  %r1 = sparta.random_blocks block = 4, count = 1, seed = 0
  sparta.heads %m1, %m2, %m3, %g1, %g2, %g3, %g4, %g5, %g6, %r0, %r1
}

// Without a known T only the T-independent rules fire; structurally equal
// expressions count as equal (width = period = L).
// CHECK-LABEL: @symbolic(
// CHECK-NEXT: %[[D:.*]] = sparta.dense
// CHECK-NEXT: %[[E:.*]] = sparta.empty
// CHECK-NEXT: %[[B:.*]] = sparta.band lo = 0, hi = 100
// CHECK-NEXT: %[[C:.*]] = sparta.chunk size = 100
// CHECK-NEXT: %[[S:.*]] = sparta.stride period = 1000
// CHECK-NEXT: %[[G:.*]] = sparta.global_keys count = 1000
// CHECK-NEXT: %[[X:.*]] = sparta.band lo = 3, hi = L
// CHECK-NEXT: sparta.heads %[[D]], %[[E]], %[[B]], %[[C]], %[[S]], %[[G]], %[[D]], %[[X]]
sparta.pattern @symbolic(T, L) {
  %m = sparta.summary period = L, width = L
  %b0 = sparta.band lo = 3, hi = 2
  %b = sparta.band lo = 0, hi = 100
  %c = sparta.chunk size = 100
  %s = sparta.stride period = 1000
  %g = sparta.global_keys count = 1000
  %s1 = sparta.stride period = 2 - 1
  %x = sparta.band lo = 3, hi = L
  sparta.heads %m, %b0, %b, %c, %s, %g, %s1, %x
}

// Unused mask ops are erased.
// CHECK-LABEL: @unused(
// CHECK-NEXT: %[[A:.*]] = sparta.band lo = 0, hi = 2
// CHECK-NEXT: sparta.heads %[[A]]
// CHECK-NEXT: }
sparta.pattern @unused(T = 16, L = 4) instantiated {
  %a = sparta.band lo = 0, hi = 2
  %b = sparta.stride period = 4
  %u = sparta.union %a, %b
  sparta.heads %a
}

// Bidirectional patterns: i - j lies in [-(T-1), T-1]; a band is clamped to
// it and is dense when it covers it; without T nothing is clamped.
// CHECK-LABEL: @band_bidirectional(
// CHECK-NEXT: %[[B1:.*]] = sparta.band lo = -15, hi = 3
// CHECK-NEXT: %[[B2:.*]] = sparta.band lo = -4, hi = -2
// CHECK-NEXT: %[[D:.*]] = sparta.dense
// CHECK-NEXT: %[[E:.*]] = sparta.empty
// CHECK-NEXT: sparta.heads %[[B1]], %[[B2]], %[[D]], %[[E]]
sparta.pattern @band_bidirectional(T = 16, L = 4) bidirectional instantiated {
  %b1 = sparta.band lo = -40, hi = 3
  %b2 = sparta.band lo = -4, hi = -2
  %b3 = sparta.band lo = -15, hi = 20
  %b4 = sparta.band lo = -30, hi = -16
  sparta.heads %b1, %b2, %b3, %b4
}

// CHECK-LABEL: @band_bidirectional_symbolic(
// CHECK-NEXT: %[[B:.*]] = sparta.band lo = -3, hi = L
// CHECK-NEXT: sparta.heads %[[B]]
sparta.pattern @band_bidirectional_symbolic(T, L) bidirectional {
  %b = sparta.band lo = -3, hi = L
  sparta.heads %b
}

// A stride's offset: 0 is dropped; a period >= T leaves one offset (causal)
// or the two with |i - j| < T (bidirectional).
// CHECK-LABEL: @stride_offset(
// CHECK-NEXT: %[[S0:.*]] = sparta.stride period = 4{{$}}
// CHECK-NEXT: %[[S1:.*]] = sparta.stride period = 4, offset = 3
// CHECK-NEXT: %[[B:.*]] = sparta.band lo = 5, hi = 5
// CHECK-NEXT: sparta.heads %[[S0]], %[[S1]], %[[B]]
sparta.pattern @stride_offset(T = 16, L = 4) instantiated {
  %s0 = sparta.stride period = 4, offset = 0
  %s1 = sparta.stride period = 4, offset = 3
  %s2 = sparta.stride period = 20, offset = 5
  sparta.heads %s0, %s1, %s2
}

// CHECK-LABEL: @stride_offset_bidirectional(
// CHECK-NEXT: %[[F:.*]] = sparta.band lo = 5, hi = 5
// CHECK-NEXT: %[[B:.*]] = sparta.band lo = -15, hi = -15
// CHECK-NEXT: %[[U:.*]] = sparta.union %[[F]], %[[B]]
// CHECK-NEXT: sparta.heads %[[U]]
sparta.pattern @stride_offset_bidirectional(T = 16, L = 4) bidirectional instantiated {
  %s = sparta.stride period = 20, offset = 5
  sparta.heads %s
}

// Grid ops on a 4 x 4 grid: rows are chunks of W, columns strides of W; a
// window of one row or one column is a band inside it; a window covering
// the grid is dense; any other window stays.
// CHECK-LABEL: @grid(
// CHECK-NEXT: %[[R:.*]] = sparta.chunk size = 4
// CHECK-NEXT: %[[C:.*]] = sparta.stride period = 4{{$}}
// CHECK-NEXT: %[[B1:.*]] = sparta.band lo = 0, hi = 1
// CHECK-NEXT: %[[W1:.*]] = sparta.intersect %[[R]], %[[B1]]
// CHECK-NEXT: %[[B2:.*]] = sparta.band lo = 0, hi = 8
// CHECK-NEXT: %[[W2:.*]] = sparta.intersect %[[C]], %[[B2]]
// CHECK-NEXT: %[[D:.*]] = sparta.dense
// CHECK-NEXT: %[[W:.*]] = sparta.grid_window dh = 1, dw = 1
// CHECK-NEXT: sparta.heads %[[R]], %[[C]], %[[W1]], %[[W2]], %[[D]], %[[W]]
sparta.pattern @grid(T = 16, L = 4, H = 4, W = 4) instantiated {
  %r = sparta.grid_rows
  %c = sparta.grid_cols
  %w1 = sparta.grid_window dh = 0, dw = 1
  %w2 = sparta.grid_window dh = 2, dw = 0
  %w3 = sparta.grid_window dh = 3, dw = 3
  %w = sparta.grid_window dh = 1, dw = 1
  sparta.heads %r, %c, %w1, %w2, %w3, %w
}

// CHECK-LABEL: @grid_bidirectional(
// CHECK-NEXT: %[[R:.*]] = sparta.chunk size = 4
// CHECK-NEXT: %[[B:.*]] = sparta.band lo = -1, hi = 1
// CHECK-NEXT: %[[W:.*]] = sparta.intersect %[[R]], %[[B]]
// CHECK-NEXT: sparta.heads %[[W]]
sparta.pattern @grid_bidirectional(T = 16, L = 4, H = 4, W = 4) bidirectional instantiated {
  %w = sparta.grid_window dh = 0, dw = 1
  sparta.heads %w
}
