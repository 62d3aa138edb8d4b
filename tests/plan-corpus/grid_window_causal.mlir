// A causal 2-D window on an H x W image flattened row by row: every pixel
// sees the pixels of the dh rows above it within dw columns, and the dw
// pixels before it in its own row (the window never wraps across a row's
// end). Without grid_rows the own row is its own component: a band on the
// chunked map, next to the grid box of the rows above.
sparta.pattern @grid_window_causal(T, L, H = L, W = L, dh = 2, dw = L / 4) {
  %window = sparta.grid_window dh = dh, dw = dw
  sparta.heads %window
}
