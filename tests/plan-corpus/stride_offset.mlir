// A local band plus a stride with an offset: the keys k, k + L, k + 2L, ...
// positions back (k = L / 2 by default). The stride is planned on strided
// maps with the key map rotated by k; the band removes its first offset.
sparta.pattern @stride_offset(T, L, k = L / 2) {
  %band = sparta.band lo = 0, hi = L
  %stride = sparta.stride period = L, offset = k
  %mask = sparta.union %band, %stride
  sparta.heads %mask
}
