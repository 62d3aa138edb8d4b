// A window whose default derives from T: documents cannot be packed under it.
sparta.pattern @window(T, L, W = T / 4) {
  %w = sparta.band lo = 0, hi = W
  sparta.heads %w
}
