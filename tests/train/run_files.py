"""What the GPU tests of sparta-train as a process share (signal_resume_gpu.py,
data_parallel_gpu.py): the synthetic byte file they train on and the metrics
records they compare."""

import json
import os

KEYS = ("step", "split", "loss", "bits", "lr", "grad_norm")


def write_synthetic_text(path):
    """40000 words drawn from six by a fixed LCG: a text a tiny model learns in a few hundred steps."""
    words = [b"alpha ", b"beta ", b"gamma ", b"delta\n", b"epsilon, ", b"zeta. "]
    state, chunks = 12345, []
    for _ in range(40000):
        state = (state * 6364136223846793005 + 1442695040888963407) % (1 << 64)
        chunks.append(words[(state >> 33) % len(words)])
    with open(path, "wb") as f:
        f.write(b"".join(chunks))
    return path


def records(run_dir):
    """metrics.jsonl of a run as tuples of KEYS."""
    with open(os.path.join(run_dir, "metrics.jsonl")) as f:
        return [tuple(json.loads(line).get(k) for k in KEYS) for line in f if line.strip()]
