#!/bin/sh
# Compiler/linker launcher for the coverage-instrumented fuzzer (see
# CMakeLists.txt here): CMake calls it as
#   clang-fuzz-launcher.sh CLANGXX compile|link <project compiler> <arguments>
# and it runs the same command with CLANGXX instead of the project's compiler,
# adding libFuzzer's coverage instrumentation (and, when linking, libFuzzer and
# the AddressSanitizer runtime).
clang=$1 mode=$2
shift 3
case $mode in
  compile) exec "$clang" "$@" -O1 -g -fno-omit-frame-pointer -fsanitize=fuzzer-no-link ;;
  link) exec "$clang" "$@" -fsanitize=fuzzer,address ;;
  *) echo "clang-fuzz-launcher.sh: mode must be compile or link, not '$mode'" >&2; exit 2 ;;
esac
