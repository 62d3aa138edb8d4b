#!/usr/bin/env bash
# Compile latency of whole kernel sets (forward + backward, one dtype, one head
# dim, one arch), cold (empty cache) and warm (cache hit), for each pattern of the
# paper, as wall-clock seconds of the whole `sparta compile` process.
#
#   bench/compile_latency.sh [build/bin/sparta] [T] [L] [c]
set -euo pipefail
cd "$(dirname "$0")/.."
sparta=${1:-build/bin/sparta}
T=${2:-16384}; L=${3:-128}; c=${4:-32}
cache=$(mktemp -d)
trap 'rm -rf "$cache"' EXIT
export SPARTA_CACHE_DIR=$cache
now() { date +%s.%N; }
printf "%-16s %10s %10s   (T=%s L=%s c=%s, bf16, d=64, sm_90a, %s cores)\n" pattern cold_s warm_s "$T" "$L" "$c" "$(nproc)"
for p in strided strided_merged fixed fixed_merged; do
  args=(compile "patterns/$p.mlir" --set "T=$T" --set "L=$L" --head-dim 64 --dtype bf16 --arch sm_90a --emit=cubin -o /dev/null)
  case $p in fixed*) args+=(--set "c=$c");; esac
  t0=$(now); "$sparta" "${args[@]}"; t1=$(now); "$sparta" "${args[@]}"; t2=$(now)
  printf "%-16s %10.3f %10.3f\n" "$p" "$(awk "BEGIN{print $t1 - $t0}")" "$(awk "BEGIN{print $t2 - $t1}")"
done
