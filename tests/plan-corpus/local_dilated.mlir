// A local window of L keys plus a dilated window reaching D times as far:
// the union overlaps on every D-th key of the local window.
sparta.pattern @local_dilated(T, L, D = 4) {
  %local = sparta.band lo = 0, hi = L
  %window = sparta.band lo = 0, hi = L * D
  %dilation = sparta.stride period = D
  %far = sparta.intersect %window, %dilation
  %mask = sparta.union %local, %far
  sparta.heads %mask
}
