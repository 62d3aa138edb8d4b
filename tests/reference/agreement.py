#!/usr/bin/env python3
"""Agreement test between sparta's C++ model and the PyTorch reference.

An exchange directory holds (docs/reference-model.md, "Exchange directory"):

    config.json           {"model": {...}, "train": {...}} (sparse_transformer.ModelConfig/TrainConfig)
    init.safetensors      the initial weights (F32 or BF16), the model's parameter names
    batch.safetensors     tensor "tokens", U8 or I32, [B, T+1] or [S, B, T+1]   (or batch.bin:
                          the raw U8 / I32 bytes of the same, dtype from config "batch_dtype")
    val.bin               optional: held-out validation windows, U8 [V, B, T+1] (config
                          "val_shape"); generate --val-batches V writes it
  written by the side under test (the C++ trainer):
    grads.safetensors     step-0 gradients of the loss on batch 0 (F32 or BF16), parameter names
    loss.json             {"loss": <nats>} for batch 0 at the initial weights
    losses.jsonl          one {"step": s, "loss": <nats>} per training step (200), step s on
                          batch s mod S, from init.safetensors with config's "train" settings
    val.json              with val.bin: {"loss": <nats>} mean over every validation window
                          after those training steps (no dropout)
  written by this script (the reference's side, for the other direction):
    ref_grads.safetensors, ref_loss.json, ref_losses.jsonl, ref_val.json, agreement_report.json

Commands:
    generate DIR   random init + batches + config (the C++ side can load them: agreement in
                   both directions)
    reference DIR  the reference's results as ref_* files
    candidate DIR  the reference's results under the C++ side's names (a stand-in for the
                   C++ trainer; used by selftest with --precision bf16)
    check DIR      compute the reference (fp32) and compare; prints a table; exit 1 on failure
    selftest DIR   generate, candidate in bf16 autocast, check against fp32, plus negative
                   controls showing that the check catches a wrong loss, gradient and track

Tolerances (defaults; see docs/reference-model.md for the reasoning):
    initial loss      |l - l_ref| / l_ref <= 1e-3
    gradients         ||g - g_ref|| / ||g_ref|| <= 2e-2 per parameter tensor (bf16 vs fp32);
                      the key part of each qkv bias has a zero gradient in exact arithmetic
                      (softmax is shift invariant), so it is checked as
                      ||g_k|| <= 2e-2 * ||g_qkv.bias|| instead
    200-step track    |mean of the last 10 losses - same for reference| <= 0.02 bits and
                      max over steps |l_s - l_ref,s| <= 0.1 bits
    validation        |bits/byte - reference's| <= 0.02 after the same training (val.bin)
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import math
import os
import sys
import time

import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import masks as masklib  # noqa: E402
import sparse_transformer as st  # noqa: E402
from agreement_checks import (LN2, Tolerances, compare_grads, compare_loss, compare_tracks,  # noqa: E402
                              compare_validation, print_report)


def device_default():
    return "cuda" if torch.cuda.is_available() else "cpu"


# ---------------------------------------------------------------------------
# synthetic data


def synthetic_text(n: int, seed: int) -> bytes:
    """Text-like bytes: Zipf-distributed random lower-case words, spaces, punctuation
    and newlines; learnable structure so that 200 steps move the loss."""
    g = torch.Generator().manual_seed(seed)
    nwords = 400
    lens = torch.randint(1, 9, (nwords,), generator=g)
    letters = "etaoinshrdlcumwfgypbvkjxqz"
    lw = torch.tensor([1.0 / (r + 1) ** 0.8 for r in range(26)])
    words = []
    for ln in lens.tolist():
        idx = torch.multinomial(lw, ln, replacement=True, generator=g).tolist()
        words.append("".join(letters[i] for i in idx))
    zipf = torch.tensor([1.0 / (r + 1) for r in range(nwords)])
    out = []
    total = 0
    while total < n:
        k = torch.multinomial(zipf, 64, replacement=True, generator=g).tolist()
        punct = torch.rand(64, generator=g).tolist()
        for w, p in zip(k, punct):
            s = words[w] + (". " if p < 0.06 else ", " if p < 0.12 else "\n" if p < 0.14 else " ")
            out.append(s)
            total += len(s)
    return "".join(out).encode("ascii")[:n]


def make_batches(S: int, B: int, T: int, data: str, seed: int, region=(0.0, 1.0)) -> torch.Tensor:
    """[S, B, T+1] uint8 windows, from the fraction `region` of a byte file (the
    synthetic sources are drawn afresh from `seed` instead)."""
    if data == "random":
        g = torch.Generator().manual_seed(seed)
        return torch.randint(0, 256, (S, B, T + 1), generator=g, dtype=torch.int64).to(torch.uint8)
    if data == "markov":
        src = synthetic_text(max(4 * S * B * (T + 1), 1 << 16), seed)
    else:
        with open(data, "rb") as f:
            src = f.read()
        src = src[int(region[0] * len(src)):int(region[1] * len(src))]
    if len(src) < T + 2:
        raise ValueError(f"{data}: {len(src)} bytes, need more than T+1 = {T + 1}")
    buf = torch.frombuffer(bytearray(src), dtype=torch.uint8)
    g = torch.Generator().manual_seed(seed + 1)
    starts = torch.randint(0, len(src) - (T + 1), (S * B,), generator=g)
    rows = torch.stack([buf[s:s + T + 1] for s in starts.tolist()])
    return rows.view(S, B, T + 1)


# ---------------------------------------------------------------------------
# exchange directory I/O


def load_batches(d: str, T: int, cfg_raw: dict) -> torch.Tensor:
    """[S, B, T+1] int64."""
    p = os.path.join(d, "batch.safetensors")
    if os.path.exists(p):
        ts = st.read_safetensors(p)
        t = ts["tokens"] if "tokens" in ts else next(iter(ts.values()))
    else:
        p = os.path.join(d, "batch.bin")
        dt = {"U8": torch.uint8, "I32": torch.int32}[cfg_raw.get("batch_dtype", "U8")]
        with open(p, "rb") as f:
            raw = bytearray(f.read())
        t = torch.frombuffer(raw, dtype=dt)
        B = int(cfg_raw.get("train", cfg_raw).get("batch_size", cfg_raw.get("batch_size", 0)) or 0)
        if B <= 0:
            raise ValueError("batch.bin needs train.batch_size in config.json")
        t = t.view(-1, B, T + 1)
    if t.dim() == 2:
        t = t.unsqueeze(0)
    if t.shape[-1] != T + 1:
        raise ValueError(f"batch has rows of {t.shape[-1]} tokens, config T+1 = {T + 1}")
    t = t.to(torch.int64)
    if int(t.min()) < 0 or int(t.max()) > 255:
        raise ValueError("batch tokens outside 0..255")
    return t


def load_validation(d: str, T: int, cfg_raw: dict):
    """[V, B, T+1] int64 validation windows (val.bin, U8), or None without a validation set."""
    p = os.path.join(d, "val.bin")
    if not os.path.exists(p):
        return None
    with open(p, "rb") as f:
        t = torch.frombuffer(bytearray(f.read()), dtype=torch.uint8).to(torch.int64)
    shape = cfg_raw.get("val_shape")
    if shape is None or t.numel() != shape[0] * shape[1] * shape[2] or shape[2] != T + 1:
        raise ValueError(f"{p}: {t.numel()} bytes do not match config val_shape {shape} (T+1 = {T + 1})")
    return t.view(*shape)


def read_loss_json(path: str) -> float:
    with open(path) as f:
        d = json.load(f)
    if isinstance(d, (int, float)):
        return float(d)
    for k in ("loss", "loss_nats", "nats"):
        if k in d:
            return float(d[k])
    if "bits" in d:
        return float(d["bits"]) * LN2
    raise ValueError(f"{path}: no 'loss' (nats) or 'bits'")


def read_losses_jsonl(path: str):
    """{step: loss nats} from the training lines (evaluation lines are skipped)."""
    out = {}
    with open(path) as f:
        for line in f:
            line = line.strip()
            if not line:
                continue
            d = json.loads(line)
            if d.get("kind", d.get("type", d.get("split", "train"))) not in ("train", "step"):
                continue
            if "step" not in d:
                continue
            if "loss" in d:
                out[int(d["step"])] = float(d["loss"])
            elif "bits" in d:
                out[int(d["step"])] = float(d["bits"]) * LN2
    return out


def write_results(d: str, prefix: str, loss: float, grads, track, precision: str, train_precision: str,
                  val=None):
    st.write_safetensors(os.path.join(d, f"{prefix}grads.safetensors"), grads)
    if val is not None:
        with open(os.path.join(d, f"{prefix}val.json"), "w") as f:
            json.dump({"loss": val, "bits": val / LN2, "precision": "fp32"}, f)
            f.write("\n")
    with open(os.path.join(d, f"{prefix}loss.json"), "w") as f:
        json.dump({"loss": loss, "bits": loss / LN2, "precision": precision}, f)
        f.write("\n")
    if track is not None:
        with open(os.path.join(d, f"{prefix}losses.jsonl"), "w") as f:
            for r in track:
                f.write(json.dumps(dict(r, precision=train_precision)) + "\n")


# ---------------------------------------------------------------------------
# the reference's computation


def build_model(d: str, device, attention="dense", mask_files=None):
    mc, tc = st.load_config(os.path.join(d, "config.json"))
    if mask_files:
        mc.mask_files = [os.path.abspath(p) for p in mask_files]
    model = st.SparseTransformer(mc, attention=attention, base_dir=d).to(device)
    model.load_safetensors(os.path.join(d, "init.safetensors"))
    return model, mc, tc


def compute_reference(d: str, device, precision="fp32", train_precision="fp32", steps=None,
                      attention="dense", quiet=False, mask_files=None):
    with open(os.path.join(d, "config.json")) as f:
        raw = json.load(f)
    model, mc, tc = build_model(d, device, attention, mask_files)
    batches = load_batches(d, mc.seq_len, raw).to(device)
    t0 = time.time()
    loss, grads = st.loss_and_grads(model, batches[0], precision)
    track = None
    nsteps = tc.steps if steps is None else steps
    if nsteps > 0:
        model.load_safetensors(os.path.join(d, "init.safetensors"))  # unchanged, but explicit
        def log(r):
            if not quiet and (r["step"] % 50 == 0 or r["step"] == nsteps - 1):
                print(f"  [{train_precision}] step {r['step']:4d} loss {r['loss']:.4f} nats "
                      f"({r['bits']:.4f} bits) lr {r['lr']:.2e} |g| {r['grad_norm']:.3f}", flush=True)
        track = st.train(model, batches, tc, train_precision, nsteps, log)
    val = None
    vb = load_validation(d, mc.seq_len, raw)
    if vb is not None:
        val = validation_loss(model, vb.to(device))
        if not quiet:
            print(f"  validation after {nsteps} steps: {val:.6f} nats ({val / LN2:.4f} bits) over "
                  f"{vb.shape[0] * vb.shape[1]} windows", flush=True)
    if not quiet:
        print(f"  reference ({precision} grads, {train_precision} training) in {time.time() - t0:.1f}s",
              flush=True)
    return loss, grads, track, val


@torch.no_grad()
def validation_loss(model, windows: torch.Tensor) -> float:
    """Mean loss (nats per byte) over every window, fp32, no dropout."""
    was_training = model.training
    model.eval()
    total = 0.0
    with st.precision_context("fp32", windows.device):
        for b in windows:
            total += float(model.loss(b).item()) * b.shape[0]
    model.train(was_training)
    return total / (windows.shape[0] * windows.shape[1])


# ---------------------------------------------------------------------------
# commands


def cmd_generate(a):
    os.makedirs(a.dir, exist_ok=True)
    params = {"L": a.L}
    if a.c is not None:
        params["c"] = a.c
    for kv in a.param or []:
        k, v = kv.split("=", 1)
        params[k] = int(v)
    mc = st.ModelConfig(layers=a.layers, d_model=a.d_model, heads=a.heads, ff_mult=a.ff_mult, seq_len=a.seq_len,
                        pattern=a.pattern, pattern_file=a.pattern_file, pattern_params=params,
                        head_mode=a.head_mode, positional=a.positional, dropout=0.0)
    st.fit_pattern_params(mc)
    pf = st.resolve_pattern_file(mc)
    if pf is not None and mc.pattern_file is None:  # name the file for the C++ side
        mc.pattern_file = os.path.relpath(pf, st.REPO_ROOT)
    steps = a.steps
    warmup = min(a.warmup, steps // 2)  # the C++ schedule needs warm-up shorter than the run
    tc = st.TrainConfig(batch_size=a.batch_size, steps=steps, lr=a.lr, min_lr=a.min_lr, warmup_steps=warmup,
                        total_steps=steps, seed=a.seed)
    st.save_config(os.path.join(a.dir, "config.json"), mc, tc)
    with open(os.path.join(a.dir, "config.json")) as f:
        raw = json.load(f)
    raw["batch_dtype"] = "U8"
    S = a.batches if a.batches > 0 else max(steps, 1)
    raw["batch_shape"] = [S, a.batch_size, a.seq_len + 1]
    if a.val_batches > 0:
        raw["val_shape"] = [a.val_batches, a.batch_size, a.seq_len + 1]
    with open(os.path.join(a.dir, "config.json"), "w") as f:
        json.dump(raw, f, indent=2)
        f.write("\n")
    model = st.SparseTransformer(mc, base_dir=a.dir)
    model.init_weights(seed=a.seed, noise=a.init_noise)
    model.save_safetensors(os.path.join(a.dir, "init.safetensors"))
    train_region = (0.0, 0.9) if a.val_batches > 0 else (0.0, 1.0)
    tokens = make_batches(S, a.batch_size, a.seq_len, a.data, a.seed, train_region)
    st.write_safetensors(os.path.join(a.dir, "batch.safetensors"), {"tokens": tokens})
    with open(os.path.join(a.dir, "batch.bin"), "wb") as f:
        f.write(tokens.numpy().tobytes())
    if a.val_batches > 0:
        val = make_batches(a.val_batches, a.batch_size, a.seq_len, a.data, a.seed + 7919, (0.9, 1.0))
        with open(os.path.join(a.dir, "val.bin"), "wb") as f:
            f.write(val.numpy().tobytes())
    if a.write_masks:
        md = os.path.join(a.dir, "masks")
        os.makedirs(md, exist_ok=True)
        for k, m in enumerate(model.pattern):
            mt = masklib.dense_mask(m, mc.seq_len) if isinstance(m, tuple) else m
            with open(os.path.join(md, f"mask{k}.txt"), "w") as f:
                for row in mt.to(torch.uint8).tolist():
                    f.write("".join("1" if x else "0" for x in row) + "\n")
    print(f"wrote {a.dir}: config.json, init.safetensors ({sum(p.numel() for p in model.parameters())} "
          f"parameters), batch.safetensors + batch.bin (U8 {list(tokens.shape)})"
          + (f", val.bin (U8 {[a.val_batches, a.batch_size, a.seq_len + 1]})" if a.val_batches > 0 else ""))


def cmd_results(a, prefix):
    loss, grads, track, val = compute_reference(a.dir, a.device, a.precision, a.train_precision, a.steps,
                                                mask_files=a.mask_from)
    write_results(a.dir, prefix, loss, grads, track, a.precision, a.train_precision, val)
    print(f"wrote {prefix}grads.safetensors, {prefix}loss.json (loss {loss:.6f} nats)"
          + (f", {prefix}losses.jsonl ({len(track)} steps)" if track else ""))


def _tol(a):
    return Tolerances(loss_rel=a.loss_tol, grad_rel=a.grad_tol, track_final_bits=a.track_final_tol,
                      track_max_bits=a.track_max_tol, val_bits=a.val_tol)


def run_check(a):
    tol = _tol(a)
    d = a.dir
    mc, tc = st.load_config(os.path.join(d, "config.json"))
    have_track = os.path.exists(os.path.join(d, "losses.jsonl")) and not a.no_track
    cand_track = read_losses_jsonl(os.path.join(d, "losses.jsonl")) if have_track else None
    steps = 0
    if have_track:
        steps = a.steps if a.steps is not None else (max(cand_track) + 1 if cand_track else tc.steps)
    reuse = a.reuse and os.path.exists(os.path.join(d, "ref_grads.safetensors"))
    if reuse:
        ref_loss = read_loss_json(os.path.join(d, "ref_loss.json"))
        ref_grads = st.read_safetensors(os.path.join(d, "ref_grads.safetensors"))
        ref_track_map = read_losses_jsonl(os.path.join(d, "ref_losses.jsonl")) if have_track else None
        ref_val_path = os.path.join(d, "ref_val.json")
        ref_val = read_loss_json(ref_val_path) if os.path.exists(ref_val_path) else None
        print("reusing ref_* files")
    else:
        ref_loss, ref_grads, ref_track, ref_val = compute_reference(d, a.device, a.precision, a.train_precision,
                                                                    steps, mask_files=a.mask_from)
        write_results(d, "ref_", ref_loss, ref_grads, ref_track, a.precision, a.train_precision, ref_val)
        ref_track_map = {r["step"]: r["loss"] for r in ref_track} if ref_track else None
    cand_loss = read_loss_json(os.path.join(d, "loss.json"))
    cand_grads = st.read_safetensors(os.path.join(d, "grads.safetensors"))
    ref_grads = {k: v.float().cpu() for k, v in ref_grads.items()}
    loss_res = compare_loss(ref_loss, cand_loss, tol)
    grad_rows = compare_grads(ref_grads, cand_grads, mc.d_model, tol)
    track_res = None
    if have_track:
        if cand_track:
            ref_track_map = {s: v for s, v in ref_track_map.items() if s <= max(cand_track)}
        track_res = compare_tracks(ref_track_map, cand_track, tol)
    else:
        print("note: no losses.jsonl (or --no-track): the 200-step track is not compared")
    val_res = None
    cand_val_path = os.path.join(d, "val.json")
    if ref_val is not None:
        if not os.path.exists(cand_val_path):
            raise SystemExit(f"{d} has a validation set but no val.json from the candidate")
        if not have_track:
            raise SystemExit("validation after training needs the candidate's losses.jsonl (same steps)")
        val_res = compare_validation(ref_val, read_loss_json(cand_val_path), tol)
    ok = print_report(loss_res, grad_rows, track_res, tol, val_res)
    with open(os.path.join(d, "agreement_report.json"), "w") as f:
        json.dump({"ok": ok, "tolerances": dataclasses.asdict(tol), "loss": loss_res, "grads": grad_rows,
                   "track": track_res, "validation": val_res, "reference_precision": a.precision,
                   "reference_train_precision": a.train_precision}, f, indent=1)
    return ok, loss_res, grad_rows, track_res, ref_loss, ref_grads, ref_track_map, cand_loss, cand_grads, cand_track


def cmd_check(a):
    ok = run_check(a)[0]
    sys.exit(0 if ok else 1)


def cmd_selftest(a):
    failures = []
    # safetensors: own reader/writer against the package (when installed), BF16/U8 included
    os.makedirs(a.dir, exist_ok=True)
    tmp = os.path.join(a.dir, "_st_roundtrip.safetensors")
    ts = {"a": torch.randn(3, 5), "b": torch.randn(7).to(torch.bfloat16), "c": torch.arange(11, dtype=torch.uint8),
          "d": torch.arange(6, dtype=torch.int32).view(2, 3)}
    st.write_safetensors_raw(tmp, ts)
    back = st.read_safetensors(tmp)
    back2 = st.read_safetensors_raw(tmp)
    for k in ts:
        if not (torch.equal(back[k], ts[k]) and torch.equal(back2[k], ts[k])):
            failures.append(f"safetensors round trip of {k}")
    os.remove(tmp)
    print("safetensors round trip (own writer -> package/own reader):", "ok" if not failures else failures)

    if not os.path.exists(os.path.join(a.dir, "config.json")) or a.force:
        a.write_masks = True
        cmd_generate(a)
    # masks read from files ('0'/'1' lines, as `sparta mask` prints) give the same loss and gradients
    mdir = os.path.join(a.dir, "masks")
    if os.path.isdir(mdir):
        files = sorted(os.path.join(mdir, f) for f in os.listdir(mdir) if f.endswith(".txt"))
        mc0 = st.load_config(os.path.join(a.dir, "config.json"))[0]
        if mc0.head_mode != "merged":  # merged masks are written with the union appended
            l0, g0, _, _ = compute_reference(a.dir, a.device, "fp32", "fp32", 0, quiet=True)
            l1, g1, _, _ = compute_reference(a.dir, a.device, "fp32", "fp32", 0, quiet=True, mask_files=files)
            same = l0 == l1 and all(torch.equal(g0[k], g1[k]) for k in g0)
            print(f"masks from files ({len(files)}) vs pattern: loss {l1:.6f} vs {l0:.6f}:",
                  "identical" if same else "DIFFERENT")
            if not same:
                failures.append("masks read from files give a different loss/gradients than the pattern")
    # the candidate: the same reference in bf16 autocast (a stand-in for the C++ side)
    ca = argparse.Namespace(**vars(a))
    ca.precision, ca.train_precision = "bf16", "bf16"
    print("candidate: reference in bf16 autocast")
    cmd_results(ca, "")
    print("check: fp32 reference vs bf16 candidate")
    ok, loss_res, grad_rows, track_res, ref_loss, ref_grads, ref_track, cand_loss, cand_grads, cand_track = run_check(a)
    if not ok:
        failures.append("bf16 candidate does not agree with the fp32 reference")
    tol = _tol(a)
    # negative controls: each must be caught
    if compare_loss(ref_loss, ref_loss * (1 + 3 * tol.loss_rel), tol)["ok"]:
        failures.append("a loss off by 3x the tolerance was accepted")
    bad = dict(cand_grads)
    victim = "blocks.0.mlp.fc1.weight"
    g = ref_grads[victim]
    noise = torch.randn(g.shape, generator=torch.Generator().manual_seed(1))
    bad[victim] = g + noise * (3 * tol.grad_rel * g.norm() / noise.norm())
    rows = compare_grads(ref_grads, bad, st.load_config(os.path.join(a.dir, "config.json"))[0].d_model, tol)
    if [r["name"] for r in rows if not r["ok"]] != [victim]:
        failures.append(f"a gradient off by 3x the tolerance was not caught exactly: "
                        f"{[r['name'] for r in rows if not r['ok']]}")
    bad = dict(cand_grads)
    bad.pop("ln_f.bias")
    if all(r["ok"] for r in compare_grads(ref_grads, bad, 1, tol)):
        failures.append("a missing gradient was accepted")
    bad = dict(cand_grads)
    bad["blocks.0.attn.qkv.weight"] = bad["blocks.0.attn.qkv.weight"][:1].clone()
    if all(r["ok"] for r in compare_grads(ref_grads, bad, 1, tol)):
        failures.append("a gradient of the wrong shape was accepted")
    if cand_track and ref_track:
        shifted = {s: v + 2 * tol.track_final_bits * LN2 for s, v in cand_track.items()}
        if compare_tracks(ref_track, shifted, tol)["ok"]:
            failures.append("a track shifted by 2x the final tolerance was accepted")
        spike = dict(cand_track)
        s0 = sorted(spike)[len(spike) // 2]
        spike[s0] += 2 * tol.track_max_bits * LN2
        if compare_tracks(ref_track, spike, tol)["ok"]:
            failures.append("a track with one step off by 2x the max tolerance was accepted")
        short = {s: v for s, v in cand_track.items() if s < max(cand_track)}
        if compare_tracks(ref_track, short, tol)["ok"]:
            failures.append("a track with a missing step was accepted")
    if a.flex_check:
        # FlexAttention (compiled) path of the reference against the dense path, fp32
        fl, fg, _ = compute_reference(a.dir, a.device, "fp32", "fp32", 0, quiet=True, attention="flex")
        frows = compare_grads(ref_grads, {k: v.cpu() for k, v in fg.items()},
                              st.load_config(os.path.join(a.dir, "config.json"))[0].d_model, tol)
        worst = max(r.get("rel", math.inf) for r in frows)
        print(f"flex vs dense attention (fp32): loss {fl:.6f} vs {ref_loss:.6f} (rel {abs(fl - ref_loss) / ref_loss:.2e}), "
              f"worst gradient rel {worst:.2e}")
        if abs(fl - ref_loss) / ref_loss > tol.loss_rel or worst > tol.grad_rel:
            failures.append("flex attention path disagrees with dense attention")
    print()
    print("negative controls (loss x(1+3tol), one gradient +3tol noise, missing gradient, wrong shape, "
          "track +2tol, one-step spike, missing step):", "all caught" if not failures else "PROBLEMS")
    summary = {"selftest_ok": not failures, "failures": failures,
               "bf16_vs_fp32": {"loss_rel": loss_res["rel"],
                                "grad_worst_rel": max(r.get("rel", math.inf) for r in grad_rows),
                                "grad_median_rel": sorted(r.get("rel", math.inf) for r in grad_rows)[len(grad_rows) // 2],
                                "track": track_res}}
    print(json.dumps(summary))
    sys.exit(0 if not failures else 1)


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = p.add_subparsers(dest="cmd", required=True)

    def common(q):
        q.add_argument("dir")
        q.add_argument("--device", default=device_default())
        q.add_argument("--precision", default="fp32", choices=["fp32", "bf16"],
                       help="precision of the reference's step-0 loss and gradients")
        q.add_argument("--train-precision", default="fp32", choices=["fp32", "bf16"],
                       help="precision of the reference's training track")
        q.add_argument("--steps", type=int, default=None, help="training steps (default: config / candidate)")
        q.add_argument("--mask-from", action="append", default=None, metavar="FILE",
                       help="mask file (T lines of T '0'/'1', e.g. from `sparta mask`); repeat per mask "
                            "(head h uses mask h mod n); overrides the config's pattern")

    def gen(q):
        q.add_argument("--layers", type=int, default=2)
        q.add_argument("--d-model", type=int, default=128)
        q.add_argument("--heads", type=int, default=4)
        q.add_argument("--ff-mult", type=int, default=4)
        q.add_argument("--seq-len", type=int, default=256)
        q.add_argument("--pattern", default="fixed")
        q.add_argument("--pattern-file", default=None)
        q.add_argument("--L", type=int, default=16)
        q.add_argument("--c", type=int, default=4)
        q.add_argument("--param", action="append", help="NAME=VALUE, another pattern parameter")
        q.add_argument("--head-mode", default="multihead", choices=["multihead", "merged", "interleaved"])
        q.add_argument("--positional", default="text", choices=["text", "image"])
        q.add_argument("--batch-size", type=int, default=8)
        q.add_argument("--batches", type=int, default=0, help="distinct batches S (default: one per step)")
        q.add_argument("--val-batches", type=int, default=0,
                       help="V batches of held-out validation windows (val.bin; a byte file's last 10%%, "
                            "training windows then come from the first 90%%)")
        q.add_argument("--lr", type=float, default=1e-3)
        q.add_argument("--min-lr", type=float, default=1e-4)
        q.add_argument("--warmup", type=int, default=20)
        q.add_argument("--seed", type=int, default=0)
        q.add_argument("--data", default="markov", help="markov (synthetic text), random, or a byte file")
        q.add_argument("--init-noise", type=float, default=0.02,
                       help="N(0, noise) added to biases and LayerNorm parameters (0: exactly 0 and 1)")
        q.add_argument("--write-masks", action="store_true", help="also write masks/mask{k}.txt")

    def tols(q):
        q.add_argument("--loss-tol", type=float, default=1e-3)
        q.add_argument("--grad-tol", type=float, default=2e-2)
        q.add_argument("--track-final-tol", type=float, default=0.02)
        q.add_argument("--track-max-tol", type=float, default=0.1)
        q.add_argument("--val-tol", type=float, default=0.02,
                       help="validation bits/byte after training, |candidate - reference|")
        q.add_argument("--no-track", action="store_true")
        q.add_argument("--reuse", action="store_true", help="reuse ref_* files instead of recomputing")

    q = sub.add_parser("generate")
    q.add_argument("dir")
    gen(q)
    q.set_defaults(steps_default=200)
    q.add_argument("--steps", type=int, default=200)
    for name in ("reference", "candidate"):
        q = sub.add_parser(name)
        common(q)
    q = sub.add_parser("check")
    common(q)
    tols(q)
    q = sub.add_parser("selftest")
    common(q)
    gen(q)
    tols(q)
    q.add_argument("--force", action="store_true", help="regenerate the directory")
    q.add_argument("--flex-check", action="store_true",
                   help="also compare the FlexAttention path's loss and gradients with dense (CUDA)")
    a = p.parse_args()
    if a.cmd == "generate":
        cmd_generate(a)
    elif a.cmd == "reference":
        cmd_results(a, "ref_")
    elif a.cmd == "candidate":
        cmd_results(a, "")
    elif a.cmd == "check":
        cmd_check(a)
    elif a.cmd == "selftest":
        if a.steps is None:
            a.steps = 200
        cmd_selftest(a)


if __name__ == "__main__":
    main()
