// Dense causal attention: every query sees every earlier key (j <= i).
// The baseline the sparse patterns are measured against. L is declared (every
// pattern has T and L) but unused.
sparta.pattern @dense(T, L) {
  %all = sparta.dense
  sparta.heads %all
}
