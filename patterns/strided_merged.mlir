// Strided pattern (Child et al. 2019), merged form: every head attends to
// A1 ∪ A2, the local band 0 <= i-j <= L and every L-th earlier key.
sparta.pattern @strided_merged(T, L) {
  %local = sparta.band lo = 0, hi = L
  %stride = sparta.stride period = L
  %merged = sparta.union %local, %stride
  sparta.heads %merged
}
