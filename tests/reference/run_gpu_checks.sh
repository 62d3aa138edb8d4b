#!/usr/bin/env bash
# The reference's checks on the GPU machine (python3 with torch, numpy, safetensors).
# Usage: tests/reference/run_gpu_checks.sh [OUTDIR]   (default /tmp/sparta-reference)
set -u
here=$(cd "$(dirname "$0")" && pwd)
out=${1:-/tmp/sparta-reference}
mkdir -p "$out"
python3 -c 'import torch, sys; print("torch", torch.__version__, "cuda", torch.version.cuda, torch.cuda.get_device_name(0), "python", sys.version.split()[0])'
rc=0
# 1. agreement self-test: fp32 reference vs the same model in bf16 autocast (stand-in for the C++ side),
#    200 steps, negative controls, masks-from-files, FlexAttention path vs dense
python3 "$here/agreement.py" selftest "$out/agree" --force --flex-check \
  --layers 4 --d-model 256 --heads 8 --seq-len 512 --pattern fixed --L 32 --c 8 \
  --batch-size 8 --steps 200 --lr 1e-3 --min-lr 1e-4 --warmup 20 || rc=1
# 2. FlexAttention + torch.compile training throughput at a small size
python3 "$here/flex_train_bench.py" --layers 2 --d-model 256 --heads 4 --seq-len 4096 \
  --pattern fixed --L 64 --c 16 --batch-size 2 --warmup-steps 3 --steps 10 | tee "$out/flex_bench.jsonl" || rc=1
exit $rc
