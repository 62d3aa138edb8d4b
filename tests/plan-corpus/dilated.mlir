// Dilated sliding window: every D-th of the last D * L keys,
// (i - j) mod D == 0 and 0 <= i - j <= D * L. Planned on the strided map of
// period D as a band of L + 1 positions.
sparta.pattern @dilated(T, L, D = 2) {
  %window = sparta.band lo = 0, hi = L * D
  %dilation = sparta.stride period = D
  %mask = sparta.intersect %window, %dilation
  sparta.heads %mask
}
