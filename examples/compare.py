#!/usr/bin/env python3
"""Trains the same model on the same data with several attention patterns and compares them.

    python3 examples/compare.py --out runs/compare \\
        --pattern dense --pattern fixed:c=32 --pattern strided \\
        -- --data gcide --T 12288 --set L=128 --layers 8 --d-model 512 --heads 8 \\
           --batch 2 --steps 600 --eval-every 100 --seed 1

Every option after "--" goes to each `sparta-train` run unchanged (model, data, seed,
and the budget: --steps, or --time-limit MIN for a wall-clock budget), so the runs
differ only in the pattern. A pattern is a name from patterns/ (dense, fixed,
strided, ...) or a .mlir file, optionally followed by ":NAME=VALUE,..." bindings,
which override the common --set values for that pattern. The runs go one after the
other into OUT/<pattern>/ (each a normal sparta-train output directory; its output
is in OUT/<pattern>/sparta-train.log).

Then it writes
  OUT/compare.md    a table per pattern: steps, time per step (mean over the training
                    steps after the first of each process, evaluations excluded),
                    tokens/s (batch * T / that time), the last validation bits, the
                    device memory sparta-train reports, the training loop's wall time;
  OUT/compare.json  the same rows, and the curves;
  OUT/compare.png   validation bits against wall-clock seconds since the training loop
                    began (evaluations included, kernel compilation not), one curve per
                    pattern, drawn by sparta-plot (the model library's chart code).

--resume continues (or, when finished, just reads) the runs already in OUT.
--dry-run prints the sparta-train commands and runs nothing.
Ctrl-C: the running sparta-train writes a checkpoint and stops; rerun with --resume.

Exit status: 0 every run finished, 1 a run failed (the table marks it), 2 bad
options, 4 interrupted. Python 3.11 standard library only.
"""

import argparse
import json
import os
import re
import shutil
import signal
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from sparta_runs import RunError, read_config, read_records, run_times  # noqa: E402

ROOT = os.path.abspath(os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
OWN_OPTIONS = ("--pattern", "--out", "--resume")  # compare.py sets these per run
MEMORY_LINE = re.compile(r"^device memory in use by the run: ([0-9.]+) MiB", re.M)
EXIT_INTERRUPTED = 4


class UsageError(Exception):
    pass


def parse_bindings(text, what):
    bindings = {}
    for item in filter(None, text.split(",")):
        name, eq, value = item.partition("=")
        if not eq or not name or not re.fullmatch(r"-?[0-9]+", value):
            raise UsageError(f"{what}: '{item}' is not NAME=INTEGER")
        bindings[name] = value
    return bindings


class Pattern:
    def __init__(self, spec):
        path, _, bindings = spec.partition(":")
        if not path:
            raise UsageError(f"pattern '{spec}': no name or file")
        self.label = spec
        self.file = path if path.endswith(".mlir") else os.path.join(ROOT, "patterns", path + ".mlir")
        if not os.path.isfile(self.file):
            raise UsageError(f"pattern '{spec}': no file {self.file}")
        self.bindings = parse_bindings(bindings, f"pattern '{spec}'")
        self.dirname = re.sub(r"[^A-Za-z0-9._=-]+", "_", spec.replace(".mlir", "").replace("/", "_"))


def split_common(args):
    """The --set bindings of the common options, and the other options."""
    common, rest, i = {}, [], 0
    while i < len(args):
        a = args[i]
        if a in OWN_OPTIONS or any(a.startswith(o + "=") for o in OWN_OPTIONS):
            raise UsageError(f"'{a.split('=')[0]}' is set by compare.py; give patterns with --pattern")
        if a == "--set" or a.startswith("--set="):
            value = a[len("--set="):] if a.startswith("--set=") else (args[i + 1] if i + 1 < len(args) else None)
            if value is None:
                raise UsageError("--set needs NAME=VALUE")
            common.update(parse_bindings(value, "--set"))
            i += 1 if a.startswith("--set=") else 2
            continue
        rest.append(a)
        i += 1
    return common, rest


def command(train_bin, pattern, common_sets, rest, run_dir, resume):
    sets = dict(common_sets)
    sets.update(pattern.bindings)
    cmd = [train_bin, "--pattern", pattern.file]
    for k, v in sets.items():
        cmd += ["--set", f"{k}={v}"]
    cmd += rest + ["--out", run_dir]
    if resume:
        cmd.append("--resume")
    return cmd


def run_one(cmd, log_path):
    """Runs sparta-train, its output to the console and the log; returns (exit status, output).

    sparta-train runs in its own session, so a Ctrl-C reaches only this script, which
    passes one SIGINT (or SIGTERM) on: sparta-train finishes its step, writes a
    checkpoint and exits with status 4. (A second signal to sparta-train would kill it.)
    """
    output = []
    with open(log_path, "w", encoding="utf-8") as log:
        log.write(" ".join(cmd) + "\n")
        proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                                errors="replace", start_new_session=True)
        forwarded = []

        def forward(signum, _frame):
            if not forwarded:
                forwarded.append(signum)
                proc.send_signal(signum)

        previous = {s: signal.signal(s, forward) for s in (signal.SIGINT, signal.SIGTERM)}
        try:
            for line in proc.stdout:
                sys.stdout.write(line)
                log.write(line)
                output.append(line)
            return proc.wait(), "".join(output)
        finally:
            for s, handler in previous.items():
                signal.signal(s, handler)


def summarize(label, run_dir, output, status):
    row = {"pattern": label, "dir": run_dir, "exit": status}
    m = MEMORY_LINE.findall(output)
    row["device_memory_mib"] = float(m[-1]) if m else None
    try:
        config = read_config(run_dir)
        records = read_records(os.path.join(run_dir, "metrics.jsonl"))
    except RunError as e:
        row["error"] = str(e)
        return row, None
    tokens_per_step = int(config["train"]["batch"]) * int(config["model"]["T"])
    row["unit"] = "bits/dim" if config["data"].get("kind") == "images" else "bits/byte"
    times, starts = run_times(records)
    first_of_part = set()
    for s in starts:  # the first training step of each process is slower (warm-up)
        for i in range(s, len(records)):
            if records[i].get("split", "train") == "train":
                first_of_part.add(i)
                break
    step_secs = [tokens_per_step / r["tokens_per_s"] for i, r in enumerate(records)
                 if r.get("split", "train") == "train" and i not in first_of_part and r.get("tokens_per_s")]
    train = [r for r in records if r.get("split", "train") == "train"]
    valid = [(t, r) for t, r in zip(times, records) if r.get("split") == "validation"]
    row["steps"] = train[-1]["step"] if train else 0
    row["step_ms"] = 1000 * sum(step_secs) / len(step_secs) if step_secs else None
    row["tokens_per_s"] = tokens_per_step * len(step_secs) / sum(step_secs) if step_secs else None
    row["validation_bits"] = valid[-1][1]["bits"] if valid else None
    row["wall_s"] = times[-1] if times else None
    curve = {"label": label, "x": [t for t, _ in valid], "y": [r["bits"] for _, r in valid],
             "markers": True}
    return row, (config, curve)


def fmt(v, spec):
    return "-" if v is None else format(v, spec)


def table(rows):
    unit = next((r["unit"] for r in rows if "unit" in r), "bits")
    lines = [f"| pattern | steps | time/step (ms) | tokens/s | validation ({unit}) | device memory (MiB) "
             "| wall (s) | status |",
             "|---|---|---|---|---|---|---|---|"]
    for r in rows:
        status = "ok" if r["exit"] == 0 and "error" not in r else r.get("error", f"exit {r['exit']}")
        lines.append(f"| {r['pattern']} | {r.get('steps', '-')} | {fmt(r.get('step_ms'), '.1f')} | "
                     f"{fmt(r.get('tokens_per_s'), ',.0f')} | {fmt(r.get('validation_bits'), '.4f')} | "
                     f"{fmt(r.get('device_memory_mib'), '.0f')} | {fmt(r.get('wall_s'), '.1f')} | {status} |")
    return "\n".join(lines) + "\n"


def chart_title(config):
    m, t = config["model"], config["train"]
    return f"{config['data'].get('spec', '')} T={m['T']} {m['layers']}x{m['d_model']} B={t['batch']}"


def plot(plot_bin, out, curves, unit):
    chart = {"title": chart_title(curves[0][0]), "x_label": "wall-clock time (s)",
             "y_label": f"validation {unit}", "series": [c for _, c in curves]}
    chart_path = os.path.join(out, "compare-chart.json")
    with open(chart_path, "w", encoding="utf-8") as f:
        json.dump(chart, f)
    png = os.path.join(out, "compare.png")
    status = subprocess.run([plot_bin, chart_path, png]).returncode
    return png if status == 0 else None


def find_tool(given, name, near):
    if given:
        return given
    beside = os.path.join(os.path.dirname(os.path.abspath(near)), name) if near else None
    if beside and os.path.isfile(beside):
        return beside
    for candidate in (os.path.join(ROOT, "build", "bin", name), shutil.which(name)):
        if candidate and os.path.isfile(candidate):
            return candidate
    return None


def main(argv=None):
    argv = sys.argv[1:] if argv is None else argv
    own, rest = (argv[:argv.index("--")], argv[argv.index("--") + 1:]) if "--" in argv else (argv, [])
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0], usage="%(prog)s --out DIR "
                                "[--pattern SPEC ...] [options] -- SPARTA_TRAIN_OPTIONS")
    p.add_argument("--out", required=True, help="one directory per pattern goes here")
    p.add_argument("--pattern", action="append", metavar="SPEC",
                   help="NAME or FILE.mlir[:NAME=VALUE,...] (repeatable) [dense fixed strided]")
    p.add_argument("--sparta-train", help="the trainer [build/bin/sparta-train, else PATH]")
    p.add_argument("--sparta-plot", help="the chart tool [beside sparta-train, build/bin, PATH]")
    p.add_argument("--resume", action="store_true", help="continue the runs already in OUT")
    p.add_argument("--dry-run", action="store_true", help="print the commands only")
    a = p.parse_args(own)
    try:
        patterns = [Pattern(s) for s in (a.pattern or ["dense", "fixed", "strided"])]
        if len({pt.dirname for pt in patterns}) != len(patterns):
            raise UsageError("two patterns would share a run directory: give each once")
        common_sets, passed = split_common(rest)
        train_bin = find_tool(a.sparta_train, "sparta-train", None)
        if not train_bin and not a.dry_run:
            raise UsageError("no sparta-train (build it, or give --sparta-train)")
    except UsageError as e:
        print(f"compare.py: {e}", file=sys.stderr)
        return 2
    train_bin = train_bin or "sparta-train"

    cmds = []
    for pt in patterns:
        run_dir = os.path.join(a.out, pt.dirname)
        resume = a.resume and os.path.isdir(os.path.join(run_dir, "checkpoints"))
        cmds.append((pt, run_dir, command(train_bin, pt, common_sets, passed, run_dir, resume)))
    if a.dry_run:
        for _, _, cmd in cmds:
            print(" ".join(cmd))
        return 0

    os.makedirs(a.out, exist_ok=True)
    rows, curves = [], []
    for pt, run_dir, cmd in cmds:
        os.makedirs(run_dir, exist_ok=True)
        print(f"== {pt.label}: {' '.join(cmd)}", flush=True)
        try:
            status, output = run_one(cmd, os.path.join(run_dir, "sparta-train.log"))
        except KeyboardInterrupt:  # between two runs: nothing to stop
            print("compare.py: interrupted; rerun with --resume to continue", file=sys.stderr)
            return EXIT_INTERRUPTED
        if status == EXIT_INTERRUPTED:
            print(f"compare.py: {pt.label} was stopped by a signal; rerun with --resume to continue",
                  file=sys.stderr)
            return EXIT_INTERRUPTED
        row, curve = summarize(pt.label, run_dir, output, status)
        rows.append(row)
        if curve and curve[1]["x"]:
            curves.append(curve)

    text = table(rows)
    print(text, end="")
    unit = next((r["unit"] for r in rows if "unit" in r), "bits")
    png = None
    if curves:
        plot_bin = find_tool(a.sparta_plot, "sparta-plot", train_bin)
        if plot_bin:
            png = plot(plot_bin, a.out, curves, unit)
        else:
            print("compare.py: no sparta-plot found; compare.png not drawn", file=sys.stderr)
    with open(os.path.join(a.out, "compare.md"), "w", encoding="utf-8") as f:
        f.write(text + "\nCommands:\n\n" + "".join(f"    {' '.join(c)}\n" for _, _, c in cmds))
        if png:
            f.write("\n![validation against wall-clock time](compare.png)\n")
    with open(os.path.join(a.out, "compare.json"), "w", encoding="utf-8") as f:
        json.dump({"rows": rows, "curves": [c for _, c in curves],
                   "commands": [c for _, _, c in cmds]}, f, indent=1)
    print(f"wrote {os.path.join(a.out, 'compare.md')}, compare.json" + (", compare.png" if png else ""))
    return 0 if all(r["exit"] == 0 and "error" not in r for r in rows) else 1


if __name__ == "__main__":
    sys.exit(main())
