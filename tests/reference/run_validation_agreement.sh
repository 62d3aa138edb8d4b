#!/usr/bin/env bash
# Validation within 0.02 bits of the PyTorch reference: sparta and the fp32
# PyTorch reference train the GCIDE model (8 layers, d_model 512, 8 heads,
# T = 4096, fixed L = 64 c = 16) from the same initial weights on the same GCIDE
# batches for the same steps, then both evaluate the same held-out validation
# windows (the last 10 % of the text; training windows come from the first 90 %).
# Run on the GPU machine from the repository root:
#   tests/reference/run_validation_agreement.sh [OUTDIR] [BINDIR] [STEPS]
#   OUTDIR  exchange directory (default /tmp/sparta-val-agree)
#   BINDIR  folder with bin/sparta-train and lib/ (default build/carry, else build)
#   STEPS   training steps (default 800; batch 4, the largest the dense fp32
#           reference's [B, H, T, T] attention fits in 80 GB with)
# GCIDE comes from $SPARTA_GCIDE or /usr/share/dictd/gcide.dict.dz (dictzip is gzip).
set -u
cd "$(dirname "$0")/../.."
out=${1:-/tmp/sparta-val-agree}
bindir=${2:-build/carry}
steps=${3:-800}
[ -x "$bindir/bin/sparta-train" ] || bindir=build
export LD_LIBRARY_PATH=$PWD/$bindir/lib:/usr/local/cuda/lib64${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}
gcide=${SPARTA_GCIDE:-/usr/share/dictd/gcide.dict.dz}
rm -rf "$out" && mkdir -p "$out"
gzip -dc "$gcide" > "$out/gcide.txt" || exit 1
python3 tests/reference/agreement.py generate "$out" --data "$out/gcide.txt" \
  --layers 8 --d-model 512 --heads 8 --seq-len 4096 --pattern fixed --L 64 --c 16 \
  --batch-size 4 --steps "$steps" --val-batches 16 --lr 1.5e-3 --min-lr 1.5e-4 --warmup 80 || exit 1
time "$bindir/bin/sparta-train" agree --dir "$out" --steps "$steps" || exit 1
time python3 tests/reference/agreement.py check "$out"
