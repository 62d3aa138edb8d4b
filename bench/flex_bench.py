#!/usr/bin/env python3
"""PyTorch FlexAttention and dense causal SDPA on sparta's benchmark patterns.

    bench/flex_bench.py [--d 64] [--T 16384] [--B N] [--H 8] [--L N] [--c N]
                        [--pattern NAME ...] [--no-sdpa]

The PyTorch side of bench/run_attention_bench.py: it times the same cases as
attention-bench (bench/attention.cpp) and prints one JSON line per case with the
same fields (impl, pattern, B, H, T, d, l, c, fwd_ms, fwdbwd_ms, fwd_tflops,
fwdbwd_tflops, density, device), so the two can be put side by side. Needs a GPU
and PyTorch >= 2.5 (torch is imported only to run, so --help works without it).

Patterns, by attention-bench's names, with the masks of sparta's pattern files
(every mask causal, j <= i; multi-head patterns give head h mask h mod 2):
  causal          patterns/dense.mlir       every earlier key
  strided-heads   patterns/strided.mlir     head 0 band 0 <= i-j <= L, head 1 (i-j) mod L == 0
  fixed-heads     patterns/fixed.mlir       head 0 chunk i/L == j/L, head 1 summary j mod L >= L-c
  strided-merged  patterns/strided_merged.mlir  every head the union of the two
  fixed-merged    patterns/fixed_merged.mlir    every head the union of the two
Defaults as attention-bench's: B = 2 * max(1, 16384 / T), H = 8, L = 64 for
T <= 4096 and 128 above, c = 32 when L = 128 and 16 otherwise.

Method: FlexAttention through torch.compile(flex_attention) with a block mask from
create_block_mask (128 x 128 blocks, the mask compiled too); SDPA is
scaled_dot_product_attention(is_causal=True). bf16 inputs drawn from a normal
distribution; per case 3 warm-up runs, then the median of 20 runs each timed by a
pair of CUDA events. Useful FLOPs count only allowed (query, key) pairs: forward
4*d*pairs, backward 10*d*pairs. Flex lines also carry mask_s (building the block
mask), first_call_s (the first, compiling forward) and first_fwdbwd_s (up to the
end of the first backward).
"""
import argparse
import json
import sys
import time

PATTERNS = ("causal", "strided-heads", "fixed-heads", "strided-merged", "fixed-merged")


def head_masks(name, L, c):
    """The pattern's masks as (q, k) -> bool tensor functions, in head order."""
    def band(q, k):
        return (q >= k) & (q - k <= L)

    def stride(q, k):
        return (q >= k) & ((q - k) % L == 0)

    def chunk(q, k):
        return (q >= k) & (q // L == k // L)

    def summary(q, k):
        return (q >= k) & (k % L >= L - c)

    def causal(q, k):
        return q >= k

    return {
        "causal": [causal],
        "strided-heads": [band, stride],
        "fixed-heads": [chunk, summary],
        "strided-merged": [lambda q, k: band(q, k) | stride(q, k)],
        "fixed-merged": [lambda q, k: chunk(q, k) | summary(q, k)],
    }[name]


def mask_mod_of(masks):
    """A FlexAttention mask_mod giving head h the mask h mod len(masks)."""
    import torch
    if len(masks) == 1:
        only = masks[0]
        return lambda b, h, q, k: only(q, k)
    first, second = masks
    return lambda b, h, q, k: torch.where(h % 2 == 0, first(q, k), second(q, k))


def allowed_pairs(masks, H, T, device):
    """Allowed (query, key) pairs summed over the H heads, counted on the device in
    slabs of query rows."""
    import torch
    keys = torch.arange(T, device=device)[None, :]
    total = 0
    for index, mask in enumerate(masks):
        heads = len(range(index, H, len(masks)))
        count = 0
        for q0 in range(0, T, 2048):
            queries = torch.arange(q0, min(T, q0 + 2048), device=device)[:, None]
            count += int(mask(queries, keys).sum())
        total += heads * count
    return total


def median_ms(fn, torch):
    for _ in range(3):
        fn()
    torch.cuda.synchronize()
    times = []
    for _ in range(20):
        start = torch.cuda.Event(enable_timing=True)
        stop = torch.cuda.Event(enable_timing=True)
        start.record()
        fn()
        stop.record()
        stop.synchronize()
        times.append(start.elapsed_time(stop))
    times.sort()
    return times[len(times) // 2]


def inputs(B, H, T, d, torch):
    shape = (B, H, T, d)
    q, k, v = (torch.randn(shape, device="cuda", dtype=torch.bfloat16, requires_grad=True)
               for _ in range(3))
    grad_out = torch.randn(shape, device="cuda", dtype=torch.bfloat16)
    return q, k, v, grad_out


def record(impl, name, B, H, T, d, L, c, fwd_ms, fwdbwd_ms, pairs, torch, **extra):
    flops_fwd, flops_bwd = 4.0 * d * pairs, 10.0 * d * pairs
    row = dict(impl=impl, pattern=name, B=B, H=H, T=T, d=d, l=L, c=c,
               fwd_ms=fwd_ms, fwdbwd_ms=fwdbwd_ms,
               fwd_tflops=flops_fwd / fwd_ms / 1e9,
               fwdbwd_tflops=(flops_fwd + flops_bwd) / fwdbwd_ms / 1e9,
               density=pairs / (B * H * T * T),
               device=torch.cuda.get_device_name(), torch=torch.__version__)
    row.update(extra)
    print(json.dumps(row), flush=True)


def time_flex(name, B, H, T, d, L, c, flex, torch):
    from torch.nn.attention.flex_attention import create_block_mask
    masks = head_masks(name, L, c)
    started = time.perf_counter()
    block_mask = create_block_mask(mask_mod_of(masks), B=None, H=H, Q_LEN=T, KV_LEN=T,
                                   device="cuda", BLOCK_SIZE=128, _compile=True)
    torch.cuda.synchronize()
    mask_s = time.perf_counter() - started
    q, k, v, grad_out = inputs(B, H, T, d, torch)

    started = time.perf_counter()
    out = flex(q, k, v, block_mask=block_mask)
    torch.cuda.synchronize()
    first_call_s = time.perf_counter() - started
    out.backward(grad_out)
    torch.cuda.synchronize()
    first_fwdbwd_s = time.perf_counter() - started

    def forward():
        return flex(q, k, v, block_mask=block_mask)

    def forward_backward():
        forward().backward(grad_out)

    fwd_ms, fwdbwd_ms = median_ms(forward, torch), median_ms(forward_backward, torch)
    pairs = allowed_pairs(masks, H, T, "cuda") * B
    record("flex", name, B, H, T, d, L, c, fwd_ms, fwdbwd_ms, pairs, torch,
           mask_s=mask_s, first_call_s=first_call_s, first_fwdbwd_s=first_fwdbwd_s)


def time_sdpa(B, H, T, d, L, c, torch):
    from torch.nn.functional import scaled_dot_product_attention
    q, k, v, grad_out = inputs(B, H, T, d, torch)

    def forward():
        return scaled_dot_product_attention(q, k, v, is_causal=True)

    def forward_backward():
        forward().backward(grad_out)

    fwd_ms, fwdbwd_ms = median_ms(forward, torch), median_ms(forward_backward, torch)
    record("sdpa-causal", "causal", B, H, T, d, L, c, fwd_ms, fwdbwd_ms,
           B * H * T * (T + 1) // 2, torch)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                 formatter_class=argparse.RawDescriptionHelpFormatter,
                                 epilog="\n\n".join(__doc__.split("\n\n")[2:]))
    ap.add_argument("--d", type=int, default=64, help="head dimension")
    ap.add_argument("--T", type=int, default=16384, help="sequence length")
    ap.add_argument("--B", type=int, default=None, help="batch (default 2 * max(1, 16384 / T))")
    ap.add_argument("--H", type=int, default=8, help="heads")
    ap.add_argument("--L", type=int, default=None, help="stride / chunk length")
    ap.add_argument("--c", type=int, default=None, help="summary width of the fixed patterns")
    ap.add_argument("--pattern", nargs="*", choices=PATTERNS, default=list(PATTERNS))
    ap.add_argument("--no-sdpa", action="store_true", help="skip dense causal SDPA")
    args = ap.parse_args()
    B = args.B or max(1, 16384 // args.T) * 2
    L = args.L or (64 if args.T <= 4096 else 128)
    c = args.c or (32 if L == 128 else 16)

    import torch
    import torch._dynamo
    from torch.nn.attention.flex_attention import flex_attention
    if not torch.cuda.is_available():
        print("flex_bench.py: error: no CUDA device", file=sys.stderr)
        return 1
    # One compiled flex_attention serves every pattern: each block mask is a new
    # guard, so allow more recompilations than dynamo's default of 8.
    for limit in ("cache_size_limit", "recompile_limit"):
        if hasattr(torch._dynamo.config, limit):
            setattr(torch._dynamo.config, limit, 256)
    flex = torch.compile(flex_attention, dynamic=False)

    if not args.no_sdpa:
        time_sdpa(B, args.H, args.T, args.d, L, c, torch)
    failed = 0
    for name in args.pattern:
        try:
            time_flex(name, B, args.H, args.T, args.d, L, c, flex, torch)
        except Exception as e:  # report the case and go on with the others
            failed += 1
            print(json.dumps(dict(impl="flex", pattern=name, B=B, H=args.H, T=args.T, d=args.d,
                                  error=f"{type(e).__name__}: {e}"[:400])), flush=True)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
