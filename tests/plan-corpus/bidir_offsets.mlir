// Bidirectional primitives on their own (one head each): a band reaching
// only forward, a stride with an offset (both directions), a dilated window
// on both sides, a chunk, a summary seen by every query.
sparta.pattern @bidir_offsets(T, L, c = 8) bidirectional {
  %forward = sparta.band lo = -L, hi = -1
  %stride = sparta.stride period = L, offset = 3
  %near = sparta.band lo = -4 * L, hi = 4 * L
  %every = sparta.stride period = 2
  %dilated = sparta.intersect %near, %every
  %chunk = sparta.chunk size = L
  %summary = sparta.summary period = L, width = c
  sparta.heads %forward, %stride, %dilated, %chunk, %summary
}
