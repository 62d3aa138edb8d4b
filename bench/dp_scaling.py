#!/usr/bin/env python3
"""Data-parallel scaling of sparta-train: tokens/s on 1, 2, 4 and 8 GPUs of one host.

    python3 bench/dp_scaling.py [--ranks 1,2,4,8] [--T 4096,16384] [--steps 60]
                                [--sparta-train PATH] [--out DIR] [--gpus N] [--dry-run]

The model is the GCIDE run's (8 layers, d_model 512, 8 heads, fixed pattern: L = 64,
c = 16 at T = 4096; L = 128, c = 32 at T = 16384) with a fixed batch per GPU (8 rows at
T = 4096, 2 at T = 16384; --rows to change), so N ranks train on a global batch of N
times that (weak scaling). Each case is one `sparta-train --world-size N` run of
--steps steps on a synthetic byte file (throughput does not depend on the text), its
ranks started here, one per GPU, meeting through a rendezvous file in OUT. Tokens/s is
the global batch x T over the median step time of rank 0's metrics.jsonl, the first 10
steps left out (kernel compilation, warm-up); efficiency is tokens/s(N) / (N x
tokens/s(1)). Prints a table, then one JSON line per case. Cases with more ranks than
GPUs (--gpus, default the number nvidia-smi -L lists) are left out and said so.
--dry-run prints the commands only.
"""

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys

ROOT = os.path.abspath(os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
PATTERN = {4096: ("L=64", "c=16"), 16384: ("L=128", "c=32")}
ROWS_PER_GPU = {4096: 8, 16384: 2}
SKIPPED_STEPS = 10


def gpu_count():
    if shutil.which("nvidia-smi") is None:
        return 0
    r = subprocess.run(["nvidia-smi", "-L"], capture_output=True, text=True)
    return sum(1 for line in r.stdout.splitlines() if line.startswith("GPU "))


def synthetic_data(path, size=8 << 20):
    if not os.path.exists(path):
        state, out = 2024, bytearray()
        while len(out) < size:
            state = (state * 6364136223846793005 + 1442695040888963407) % (1 << 64)
            out += b"abcdefghijklmnopqrstuvwxyz ,.\n"[(state >> 33) % 30:][:7]
        with open(path, "wb") as f:
            f.write(out)
    return path


def commands(args, world, T, rows, data, run_dir):
    L, c = PATTERN[T]
    base = [args.sparta_train, "--data", data, "--pattern", "patterns/fixed.mlir", "--set", L, "--set", c,
            "--T", str(T), "--layers", "8", "--d-model", "512", "--heads", "8", "--batch", str(rows * world),
            "--steps", str(args.steps), "--eval-every", "0", "--eval-rows", str(rows), "--quiet",
            "--out", run_dir]
    if world == 1:
        return [base]
    return [base + ["--world-size", str(world), "--rank", str(r), "--rendezvous",
                    os.path.join(run_dir, "rendezvous")] for r in range(world)]


def tokens_per_second(run_dir, tokens_per_step):
    steps = []
    with open(os.path.join(run_dir, "metrics.jsonl")) as f:
        for line in f:
            r = json.loads(line)
            if r.get("split") == "train" and r["step"] > SKIPPED_STEPS:
                steps.append(tokens_per_step / r["tokens_per_s"])
    return tokens_per_step / statistics.median(steps)


def run_case(cmds, run_dir):
    shutil.rmtree(run_dir, ignore_errors=True)
    os.makedirs(run_dir)
    env = {k: v for k, v in os.environ.items()
           if k not in ("WORLD_SIZE", "RANK", "LOCAL_RANK", "SLURM_NTASKS", "SLURM_PROCID", "SLURM_LOCALID")}
    procs = [subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, cwd=ROOT, env=env)
             for cmd in cmds]
    outputs = [p.communicate()[0] for p in procs]
    for rank, (p, out) in enumerate(zip(procs, outputs)):
        if p.returncode != 0:
            sys.exit(f"rank {rank} of {len(cmds)} exited with {p.returncode}:\n{out}")


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--ranks", default="1,2,4,8")
    ap.add_argument("--T", default="4096,16384")
    ap.add_argument("--rows", type=int, help="rows per GPU (default 8 at T=4096, 2 at T=16384)")
    ap.add_argument("--steps", type=int, default=60)
    ap.add_argument("--sparta-train", default=os.path.join(ROOT, "build", "bin", "sparta-train"))
    ap.add_argument("--out", default="/tmp/sparta-dp-scaling")
    ap.add_argument("--gpus", type=int, help="GPUs of this host to use at most (default: nvidia-smi -L)")
    ap.add_argument("--dry-run", action="store_true")
    args = ap.parse_args()
    if args.steps <= SKIPPED_STEPS + 1:
        sys.exit(f"--steps must be more than {SKIPPED_STEPS + 1}")
    worlds = [int(n) for n in args.ranks.split(",")]
    lengths = [int(t) for t in args.T.split(",")]
    for T in lengths:
        if T not in PATTERN:
            sys.exit(f"--T {T}: the cases are T = 4096 and 16384")
    os.makedirs(args.out, exist_ok=True)
    data = synthetic_data(os.path.join(args.out, "data.txt"))
    gpus = args.gpus if args.gpus is not None else None if args.dry_run else gpu_count()
    rows_out = []
    for T in lengths:
        rows = args.rows or ROWS_PER_GPU[T]
        single = None
        for world in worlds:
            run_dir = os.path.join(args.out, f"T{T}-N{world}")
            cmds = commands(args, world, T, rows, data, run_dir)
            if args.dry_run:
                print("\n".join(" ".join(c) + (" &" if len(cmds) > 1 else "") for c in cmds))
                continue
            if world > gpus:
                print(f"T={T} N={world}: skipped, this machine has {gpus} GPU(s)")
                continue
            run_case(cmds, run_dir)
            tps = tokens_per_second(run_dir, rows * world * T)
            single = tps if world == 1 else single
            eff = tps / (world * single) if single else None
            rows_out.append({"T": T, "ranks": world, "rows_per_gpu": rows, "global_batch": rows * world,
                             "tokens_per_s": round(tps), "efficiency": None if eff is None else round(eff, 3)})
    if args.dry_run:
        return 0
    print(f"{'T':>6} {'ranks':>5} {'batch':>5} {'tokens/s':>12} {'efficiency':>10}")
    for r in rows_out:
        eff = "-" if r["efficiency"] is None else f"{r['efficiency']:.3f}"
        print(f"{r['T']:>6} {r['ranks']:>5} {r['global_batch']:>5} {r['tokens_per_s']:>12} {eff:>10}")
    for r in rows_out:
        print(json.dumps(r))
    return 0


if __name__ == "__main__":
    sys.exit(main())
