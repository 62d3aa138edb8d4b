#!/usr/bin/env python3
"""What the Python operator costs, and training throughput against FlexAttention.

    python3 bench/python_bench.py overhead   # host time of a forward call, by layer
    python3 bench/python_bench.py train      # examples/pytorch_train.py, sparta then flex

overhead (default T=4096, B=1, H=8, d=64, bf16, the strided pattern, L=128):
the host time one forward call takes (calls are queued without waiting, so
the GPU never holds the host up; median over rounds of --calls calls) for
  C++ forward   sparta_attention_forward called directly with prepared
                arguments (libsparta's SparseAttention::forward plus a ctypes call)
  sparta.attention   the whole operator without autograd: checks, output and
                workspace allocation from PyTorch, current stream, the call
  ... q requires grad   the same, recorded for autograd
and the GPU time of one forward (CUDA events). The overhead is the
difference of the first two.

train: runs examples/pytorch_train.py with --attention sparta and with
--attention flex (same model, masks and data; default T=16384, fixed L=128
c=32) and prints their throughputs side by side.

Each prints a table and, last, one JSON line.
"""

import argparse
import json
import os
import statistics
import subprocess
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def overhead(args):
    import torch
    import sparta
    from sparta import _capi, ops

    pattern = sparta.Pattern(args.pattern, T=args.seq_len, L=args.L)
    B, H, T, d = args.batch, args.heads, args.seq_len, args.head_dim
    q, k, v = (torch.randn(B, H, T, d, device="cuda", dtype=torch.bfloat16) for _ in range(3))
    with torch.no_grad():
        sparta.attention(q, k, v, pattern)            # compiles and caches the kernels
    torch.cuda.synchronize()

    kernels = ops._kernels_for(pattern.key, T, d, q.dtype, q.get_device(), 0.0)
    o = torch.empty_like(q)
    lse = torch.empty(B, H, T, device="cuda", dtype=torch.float32)
    ws_bytes = kernels.workspace_bytes(0, B, H, H)
    ws = torch.empty(max(ws_bytes, 1), device="cuda", dtype=torch.uint8)
    records = _capi.TensorRecords([ops._in_place(t, "bhtd")[1] for t in (q, k, v, o)])
    stream = ops._stream(q.get_device())
    forward = _capi.lib().sparta_attention_forward
    handle = kernels.handle

    def direct():
        _capi.check(forward(handle, *records.addresses, lse.data_ptr(), stream,
                            ws.data_ptr() if ws_bytes else 0, ws_bytes, 0, 0))

    def operator():
        sparta.attention(q, k, v, pattern)

    qg = q.detach().clone().requires_grad_(True)

    def operator_autograd():
        sparta.attention(qg, k, v, pattern)   # records the graph; its backward is not run

    def host_us(fn, grad=False):
        rounds = []
        with torch.set_grad_enabled(grad):
            for _ in range(args.rounds):
                torch.cuda.synchronize()
                start = time.perf_counter()
                for _ in range(args.calls):
                    fn()
                rounds.append((time.perf_counter() - start) / args.calls * 1e6)
                torch.cuda.synchronize()
        return statistics.median(rounds)

    def gpu_us(fn):
        start, end = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
        with torch.no_grad():
            fn()
            start.record()
            for _ in range(args.calls):
                fn()
            end.record()
        torch.cuda.synchronize()
        return start.elapsed_time(end) * 1e3 / args.calls

    for fn in (direct, operator):                      # warm every path
        host_us(fn)
    host_us(operator_autograd, grad=True)
    cpp, py = host_us(direct), host_us(operator)
    py_grad = host_us(operator_autograd, grad=True)
    gpu = gpu_us(direct)
    rows = [("C++ forward (through the C interface)", cpp), ("sparta.attention", py),
            ("overhead of the operator", py - cpp),
            ("sparta.attention, q requires grad", py_grad), ("GPU time of one forward", gpu)]
    print(f"{torch.cuda.get_device_name()}: {pattern!r}, B={B}, H={H}, d={d}, bf16, "
          f"median of {args.rounds} rounds of {args.calls} calls")
    print(f"| {'host time per forward call':<40} | {'µs':>8} |")
    print(f"| {'-' * 40} | {'-' * 8}:|")
    for name, value in rows:
        print(f"| {name:<40} | {value:8.2f} |")
    print(json.dumps({"bench": "python-overhead", "device": torch.cuda.get_device_name(),
                      "pattern": pattern.name, "params": pattern.params, "B": B, "H": H, "d": d,
                      "cpp_forward_host_us": cpp, "operator_host_us": py,
                      "overhead_us": py - cpp, "operator_autograd_host_us": py_grad,
                      "gpu_forward_us": gpu}))


def train(args):
    results = []
    for attention in ("sparta", "flex"):
        command = [sys.executable, os.path.join(ROOT, "examples", "pytorch_train.py"),
                   "--attention", attention, "--seq-len", str(args.seq_len),
                   "--steps", str(args.steps), "--batch", str(args.batch),
                   "--layers", str(args.layers), "--d-model", str(args.d_model),
                   "--heads", str(args.heads), "--pattern", args.train_pattern,
                   *[f"--set={s}" for s in args.set]]
        if args.data_path:
            command += ["--data-path", args.data_path]
        print("$", " ".join(command), flush=True)
        # Its stderr passes through, so a failing run says why.
        run = subprocess.run(command, stdout=subprocess.PIPE, text=True)
        if run.returncode != 0:
            print(run.stdout, end="")
            sys.exit(f"python_bench.py: {attention} run failed (exit {run.returncode})")
        out = run.stdout
        print(out, end="", flush=True)
        results.append(json.loads(out.strip().splitlines()[-1]))
    sparta_run, flex_run = results
    print(f"\n| attention | tokens/s | valid bits/byte |")
    print(f"| --- | ---: | ---: |")
    for r in results:
        print(f"| {r['attention']} | {r['tokens_per_s']:,.0f} | {r['valid_bits_per_byte']:.3f} |")
    speedup = sparta_run["tokens_per_s"] / flex_run["tokens_per_s"]
    print(f"sparta / flex: {speedup:.2f}x")
    print(json.dumps({"bench": "python-train", "device": sparta_run["device"],
                      "seq_len": args.seq_len, "sparta_tokens_per_s": sparta_run["tokens_per_s"],
                      "flex_tokens_per_s": flex_run["tokens_per_s"], "speedup": speedup}))


def main():
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="what", required=True)
    o = sub.add_parser("overhead")
    o.add_argument("--pattern", default="strided")
    o.add_argument("--L", type=int, default=128)
    o.add_argument("--seq-len", type=int, default=4096)
    o.add_argument("--batch", type=int, default=1)
    o.add_argument("--heads", type=int, default=8)
    o.add_argument("--head-dim", type=int, default=64)
    o.add_argument("--calls", type=int, default=200)
    o.add_argument("--rounds", type=int, default=20)
    t = sub.add_parser("train")
    t.add_argument("--seq-len", type=int, default=16384)
    t.add_argument("--steps", type=int, default=100)
    t.add_argument("--batch", type=int, default=1)
    t.add_argument("--layers", type=int, default=4)
    t.add_argument("--d-model", type=int, default=512)
    t.add_argument("--heads", type=int, default=8)
    t.add_argument("--train-pattern", default="fixed")
    t.add_argument("--set", action="append", default=["L=128", "c=32"])
    t.add_argument("--data-path", default=None)
    args = parser.parse_args()
    overhead(args) if args.what == "overhead" else train(args)


if __name__ == "__main__":
    main()
