// A stride whose offset is a parameter (for the offset range error).
sparta.pattern @stride_offset(T, L, k = 1) {
  %s = sparta.stride period = L, offset = k
  sparta.heads %s
}
