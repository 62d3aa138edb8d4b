#!/usr/bin/env bash
# The C++ trainer (sparta-train agree) against the PyTorch reference,
# on the GPU machine (python3 with torch, numpy), from the repository root.
# Usage: tests/reference/run_agreement.sh [OUTDIR] [BINDIR]
#   OUTDIR  the exchange directory (default /tmp/sparta-agree)
#   BINDIR  a folder with bin/sparta-train and lib/libsparta*.so (default build-agree-carry;
#           falls back to build/ when that folder is absent)
set -u
cd "$(dirname "$0")/../.."
out=${1:-/tmp/sparta-agree}
bindir=${2:-build-agree-carry}
[ -x "$bindir/bin/sparta-train" ] || bindir=build
export LD_LIBRARY_PATH=$PWD/$bindir/lib:/usr/local/cuda/lib64${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}
python3 -c 'import torch, sys; print("torch", torch.__version__, "cuda", torch.version.cuda, torch.cuda.get_device_name(0), "python", sys.version.split()[0])'
rm -rf "$out"
# 1. the exchange directory: config.json, init.safetensors, batch.safetensors + batch.bin
python3 tests/reference/agreement.py generate "$out" \
  --layers 4 --d-model 256 --heads 8 --seq-len 512 --pattern fixed --L 32 --c 8 \
  --batch-size 8 --steps 200 --lr 1e-3 --min-lr 1e-4 --warmup 20 || exit 1
# 2. the C++ side: grads.safetensors, loss.json (step 0, batch 0), losses.jsonl (200 steps)
"$bindir/bin/sparta-train" agree --dir "$out" --steps 200 || exit 1
# 3. the fp32 reference and the comparison table (exit 1 on failure)
python3 tests/reference/agreement.py check "$out"
