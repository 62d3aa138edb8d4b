// The merged strided pattern plus g global keys that every query sees.
sparta.pattern @band_stride_global(T, L, g = 8) {
  %local = sparta.band lo = 0, hi = L
  %stride = sparta.stride period = L
  %global = sparta.global_keys count = g
  %mask = sparta.union %local, %stride, %global
  sparta.heads %mask
}
