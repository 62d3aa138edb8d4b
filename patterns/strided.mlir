// Strided pattern (Child et al. 2019, section 4.2), multi-head form:
// head 0 = A1, the local band max(0, i-L) <= j <= i;
// head 1 = A2, every L-th earlier key: (i-j) mod L == 0.
// Heads alternate (head h uses mask h mod 2). Suits data with a periodic
// structure, such as images (L = row width) or audio.
sparta.pattern @strided(T, L) {
  %local = sparta.band lo = 0, hi = L
  %stride = sparta.stride period = L
  sparta.heads %local, %stride
}
