#!/usr/bin/env python3
"""A stand-in for sparta-train that writes what compare.py reads, for the CPU tests.

Accepts sparta-train's options; writes OUT/config.json (the sections compare.py
uses), OUT/metrics.jsonl and OUT/argv.json (its own arguments, for the test to
check), prints the "device memory in use by the run" line, and exits 0.

The numbers are fixed by the pattern file's name, so the test knows them:
  tokens_per_s = FAKE_RATE[name] for every step (the first step at half of it),
  elapsed_s = step * 0.5, validation every --eval-every steps: bits = 8 / step,
  device memory = FAKE_MEMORY[name] MiB.
With FAKE_WAIT_FOR_SIGNAL=1 in the environment it prints "waiting", then waits for
SIGINT/SIGTERM and exits 4 with "stopped by SIGNAME", as sparta-train does.
"""

import json
import os
import signal
import sys
import time

FAKE_RATE = {"dense": 1000.0, "fixed": 2000.0, "strided": 4000.0}
FAKE_MEMORY = {"dense": 900.0, "fixed": 500.0, "strided": 400.0}


def main():
    args, values, i = sys.argv[1:], {}, 0
    sets = []
    flags = {"--resume", "--recompute", "--quiet"}
    while i < len(args):
        if args[i] in flags:
            values[args[i]] = True
            i += 1
            continue
        if args[i] == "--set":
            sets.append(args[i + 1])
        else:
            values[args[i]] = args[i + 1]
        i += 2
    out = values["--out"]
    os.makedirs(out, exist_ok=True)
    with open(os.path.join(out, "argv.json"), "w") as f:
        json.dump(sys.argv[1:], f)
    if os.environ.get("FAKE_WAIT_FOR_SIGNAL"):
        got = []
        for s in (signal.SIGINT, signal.SIGTERM):
            signal.signal(s, lambda n, _f: got.append(n))
        print("waiting", flush=True)
        while not got:
            time.sleep(0.05)
        print(f"stopped by {signal.Signals(got[0]).name}", flush=True)
        return 4
    name = os.path.basename(values["--pattern"])[: -len(".mlir")]
    steps, batch, T = int(values["--steps"]), int(values["--batch"]), int(values["--T"])
    every = int(values.get("--eval-every", steps))
    config = {"version": 1, "seed": int(values.get("--seed", 1)),
              "model": {"T": T, "layers": 2, "d_model": 64, "pattern_file": values["--pattern"]},
              "data": {"spec": values.get("--data", "gcide"), "kind": "text"},
              "train": {"batch": batch, "steps": steps}}
    with open(os.path.join(out, "config.json"), "w") as f:
        json.dump(config, f)
    rate = FAKE_RATE[name]
    with open(os.path.join(out, "metrics.jsonl"), "a" if "--resume" in values else "w") as f:
        for step in range(1, steps + 1):
            r = {"step": step, "split": "train", "loss": 1.0, "bits": 1.44,
                 "tokens_per_s": rate / 2 if step == 1 else rate, "elapsed_s": step * 0.5}
            f.write(json.dumps(r) + "\n")
            if step % every == 0:
                f.write(json.dumps({"step": step, "split": "validation", "loss": 1.0, "bits": 8 / step,
                                    "elapsed_s": step * 0.5}) + "\n")
    print(f"device memory in use by the run: {FAKE_MEMORY[name]:.1f} MiB")
    print(f"done: steps 1-{steps}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
