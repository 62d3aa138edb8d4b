#!/usr/bin/env python3
"""bench/flex_bench.py times FlexAttention on the masks of sparta's pattern files:
this checks that its mask functions give, head by head, exactly the masks that
`sparta mask` prints for those files, for several T, L and c (T a multiple of L and
not, c = 1 and c = L). The mask functions use only integer operators, so they are
evaluated here on Python integers; torch is not needed.

Needs build/bin/sparta (or $SPARTA_BIN).
"""
import importlib.util
import os
import subprocess
import sys

ROOT = os.path.abspath(os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", ".."))
SPARTA = os.environ.get("SPARTA_BIN", os.path.join(ROOT, "build", "bin", "sparta"))

spec = importlib.util.spec_from_file_location("flex_bench", os.path.join(ROOT, "bench", "flex_bench.py"))
flex_bench = importlib.util.module_from_spec(spec)
spec.loader.exec_module(flex_bench)

FILES = {"causal": "dense.mlir", "strided-heads": "strided.mlir", "fixed-heads": "fixed.mlir",
         "strided-merged": "strided_merged.mlir", "fixed-merged": "fixed_merged.mlir"}
CASES = [(64, 8, 2), (50, 7, 3), (40, 8, 8), (37, 9, 1), (16, 32, 4)]


def tool_mask(path, T, L, c, head):
    cmd = [SPARTA, "mask", path, "--set", f"T={T}", "--set", f"L={L}", "--head", str(head)]
    if "fixed" in path:
        cmd += ["--set", f"c={c}"]
    out = subprocess.run(cmd, capture_output=True, text=True, check=True).stdout
    return [line.strip() for line in out.splitlines() if line.strip()]


def bench_mask(mask, T):
    return ["".join("1" if mask(i, j) else "0" for j in range(T)) for i in range(T)]


def main():
    failures = 0
    checked = 0
    for name, file in FILES.items():
        path = os.path.join(ROOT, "patterns", file)
        for T, L, c in CASES:
            masks = flex_bench.head_masks(name, L, c)
            for head, mask in enumerate(masks):
                checked += 1
                if bench_mask(mask, T) != tool_mask(path, T, L, c, head):
                    failures += 1
                    print(f"FAIL {name} head {head} T={T} L={L} c={c}: flex_bench.py's mask "
                          f"differs from `sparta mask {path}`")
    print(f"{checked} masks compared, {failures} differ")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
