sparta.pattern @one(T, L) {
  %local = sparta.band lo = 0, hi = L
  sparta.heads %local
}
sparta.pattern @two(T, L) {
  %s = sparta.stride period = L
  sparta.heads %s
}
