// Fixed pattern (Child et al. 2019), merged form: every head attends to
// A1 ∪ A2, its own chunk of L positions and the last c positions of every chunk.
sparta.pattern @fixed_merged(T, L, c = 8) {
  %chunk = sparta.chunk size = L
  %summary = sparta.summary period = L, width = c
  %merged = sparta.union %chunk, %summary
  sparta.heads %merged
}
