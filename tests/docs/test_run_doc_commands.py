#!/usr/bin/env python3
"""Checks run_doc_commands.py on small made-up pages: a passing page passes; a
failing command, a console block whose output differs, a command outside a
runnable block, a command that runs too long and a path that does not exist each
fail with the page's file:line; marked blocks are not run; a
file block is written before the commands that read it.
"""
import os
import subprocess
import sys
import tempfile

RUNNER = os.path.join(os.path.dirname(os.path.abspath(__file__)), "run_doc_commands.py")

GOOD = """# A page, about notes/ and notes/hello.txt
<!-- file: notes/hello.txt -->
```
hello
```

```sh
test -f notes/hello.txt
ls build/bin/tool     # resolved against the build tree
echo one \\
  two > out.txt && grep -q 'one two' out.txt
```

```console
$ printf 'a\\nb\\nc\\nd\\n'
a
...
d
$ tool; echo "exit $?"
exit 3
```

<!-- gpu -->
```sh
false
```

<!-- setup -->
```sh
exit 1
```
"""

# (page text, what the runner must print)
BAD = [
    ("text\n\n```sh\ntrue\nfalse\n```\n", "page.md:5: FAILED: false"),
    ("```console\n$ echo one\ntwo\n```\n", "page.md:2: FAILED: echo one"),
    ("```\nbuild/bin/sparta mask x.mlir\n```\n", "page.md:2: a command outside"),
    ("```sh\nsleep 5\n```\n", "timed out"),
    ("See notes/missing.txt.\n", "page.md:1: names notes/missing.txt, which does not exist"),
]


def run(source, build, text):
    with open(os.path.join(source, "page.md"), "w") as f:
        f.write(text)
    proc = subprocess.run([sys.executable, RUNNER, "--source", source, "--build", build,
                           "--timeout", "2", "page.md"], capture_output=True, text=True)
    return proc.returncode, proc.stdout + proc.stderr


def main():
    failures = 0
    with tempfile.TemporaryDirectory() as tmp:
        source, build = os.path.join(tmp, "src"), os.path.join(tmp, "build")
        os.makedirs(os.path.join(source, "notes"))
        os.makedirs(os.path.join(build, "bin"))
        tool = os.path.join(build, "bin", "tool")
        with open(tool, "w") as f:
            f.write("#!/bin/sh\nexit 3\n")
        os.chmod(tool, 0o755)

        rc, out = run(source, build, GOOD)
        if rc != 0 or "5 commands run, 0 failures; 2 blocks not run" not in out:
            failures += 1
            print(f"FAIL: the good page should pass (rc {rc}):\n{out}")
        for text, wanted in BAD:
            rc, out = run(source, build, text)
            if rc == 0 or wanted not in out:
                failures += 1
                print(f"FAIL: expected a failure with {wanted!r} (rc {rc}):\n{out}")
    print(f"{1 + len(BAD)} pages, {failures} failed")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
