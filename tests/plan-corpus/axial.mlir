// Axial attention on an image of rows of L pixels, flattened row by row:
// head 0 attends along the row (its own chunk of L), head 1 along the column
// (every L-th earlier pixel).
sparta.pattern @axial(T, L) {
  %row = sparta.chunk size = L
  %column = sparta.stride period = L
  sparta.heads %row, %column
}
