// Shadows the shipped strided.mlir when this folder is $SPARTA_PATTERNS_DIR.
sparta.pattern @mine(T, L) {
  %all = sparta.dense
  sparta.heads %all
}
