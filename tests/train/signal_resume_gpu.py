#!/usr/bin/env python3
"""GPU test of sparta-train as a process: SIGTERM mid-run, exit 4, --resume, bit-identical.

A tiny model (2 layers, d_model 64, T 64, dropout 0.1) on a synthetic byte file is
trained once straight through, and once with SIGTERM sent while it trains: that run
must exit with status 4 and a message naming the step and its checkpoint, and the
resumed run must reproduce the uninterrupted one exactly: every training and
validation record of metrics.jsonl (step, loss, bits, lr, grad_norm) and the bytes
of model.safetensors. Resuming the finished run then says so and exits 0.

    python3 tests/train/signal_resume_gpu.py [BIN_DIR]     (default $SPARTA_BIN_DIR, build/bin)

Exits 77 (skipped) when sparta-train finds no CUDA device. Run from the repository root.
"""

import os
import re
import signal
import subprocess
import sys
import tempfile
import time

from run_files import records, write_synthetic_text

ROOT = os.path.abspath(os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", ".."))
BIN = sys.argv[1] if len(sys.argv) > 1 else os.environ.get("SPARTA_BIN_DIR", os.path.join(ROOT, "build", "bin"))


def main():
    tmp = tempfile.mkdtemp(prefix="sparta-signal-")
    data = write_synthetic_text(os.path.join(tmp, "data.txt"))
    train = [os.path.join(BIN, "sparta-train"), "--data", data, "--pattern", "patterns/strided.mlir",
             "--set", "L=8", "--T", "64", "--layers", "2", "--d-model", "64", "--heads", "2",
             "--batch", "4", "--steps", "600", "--warmup", "20", "--lr", "3e-3", "--dropout", "0.1",
             "--eval-every", "150", "--eval-rows", "8", "--seed", "3", "--quiet"]
    full, split = os.path.join(tmp, "full"), os.path.join(tmp, "split")

    r = subprocess.run(train + ["--out", full], capture_output=True, text=True, cwd=ROOT)
    if "no CUDA device" in r.stderr:
        print("skipped: " + r.stderr.strip())
        return 77
    assert r.returncode == 0, r.stdout + r.stderr

    proc = subprocess.Popen(train + ["--out", split], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True, cwd=ROOT)
    metrics = os.path.join(split, "metrics.jsonl")
    deadline = time.time() + 120
    while time.time() < deadline and proc.poll() is None:
        if os.path.exists(metrics) and sum(1 for _ in open(metrics)) >= 20:
            break
        time.sleep(0.005)
    proc.send_signal(signal.SIGTERM)
    out, err = proc.communicate(timeout=120)
    assert proc.returncode == 4, f"exit {proc.returncode} (did the run end before the signal?)\n{out}{err}"
    m = re.search(r"sparta-train: SIGTERM received: stopped after step (\d+); checkpoint (\S+); "
                  r"continue with --resume", err)
    assert m, err
    step, ckpt = int(m.group(1)), m.group(2)
    assert ckpt.endswith(f"step-{step:010d}.ckpt") and os.path.exists(ckpt), ckpt
    assert 20 <= step < 600, step
    assert not os.path.exists(os.path.join(split, "model.safetensors"))
    print(f"SIGTERM: stopped after step {step}, checkpoint {ckpt}")

    r = subprocess.run(train + ["--out", split, "--resume"], capture_output=True, text=True, cwd=ROOT)
    assert r.returncode == 0, r.stdout + r.stderr
    a, b = records(full), records(split)
    assert a == b, next((x, y) for x, y in zip(a, b) if x != y) if len(a) == len(b) else (len(a), len(b))
    assert open(os.path.join(full, "model.safetensors"), "rb").read() == \
        open(os.path.join(split, "model.safetensors"), "rb").read()
    print(f"resumed: {len(b)} metrics records and model.safetensors identical to the uninterrupted run")

    r = subprocess.run(train + ["--out", split, "--resume"], capture_output=True, text=True, cwd=ROOT)
    assert r.returncode == 0 and "is already finished" in r.stdout, r.stdout + r.stderr
    print("1 passed, 0 failed")
    return 0


if __name__ == "__main__":
    sys.exit(main())
