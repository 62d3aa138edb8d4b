#!/usr/bin/env python3
"""Converts a sparta-train run's metrics.jsonl into a TensorBoard event file.

    python3 examples/metrics_to_tensorboard.py runs/gcide [--logdir runs/gcide/tensorboard]
    tensorboard --logdir runs/gcide/tensorboard

Every record becomes scalars at its step: train/loss (nats), train/bits, train/lr,
train/grad_norm, train/tokens_per_s, validation/loss, validation/bits (fields the
record lacks are skipped; a null loss, i.e. a non-finite one, is written as NaN).
The wall time of an event is the run's start plus the record's elapsed_s; a resumed
run restarts elapsed_s at 0, so each resumed part is placed after the previous one.

The file is the TFRecord stream TensorBoard reads (length, masked CRC-32C of the
length, a serialized tensorflow.Event, masked CRC-32C of it), encoded here with
the few protobuf fields it needs, so neither TensorFlow, tensorboard nor protobuf
has to be installed. Every run writes a new file
(events.out.tfevents.<time>.<host>.sparta) and leaves older ones in place; pass
--replace to remove the ones this script wrote before.

Exit status: 0 written, 2 a missing or malformed metrics file (or bad options).
Python 3.11 standard library only.
"""

import argparse
import math
import os
import socket
import struct
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from sparta_runs import RunError, read_records, run_times  # noqa: E402

FIELDS = [("loss", "loss"), ("bits", "bits"), ("lr", "lr"), ("grad_norm", "grad_norm"),
          ("tokens_per_s", "tokens_per_s")]
SUFFIX = ".sparta"


# ---- CRC-32C (Castagnoli), as TFRecord frames use it ----------------------------

def _crc32c_table():
    table = []
    for n in range(256):
        c = n
        for _ in range(8):
            c = (c >> 1) ^ 0x82F63B78 if c & 1 else c >> 1
        table.append(c)
    return table


_CRC_TABLE = _crc32c_table()


def crc32c(data: bytes) -> int:
    crc = 0xFFFFFFFF
    for b in data:
        crc = _CRC_TABLE[(crc ^ b) & 0xFF] ^ (crc >> 8)
    return crc ^ 0xFFFFFFFF


def masked_crc32c(data: bytes) -> int:
    crc = crc32c(data)
    return (((crc >> 15) | (crc << 17)) + 0xA282EAD8) & 0xFFFFFFFF


def tfrecord(payload: bytes) -> bytes:
    length = struct.pack("<Q", len(payload))
    return (length + struct.pack("<I", masked_crc32c(length)) + payload +
            struct.pack("<I", masked_crc32c(payload)))


# ---- The protobuf fields of tensorflow.Event that scalars need ----------------

def _varint(n: int) -> bytes:
    if n < 0:
        n += 1 << 64  # int64 fields encode negatives as ten-byte varints
    out = bytearray()
    while True:
        byte = n & 0x7F
        n >>= 7
        if n:
            out.append(byte | 0x80)
        else:
            out.append(byte)
            return bytes(out)


def _key(field: int, wire_type: int) -> bytes:
    return _varint(field << 3 | wire_type)


def _bytes_field(field: int, data: bytes) -> bytes:
    return _key(field, 2) + _varint(len(data)) + data


def scalar_value(tag: str, value: float) -> bytes:
    """Summary.Value {tag = 1; simple_value = 2 (float)}."""
    return _bytes_field(1, tag.encode()) + _key(2, 5) + struct.pack("<f", value)


def event(wall_time: float, step: int, *, file_version: str = None, values=()) -> bytes:
    """Event {wall_time = 1 (double); step = 2 (int64); file_version = 3; summary = 5}."""
    out = _key(1, 1) + struct.pack("<d", wall_time)
    if step:
        out += _key(2, 0) + _varint(step)
    if file_version is not None:
        out += _bytes_field(3, file_version.encode())
    if values:
        summary = b"".join(_bytes_field(1, scalar_value(tag, v)) for tag, v in values)
        out += _bytes_field(5, summary)
    return out


def events_of(records, start_time):
    out = [event(start_time, 0, file_version="brain.Event:2")]
    for r, t in zip(records, run_times(records)[0]):
        split = r.get("split", "train")
        values = []
        for field, name in FIELDS:
            if field in r:
                v = r[field]
                values.append((f"{split}/{name}", math.nan if v is None else float(v)))
        if values:
            out.append(event(start_time + t, r["step"], values=values))
    return out


def convert(run_dir, logdir, replace=False):
    metrics = os.path.join(run_dir, "metrics.jsonl")
    records = read_records(metrics)
    os.makedirs(logdir, exist_ok=True)
    if replace:
        for name in os.listdir(logdir):
            if name.startswith("events.out.tfevents.") and name.endswith(SUFFIX):
                os.remove(os.path.join(logdir, name))
    times, _ = run_times(records)
    # The run started its last part's elapsed_s before the file was last written.
    end = os.stat(metrics).st_mtime
    start = end - (times[-1] if times else 0.0)
    name = f"events.out.tfevents.{int(time.time())}.{socket.gethostname()}{SUFFIX}"
    path = os.path.join(logdir, name)
    partial = os.path.join(logdir, "partial-" + name[len("events.out."):])  # not a name TensorBoard reads
    with open(partial, "wb") as f:
        for e in events_of(records, start):
            f.write(tfrecord(e))
    os.replace(partial, path)
    return path, len(records)


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("run", help="a sparta-train output directory (with metrics.jsonl)")
    p.add_argument("--logdir", help="where the event file goes [RUN/tensorboard]")
    p.add_argument("--replace", action="store_true",
                   help="remove the event files this script wrote there before")
    a = p.parse_args(argv)
    try:
        path, n = convert(a.run, a.logdir or os.path.join(a.run, "tensorboard"), a.replace)
    except RunError as e:
        print(f"metrics_to_tensorboard: {e}", file=sys.stderr)
        return 2
    print(f"wrote {path} ({n} records)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
