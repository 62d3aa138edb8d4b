sparta.pattern @p(T, L) {
  %s = sparta.stirde period = L
  sparta.heads %s
}
