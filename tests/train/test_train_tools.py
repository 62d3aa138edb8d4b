#!/usr/bin/env python3
"""CPU tests of the run tools: compare.py (against a fake sparta-train), the TensorBoard
converter, and sparta-train's answer to resuming a finished run.

  * compare.py: the commands it builds (the same options for every pattern, --set
    merged), the table and compare.json from known metrics, the PNG, --resume,
    --dry-run, forwarding one Ctrl-C to the running trainer, and its usage errors;
  * metrics_to_tensorboard.py: the event file decoded frame by frame (lengths and
    CRC-32C checked with this file's own CRC code) and, when the tensorboard
    package is installed, read back by TensorBoard's own EventAccumulator;
  * sparta-train --resume on a run whose checkpoint is at --steps: the message and
    exit status 0, before any GPU is needed; a bad sample --method: exit status 2;
  * the scripts that run sparta-train on several ranks, tests/train/data_parallel_gpu.py
    and bench/dp_scaling.py, against a fake sparta-train of several ranks
    (fake_sparta_train_ranks.py): what they start, read and report, with two GPUs,
    one, and none.

Needs $SPARTA_BIN_DIR (build/bin: sparta-train, sparta-plot). Runs as a script or
under pytest.
"""

import json
import math
import os
import signal
import struct
import subprocess
import sys
import tempfile
import time
import zlib

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.abspath(os.path.join(HERE, "..", ".."))
BIN = os.environ.get("SPARTA_BIN_DIR", os.path.join(ROOT, "build", "bin"))
FAKE = os.path.join(HERE, "fake_sparta_train.py")
FAKE_RANKS = os.path.join(HERE, "fake_sparta_train_ranks.py")
COMPARE = os.path.join(ROOT, "examples", "compare.py")
TO_TB = os.path.join(ROOT, "examples", "metrics_to_tensorboard.py")


def run(cmd, **kw):
    return subprocess.run(cmd, capture_output=True, text=True, cwd=ROOT, **kw)


def compare(out, *args, env=None):
    return run([sys.executable, COMPARE, "--out", out, "--sparta-train", FAKE,
                "--sparta-plot", os.path.join(BIN, "sparta-plot"), *args],
               env=dict(os.environ, **(env or {})))


COMMON = ["--data", "some.txt", "--T", "100", "--batch", "2", "--steps", "10", "--eval-every", "5",
          "--seed", "7", "--set", "L=10"]


# ---- compare.py -------------------------------------------------------------------

def test_compare_table_plot_and_commands():
    with tempfile.TemporaryDirectory() as out:
        r = compare(out, "--pattern", "dense", "--pattern", "fixed:c=5", "--pattern", "strided:L=20",
                    "--", *COMMON)
        assert r.returncode == 0, r.stdout + r.stderr
        result = json.load(open(os.path.join(out, "compare.json")))
        rows = {row["pattern"]: row for row in result["rows"]}
        assert list(rows) == ["dense", "fixed:c=5", "strided:L=20"]
        # 2 x 100 tokens a step; the fake's rate per pattern; its first step (half rate) is left out.
        for label, rate, mem in (("dense", 1000, 900), ("fixed:c=5", 2000, 500), ("strided:L=20", 4000, 400)):
            row = rows[label]
            assert row["steps"] == 10
            assert math.isclose(row["step_ms"], 200e3 / rate), row
            assert math.isclose(row["tokens_per_s"], rate), row
            assert row["validation_bits"] == 0.8  # 8 / step 10
            assert row["device_memory_mib"] == mem
            assert row["wall_s"] == 5.0
        curves = {c["label"]: c for c in result["curves"]}
        assert curves["dense"]["x"] == [2.5, 5.0] and curves["dense"]["y"] == [1.6, 0.8]
        md = open(os.path.join(out, "compare.md")).read()
        assert "| dense | 10 | 200.0 | 1,000 | 0.8000 | 900 | 5.0 | ok |" in md, md
        assert "| strided:L=20 | 10 | 50.0 | 4,000 | 0.8000 | 400 | 5.0 | ok |" in md, md
        assert open(os.path.join(out, "compare.png"), "rb").read(8) == b"\x89PNG\r\n\x1a\n"
        # Each run got the same options; the pattern's bindings override the common --set.
        argv = {d: json.load(open(os.path.join(out, d, "argv.json")))
                for d in ("dense", "fixed_c=5", "strided_L=20")}
        def without(a, *names):
            kept, i = [], 0
            while i < len(a):
                if a[i] in names:
                    i += 2
                    continue
                kept.append(a[i])
                i += 1
            return kept
        rest = {d: without(a, "--pattern", "--set", "--out") for d, a in argv.items()}
        assert rest["dense"] == rest["fixed_c=5"] == rest["strided_L=20"] == without(COMMON, "--set")
        assert argv["fixed_c=5"][argv["fixed_c=5"].index("--pattern") + 1].endswith("patterns/fixed.mlir")
        sets = {d: [a[i + 1] for i in range(len(a)) if a[i] == "--set"] for d, a in argv.items()}
        assert sets == {"dense": ["L=10"], "fixed_c=5": ["L=10", "c=5"], "strided_L=20": ["L=20"]}
        assert os.path.isfile(os.path.join(out, "dense", "sparta-train.log"))

        # --resume passes --resume to the runs that have checkpoints.
        os.makedirs(os.path.join(out, "dense", "checkpoints"))
        r = compare(out, "--resume", "--pattern", "dense", "--pattern", "fixed:c=5", "--", *COMMON)
        assert r.returncode == 0, r.stdout + r.stderr
        assert "--resume" in json.load(open(os.path.join(out, "dense", "argv.json")))
        assert "--resume" not in json.load(open(os.path.join(out, "fixed_c=5", "argv.json")))


def test_compare_dry_run_runs_nothing():
    with tempfile.TemporaryDirectory() as tmp:
        out = os.path.join(tmp, "runs")
        r = compare(out, "--dry-run", "--", *COMMON)
        assert r.returncode == 0, r.stderr
        lines = r.stdout.splitlines()
        assert len(lines) == 3  # dense, fixed, strided by default
        assert all(l.startswith(FAKE + " --pattern ") and l.endswith(f"--out {out}/" + n)
                   for l, n in zip(lines, ("dense", "fixed", "strided"))), lines
        assert not os.path.exists(out)


def test_compare_forwards_one_interrupt():
    with tempfile.TemporaryDirectory() as out:
        proc = subprocess.Popen([sys.executable, COMPARE, "--out", out, "--sparta-train", FAKE,
                                 "--pattern", "dense", "--", *COMMON], cwd=ROOT,
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                                env=dict(os.environ, FAKE_WAIT_FOR_SIGNAL="1"))
        for line in proc.stdout:
            if line.strip() == "waiting":
                break
        time.sleep(0.2)
        proc.send_signal(signal.SIGINT)
        rest, err = proc.communicate(timeout=30)
        assert proc.returncode == 4, (rest, err)
        assert "stopped by SIGINT" in rest
        assert "dense was stopped by a signal; rerun with --resume to continue" in err


def test_compare_usage_errors():
    with tempfile.TemporaryDirectory() as out:
        cases = [
            (["--", "--out", "x"], "compare.py: '--out' is set by compare.py; give patterns with --pattern"),
            (["--pattern", "nosuch", "--"], "compare.py: pattern 'nosuch': no file"),
            (["--pattern", "fixed:c", "--"], "compare.py: pattern 'fixed:c': 'c' is not NAME=INTEGER"),
            (["--pattern", "dense", "--pattern", "dense", "--"],
             "compare.py: two patterns would share a run directory"),
            (["--", "--set"], "compare.py: --set needs NAME=VALUE"),
        ]
        for args, message in cases:
            r = compare(out, *args)
            assert r.returncode == 2, (args, r.stderr)
            assert message in r.stderr, (args, r.stderr)


# ---- metrics_to_tensorboard.py -----------------------------------------------------

def crc32c_bitwise(data):
    crc = 0xFFFFFFFF
    for b in data:
        crc ^= b
        for _ in range(8):
            crc = (crc >> 1) ^ (0x82F63B78 & -(crc & 1))
    return crc ^ 0xFFFFFFFF


def unmask(masked):
    rot = (masked - 0xA282EAD8) & 0xFFFFFFFF
    return ((rot >> 17) | (rot << 15)) & 0xFFFFFFFF


def proto_fields(data):
    """(field, wire type, value) of one protobuf message."""
    i, out = 0, []
    def varint():
        nonlocal i
        shift = v = 0
        while True:
            b = data[i]
            i += 1
            v |= (b & 0x7F) << shift
            shift += 7
            if not b & 0x80:
                return v
    while i < len(data):
        key = varint()
        field, wire = key >> 3, key & 7
        if wire == 0:
            out.append((field, wire, varint()))
        elif wire == 1:
            out.append((field, wire, struct.unpack("<d", data[i:i + 8])[0]))
            i += 8
        elif wire == 5:
            out.append((field, wire, struct.unpack("<f", data[i:i + 4])[0]))
            i += 4
        elif wire == 2:
            n = varint()
            out.append((field, wire, data[i:i + n]))
            i += n
        else:
            raise AssertionError(f"unexpected wire type {wire}")
    return out


def decode_events(path):
    blob, i, events = open(path, "rb").read(), 0, []
    while i < len(blob):
        header = blob[i:i + 8]
        (n,) = struct.unpack("<Q", header)
        assert unmask(struct.unpack("<I", blob[i + 8:i + 12])[0]) == crc32c_bitwise(header)
        payload = blob[i + 12:i + 12 + n]
        assert unmask(struct.unpack("<I", blob[i + 12 + n:i + 16 + n])[0]) == crc32c_bitwise(payload)
        i += 16 + n
        e = {"wall_time": None, "step": 0, "values": {}}
        for field, _, v in proto_fields(payload):
            if field == 1:
                e["wall_time"] = v
            elif field == 2:
                e["step"] = v
            elif field == 3:
                e["file_version"] = v.decode()
            elif field == 5:
                for f, _, value in proto_fields(v):
                    assert f == 1
                    parts = dict((ff, vv) for ff, _, vv in proto_fields(value))
                    e["values"][parts[1].decode()] = parts[2]
        events.append(e)
    return events


RECORDS = [
    {"step": 1, "split": "train", "loss": 5.5, "bits": 7.93, "lr": 1e-4, "grad_norm": 3.5,
     "tokens_per_s": 1000.0, "elapsed_s": 1.0},
    {"step": 2, "split": "train", "loss": None, "bits": None, "lr": 2e-4, "elapsed_s": 2.0},
    {"step": 2, "split": "validation", "loss": 4.0, "bits": 5.77, "elapsed_s": 3.0},
    # A resumed part: elapsed_s starts again.
    {"step": 3, "split": "train", "loss": 3.0, "bits": 4.33, "lr": 3e-4, "elapsed_s": 0.5},
]


def f32(v):
    return struct.unpack("<f", struct.pack("<f", v))[0]


def write_run(directory):
    with open(os.path.join(directory, "metrics.jsonl"), "w") as f:
        for r in RECORDS:
            f.write(json.dumps(r) + "\n\n")


def test_tensorboard_event_file():
    assert crc32c_bitwise(b"123456789") == 0xE3069283  # the CRC-32C check value
    with tempfile.TemporaryDirectory() as d:
        write_run(d)
        r = run([sys.executable, TO_TB, d])
        assert r.returncode == 0, r.stderr
        logdir = os.path.join(d, "tensorboard")
        names = os.listdir(logdir)
        assert len(names) == 1 and names[0].startswith("events.out.tfevents."), names
        events = decode_events(os.path.join(logdir, names[0]))
        assert events[0]["file_version"] == "brain.Event:2"
        assert [e["step"] for e in events[1:]] == [1, 2, 2, 3]
        assert events[1]["values"] == {"train/loss": f32(5.5), "train/bits": f32(7.93), "train/lr": f32(1e-4),
                                       "train/grad_norm": 3.5, "train/tokens_per_s": 1000.0}
        assert math.isnan(events[2]["values"]["train/loss"]) and events[2]["values"]["train/lr"] == f32(2e-4)
        assert events[3]["values"] == {"validation/loss": 4.0, "validation/bits": f32(5.77)}
        # Wall times: the resumed part comes after the first (3 s + 0.5 s).
        start = events[0]["wall_time"]
        assert [round(e["wall_time"] - start, 6) for e in events[1:]] == [1.0, 2.0, 3.0, 3.5]
        # --replace keeps one file.
        time.sleep(1.1)
        assert run([sys.executable, TO_TB, d, "--replace"]).returncode == 0
        assert len(os.listdir(logdir)) == 1
        try:
            from tensorboard.backend.event_processing import event_accumulator
        except ImportError:
            print("tensorboard is not installed: the event file was checked by decoding only")
            return
        acc = event_accumulator.EventAccumulator(logdir)
        acc.Reload()
        assert set(acc.Tags()["scalars"]) == {"train/loss", "train/bits", "train/lr", "train/grad_norm",
                                              "train/tokens_per_s", "validation/loss", "validation/bits"}
        assert [(s.step, s.value) for s in acc.Scalars("train/bits")][0] == (1, f32(7.93))
        assert [s.step for s in acc.Scalars("train/lr")] == [1, 2, 3]
        assert [(s.step, s.value) for s in acc.Scalars("validation/bits")] == [(2, f32(5.77))]
        print("tensorboard's EventAccumulator read the event file")


def test_tensorboard_bad_input():
    with tempfile.TemporaryDirectory() as d:
        r = run([sys.executable, TO_TB, d])
        assert r.returncode == 2 and f"metrics_to_tensorboard: cannot read {d}/metrics.jsonl" in r.stderr, r.stderr
        with open(os.path.join(d, "metrics.jsonl"), "w") as f:
            f.write('{"step": 1, "loss": 1}\n{"loss": 2}\n')
        r = run([sys.executable, TO_TB, d])
        assert r.returncode == 2, r.stderr
        assert f'{d}/metrics.jsonl:2: a metrics record needs an integer "step"' in r.stderr, r.stderr


# ---- sparta-train --resume of a finished run ---------------------------------------

def write_checkpoint(path, meta):
    """A tensor-less checkpoint in the format of model/include/sparta/model/Checkpoint.h."""
    body = b"SPARTACK" + struct.pack("<II", 1, 0)
    text = json.dumps(meta).encode()
    body += struct.pack("<Q", len(text)) + text + struct.pack("<Q", 0)
    with open(path, "wb") as f:
        f.write(body + struct.pack("<II", zlib.crc32(body), 0) + b"SPARTEND")


def test_resume_of_a_finished_run_says_so():
    with tempfile.TemporaryDirectory() as d:
        os.makedirs(os.path.join(d, "checkpoints"))
        ckpt = os.path.join(d, "checkpoints", "step-0000000005.ckpt")
        write_checkpoint(ckpt, {"step": "5", "data_kind": "text"})
        with open(os.path.join(d, "metrics.jsonl"), "w") as f:
            f.write(json.dumps({"step": 5, "split": "validation", "loss": 1.0, "bits": 1.4426}) + "\n")
        before = open(os.path.join(d, "metrics.jsonl")).read()
        data = os.path.join(d, "data.txt")
        open(data, "w").write("x" * 10000)
        base = [os.path.join(BIN, "sparta-train"), "--data", data, "--pattern", "patterns/strided.mlir",
                "--set", "L=8", "--T", "64", "--layers", "2", "--d-model", "64", "--heads", "2",
                "--out", d, "--resume"]
        for steps in ("5", "3"):
            r = run(base + ["--steps", steps])
            assert r.returncode == 0, r.stdout + r.stderr
            assert r.stdout == (f"the run in {d} is already finished: its newest checkpoint ({ckpt}) is of step "
                                f"5 and --steps is {steps}; final validation 1.4426 bits/byte. Nothing to train; "
                                "give a larger --steps to continue it.\n"), r.stdout
            assert "nan" not in r.stdout and "tokens/s" not in r.stdout
        assert open(os.path.join(d, "metrics.jsonl")).read() == before
        assert not os.path.exists(os.path.join(d, "config.json"))
        # A damaged checkpoint is reported, not taken for a finished run.
        open(ckpt, "r+b").write(b"SPARTACX")
        r = run(base + ["--steps", "5"])
        assert r.returncode == 2 and "is not a sparta checkpoint" in r.stderr, r.stderr


def test_sample_method_is_checked_first():
    r = run([os.path.join(BIN, "sparta-train"), "sample", "--checkpoint", "/nonexistent", "--method", "fast"])
    assert r.returncode == 2, r.stderr
    assert "unknown --method 'fast' (expected cached or full)" in r.stderr, r.stderr


# ---- the data-parallel scripts --------------------------------------------------


def test_data_parallel_script_against_fake_ranks():
    with tempfile.TemporaryDirectory() as bin_dir:
        os.symlink(FAKE_RANKS, os.path.join(bin_dir, "sparta-train"))
        script = [sys.executable, os.path.join(HERE, "data_parallel_gpu.py"), bin_dir]
        r = run(script, env=dict(os.environ, CUDA_VISIBLE_DEVICES="0,1"), timeout=120)
        assert r.returncode == 0, r.stdout + r.stderr
        assert "2 ranks x 4 rows vs 1 x 8: first loss" in r.stdout, r.stdout
        assert "SIGTERM to rank 1: both ranks stopped after step" in r.stdout, r.stdout
        assert r.stdout.rstrip().endswith("3 passed, 0 failed"), r.stdout
        r = run(script, env=dict(os.environ, CUDA_VISIBLE_DEVICES="0"), timeout=60)
        assert r.returncode == 0, r.stdout + r.stderr
        assert "2 ranks: skipped, this machine has 1 GPU(s) and the test needs 2" in r.stdout, r.stdout
        r = run(script, env=dict(os.environ, FAKE_NO_DEVICE="1"), timeout=60)
        assert r.returncode == 77 and r.stdout.startswith("skipped: "), r.stdout + r.stderr


def test_dp_scaling_against_fake_ranks():
    with tempfile.TemporaryDirectory() as out:
        r = run([sys.executable, os.path.join(ROOT, "bench", "dp_scaling.py"), "--sparta-train", FAKE_RANKS,
                 "--ranks", "1,2,4", "--T", "4096", "--steps", "15", "--gpus", "2", "--out", out], timeout=120)
        assert r.returncode == 0, r.stdout + r.stderr
        assert "T=4096 N=4: skipped, this machine has 2 GPU(s)" in r.stdout, r.stdout
        cases = [json.loads(line) for line in r.stdout.splitlines() if line.startswith("{")]
        # The fake's 1000 tokens/s per rank, 0.9 of it on several ranks.
        assert cases == [
            {"T": 4096, "ranks": 1, "rows_per_gpu": 8, "global_batch": 8, "tokens_per_s": 1000, "efficiency": 1.0},
            {"T": 4096, "ranks": 2, "rows_per_gpu": 8, "global_batch": 16, "tokens_per_s": 1800,
             "efficiency": 0.9}], cases


def main():
    tests = [(n, f) for n, f in sorted(globals().items()) if n.startswith("test_") and callable(f)]
    failed = 0
    for name, fn in tests:
        try:
            fn()
            print(f"PASS {name}")
        except Exception as e:  # noqa: BLE001 - report every test
            failed += 1
            print(f"FAIL {name}: {type(e).__name__}: {e}")
    print(f"{len(tests) - failed} passed, {failed} failed")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
