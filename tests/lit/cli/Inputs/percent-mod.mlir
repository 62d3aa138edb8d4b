sparta.pattern @p(T, L) {
  %b = sparta.band lo = 0, hi = L % 3
  sparta.heads %b
}
