// The strided pattern made bidirectional and merged: a symmetric band of L
// keys each side and the whole column of the [T/L, L] grid. The column minus
// the band is two components, the rows above the band and those below.
sparta.pattern @bidir_strided(T, L) bidirectional {
  %band = sparta.band lo = -L, hi = L
  %stride = sparta.stride period = L
  %mask = sparta.union %band, %stride
  sparta.heads %mask
}
