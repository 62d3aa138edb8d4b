// Local (sliding-window) causal attention: each query sees itself and the
// L keys before it, max(0, i-L) <= j <= i. Strided's head A1 on every head.
sparta.pattern @local(T, L) {
  %window = sparta.band lo = 0, hi = L
  sparta.heads %window
}
