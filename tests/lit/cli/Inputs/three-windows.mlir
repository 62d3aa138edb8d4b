// Three overlapping windows: a local band and two dilated ones. One table
// over their union computes fewer score elements than their three
// closed-form components (tests/lit/cli/check-plan.test).
sparta.pattern @three_windows(T, L) {
  %local = sparta.band lo = 0, hi = L
  %wide = sparta.band lo = 0, hi = 4 * L
  %every5 = sparta.stride period = 5
  %far = sparta.intersect %wide, %every5
  %near = sparta.band lo = 0, hi = 2 * L
  %every3 = sparta.stride period = 3
  %mid = sparta.intersect %near, %every3
  %mask = sparta.union %local, %far, %mid
  sparta.heads %mask
}
