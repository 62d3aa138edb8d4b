"""Reading sparta-train run directories: metrics.jsonl, config.json, the wall clock.

Shared by examples/compare.py and examples/metrics_to_tensorboard.py. The file
formats are those of docs/training.md ("Output directory"): metrics.jsonl holds one
JSON object per training step and per evaluation ("step", "split", "loss" in nats,
"bits", optional "lr", "grad_norm", "tokens_per_s", and "elapsed_s", the seconds
since that process's training loop began); config.json is the run's configuration
(model, data, optimizer, train sections).

Python 3.11 standard library only.
"""

import json
import os


class RunError(Exception):
    """A run directory whose files are missing or malformed (the message names the file)."""


def read_records(path):
    """Every record of a metrics.jsonl, in file order; blank lines are skipped."""
    records = []
    try:
        f = open(path, encoding="utf-8")
    except OSError as e:
        raise RunError(f"cannot read {path}: {e.strerror}")
    with f:
        for n, line in enumerate(f, 1):
            if not line.strip():
                continue
            try:
                r = json.loads(line)
            except json.JSONDecodeError as e:
                raise RunError(f"{path}:{n}: not a JSON record ({e.msg})")
            if not isinstance(r, dict) or not isinstance(r.get("step"), int):
                raise RunError(f"{path}:{n}: a metrics record needs an integer \"step\"")
            records.append(r)
    return records


def read_config(run_dir):
    path = os.path.join(run_dir, "config.json")
    try:
        with open(path, encoding="utf-8") as f:
            config = json.load(f)
    except OSError as e:
        raise RunError(f"cannot read {path}: {e.strerror}")
    except json.JSONDecodeError as e:
        raise RunError(f"{path}: not JSON ({e.msg})")
    for section in ("model", "data", "train"):
        if not isinstance(config.get(section), dict):
            raise RunError(f"{path}: no \"{section}\" section")
    return config


def run_times(records):
    """Each record's seconds since the run began, over resumed parts.

    A resumed run starts its elapsed_s at 0 again; such a drop begins a new part,
    which is placed after the end of the previous one. Returns (times, part_starts):
    part_starts holds the index of each part's first record.
    """
    offset, previous, times, starts = 0.0, 0.0, [], [0] if records else []
    for i, r in enumerate(records):
        e = float(r.get("elapsed_s") or 0.0)
        if e < previous:
            offset += previous
            starts.append(i)
        previous = e
        times.append(offset + e)
    return times, starts
