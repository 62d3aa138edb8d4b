#!/usr/bin/env python3
"""GPU test of sparta-train's data parallelism (--world-size, --rank, --rendezvous).

With one GPU or more:
  one rank   `--world-size 1` is the trainer without the flag, bit for bit: every
             metrics record (step, loss, bits, lr, grad_norm) and model.safetensors.
With two GPUs or more, a tiny model (2 layers, d_model 64, T 64, no dropout) on a
synthetic byte file, batch 8:
  equivalence  2 ranks x 4 rows against 1 rank x 8 rows for 40 steps: the first loss
             within 1e-3 relative (same weights, same rows), the loss tracks within
             0.05 bits at every step and 0.02 bits over the last 5 (bf16 GEMMs
             summing over 4 rows instead of 8, and the fp32 average over the ranks),
             the final validation within 0.02 bits; only rank 0 prints and writes
             the run's lines and files, and the rendezvous file is gone once the run
             has started.
  signal     SIGTERM to rank 1 only: both ranks stop after the same step (exit 4),
             rank 0 writes the checkpoint, and `--resume` on both ranks continues to
             the uninterrupted 2-rank run's records and weights, bit for bit.

    python3 tests/train/data_parallel_gpu.py [BIN_DIR]   (default $SPARTA_BIN_DIR, build/bin)

Exits 77 (skipped) when sparta-train finds no CUDA device; with one GPU it runs the
one-rank part and says that the rest was skipped. Run from the repository root.
"""

import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time

from run_files import records, write_synthetic_text

ROOT = os.path.abspath(os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", ".."))
BIN = sys.argv[1] if len(sys.argv) > 1 else os.environ.get("SPARTA_BIN_DIR", os.path.join(ROOT, "build", "bin"))
STEPS = 40
LAUNCHER_VARIABLES = ("WORLD_SIZE", "RANK", "LOCAL_RANK", "SLURM_NTASKS", "SLURM_PROCID", "SLURM_LOCALID")


def weights(run_dir):
    with open(os.path.join(run_dir, "model.safetensors"), "rb") as f:
        return f.read()


def gpu_count():
    """The GPUs this process may use: CUDA_VISIBLE_DEVICES's, else nvidia-smi's."""
    visible = os.environ.get("CUDA_VISIBLE_DEVICES")
    if visible is not None:
        return len([d for d in visible.split(",") if d.strip()])
    if shutil.which("nvidia-smi") is None:
        return 0
    r = subprocess.run(["nvidia-smi", "-L"], capture_output=True, text=True)
    return sum(1 for line in r.stdout.splitlines() if line.startswith("GPU "))


def environment():
    """This environment without a launcher's rank variables (the ranks come from the options)."""
    return {k: v for k, v in os.environ.items() if k not in LAUNCHER_VARIABLES}


def launch(cmd, world, rendezvous):
    """Starts `world` ranks of `cmd`; returns the processes, rank 0 first."""
    return [subprocess.Popen(cmd + ["--world-size", str(world), "--rank", str(r), "--rendezvous", rendezvous],
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=ROOT,
                             env=environment())
            for r in range(world)]


def finish(procs, timeout=300):
    return [(p.wait(timeout=timeout), *p.communicate()) for p in procs]


def one_rank(train, tmp):
    plain, flagged = os.path.join(tmp, "plain"), os.path.join(tmp, "world1")
    r = subprocess.run(train + ["--out", plain], capture_output=True, text=True, cwd=ROOT, env=environment())
    if "no CUDA device" in r.stderr:
        return r.stderr.strip()
    assert r.returncode == 0, r.stdout + r.stderr
    r = subprocess.run(train + ["--out", flagged, "--world-size", "1"], capture_output=True, text=True, cwd=ROOT,
                       env=environment())
    assert r.returncode == 0, r.stdout + r.stderr
    assert records(plain) == records(flagged), "--world-size 1 changed the metrics"
    assert weights(plain) == weights(flagged), "--world-size 1 changed the final weights"
    print(f"one rank: {len(records(plain))} metrics records and model.safetensors identical to the run "
          "without --world-size")
    return None


def equivalence(train, tmp):
    single, double = os.path.join(tmp, "world1"), os.path.join(tmp, "world2")
    rendezvous = os.path.join(tmp, "rendezvous")
    results = finish(launch(train + ["--out", double], 2, rendezvous))
    for rank, (rc, out, err) in enumerate(results):
        assert rc == 0, f"rank {rank}: exit {rc}\n{out}{err}"
    assert "model:" not in results[1][1] and "done:" not in results[1][1], f"rank 1 printed:\n{results[1][1]}"
    assert "ranks: 2 (from --world-size), each 4 of the 8 rows of a batch" in results[0][1], results[0][1]
    assert not os.path.exists(rendezvous), "the rendezvous file is left behind"
    a = [r for r in records(single) if r[1] == "train"]
    b = [r for r in records(double) if r[1] == "train"]
    assert [r[0] for r in a] == [r[0] for r in b] == list(range(1, STEPS + 1)), (len(a), len(b))
    assert abs(a[0][2] - b[0][2]) <= 1e-3 * abs(a[0][2]), (a[0], b[0])
    gaps = [abs(x[3] - y[3]) for x, y in zip(a, b)]
    worst = max(range(len(gaps)), key=gaps.__getitem__)
    assert gaps[worst] <= 0.05, f"loss tracks {gaps[worst]:.4f} bits apart at step {worst + 1}"
    last = abs(sum(x[3] for x in a[-5:]) - sum(y[3] for y in b[-5:])) / 5
    assert last <= 0.02, f"last 5 steps {last:.4f} bits apart"
    va = [r for r in records(single) if r[1] == "validation"][-1]
    vb = [r for r in records(double) if r[1] == "validation"][-1]
    assert abs(va[3] - vb[3]) <= 0.02, (va, vb)
    print(f"2 ranks x 4 rows vs 1 x 8: first loss {a[0][2]:.6f} / {b[0][2]:.6f} nats, largest gap "
          f"{gaps[worst]:.2e} bits (step {worst + 1}), last 5 steps {last:.2e} bits, validation "
          f"{va[3]:.4f} / {vb[3]:.4f} bits")
    return double


def signal_one_rank(train, tmp, uninterrupted):
    run, rendezvous = os.path.join(tmp, "signal"), os.path.join(tmp, "rendezvous-signal")
    procs = launch(train + ["--out", run], 2, rendezvous)
    metrics = os.path.join(run, "metrics.jsonl")
    deadline = time.time() + 120
    while time.time() < deadline and procs[0].poll() is None:
        if os.path.exists(metrics) and sum(1 for _ in open(metrics)) >= 10:
            break
        time.sleep(0.005)
    procs[1].send_signal(signal.SIGTERM)
    results = finish(procs)
    assert [rc for rc, _, _ in results] == [4, 4], results
    m = re.search(r"SIGTERM received: stopped after step (\d+); checkpoint (\S+); continue with --resume",
                  results[0][2])
    assert m, results[0][2]
    step, ckpt = int(m.group(1)), m.group(2)
    assert ckpt.endswith(f"step-{step:010d}.ckpt") and os.path.exists(ckpt), ckpt
    results = finish(launch(train + ["--out", run, "--resume"], 2, rendezvous))
    assert [rc for rc, _, _ in results] == [0, 0], results
    assert records(run) == records(uninterrupted), "the resumed 2-rank run differs from the uninterrupted one"
    assert weights(run) == weights(uninterrupted)
    print(f"SIGTERM to rank 1: both ranks stopped after step {step}; resumed on 2 ranks: records and weights "
          "identical to the uninterrupted 2-rank run")


def main():
    tmp = tempfile.mkdtemp(prefix="sparta-dp-")
    data = write_synthetic_text(os.path.join(tmp, "data.txt"))
    train = [os.path.join(BIN, "sparta-train"), "--data", data, "--pattern", "patterns/strided.mlir",
             "--set", "L=8", "--T", "64", "--layers", "2", "--d-model", "64", "--heads", "2",
             "--batch", "8", "--steps", str(STEPS), "--warmup", "5", "--lr", "3e-3", "--eval-every", "20",
             "--eval-rows", "16", "--seed", "3", "--quiet"]
    no_device = one_rank(train, tmp)
    if no_device:
        print("skipped: " + no_device)
        return 77
    gpus = gpu_count()
    if gpus < 2:
        print(f"2 ranks: skipped, this machine has {gpus} GPU(s) and the test needs 2")
        print("1 passed, 0 failed, 2 skipped")
        return 0
    uninterrupted = equivalence(train, tmp)
    signal_one_rank(train, tmp, uninterrupted)
    print("3 passed, 0 failed")
    return 0


if __name__ == "__main__":
    sys.exit(main())
