// sparta-plan refuses what it cannot plan, at the pattern.
// RUN: sparta-opt %s -split-input-file -verify-diagnostics --sparta-plan
// RUN: not sparta-opt %sparta_src/patterns/dense.mlir --sparta-instantiate=bind=T=64,L=8 --sparta-plan=tile=1 2>&1 | FileCheck %s --check-prefix=TILE

// expected-error @+1 {{pattern @strided is not instantiated; run --sparta-instantiate first}}
sparta.pattern @strided(T, L) {
  %local = sparta.band lo = 0, hi = L
  sparta.heads %local
}

// -----

// expected-error @+1 {{sequence length T must be in [1, 268435456], got T = 536870912}}
sparta.pattern @big(T = 536870912, L = 8) instantiated {
  %d = sparta.dense
  sparta.heads %d
}

// TILE: error: cannot plan @dense: tile shapes must be at least 2 x 2, got 1x1
