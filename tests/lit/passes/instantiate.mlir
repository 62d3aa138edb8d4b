// sparta-instantiate: explicit values win over defaults, defaults may use
// earlier parameters, every expression folds to a constant.
// RUN: sparta-opt %s --sparta-instantiate="bind=T=64,L=8" | FileCheck %s
// RUN: sparta-opt %s --sparta-instantiate="bind=T=64,L=8,c=3 pattern=p" | FileCheck %s --check-prefix=EXPLICIT
// RUN: sparta-opt %s --sparta-instantiate="bind=T=64,L=8" --sparta-instantiate="bind=T=128" | FileCheck %s --check-prefix=AGAIN

// CHECK-LABEL: sparta.pattern @p(T = 64, L = 8, c = 8, w = 16, q = 7) instantiated {
// CHECK-NEXT: sparta.band lo = 0, hi = 16
// CHECK-NEXT: sparta.stride period = 8
// CHECK-NEXT: sparta.chunk size = 8
// CHECK-NEXT: sparta.summary period = 8, width = 8
// CHECK-NEXT: sparta.global_keys count = 0
// CHECK-NEXT: sparta.global_queries count = 7
// CHECK-NEXT: sparta.random_blocks block = 4, count = 2, seed = 42
// EXPLICIT: sparta.pattern @p(T = 64, L = 8, c = 3, w = 16, q = 2) instantiated {
// EXPLICIT: sparta.summary period = 8, width = 3
// AGAIN: sparta.pattern @p(T = 128, L = 8, c = 8, w = 16, q = 7) instantiated {
sparta.pattern @p(T, L, c = 8, w = 2 * L, q = (c - 1) mod L) {
  %b = sparta.band lo = -(L / 4) + 2, hi = w
  %s = sparta.stride period = L
  %ch = sparta.chunk size = T / (T / L)
  %sm = sparta.summary period = L, width = c
  %gk = sparta.global_keys count = T / L - 8
  %gq = sparta.global_queries count = q
  %r = sparta.random_blocks block = L / 2, count = 2, seed = 6 * 7
  sparta.heads %b, %s, %ch, %sm, %gk, %gq, %r
}

// With `pattern`, only the named pattern is kept (the others might not
// accept the bindings).
// RUN: sparta-opt %s --sparta-instantiate="bind=T=32,L=4,k=5 pattern=other" | FileCheck %s --check-prefix=ONLY
// ONLY-NOT: @p(
// ONLY: sparta.pattern @other(T = 32, L = 4, k = 5) instantiated {
// ONLY-NEXT: sparta.band lo = 0, hi = 20
// ONLY-NOT: @p(
sparta.pattern @other(T, L, k = 1) {
  %b = sparta.band lo = 0, hi = k * L
  sparta.heads %b
}
