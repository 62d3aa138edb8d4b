// Longformer-style causal attention (Beltagy et al. 2020): a sliding window
// of W keys before each query, plus g global tokens: the first g keys are seen
// by every query and the first g queries see every earlier key.
// Defaults: window W = L, g = 1 global token.
sparta.pattern @longformer(T, L, W = L, g = 1) {
  %window = sparta.band lo = 0, hi = W
  %global_keys = sparta.global_keys count = g
  %global_queries = sparta.global_queries count = g
  %mask = sparta.union %window, %global_keys, %global_queries
  sparta.heads %mask
}
