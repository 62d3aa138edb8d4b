#!/usr/bin/env bash
# Installs a sparta build tree into a fresh prefix, builds this downstream
# project against it with find_package(sparta) and runs its programs.
#   build_against_install.sh BUILD_DIR
set -euo pipefail
build=$(cd "$1" && pwd)
here=$(cd "$(dirname "$0")" && pwd)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cmake --install "$build" --prefix "$work/prefix" > "$work/install.log"
cmake -S "$here" -B "$work/build" -G Ninja -DCMAKE_PREFIX_PATH="$work/prefix" > "$work/configure.log" \
  || { cat "$work/configure.log"; exit 1; }
cmake --build "$work/build"
# From the install tree, as a user would: the tools find the shipped patterns by name.
"$work/prefix/bin/sparta" check fixed --set T=256 --set L=32 | grep -x "valid: yes"
"$work/build/downstream-example"
"$work/build/downstream-c-example"
