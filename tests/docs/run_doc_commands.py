#!/usr/bin/env python3
"""Runs the shell commands shown in README.md and docs/*.md and fails when one breaks.

    run_doc_commands.py --source REPO --build BUILD [--timeout S] [PAGE.md ...]

Which fenced blocks hold commands, and what is checked:

  ```sh        every line is one command (a trailing backslash continues it on the
               next line; blank lines and lines starting with `#` are skipped). Each
               must exit with status 0.
  ```console   lines starting with `$ ` are commands (continued as above); the lines
               after one, up to the next `$ ` line, are its expected output. The
               command must exit with status 0 and print (stdout and stderr together)
               those lines in that order, as consecutive lines, each compared with its
               trailing blanks removed; a line `...` stands for any number of lines.
               A command shown failing on purpose ends in `; echo "exit $?"`.

The line just before a fence (blank lines aside) may carry a marker, an HTML comment
that the rendered page does not show:

  <!-- gpu -->          the block needs an NVIDIA GPU; it is listed and not run.
  <!-- setup -->        the block installs packages or builds and tests the whole
                        tree (scripts/bootstrap, scripts/test); listed, not run.
  <!-- file: PATH -->   the block's text is written to PATH (relative to the
                        repository root) when the page reaches it, so that a
                        walk-through can create the file its next commands use.

Any other fenced block that looks like it holds a command (a line starting with `$ `
or with one of the project's tools or scripts) is an error: every command of a page
is either run or marked. So is a path into the repository (a name starting with one
of its top-level folders, such as compiler/lib/plan/Planner.cpp) that exists neither
in the source tree nor in the copy after the page's commands ran.

Each page runs in its own copy of the repository's source tree (a temporary folder,
without build trees or .git), in which `build` is a link to BUILD, BUILD/bin is first
on PATH (as the pages ask: `export PATH=$PWD/build/bin:$PATH`) and the kernel cache
is a fresh folder shared by the pages of one run. Each command runs from the copy's root in a fresh
`bash -o pipefail -c`, so commands may write files (they land in the copy) but do not
share `cd` or `export`. A failure prints PAGE:LINE, the command, its exit status and
its output; the exit status is the number of failed commands (0: all passed).
"""
import argparse
import os
import re
import shutil
import subprocess
import sys
import tempfile

MARKER = re.compile(r"^<!--\s*(gpu|setup)\s*-->$")
FILE_MARKER = re.compile(r"^<!--\s*file:\s*(\S+)\s*-->$")
FENCE = re.compile(r"^ {0,3}```\s*([\w+-]*)")
# The start of a line that runs something of this project, for the check that no
# command sits in a block the runner does not read.
LOOKS_LIKE_COMMAND = re.compile(
    r"^(\$ |(build/bin/|bench/|scripts/|tests/\S+\.(py|sh)\b|"
    r"(sparta|sparta-opt|sparta-train|attention-bench|attention-example)( |$)|"
    r"python3 |ctest |cmake |export |ncu |nvidia-smi|apt-get |(LD_LIBRARY_PATH|PATH|SPARTA_\w+)=))")


class Block:
    def __init__(self, page, line, lang, lines, marker, file_path):
        self.page, self.line, self.lang = page, line, lang
        self.lines = lines            # [(line number, text)]
        self.marker, self.file_path = marker, file_path


def read_blocks(page, display):
    """Fenced blocks of a page, each with the marker on the line before its fence."""
    with open(page, encoding="utf-8") as f:
        text = f.read().splitlines()
    blocks, n = [], 0
    while n < len(text):
        m = FENCE.match(text[n])
        if not m:
            n += 1
            continue
        prev = n - 1
        while prev >= 0 and not text[prev].strip():
            prev -= 1
        before = text[prev].strip() if prev >= 0 else ""
        marker = MARKER.match(before)
        file_marker = FILE_MARKER.match(before)
        start, n = n, n + 1
        body = []
        while n < len(text) and not FENCE.match(text[n]):
            body.append((n + 1, text[n]))
            n += 1
        if n == len(text):
            raise SystemExit(f"{display}:{start + 1}: fenced block is not closed")
        blocks.append(Block(display, start + 1, m.group(1), body,
                            marker.group(1) if marker else None,
                            file_marker.group(1) if file_marker else None))
        n += 1
    return blocks


def logical_lines(lines):
    """Joins lines continued with a trailing backslash: [(first line number, text)]."""
    out, pending, first = [], None, 0
    for number, line in lines:
        if pending is None:
            first, pending = number, ""
        if line.rstrip().endswith("\\"):
            pending += line.rstrip()[:-1].rstrip() + " "
            continue
        pending += line.strip() if pending else line
        out.append((first, pending))
        pending = None
    if pending is not None:
        out.append((first, pending))
    return out


def sh_commands(block):
    return [(n, cmd.strip()) for n, cmd in logical_lines(block.lines)
            if cmd.strip() and not cmd.strip().startswith("#")]


def console_commands(block):
    """[(line number, command, expected output lines)] of a console block."""
    cases, n = [], 0
    lines = block.lines
    while n < len(lines):
        number, line = lines[n]
        if not line.startswith("$ "):
            raise SystemExit(f"{block.page}:{number}: console block: output before any `$ ` command")
        cmd_lines = [(number, line[2:])]
        n += 1
        while cmd_lines[-1][1].rstrip().endswith("\\") and n < len(lines):
            cmd_lines.append(lines[n])
            n += 1
        expected = []
        while n < len(lines) and not lines[n][1].startswith("$ "):
            expected.append(lines[n][1].rstrip())
            n += 1
        while expected and not expected[-1]:
            expected.pop()
        cases.append((number, logical_lines(cmd_lines)[0][1].strip(), expected))
    return cases


def output_matches(expected, actual):
    """Whether the expected lines occur in `actual` in order, consecutive except where
    a `...` line allows a gap."""
    actual = [line.rstrip() for line in actual]
    groups, current = [], []
    for line in expected:
        if line.strip() == "...":
            groups.append(current)
            current = []
        else:
            current.append(line)
    groups.append(current)
    pos = 0
    anchored = True  # the first group must start the output unless `...` precedes it
    for index, group in enumerate(groups):
        if not group:
            anchored = False
            continue
        found = None
        starts = [pos] if anchored and index == 0 else range(pos, len(actual) - len(group) + 1)
        for start in starts:
            if actual[start:start + len(group)] == group:
                found = start
                break
        if found is None:
            return False
        pos = found + len(group)
        anchored = False
    return True


def path_pattern(source):
    """Names starting with a top-level folder of the repository, e.g. tests/lit/cli/x.test."""
    tops = sorted(d for d in os.listdir(source) if os.path.isdir(os.path.join(source, d))
                  and not d.startswith((".", "build")))
    return re.compile(r"(?<![\w./-])((?:%s)/[\w./+-]*[\w/])" % "|".join(map(re.escape, tops)))


def missing_paths(page, root):
    """[(line, path)] of the repository paths a page names that do not exist in root."""
    pattern = path_pattern(root)
    missing = []
    with open(page, encoding="utf-8") as f:
        for number, line in enumerate(f, 1):
            for m in pattern.finditer(line):
                if not os.path.exists(os.path.join(root, m.group(1))):
                    missing.append((number, m.group(1)))
    return missing


def copy_tree(source, dest, build):
    ignore = shutil.ignore_patterns(".git", "build*", "__pycache__", "*.pyc")
    shutil.copytree(source, dest, ignore=ignore, symlinks=True)
    os.symlink(os.path.abspath(build), os.path.join(dest, "build"))


def run_command(cmd, cwd, env, timeout):
    try:
        proc = subprocess.run(["bash", "-o", "pipefail", "-c", cmd], cwd=cwd, env=env,
                              stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                              stdin=subprocess.DEVNULL, timeout=timeout)
        return proc.returncode, proc.stdout.decode("utf-8", "replace")
    except subprocess.TimeoutExpired as e:
        out = (e.stdout or b"").decode("utf-8", "replace")
        return None, out


def tail(text, limit=6000):
    return text if len(text) <= limit else "...\n" + text[-limit:]


def run_page(page, display, args, cache, report):
    blocks = read_blocks(page, display)
    failures = 0
    with tempfile.TemporaryDirectory(prefix="sparta-doc-") as tmp:
        root = os.path.join(tmp, "repo")
        copy_tree(args.source, root, args.build)
        env = dict(os.environ)
        env["PATH"] = os.path.join(os.path.abspath(args.build), "bin") + os.pathsep + env.get("PATH", "")
        env["SPARTA_CACHE_DIR"] = cache
        for block in blocks:
            where = f"{block.page}:{block.line}"
            if block.file_path:
                path = os.path.join(root, block.file_path)
                os.makedirs(os.path.dirname(path), exist_ok=True)
                with open(path, "w", encoding="utf-8") as f:
                    f.write("".join(line + "\n" for _, line in block.lines))
                continue
            if block.lang not in ("sh", "console"):
                for number, line in block.lines:
                    if LOOKS_LIKE_COMMAND.match(line):
                        print(f"{block.page}:{number}: a command outside a ```sh or ```console "
                              f"block (mark the block or change its fence): {line.strip()}")
                        failures += 1
                        break
                continue
            if block.marker:
                report["skipped"].append(f"{where} ({block.marker})")
                continue
            cases = (console_commands(block) if block.lang == "console"
                     else [(n, cmd, None) for n, cmd in sh_commands(block)])
            for number, cmd, expected in cases:
                report["run"] += 1
                rc, out = run_command(cmd, root, env, args.timeout)
                problem = None
                if rc is None:
                    problem = f"timed out after {args.timeout} s"
                elif rc != 0:
                    problem = f"exit status {rc}"
                elif expected is not None and not output_matches(expected, out.splitlines()):
                    problem = "output differs from the page:\n--- the page shows:\n" + "\n".join(expected)
                if problem:
                    failures += 1
                    print(f"{block.page}:{number}: FAILED: {cmd}\n{problem}\n--- output:\n{tail(out)}\n",
                          flush=True)
                elif args.verbose:
                    print(f"{block.page}:{number}: ok: {cmd}", flush=True)
        for number, path in missing_paths(page, root):
            failures += 1
            print(f"{display}:{number}: names {path}, which does not exist", flush=True)
    return failures


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--source", required=True, help="the repository root (copied per page)")
    ap.add_argument("--build", required=True, help="the build tree (tools in BUILD/bin)")
    ap.add_argument("--timeout", type=float, default=300, help="seconds per command")
    ap.add_argument("--verbose", action="store_true", help="also list each command that passed")
    ap.add_argument("pages", nargs="*",
                    help="pages to run, relative to --source (default: README.md docs/*.md)")
    args = ap.parse_args()
    pages = args.pages
    if not pages:
        docs = os.path.join(args.source, "docs")
        pages = ["README.md"] + sorted(os.path.join("docs", p) for p in os.listdir(docs) if p.endswith(".md"))
    report = {"run": 0, "skipped": []}
    failures = 0
    with tempfile.TemporaryDirectory(prefix="sparta-doc-cache-") as cache:
        for page in pages:
            failures += run_page(os.path.join(args.source, page), page, args, cache, report)
    print(f"{report['run']} commands run, {failures} failures; "
          f"{len(report['skipped'])} blocks not run: {', '.join(report['skipped']) or 'none'}")
    return min(failures, 125)


if __name__ == "__main__":
    sys.exit(main())
