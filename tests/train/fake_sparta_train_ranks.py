#!/usr/bin/env python3
"""A stand-in for sparta-train on several ranks, for the CPU tests of the scripts
that drive it (tests/train/data_parallel_gpu.py, bench/dp_scaling.py).

It reads --world-size, --rank, --rendezvous, --out, --steps, --batch, --T and
--resume and behaves as sparta-train does towards those scripts: the ranks meet
through the rendezvous file (rank 0 writes it, the others leave FILE.joined-R, rank
0 removes both); rank 0 alone prints the run's lines and writes metrics.jsonl,
checkpoints/step-*.ckpt and model.safetensors; SIGTERM to any rank stops all of
them after a step, with exit 4 and rank 0's message naming the checkpoint; --resume
continues after the newest checkpoint. The numbers are fixed so the test knows them:
the loss of step s is 5 / (1 + s / 10) nats plus 1e-4 * sin(s) when there is more
than one rank; tokens/s is FAKE_RANK_RATE (1000) per rank x 0.9 when there is more
than one rank. FAKE_NO_DEVICE=1 answers as sparta-train does without a GPU.
"""

import json
import math
import os
import signal
import sys
import time

FAKE_RANK_RATE = 1000.0
FLAGS = {"--resume", "--recompute", "--quiet"}


def options(argv):
    values, i = {}, 0
    while i < len(argv):
        if argv[i] in FLAGS:
            values[argv[i]], i = True, i + 1
        else:
            values[argv[i]], i = argv[i + 1], i + 2
    return values


def wait_for(test, what):
    deadline = time.time() + 60
    while not test():
        if time.time() > deadline:
            sys.exit(f"fake sparta-train: gave up waiting for {what}")
        time.sleep(0.01)


def meet(path, world, rank):
    markers = [f"{path}.joined-{r}" for r in range(1, world)]
    if rank == 0:
        open(path, "w").write("fake rendezvous\n")
        wait_for(lambda: all(os.path.exists(m) for m in markers), "the other ranks")
        for p in [path] + markers:
            os.remove(p)
    else:
        wait_for(lambda: os.path.exists(path), "rank 0")
        open(markers[rank - 1], "w").write("joined\n")


def main():
    if os.environ.get("FAKE_NO_DEVICE"):
        print("sparta-train: error: no CUDA device: fake", file=sys.stderr)
        return 77
    o = options(sys.argv[1:])
    world, rank = int(o.get("--world-size", 1)), int(o.get("--rank", 0))
    out, steps, batch, T = o["--out"], int(o["--steps"]), int(o["--batch"]), int(o["--T"])
    ckpts = os.path.join(out, "checkpoints")
    stop_request, stopped_at = os.path.join(out, ".fake-stop-request"), os.path.join(out, ".fake-stopped-at")
    signalled = []
    signal.signal(signal.SIGTERM, lambda n, _f: signalled.append(n))
    os.makedirs(ckpts, exist_ok=True)
    first = 1
    if "--resume" in o:
        first = max(int(n[5:15]) for n in os.listdir(ckpts)) + 1
    if rank == 0 and os.path.exists(stopped_at):
        os.remove(stopped_at)  # the previous part's; the others look only after meeting
    if world > 1:
        meet(o["--rendezvous"], world, rank)
    if rank == 0:
        print(f"model: fake, T {T}")
        if world > 1:
            print(f"ranks: {world} (from --world-size), each {batch // world} of the {batch} rows of a batch")
    requested = False  # this rank's stop request is written once
    rate = FAKE_RANK_RATE * world * (0.9 if world > 1 else 1.0)
    for step in range(first, steps + 1):
        time.sleep(0.01)
        if signalled and not requested:
            open(stop_request, "w").write(str(rank))
            requested = True
        if rank != 0:
            if os.path.exists(stopped_at):
                return 4
            continue
        loss = 5 / (1 + step / 10) + (1e-4 * math.sin(step) if world > 1 else 0)
        with open(os.path.join(out, "metrics.jsonl"), "a") as f:
            f.write(json.dumps({"step": step, "split": "train", "loss": loss, "bits": loss / math.log(2),
                                "lr": 1e-3, "grad_norm": 1.0, "tokens_per_s": rate}) + "\n")
            if step % 20 == 0 or step == steps:
                f.write(json.dumps({"step": step, "split": "validation", "loss": loss,
                                    "bits": loss / math.log(2)}) + "\n")
        if os.path.exists(stop_request) and step < steps:
            ckpt = os.path.join(ckpts, f"step-{step:010d}.ckpt")
            open(ckpt, "w").write("fake\n")
            os.remove(stop_request)
            open(stopped_at, "w").write(str(step))
            print(f"sparta-train: SIGTERM received: stopped after step {step}; checkpoint {ckpt}; "
                  "continue with --resume", file=sys.stderr)
            return 4
    weights = os.path.join(out, "model.safetensors")
    if rank != 0:
        wait_for(lambda: os.path.exists(stopped_at) or os.path.exists(weights), "rank 0 to finish")
        return 4 if os.path.exists(stopped_at) else 0
    open(weights, "w").write(f"weights after {steps} steps\n")
    print(f"done: steps {first}-{steps}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
