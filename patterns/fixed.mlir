// Fixed pattern (Child et al. 2019, section 4.2), multi-head form:
// head 0 = A1, the query's own chunk of L positions: floor(j/L) == floor(i/L);
// head 1 = A2, the last c positions of every chunk ("summary" cells):
// j mod L >= L - c. Suits text, which has no periodic structure.
sparta.pattern @fixed(T, L, c = 8) {
  %chunk = sparta.chunk size = L
  %summary = sparta.summary period = L, width = c
  sparta.heads %chunk, %summary
}
