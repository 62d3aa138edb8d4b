sparta.pattern @broken(T, L) {
  %local = sparta.band lo = 0, hi = L
  %oops = sparta.bnd lo = 0
  sparta.heads %local
}
