"""Sparse attention masks for the PyTorch reference of the sparta model.

The semantics are those of compiler/include/sparta/MaskSemantics.h, restated here
from the definitions (docs/pattern-language.md), not translated from the C++:
every mask is causal (0 <= j <= i < T) and then holds iff its predicate does:

    dense                  always
    empty                  never
    band(lo, hi)           lo <= i - j <= hi
    stride(period)         (i - j) mod period == 0
    chunk(size)            i // size == j // size
    summary(period, width) j mod period >= period - width
    global_keys(count)     j < count
    global_queries(count)  i < count
    random_blocks(block, count, seed)
                           key block j // block is one of the `count` draws
                           splitmix64(splitmix64(seed ^ qb) ^ r) mod (qb + 1),
                           r = 0 .. count-1, for query block qb = i // block
    union(a, ...)          any operand holds
    intersect(a, ...)      every operand holds

Degenerate parameters read as in MaskSemantics.h: a period, size or block <= 0
holds nowhere, a summary width >= period everywhere, a count <= 0 nowhere.

A mask is a small (hashable) tuple tree, e.g. ("union", (("chunk", 16), ("summary", 16, 4))).
`evaluate(mask, i, j)` works on anything that broadcasts and supports the
comparison/bitwise operators: numpy arrays, torch tensors, and the scalar
tensors FlexAttention's mask_mod receives.

Patterns come from three places, all yielding a list of head masks (head h
uses mask h mod n):
  * `paper_pattern(name, L, c)`: the paper's patterns written out in Python
    (strided, fixed, their merged forms, dense, local);
  * `parse_pattern_file(path, params)`: a small parser of the custom form of
    patterns/*.mlir (sparta.pattern / mask ops / sparta.heads, integer
    expressions with + - * / mod and parentheses);
  * `masks_from_tool(...)` / `read_mask_file(path)`: the C++ tool's
    `sparta mask` output (T lines of T '0'/'1').
"""

from __future__ import annotations

import os
import re
import subprocess
from typing import Dict, List, Optional, Sequence

MASK64 = (1 << 64) - 1


# ---------------------------------------------------------------------------
# random blocks (splitmix64)


def splitmix64(x: int) -> int:
    z = (x + 0x9E3779B97F4A7C15) & MASK64
    z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & MASK64
    z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & MASK64
    return z ^ (z >> 31)


def random_block_draw(seed: int, qblock: int, r: int) -> int:
    h = splitmix64(splitmix64((seed ^ (qblock & MASK64)) & MASK64) ^ (r & MASK64))
    return h % (qblock + 1)


def random_block_table(seed: int, nblocks: int, count: int) -> List[List[int]]:
    """table[qb] = the `count` draws (with repeats) for query block qb."""
    return [[random_block_draw(seed, qb, r) for r in range(count)] for qb in range(nblocks)]


# ---------------------------------------------------------------------------
# evaluation


def _is_torch(x) -> bool:
    return type(x).__module__.startswith("torch")


def _table_like(table, like):
    if _is_torch(like):
        import torch

        return torch.tensor(table, dtype=torch.int64, device=like.device)
    import numpy as np

    return np.asarray(table, dtype=np.int64)


def evaluate(mask, i, j, T: Optional[int] = None, causal: bool = True):
    """The mask at query positions i and key positions j (broadcasting).

    With `causal` (the default) the result is and-ed with 0 <= j <= i (and
    i < T when T is given).  `T` is needed for random_blocks (table size);
    when absent it is taken from the max of i.
    """
    out = _pred(mask, i, j, T)
    if causal:
        c = (j <= i) & (j >= 0)
        if T is not None:
            c = c & (i < T)
        out = out & c
    return out


def _always(i, j):
    return (i >= 0) | (j >= 0) | (i < 0)  # true, broadcast to the shape of i and j


def _never(i, j):
    return (i < 0) & (i >= 0) & (j == j)


def _pred(mask, i, j, T):
    kind = mask[0]
    if kind == "dense":
        return _always(i, j)
    if kind == "empty":
        return _never(i, j)
    if kind == "band":
        _, lo, hi = mask
        d = i - j
        return (d >= lo) & (d <= hi)
    if kind == "stride":
        _, p = mask
        if p <= 0:
            return _never(i, j)
        return (i - j) % p == 0
    if kind == "chunk":
        _, s = mask
        if s <= 0:
            return _never(i, j)
        return (i // s) == (j // s)
    if kind == "summary":
        _, p, w = mask
        if p <= 0 or w <= 0:
            return _never(i, j)
        if w >= p:
            return _always(i, j)
        return (j % p) >= (p - w)
    if kind == "global_keys":
        _, g = mask
        return (j < g) & (i == i)
    if kind == "global_queries":
        _, g = mask
        return (i < g) & (j == j)
    if kind == "random_blocks":
        _, block, count, seed = mask
        if block <= 0 or count <= 0:
            return _never(i, j)
        if T is None:
            T = int(i.max()) + 1
        nb = (T + block - 1) // block
        table = _table_like(random_block_table(seed, nb, count), i)
        qb = i // block
        kb = j // block
        # clamp the query block into the table (positions >= T are cut by the causal and)
        if _is_torch(qb):
            qbc = qb.clamp(0, nb - 1)
        else:
            import numpy as np

            qbc = np.clip(qb, 0, nb - 1)
        out = _never(i, j)
        for r in range(count):
            out = out | (table[qbc, r] == kb)
        return out
    if kind == "union":
        ops = mask[1]
        out = _never(i, j)
        for m in ops:
            out = out | _pred(m, i, j, T)
        return out
    if kind == "intersect":
        ops = mask[1]
        out = _always(i, j)
        for m in ops:
            out = out & _pred(m, i, j, T)
        return out
    raise ValueError(f"unknown mask kind {kind!r}")


def dense_mask(mask, T: int, device=None):
    """The [T, T] bool torch tensor of `mask` (row = query, column = key)."""
    import torch

    i = torch.arange(T, device=device).view(T, 1)
    j = torch.arange(T, device=device).view(1, T)
    return evaluate(mask, i, j, T).expand(T, T).contiguous()


def dense_mask_numpy(mask, T: int):
    import numpy as np

    i = np.arange(T).reshape(T, 1)
    j = np.arange(T).reshape(1, T)
    return np.broadcast_to(evaluate(mask, i, j, T), (T, T)).copy()


# ---------------------------------------------------------------------------
# the paper's patterns, written out


def paper_pattern(name: str, L: int, c: int = 8, **_ignored) -> List[tuple]:
    """Head masks of the paper's patterns (Child et al. 2019, section 4.2)."""
    strided_a1 = ("band", 0, L)  # max(0, i-L) <= j <= i
    strided_a2 = ("stride", L)  # (i-j) mod L == 0
    fixed_a1 = ("chunk", L)  # floor(j/L) == floor(i/L)
    fixed_a2 = ("summary", L, c)  # j mod L >= L-c
    table = {
        "strided": [strided_a1, strided_a2],
        "strided_merged": [("union", (strided_a1, strided_a2))],
        "fixed": [fixed_a1, fixed_a2],
        "fixed_merged": [("union", (fixed_a1, fixed_a2))],
        "dense": [("dense",)],
        "local": [("band", 0, L)],
    }
    if name not in table:
        raise ValueError(f"no built-in pattern {name!r} (have {sorted(table)})")
    return table[name]


# ---------------------------------------------------------------------------
# patterns/*.mlir (custom form)

_TOKEN = re.compile(r"\s*(?:(\d+)|([A-Za-z_][A-Za-z0-9_]*)|(.))")


def eval_expr(text: str, env: Dict[str, int]) -> int:
    """Integer expression of docs/pattern-language.md: + - * / mod, unary minus,
    parentheses; / is floor division and mod its remainder (Python's // and %)."""
    toks = []
    for m in _TOKEN.finditer(text):
        if m.group(1):
            toks.append(("int", int(m.group(1))))
        elif m.group(2):
            toks.append(("mod", None) if m.group(2) == "mod" else ("name", m.group(2)))
        elif m.group(3) and not m.group(3).isspace():
            toks.append(("op", m.group(3)))
    pos = 0

    def peek():
        return toks[pos] if pos < len(toks) else ("end", None)

    def take():
        nonlocal pos
        t = peek()
        pos += 1
        return t

    def expr():
        v = term()
        while peek() in (("op", "+"), ("op", "-")):
            op = take()[1]
            r = term()
            v = v + r if op == "+" else v - r
        return v

    def term():
        v = unary()
        while peek() in (("op", "*"), ("op", "/"), ("mod", None)):
            t = take()
            r = unary()
            if t == ("op", "*"):
                v = v * r
            else:
                if r == 0:
                    raise ValueError(f"division by zero in {text!r}")
                v = v // r if t == ("op", "/") else v % r
        return v

    def unary():
        if peek() == ("op", "-"):
            take()
            return -unary()
        return primary()

    def primary():
        t = take()
        if t[0] == "int":
            return t[1]
        if t[0] == "name":
            if t[1] not in env:
                raise ValueError(f"unknown name {t[1]!r} in {text!r} (have {sorted(env)})")
            return env[t[1]]
        if t == ("op", "("):
            v = expr()
            if take() != ("op", ")"):
                raise ValueError(f"missing ')' in {text!r}")
            return v
        raise ValueError(f"unexpected {t} in {text!r}")

    v = expr()
    if pos != len(toks):
        raise ValueError(f"trailing input in expression {text!r}")
    return v


_PATTERN = re.compile(
    r"sparta\.pattern\s+@([A-Za-z_][A-Za-z0-9_]*)\s*\(([^)]*(?:\([^)]*\)[^)]*)*)\)\s*(instantiated)?\s*\{(.*?)\}",
    re.S,
)

_ATTRS = {
    "dense": [],
    "empty": [],
    "band": ["lo", "hi"],
    "stride": ["period"],
    "chunk": ["size"],
    "summary": ["period", "width"],
    "global_keys": ["count"],
    "global_queries": ["count"],
    "random_blocks": ["block", "count", "seed"],
}


def _split_top(text: str) -> List[str]:
    parts, depth, cur = [], 0, ""
    for ch in text:
        if ch == "(":
            depth += 1
        elif ch == ")":
            depth -= 1
        if ch == "," and depth == 0:
            parts.append(cur)
            cur = ""
        else:
            cur += ch
    if cur.strip():
        parts.append(cur)
    return [p.strip() for p in parts]


def declared_params(path: str, name: Optional[str] = None) -> List[str]:
    """The parameter names the pattern in `path` declares."""
    with open(path) as f:
        text = re.sub(r"//[^\n]*", "", f.read())
    found = [p for p in _PATTERN.findall(text) if name is None or p[0] == name]
    if not found:
        raise ValueError(f"{path}: no sparta.pattern" + (f" @{name}" if name else ""))
    return [p.split("=", 1)[0].strip() for p in _split_top(found[0][1])]


def parse_pattern_file(path: str, params: Dict[str, int], name: Optional[str] = None) -> List[tuple]:
    """Head masks of the pattern in `path` with `params` bound (T and L at least)."""
    with open(path) as f:
        text = f.read()
    return parse_pattern_text(text, params, name, where=path)


def parse_pattern_text(text: str, params: Dict[str, int], name: Optional[str] = None,
                       where: str = "<text>") -> List[tuple]:
    text = re.sub(r"//[^\n]*", "", text)
    found = _PATTERN.findall(text)
    if not found:
        raise ValueError(f"{where}: no sparta.pattern found")
    if name is None:
        if len(found) != 1:
            raise ValueError(f"{where}: holds {len(found)} patterns; name one")
        pat = found[0]
    else:
        pat = next((p for p in found if p[0] == name), None)
        if pat is None:
            raise ValueError(f"{where}: no pattern @{name}")
    _, plist, _inst, body = pat
    env: Dict[str, int] = {}
    for p in _split_top(plist):
        if "=" in p:
            pname, default = (s.strip() for s in p.split("=", 1))
            env[pname] = int(params[pname]) if pname in params else eval_expr(default, env)
        else:
            pname = p
            if pname not in params:
                raise ValueError(f"{where}: parameter {pname} has no value (pass it)")
            env[pname] = int(params[pname])
    unknown = set(params) - set(env)
    if unknown:
        raise ValueError(f"{where}: pattern has no parameter(s) {sorted(unknown)}")
    values: Dict[str, tuple] = {}
    heads = None
    for line in body.split("\n"):
        line = line.strip()
        if not line:
            continue
        m = re.match(r"sparta\.heads\s+(.*)$", line)
        if m:
            heads = [values[v.strip()] for v in m.group(1).split(",")]
            continue
        m = re.match(r"(%[A-Za-z0-9_]+)\s*=\s*sparta\.([a-z_]+)\s*(.*)$", line)
        if not m:
            raise ValueError(f"{where}: cannot read line {line!r}")
        res, op, rest = m.groups()
        if op in ("union", "intersect"):
            values[res] = (op, tuple(values[v.strip()] for v in rest.split(",")))
            continue
        if op not in _ATTRS:
            raise ValueError(f"{where}: unknown op sparta.{op}")
        attrs = {}
        for a in _split_top(rest):
            k, v = (s.strip() for s in a.split("=", 1))
            attrs[k] = eval_expr(v, env)
        values[res] = (op,) + tuple(attrs[k] for k in _ATTRS[op])
    if not heads:
        raise ValueError(f"{where}: no sparta.heads")
    return heads


# ---------------------------------------------------------------------------
# masks from the C++ tool / from files


def read_mask_file(path: str):
    """A [T, T] bool torch tensor from T lines of T '0'/'1' characters."""
    with open(path) as f:
        rows = [ln.strip() for ln in f if ln.strip()]
    return _rows_to_tensor(rows, path)


def _rows_to_tensor(rows: Sequence[str], where: str):
    import torch

    T = len(rows)
    if any(len(r) != T or set(r) - {"0", "1"} for r in rows):
        raise ValueError(f"{where}: expected {T} lines of {T} '0'/'1' characters")
    data = bytes("".join(rows), "ascii")
    t = torch.frombuffer(bytearray(data), dtype=torch.uint8).view(T, T)
    return t == ord("1")


def tool_mask_rows(sparta_bin: str, pattern_file: str, params: Dict[str, int], head: int) -> List[str]:
    cmd = [sparta_bin, "mask", pattern_file]
    for k, v in params.items():
        cmd += ["--set", f"{k}={v}"]
    cmd += ["--head", str(head)]
    out = subprocess.run(cmd, check=True, capture_output=True, text=True).stdout
    return [ln.strip() for ln in out.splitlines() if ln.strip()]


def masks_from_tool(sparta_bin: str, pattern_file: str, params: Dict[str, int], nheads: Optional[int] = None):
    """The pattern's head masks as [T, T] bool tensors, printed by `sparta mask`."""
    if nheads is None:
        nheads = len(parse_pattern_file(pattern_file, params))
    return [_rows_to_tensor(tool_mask_rows(sparta_bin, pattern_file, params, h), pattern_file)
            for h in range(nheads)]


def default_sparta_bin() -> Optional[str]:
    here = os.path.dirname(os.path.abspath(__file__))
    for cand in (os.environ.get("SPARTA_BIN"), os.path.join(here, "..", "..", "build", "bin", "sparta")):
        if cand and os.path.exists(cand):
            return os.path.abspath(cand)
    return None
