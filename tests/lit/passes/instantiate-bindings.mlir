// Errors about the bindings themselves: unknown parameter, T <= 0, L < 1,
// malformed entries, unknown pattern.
// RUN: not sparta-opt %s --sparta-instantiate="bind=T=64,L=8,X=1" 2>&1 | FileCheck %s --check-prefix=UNKNOWN
// RUN: not sparta-opt %s --sparta-instantiate="bind=T=0,L=8" 2>&1 | FileCheck %s --check-prefix=TZERO
// RUN: not sparta-opt %s --sparta-instantiate="bind=T=-5,L=8" 2>&1 | FileCheck %s --check-prefix=TNEG
// RUN: not sparta-opt %s --sparta-instantiate="bind=T=64,L=0" 2>&1 | FileCheck %s --check-prefix=LZERO
// RUN: not sparta-opt %s --sparta-instantiate="bind=T=64,L" 2>&1 | FileCheck %s --check-prefix=SYNTAX
// RUN: not sparta-opt %s --sparta-instantiate="bind=T=64,L=eight" 2>&1 | FileCheck %s --check-prefix=VALUE
// RUN: not sparta-opt %s --sparta-instantiate="bind=T=64,L=8 pattern=nope" 2>&1 | FileCheck %s --check-prefix=PATTERN
// RUN: sparta-opt %s --sparta-instantiate="bind=T=1,L=1" | FileCheck %s --check-prefix=SMALL
// RUN: sparta-opt %s --sparta-instantiate="bind=T=10,L=64" | FileCheck %s --check-prefix=BIGL

// UNKNOWN: instantiate-bindings.mlir:[[@LINE+10]]:1: error: unknown parameter 'X' for pattern @p (declared: T, L)
// TZERO: instantiate-bindings.mlir:[[@LINE+9]]:1: error: 'sparta.pattern' op sequence length T must be in [1, 268435456], got T = 0
// TNEG: error: 'sparta.pattern' op sequence length T must be in [1, 268435456], got T = -5
// LZERO: instantiate-bindings.mlir:[[@LINE+7]]:1: error: 'sparta.pattern' op stride L must be at least 1, got L = 0
// SYNTAX: error: invalid binding 'L': expected NAME=VALUE with a 64-bit integer VALUE
// VALUE: error: invalid binding 'L=eight': expected NAME=VALUE
// PATTERN: instantiate-bindings.mlir:[[@LINE+4]]:1: error: no pattern named @nope (the file holds: @p (line [[@LINE+4]]))
// L = 1 and L >= T are legal.
// SMALL: sparta.pattern @p(T = 1, L = 1) instantiated
// BIGL: sparta.pattern @p(T = 10, L = 64) instantiated
sparta.pattern @p(T, L) {
  %b = sparta.band lo = 0, hi = L
  sparta.heads %b
}
