// Longformer (Beltagy et al. 2020), bidirectional as in the paper's encoder:
// a symmetric sliding window of W keys on each side of the query, plus g
// global tokens: the first g keys are seen by every query and the first g
// queries see every key. Defaults: W = 4 * L (at L = 64, the paper's window
// of 512), g = 1 global token.
sparta.pattern @longformer_bidir(T, L, W = 4 * L, g = 1) bidirectional {
  %window = sparta.band lo = -W, hi = W
  %global_keys = sparta.global_keys count = g
  %global_queries = sparta.global_queries count = g
  %mask = sparta.union %window, %global_keys, %global_queries
  sparta.heads %mask
}
