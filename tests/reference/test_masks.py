#!/usr/bin/env python3
"""Cross-check of the reference's masks (masks.py) against the C++ tool.

For every patterns/*.mlir and several parameter sets (T a multiple of L and not,
L >= T, c = 1 and c = L, bigbird's random blocks with several seeds), every head's
mask from `sparta mask` must equal
  * the mask of masks.parse_pattern_file (the .mlir parsed in Python), and
  * for the paper's patterns (strided, fixed, their merged forms, dense, local),
    the mask of masks.paper_pattern (written out in Python).
Also checks the splitmix64 draw against fixed values and the expression evaluator.

Needs numpy and build/bin/sparta (or $SPARTA_BIN). Runs as a script or under pytest.
"""

import os
import sys

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import masks as ml  # noqa: E402

ROOT = os.path.abspath(os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", ".."))

CASES = [
    ("dense", {"T": 17, "L": 4}),
    ("local", {"T": 33, "L": 5}),
    ("strided", {"T": 64, "L": 8}),
    ("strided", {"T": 50, "L": 7}),
    ("strided", {"T": 10, "L": 16}),
    ("strided_merged", {"T": 45, "L": 6}),
    ("fixed", {"T": 64, "L": 8, "c": 2}),
    ("fixed", {"T": 70, "L": 16, "c": 1}),
    ("fixed", {"T": 40, "L": 8, "c": 8}),
    ("fixed_merged", {"T": 64, "L": 8, "c": 3}),
    ("fixed_merged", {"T": 37, "L": 9, "c": 4}),
    ("longformer", {"T": 48, "L": 6}),
    ("longformer", {"T": 48, "L": 4, "W": 9, "g": 3}),
    ("bigbird", {"T": 64, "L": 8}),
    ("bigbird", {"T": 100, "L": 8, "r": 3, "seed": 7}),
    ("bigbird", {"T": 96, "L": 4, "block": 6, "r": 4, "seed": 123456789, "g": 2, "W": 3}),
]


def tool_masks(binary, name, params):
    pf = os.path.join(ROOT, "patterns", f"{name}.mlir")
    n = len(ml.parse_pattern_file(pf, params))
    out = []
    for h in range(n):
        rows = ml.tool_mask_rows(binary, pf, params, h)
        out.append(np.array([[ch == "1" for ch in r] for r in rows], dtype=bool))
    return out


def check_case(binary, name, params):
    pf = os.path.join(ROOT, "patterns", f"{name}.mlir")
    T = params["T"]
    tool = tool_masks(binary, name, params)
    parsed = ml.parse_pattern_file(pf, params)
    errors = []
    if len(parsed) != len(tool):
        errors.append(f"{name} {params}: {len(parsed)} parsed heads vs {len(tool)} from the tool")
    for h, (m, t) in enumerate(zip(parsed, tool)):
        got = ml.dense_mask_numpy(m, T)
        if t.shape != (T, T) or not np.array_equal(got, t):
            errors.append(f"{name} {params} head {h}: parsed mask differs from the tool "
                          f"({int((got != t).sum()) if t.shape == got.shape else 'shape'} cells)")
    paper = {"dense", "local", "strided", "strided_merged", "fixed", "fixed_merged"}
    if name in paper:
        pp = ml.paper_pattern(name, **{k: v for k, v in params.items() if k != "T"})
        for h, (m, t) in enumerate(zip(pp, tool)):
            if not np.array_equal(ml.dense_mask_numpy(m, T), t):
                errors.append(f"{name} {params} head {h}: built-in paper pattern differs from the tool")
    return errors, sum(int(t.sum()) for t in tool)


def check_expr():
    env = {"T": 64, "L": 8}
    cases = {"2 * L + 1": 17, "T / L - 1": 7, "-(T + L)": -72, "-7 / 2": -4, "-7 mod 2": 1,
             "(T - 3) mod L": 5, "T / (L / 2) * 3": 48}
    return [f"expr {e!r} = {ml.eval_expr(e, env)}, want {v}" for e, v in cases.items()
            if ml.eval_expr(e, env) != v]


def check_splitmix():
    # splitmix64 of 0 and 1 (the finalizer as specified in MaskSemantics.h)
    want = {0: 0xE220A8397B1DCDAF}  # the first output of the splitmix64 generator seeded 0
    return [f"splitmix64({x}) = {ml.splitmix64(x):#x}, want {v:#x}" for x, v in want.items()
            if ml.splitmix64(x) != v]


def run():
    binary = ml.default_sparta_bin()
    errors = check_expr() + check_splitmix()
    if binary is None:
        print("SKIP tool comparison: no build/bin/sparta (set SPARTA_BIN)")
    else:
        for name, params in CASES:
            e, ones = check_case(binary, name, params)
            print(f"{'ok  ' if not e else 'FAIL'} {name:15s} {params}  ({ones} allowed cells)")
            errors += e
    for e in errors:
        print("  " + e)
    print("masks:", "PASS" if not errors else f"FAIL ({len(errors)})")
    return not errors


def test_masks_against_tool():
    assert run()


if __name__ == "__main__":
    sys.exit(0 if run() else 1)
