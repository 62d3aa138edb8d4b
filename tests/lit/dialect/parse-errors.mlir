// Syntax errors carry the location of the offending token.
// RUN: sparta-opt %s -split-input-file -verify-diagnostics

// expected-error @+1 {{expected a parameter name}}
sparta.pattern @p(T, 1) {
  %d = sparta.dense
  sparta.heads %d
}

// -----

// expected-error @+1 {{the pattern body must end with sparta.heads}}
sparta.pattern @p(T, L) {
}

// -----

sparta.pattern @p(T, L) {
  %b = sparta.band lo = 0, hi = L +
  // expected-error @+1 {{expected an integer expression, found 'sparta.heads'}}
  sparta.heads %b
}

// -----

sparta.pattern @p(T, L) {
  // expected-error @+1 {{expected an operand before 'mod'}}
  %b = sparta.band lo = 0, hi = mod 2
  sparta.heads %b
}

// -----

sparta.pattern @p(T, L) {
  // expected-error @+1 {{expected ')'}}
  %b = sparta.band lo = 0, hi = (L + 1
  sparta.heads %b
}

// -----

sparta.pattern @p(T, L) {
  // expected-error @+1 {{expected ','}}
  %b = sparta.band lo = 0
  sparta.heads %b
}

// -----

sparta.pattern @p(T, L) {
  // expected-error @+1 {{expected an integer expression (a number, a parameter name, '-' or '(')}}
  %b = sparta.band lo = 0, hi = *
  sparta.heads %b
}

// -----

sparta.pattern @p(T, L) {
  // expected-error @+1 {{integer value too large}}
  %b = sparta.band lo = 0, hi = 99999999999999999999
  sparta.heads %b
}

// -----

sparta.pattern @p(T, L) {
  // expected-error @+1 {{expression nested too deeply (more than 256 levels)}}
  %b = sparta.band lo = 0, hi = ((((((((((((((((((((((((((((((((((((((((((((((((((((((((((((((((((((((((((((((((((((((((((((((((((((((((((((((((((((((((((((((((((((((((((((((((((((((((((((((((((((((((((((((((((((((((((((((((((((((((((((((((((((((((((((((((((((((((((((((((((((((((((((((((((((((((((((((((((((((((((((((((((((((((((((L))))))))))))))))))))))))))))))))))))))))))))))))))))))))))))))))))))))))))))))))))))))))))))))))))))))))))))))))))))))))))))))))))))))))))))))))))))))))))))))))))))))))))))))))))))))))))))))))))))))))))))))))))))))))))))))))))))))))))))))))))))))))))))))))))))))))))))))))))))))))))))))))))))))))))))
  sparta.heads %b
}

// -----

sparta.pattern @p(T, L) {
  // expected-error @+1 {{expression nested too deeply}}
  %b = sparta.band lo = 0, hi = L + 1 + 1 + 1 + 1 + 1 + 1 + 1 + 1 + 1 + 1 + 1 + 1 + 1 + 1 + 1 + 1 + 1 + 1 + 1 + 1 + 1 + 1 + 1 + 1 + 1 + 1 + 1 + 1 + 1 + 1 + 1 + 1 + 1 + 1 + 1 + 1 + 1 + 1 + 1 + 1 + 1 + 1 + 1 + 1 + 1 + 1 + 1 + 1 + 1 + 1 + 1 + 1 + 1 + 1 + 1 + 1 + 1 + 1 + 1 + 1 + 1 + 1 + 1 + 1 + 1 + 1 + 1 + 1 + 1 + 1 + 1 + 1 + 1 + 1 + 1 + 1 + 1 + 1 + 1 + 1 + 1 + 1 + 1 + 1 + 1 + 1 + 1 + 1 + 1 + 1 + 1 + 1 + 1 + 1 + 1 + 1 + 1 + 1 + 1 + 1 + 1 + 1 + 1 + 1 + 1 + 1 + 1 + 1 + 1 + 1 + 1 + 1 + 1 + 1 + 1 + 1 + 1 + 1 + 1 + 1 + 1 + 1 + 1 + 1 + 1 + 1 + 1 + 1 + 1 + 1 + 1 + 1 + 1 + 1 + 1 + 1 + 1 + 1 + 1 + 1 + 1 + 1 + 1 + 1 + 1 + 1 + 1 + 1 + 1 + 1 + 1 + 1 + 1 + 1 + 1 + 1 + 1 + 1 + 1 + 1 + 1 + 1 + 1 + 1 + 1 + 1 + 1 + 1 + 1 + 1 + 1 + 1 + 1 + 1 + 1 + 1 + 1 + 1 + 1 + 1 + 1 + 1 + 1 + 1 + 1 + 1 + 1 + 1 + 1 + 1 + 1 + 1 + 1 + 1 + 1 + 1 + 1 + 1 + 1 + 1 + 1 + 1 + 1 + 1 + 1 + 1 + 1 + 1 + 1 + 1 + 1 + 1 + 1 + 1 + 1 + 1 + 1 + 1 + 1 + 1 + 1 + 1 + 1 + 1 + 1 + 1 + 1 + 1 + 1 + 1 + 1 + 1 + 1 + 1 + 1 + 1 + 1 + 1 + 1 + 1 + 1 + 1 + 1 + 1 + 1 + 1 + 1 + 1 + 1 + 1 + 1 + 1 + 1 + 1 + 1 + 1 + 1 + 1 + 1 + 1 + 1 + 1 + 1 + 1 + 1 + 1 + 1 + 1 + 1 + 1 + 1 + 1 + 1 + 1 + 1 + 1 + 1 + 1 + 1 + 1 + 1 + 1 + 1 + 1 + 1 + 1 + 1 + 1 + 1 + 1 + 1 + 1 + 1 + 1 + 1 + 1 + 1 + 1 + 1 + 1
  sparta.heads %b
}
