// BigBird-style causal attention (Zaheer et al. 2020): a sliding window of
// W keys, g global tokens (first g keys and first g queries), and r random key
// blocks of `block` positions per query block, drawn from `seed`
// (sparta::randomBlockChosen in compiler/include/sparta/MaskSemantics.h).
// Defaults: W = L, block = L, g = 1, r = 2, seed = 0.
sparta.pattern @bigbird(T, L, W = L, g = 1, block = L, r = 2, seed = 0) {
  %window = sparta.band lo = 0, hi = W
  %global_keys = sparta.global_keys count = g
  %global_queries = sparta.global_queries count = g
  %random = sparta.random_blocks block = block, count = r, seed = seed
  %mask = sparta.union %window, %global_keys, %global_queries, %random
  sparta.heads %mask
}
