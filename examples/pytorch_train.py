#!/usr/bin/env python3
"""A small GPT-style byte model in plain PyTorch whose attention is sparta's.

Trains on GCIDE (the dictionary text of Debian's dict-gcide package) with
AdamW under bf16 autocast and prints the loss in bits per byte as it goes and
the training throughput at the end. `--attention flex` runs the same model
with FlexAttention over the same masks (sparta.flex_mask_mod), so the two
runs compare like for like:

    python3 examples/pytorch_train.py --seq-len 16384 --steps 300
    python3 examples/pytorch_train.py --seq-len 16384 --steps 300 --attention flex

The attention layout is [B, T, H, d] (what the QKV projection produces), which
sparta reads in place; FlexAttention gets the [B, H, T, d] transpose. The last
line is one JSON object (attention, tokens_per_s, final loss, ...).
"""

import argparse
import gzip
import json
import math
import statistics
import time

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

import sparta


def load_bytes(path):
    # .dict.dz is dictzip, a gzip file with an index: gzip reads it.
    with gzip.open(path, "rb") if path.endswith(".dz") or path.endswith(".gz") else open(path, "rb") as f:
        return np.frombuffer(f.read(), dtype=np.uint8)


class Attention(nn.Module):
    def __init__(self, d_model, heads, attend):
        super().__init__()
        self.heads = heads
        self.qkv = nn.Linear(d_model, 3 * d_model, bias=False)
        self.proj = nn.Linear(d_model, d_model, bias=False)
        self.attend = attend

    def forward(self, x):
        B, T, C = x.shape
        q, k, v = self.qkv(x).view(B, T, 3, self.heads, C // self.heads).unbind(dim=2)
        return self.proj(self.attend(q, k, v).reshape(B, T, C))


class Block(nn.Module):
    def __init__(self, d_model, heads, attend):
        super().__init__()
        self.ln1 = nn.LayerNorm(d_model)
        self.attn = Attention(d_model, heads, attend)
        self.ln2 = nn.LayerNorm(d_model)
        self.mlp = nn.Sequential(nn.Linear(d_model, 4 * d_model), nn.GELU(),
                                 nn.Linear(4 * d_model, d_model))

    def forward(self, x):
        x = x + self.attn(self.ln1(x))
        return x + self.mlp(self.ln2(x))


class ByteGPT(nn.Module):
    def __init__(self, layers, d_model, heads, seq_len, attend):
        super().__init__()
        self.embed = nn.Embedding(256, d_model)
        self.pos = nn.Parameter(torch.zeros(seq_len, d_model))
        self.blocks = nn.ModuleList(Block(d_model, heads, attend) for _ in range(layers))
        self.ln = nn.LayerNorm(d_model)
        self.head = nn.Linear(d_model, 256, bias=False)
        nn.init.normal_(self.pos, std=0.02)

    def forward(self, tokens):
        x = self.embed(tokens) + self.pos[: tokens.shape[1]]
        for block in self.blocks:
            x = block(x)
        return self.head(self.ln(x))


def make_attend(kind, pattern, heads, seq_len, device):
    """attend(q, k, v) on [B, T, H, d] tensors -> [B, T, H, d]."""
    if kind == "sparta":
        return lambda q, k, v: sparta.attention(q, k, v, pattern, layout="bthd")
    from torch.nn.attention.flex_attention import create_block_mask, flex_attention
    block_mask = create_block_mask(sparta.flex_mask_mod(pattern, device=device), None, heads,
                                   seq_len, seq_len, device=device)
    flex = torch.compile(flex_attention)

    def attend(q, k, v):
        o = flex(q.transpose(1, 2), k.transpose(1, 2), v.transpose(1, 2), block_mask=block_mask)
        return o.transpose(1, 2)
    return attend


def main():
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--attention", choices=["sparta", "flex"], default="sparta")
    parser.add_argument("--pattern", default="fixed", help="a pattern file or a shipped name")
    parser.add_argument("--set", action="append", default=[], metavar="NAME=VALUE",
                        help="pattern parameter (default L=128, c=32)")
    parser.add_argument("--seq-len", type=int, default=4096)
    parser.add_argument("--layers", type=int, default=4)
    parser.add_argument("--d-model", type=int, default=512)
    parser.add_argument("--heads", type=int, default=8)
    parser.add_argument("--batch", type=int, default=1)
    parser.add_argument("--steps", type=int, default=300)
    parser.add_argument("--warmup-steps", type=int, default=10,
                        help="first steps, left out of the throughput (compilation happens here)")
    parser.add_argument("--lr", type=float, default=1e-3)
    parser.add_argument("--no-compile", action="store_true", help="run the model eagerly")
    parser.add_argument("--data-path", default="/usr/share/dictd/gcide.dict.dz")
    parser.add_argument("--log-every", type=int, default=50)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()

    device = torch.device("cuda")
    torch.manual_seed(args.seed)
    params = {"L": 128, "c": 32}
    for assignment in args.set:
        name, _, value = assignment.partition("=")
        params[name] = int(value)
    pattern = sparta.Pattern(args.pattern, T=args.seq_len, **params)

    data = torch.from_numpy(load_bytes(args.data_path).copy())
    split = int(0.95 * len(data))
    train, valid = data[:split], data[split:]
    generator = torch.Generator().manual_seed(args.seed)

    def batch(source):
        starts = torch.randint(0, len(source) - args.seq_len - 1, (args.batch,), generator=generator)
        rows = torch.stack([source[s: s + args.seq_len + 1] for s in starts.tolist()]).long()
        rows = rows.to(device, non_blocking=True)
        return rows[:, :-1], rows[:, 1:]

    attend = make_attend(args.attention, pattern, args.heads, args.seq_len, device)
    model = ByteGPT(args.layers, args.d_model, args.heads, args.seq_len, attend).to(device)
    optimizer = torch.optim.AdamW(model.parameters(), lr=args.lr, weight_decay=0.1,
                                  fused=True)

    def loss_of(tokens, targets):
        with torch.autocast("cuda", dtype=torch.bfloat16):
            logits = model(tokens)
        return F.cross_entropy(logits.float().view(-1, 256), targets.reshape(-1))

    step_loss = loss_of if args.no_compile else torch.compile(loss_of)
    print(f"{args.attention}: {pattern!r}, {sum(p.numel() for p in model.parameters()) / 1e6:.1f}M "
          f"parameters, B={args.batch}, T={args.seq_len}, {torch.cuda.get_device_name()}",
          flush=True)

    times, loss = [], float("nan")
    for step in range(args.steps):
        lr = args.lr * min(1.0, (step + 1) / max(1, args.warmup_steps)) * \
            0.5 * (1 + math.cos(math.pi * step / args.steps))
        for group in optimizer.param_groups:
            group["lr"] = lr
        tokens, targets = batch(train)
        torch.cuda.synchronize()
        start = time.perf_counter()
        loss_t = step_loss(tokens, targets)
        optimizer.zero_grad(set_to_none=True)
        loss_t.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        optimizer.step()
        torch.cuda.synchronize()
        if step >= args.warmup_steps:
            times.append(time.perf_counter() - start)
        loss = loss_t.item()
        if step % args.log_every == 0 or step == args.steps - 1:
            print(f"step {step:5d}  loss {loss / math.log(2):.3f} bits/byte  lr {lr:.2e}", flush=True)

    with torch.no_grad():
        valid_loss = statistics.fmean(step_loss(*batch(valid)).item() for _ in range(4))
    tokens_per_s = args.batch * args.seq_len / statistics.median(times) if times else float("nan")
    print(f"{args.attention}: {tokens_per_s:,.0f} tokens/s (median step "
          f"{1e3 * statistics.median(times) if times else float('nan'):.1f} ms), "
          f"validation {valid_loss / math.log(2):.3f} bits/byte", flush=True)
    print(json.dumps({"attention": args.attention, "pattern": pattern.name, "params": pattern.params,
                      "seq_len": args.seq_len, "batch": args.batch, "layers": args.layers,
                      "d_model": args.d_model, "heads": args.heads, "steps": args.steps,
                      "tokens_per_s": tokens_per_s, "train_bits_per_byte": loss / math.log(2),
                      "valid_bits_per_byte": valid_loss / math.log(2),
                      "device": torch.cuda.get_device_name()}))


if __name__ == "__main__":
    main()
