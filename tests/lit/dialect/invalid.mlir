// Every verifier diagnostic, at the offending op.
// RUN: sparta-opt %s -split-input-file -verify-diagnostics

// expected-error @+1 {{must declare parameter 'T' (declared: L)}}
sparta.pattern @no_t(L) {
  %d = sparta.dense
  sparta.heads %d
}

// -----

// expected-error @+1 {{must declare parameter 'L' (declared: T, c)}}
sparta.pattern @no_l(T, c = 2) {
  %d = sparta.dense
  sparta.heads %d
}

// -----

// expected-error @+1 {{duplicate parameter 'L'}}
sparta.pattern @dup(T, L, L = 2) {
  %d = sparta.dense
  sparta.heads %d
}

// -----

// expected-error @+1 {{parameter name 'mod' is not an identifier (or is a reserved word)}}
sparta.pattern @reserved(T, L, mod) {
  %d = sparta.dense
  sparta.heads %d
}

// -----

// expected-error @+1 {{unknown parameter 'Q' in the default of 'c' (declared: T, L, c)}}
sparta.pattern @bad_default(T, L, c = Q + 1) {
  %d = sparta.dense
  sparta.heads %d
}

// -----

// expected-error @+1 {{default of 'c' uses 'd', which is not an earlier parameter}}
sparta.pattern @later_default(T, L, c = d, d = 2) {
  %d = sparta.dense
  sparta.heads %d
}

// -----

sparta.pattern @unknown_param(T, L) {
  // expected-error @+1 {{'sparta.band' op uses unknown parameter 'W' in 'hi' (declared: T, L)}}
  %b = sparta.band lo = 0, hi = W + 1
  sparta.heads %b
}

// -----

sparta.pattern @empty_heads(T, L) {
  %d = sparta.dense
  // expected-error @+1 {{'sparta.heads' op expects at least one mask (head h uses mask h mod n)}}
  sparta.heads
}

// -----

sparta.pattern @empty_union(T, L) {
  // expected-error @+1 {{'sparta.union' op expects at least one operand}}
  %u = sparta.union
  sparta.heads %u
}

// -----

sparta.pattern @empty_intersect(T, L) {
  // expected-error @+1 {{'sparta.intersect' op expects at least one operand}}
  %u = sparta.intersect
  sparta.heads %u
}

// -----

sparta.pattern @stride_period(T, L) {
  // expected-error @+1 {{'sparta.stride' op period must be at least 1, got 0}}
  %s = sparta.stride period = 0
  sparta.heads %s
}

// -----

sparta.pattern @chunk_size(T, L) {
  // expected-error @+1 {{'sparta.chunk' op size must be at least 1, got -2}}
  %s = sparta.chunk size = 3 - 5
  sparta.heads %s
}

// -----

sparta.pattern @summary_period(T, L) {
  // expected-error @+1 {{'sparta.summary' op period must be at least 1, got 0}}
  %s = sparta.summary period = 0, width = 0
  sparta.heads %s
}

// -----

sparta.pattern @summary_width(T, L) {
  // expected-error @+1 {{'sparta.summary' op width must be at least 0, got -1}}
  %s = sparta.summary period = L, width = -1
  sparta.heads %s
}

// -----

sparta.pattern @summary_wide(T, L) {
  // expected-error @+1 {{'sparta.summary' op width must not exceed period, got width = 5 > period = 4}}
  %s = sparta.summary period = 4, width = 5
  sparta.heads %s
}

// -----

sparta.pattern @global_keys(T, L) {
  // expected-error @+1 {{'sparta.global_keys' op count must be at least 0, got -1}}
  %g = sparta.global_keys count = -1
  sparta.heads %g
}

// -----

sparta.pattern @global_queries(T, L) {
  // expected-error @+1 {{'sparta.global_queries' op count must be at least 0, got -3}}
  %g = sparta.global_queries count = -3
  sparta.heads %g
}

// -----

sparta.pattern @random_block(T, L) {
  // expected-error @+1 {{'sparta.random_blocks' op block must be at least 1, got 0}}
  %r = sparta.random_blocks block = 0, count = 1, seed = 0
  sparta.heads %r
}

// -----

sparta.pattern @random_count(T, L) {
  // expected-error @+1 {{'sparta.random_blocks' op count must be at least 0, got -1}}
  %r = sparta.random_blocks block = L, count = -1, seed = 0
  sparta.heads %r
}

// -----

sparta.pattern @constant_div_zero(T, L) {
  // expected-error @+1 {{'sparta.chunk' op cannot evaluate 'size': division by zero}}
  %c = sparta.chunk size = 4 / 0
  sparta.heads %c
}

// -----

// expected-error @+1 {{sequence length T must be in [1, 268435456], got T = 0}}
sparta.pattern @instantiated_t(T = 0, L = 1) instantiated {
  %d = sparta.dense
  sparta.heads %d
}

// -----

// expected-error @+1 {{stride L must be at least 1, got L = 0}}
sparta.pattern @instantiated_l(T = 4, L = 0) instantiated {
  %d = sparta.dense
  sparta.heads %d
}

// -----

// expected-error @+1 {{is instantiated but parameter 'L' has no constant value}}
sparta.pattern @instantiated_symbolic(T = 4, L = T) instantiated {
  %d = sparta.dense
  sparta.heads %d
}

// -----

// expected-error @+1 {{expects parent op 'sparta.pattern'}}
%d = sparta.dense

// -----

sparta.pattern @causal_forward_band(T, L) {
  // expected-error @+1 {{'sparta.band' op lo = -1 reaches keys after the query (j > i), which a causal pattern never allows; declare the pattern 'bidirectional' or write lo >= 0}}
  %b = sparta.band lo = -1, hi = L
  sparta.heads %b
}

// -----

sparta.pattern @stride_offset_negative(T, L) {
  // expected-error @+1 {{'sparta.stride' op offset must be at least 0, got -1}}
  %s = sparta.stride period = L, offset = -1
  sparta.heads %s
}

// -----

sparta.pattern @stride_offset_too_large(T, L) {
  // expected-error @+1 {{'sparta.stride' op offset must be below period, got offset = 4 >= period = 4}}
  %s = sparta.stride period = 4, offset = 4
  sparta.heads %s
}

// -----

sparta.pattern @stride_offset_unknown(T, L) {
  // expected-error @+1 {{'sparta.stride' op uses unknown parameter 'k' in 'offset' (declared: T, L)}}
  %s = sparta.stride period = L, offset = k
  sparta.heads %s
}

// -----

sparta.pattern @grid_without_w(T, L, H = 4) {
  // expected-error @+1 {{'sparta.grid_rows' op needs pattern parameters H and W (a grid of H rows of W positions), but 'W' is not declared (declared: T, L, H)}}
  %r = sparta.grid_rows
  sparta.heads %r
}

// -----

sparta.pattern @grid_mismatch(T = 64, L = 8, H = 8, W = 9) instantiated {
  // expected-error @+1 {{'sparta.grid_cols' op needs a grid of H rows of W positions with H * W == T, got H = 8, W = 9, T = 64}}
  %c = sparta.grid_cols
  sparta.heads %c
}

// -----

sparta.pattern @grid_window_negative(T, L, H, W) {
  // expected-error @+1 {{'sparta.grid_window' op dw must be at least 0, got -1}}
  %w = sparta.grid_window dh = 1, dw = -1
  sparta.heads %w
}

// -----

// expected-error @+1 {{parameter name 'bidirectional' is not an identifier (or is a reserved word)}}
sparta.pattern @reserved_direction(T, L, bidirectional) {
  %d = sparta.dense
  sparta.heads %d
}
