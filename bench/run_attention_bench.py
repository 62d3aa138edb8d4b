#!/usr/bin/env python3
"""sparta vs FlexAttention vs dense SDPA, side by side, on one GPU in one run.

    bench/run_attention_bench.py [--bench build/bin/attention-bench] [--flex bench/flex_bench.py]
                                 [--d 64] [--T 16384] [--extra PATTERN:T ...]
                                 [--commit REV] [--out results.jsonl]

Runs sparta's attention-bench and bench/flex_bench.py (FlexAttention and SDPA,
PyTorch) for the same cases on the same GPU, one after the other, then prints a
markdown table headed by the GPU and the commit measured: each implementation's
fwd and fwd+bwd milliseconds, useful TFLOP/s (allowed pairs only), and sparta's
speed-up over FlexAttention and over dense causal SDPA. Extra sparta-only cases
(--extra "pattern:T" ...) are timed too (e.g. T=65536 strided-heads, with its
device memory).
"""
import argparse
import json
import os
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))


def current_commit():
    """The checkout's commit, or None where the tree is not a git checkout."""
    try:
        out = subprocess.run(["git", "-C", HERE, "rev-parse", "--short", "HEAD"],
                             capture_output=True, text=True, check=True)
        return out.stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return None


def run_lines(cmd):
    print("+", " ".join(cmd), file=sys.stderr, flush=True)
    out = subprocess.run(cmd, check=True, capture_output=True, text=True)
    rows = []
    for line in out.stdout.splitlines():
        line = line.strip()
        if line.startswith("{"):
            rows.append(json.loads(line))
        elif line:
            print("  " + line, file=sys.stderr)
    return rows


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--flex", default=os.path.join(HERE, "flex_bench.py"),
                    help="the PyTorch side (default: flex_bench.py beside this script)")
    ap.add_argument("--bench", default="build/bin/attention-bench")
    ap.add_argument("--patterns", default="patterns")
    ap.add_argument("--d", type=int, default=64)
    ap.add_argument("--T", type=int, default=16384)
    ap.add_argument("--extra", nargs="*", default=[], help="sparta-only cases, PATTERN:T")
    ap.add_argument("--commit", default=None,
                    help="the commit measured, for the table's heading (default: git's HEAD)")
    ap.add_argument("--out", default=None, help="also write every JSON line here")
    args = ap.parse_args()

    B = max(1, 16384 // args.T) * 2  # flex_bench.py's and attention-bench's batch rule
    rows = run_lines([args.bench, "--T", str(args.T), "--d", str(args.d), "--B", str(B),
                      "--patterns", args.patterns])
    rows += run_lines([sys.executable, args.flex, "--d", str(args.d), "--T", str(args.T),
                       "--B", str(B)])
    extra = []
    for case in args.extra:
        name, T = case.split(":")
        extra += run_lines([args.bench, "--pattern", name, "--T", T, "--d", str(args.d),
                            "--B", str(max(1, 16384 // int(T)) * 2), "--patterns", args.patterns])
    if args.out:
        with open(args.out, "w") as f:
            for r in rows + extra:
                f.write(json.dumps(r) + "\n")

    by = {(r.get("impl"), r.get("pattern")): r for r in rows if "fwd_ms" in r}
    sdpa = by.get(("sdpa-causal", "causal"))
    commit = args.commit or current_commit() or "unknown commit (pass --commit)"
    torch_version = next((r["torch"] for r in rows if "torch" in r), "?")
    print(f"\n{rows[0].get('device', '')}, commit {commit}, torch {torch_version}: "
          f"bf16, B={B}, H=8, T={args.T}, d={args.d}\n")
    print("| pattern | sparta fwd ms | flex fwd ms | sparta fwd+bwd ms | flex fwd+bwd ms | "
          "speed-up fwd | speed-up fwd+bwd | sparta fwd+bwd TFLOP/s | vs SDPA causal fwd+bwd |")
    print("| --- | --- | --- | --- | --- | --- | --- | --- | --- |")
    for name in ("causal", "strided-heads", "fixed-heads", "strided-merged", "fixed-merged"):
        s, f = by.get(("sparta", name)), by.get(("flex", name))
        if not s:
            continue
        fl = f or {}
        ratio = lambda a, b: f"{a / b:.2f}x" if a and b else "n/a"
        print(f"| {name} | {s['fwd_ms']:.3f} | {fl.get('fwd_ms', float('nan')):.3f} | "
              f"{s['fwdbwd_ms']:.3f} | {fl.get('fwdbwd_ms', float('nan')):.3f} | "
              f"{ratio(fl.get('fwd_ms'), s['fwd_ms'])} | {ratio(fl.get('fwdbwd_ms'), s['fwdbwd_ms'])} | "
              f"{s['fwdbwd_tflops']:.1f} | "
              f"{ratio(sdpa['fwdbwd_ms'] if sdpa else None, s['fwdbwd_ms'])} |")
    if sdpa:
        print(f"\nSDPA causal: fwd {sdpa['fwd_ms']:.3f} ms, fwd+bwd {sdpa['fwdbwd_ms']:.3f} ms")
    for r in extra:
        print(f"sparta {r['pattern']} T={r['T']} B={r['B']}: fwd {r['fwd_ms']:.3f} ms, "
              f"fwd+bwd {r['fwdbwd_ms']:.3f} ms, device memory {r['mem_bytes'] / 2**20:.0f} MiB")


if __name__ == "__main__":
    main()
