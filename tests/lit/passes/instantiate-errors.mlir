// sparta-instantiate diagnostics, at the pattern (or the op) they concern.
// RUN: sparta-opt %s -split-input-file -verify-diagnostics --sparta-instantiate="bind=T=64,L=8"

// expected-error @+1 {{missing value for parameter 'k' of pattern @missing (it has no default; set it, e.g. k=...)}}
sparta.pattern @missing(T, L, k) {
  %d = sparta.dense
  sparta.heads %d
}

// -----

sparta.pattern @division(T, L, k = L - 8) {
  // expected-error @+1 {{cannot evaluate 'size' = T / k: division by zero}}
  %c = sparta.chunk size = T / k
  sparta.heads %c
}

// -----

sparta.pattern @modulo(T, L) {
  // expected-error @+1 {{cannot evaluate 'period' = T mod (L - 8): modulo by zero}}
  %s = sparta.stride period = T mod (L - 8)
  sparta.heads %s
}

// -----

// expected-error @+1 {{cannot evaluate the default of 'k' = T / (L - 8): division by zero}}
sparta.pattern @default_division(T, L, k = T / (L - 8)) {
  %d = sparta.dense
  sparta.heads %d
}

// -----

sparta.pattern @overflow(T, L) {
  // expected-error @+1 {{integer overflow}}
  %b = sparta.band lo = 0, hi = T * 9223372036854775807
  sparta.heads %b
}

// -----

// After folding, the op verifiers check the concrete values.
sparta.pattern @bad_width(T, L, c = 9) {
  // expected-error @+1 {{'sparta.summary' op width must not exceed period, got width = 9 > period = 8}}
  %s = sparta.summary period = L, width = c
  sparta.heads %s
}

// -----

sparta.pattern @bad_stride(T, L) {
  // expected-error @+1 {{'sparta.stride' op period must be at least 1, got 0}}
  %s = sparta.stride period = L - 8
  sparta.heads %s
}
