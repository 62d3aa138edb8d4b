// Local 2-D attention on an H x W image flattened row by row: every pixel
// sees the pixels within dh rows and dw columns of it (a (2 dh + 1) x
// (2 dw + 1) window, never wrapping across a row's end), bidirectionally,
// plus the rest of its own row, so that the window's row band and the row
// itself share tiles. Defaults: a square image, H = W = L, dh = 2, dw = L / 4.
sparta.pattern @image_window(T, L, H = L, W = L, dh = 2, dw = L / 4) bidirectional {
  %window = sparta.grid_window dh = dh, dw = dw
  %row = sparta.grid_rows
  %mask = sparta.union %window, %row
  sparta.heads %mask
}
