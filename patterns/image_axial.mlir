// Axial attention on an H x W image flattened row by row (the row/column
// factorisation of Child et al. 2019, section 4.1, with exact rows and
// columns): head 0 attends along its pixel's row, head 1 along its column.
// It is bidirectional (an encoder over the image): two layers then reach
// every pixel. (Causal exact rows and columns never reach an earlier row's
// pixels to the right of the query's column; the paper's causal image
// pattern is strided.mlir with L = W, whose band of W reaches into the row
// above.) Defaults: a square image, H = W = L (so T = L * L).
sparta.pattern @image_axial(T, L, H = L, W = L) bidirectional {
  %row = sparta.grid_rows
  %column = sparta.grid_cols
  sparta.heads %row, %column
}
