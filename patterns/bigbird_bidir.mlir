// BigBird (Zaheer et al. 2020), bidirectional: a symmetric sliding window of
// W keys on each side, g global tokens (the first g keys are seen by every
// query, the first g queries see every key) and r random key blocks of
// `block` positions per query block, drawn from `seed`. Random blocks are
// drawn among the blocks up to the query's own (sparta.random_blocks means
// the same in both directions). Defaults: W = 3 * L, block = L, g = 1,
// r = 2, seed = 0.
sparta.pattern @bigbird_bidir(T, L, W = 3 * L, g = 1, block = L, r = 2, seed = 0) bidirectional {
  %window = sparta.band lo = -W, hi = W
  %global_keys = sparta.global_keys count = g
  %global_queries = sparta.global_queries count = g
  %random = sparta.random_blocks block = block, count = r, seed = seed
  %mask = sparta.union %window, %global_keys, %global_queries, %random
  sparta.heads %mask
}
