#!/usr/bin/env python3
"""Training throughput of the PyTorch reference with FlexAttention + torch.compile
(the side-by-side comparison with sparta's trainer, docs/performance.md).

The model is tests/reference/sparse_transformer.py (the same parameters and math as
the C++ model); attention is FlexAttention with a block mask built from the
pattern's mask predicates (head h uses mask h mod n, or the --head-mode given);
the loss function (embedding .. cross-entropy) is compiled as a whole with
torch.compile. One training step = forward + backward under bf16 autocast (fp32
master weights), gradient-norm clip at 1.0 and AdamW (fused on CUDA) with the
warm-up/cosine schedule. Data: uniformly random bytes (throughput does not depend
on the values).

Prints one JSON line: tokens/s = B*T / median step time over the timed steps,
after the warm-up steps (which include compilation).

    python3 tests/reference/flex_train_bench.py --layers 8 --d-model 512 --heads 8 \\
        --seq-len 16384 --pattern fixed --L 128 --c 32 --batch-size 1
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time

import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import sparse_transformer as st  # noqa: E402


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--layers", type=int, default=8)
    p.add_argument("--d-model", type=int, default=512)
    p.add_argument("--heads", type=int, default=8)
    p.add_argument("--ff-mult", type=int, default=4)
    p.add_argument("--seq-len", type=int, default=16384)
    p.add_argument("--batch-size", type=int, default=1)
    p.add_argument("--pattern", default="fixed", help="built-in name or patterns/<name>.mlir stem")
    p.add_argument("--pattern-file", default=None)
    p.add_argument("--L", type=int, default=128)
    p.add_argument("--c", type=int, default=32)
    p.add_argument("--param", action="append", help="NAME=VALUE, another pattern parameter")
    p.add_argument("--head-mode", default="multihead", choices=["multihead", "merged", "interleaved"])
    p.add_argument("--attention", default="flex", choices=["flex", "dense"])
    p.add_argument("--no-compile", action="store_true", help="eager model (flex_attention still compiled)")
    p.add_argument("--precision", default="bf16", choices=["bf16", "fp32"])
    p.add_argument("--warmup-steps", type=int, default=5, help="untimed steps (compilation happens here)")
    p.add_argument("--steps", type=int, default=20, help="timed steps")
    p.add_argument("--lr", type=float, default=3e-4)
    p.add_argument("--block-size", type=int, default=128, help="FlexAttention block size")
    p.add_argument("--device", default="cuda")
    a = p.parse_args()

    params = {"L": a.L, "c": a.c}
    for kv in a.param or []:
        k, v = kv.split("=", 1)
        params[k] = int(v)
    mc = st.ModelConfig(layers=a.layers, d_model=a.d_model, heads=a.heads, ff_mult=a.ff_mult, seq_len=a.seq_len,
                        pattern=a.pattern, pattern_file=a.pattern_file, pattern_params=params,
                        head_mode=a.head_mode, dropout=0.0)
    total = a.warmup_steps + a.steps
    tc = st.TrainConfig(batch_size=a.batch_size, steps=total, lr=a.lr, warmup_steps=max(1, total // 10),
                        total_steps=total)
    st.fit_pattern_params(mc)
    dev = torch.device(a.device)
    torch.manual_seed(0)
    model = st.SparseTransformer(mc, attention=a.attention, compile_flex=a.no_compile,
                                 flex_block_size=a.block_size)
    model.init_weights(seed=0)
    model.to(dev)
    t0 = time.time()
    model.prepare_masks(dev)
    mask_s = time.time() - t0
    density = None
    if a.attention == "flex":
        bms = [bm for bm in model._block_masks.values()]
        try:
            density = sum(1.0 - bm.sparsity() / 100.0 for bm in bms) / len(bms)
        except Exception:
            density = None

    loss_fn = model.loss if a.no_compile else torch.compile(model.loss)
    opt = st.make_optimizer(model, tc, fused=(dev.type == "cuda"))
    g = torch.Generator().manual_seed(0)
    batches = [torch.randint(0, 256, (a.batch_size, a.seq_len + 1), generator=g).to(dev) for _ in range(4)]

    def step(s):
        lr = st.lr_at(tc, s)
        for grp in opt.param_groups:
            grp["lr"] = lr
        opt.zero_grad(set_to_none=True)
        with st.precision_context(a.precision, dev):
            loss = loss_fn(batches[s % len(batches)])
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), tc.clip)
        opt.step()
        return loss

    t0 = time.time()
    for s in range(a.warmup_steps):
        loss = step(s)
    if dev.type == "cuda":
        torch.cuda.synchronize()
    warm_s = time.time() - t0
    if dev.type == "cuda":
        torch.cuda.reset_peak_memory_stats()
    times = []
    for s in range(a.warmup_steps, total):
        if dev.type == "cuda":
            torch.cuda.synchronize()
        t = time.perf_counter()
        loss = step(s)
        if dev.type == "cuda":
            torch.cuda.synchronize()
        times.append(time.perf_counter() - t)
    med = statistics.median(times)
    tokens = a.batch_size * a.seq_len
    out = {
        "impl": "pytorch-" + a.attention + ("" if a.no_compile else "+compile"),
        "torch": torch.__version__,
        "device": torch.cuda.get_device_name(dev) if dev.type == "cuda" else "cpu",
        "layers": a.layers, "d_model": a.d_model, "heads": a.heads, "ff_mult": a.ff_mult,
        "T": a.seq_len, "batch": a.batch_size, "pattern": a.pattern, "pattern_params": mc.pattern_params,
        "head_mode": a.head_mode, "precision": a.precision,
        "params": sum(p.numel() for p in model.parameters()),
        "block_mask_density": density,
        "tokens_per_step": tokens,
        "step_ms_median": med * 1e3, "step_ms_min": min(times) * 1e3, "step_ms_max": max(times) * 1e3,
        "tokens_per_s": tokens / med,
        "timed_steps": len(times), "warmup_steps": a.warmup_steps, "warmup_s": warm_s, "mask_build_s": mask_s,
        "peak_mem_gib": (torch.cuda.max_memory_allocated(dev) / 2**30) if dev.type == "cuda" else None,
        "final_loss": float(loss.item()),
    }
    print(json.dumps(out), flush=True)


if __name__ == "__main__":
    main()
