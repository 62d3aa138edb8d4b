#!/usr/bin/env python3
"""Writes a hostile pattern file to stdout, for the limit tests.

    hostile_pattern.py KIND N

KIND:
  chain       N unions and intersections, alternating, each using the last
              (expression depth N after canonicalization)
  union-chain N unions, each using the last (one union of N+1 operands once
              flattened)
  dag         N levels, each using the previous mask twice (2^N nodes as a tree)
  wide        one union of N random_blocks with distinct seeds
  wide-strides one union of N strides of periods 2..N+1 (at a small T each
              simplifies to band(0, 0): N rewrites under one union)
  nest-attr   an attribute holding N nested lists
  nest-ops    N nested modules
  nest-expr   an expression in N nested parentheses
  count       a random_blocks op drawing N blocks per query block
"""
import sys


def pattern(name, body, result):
    return "\n".join([f"sparta.pattern @{name}(T, L) {{"] + [f"  {line}" for line in body] +
                     [f"  sparta.heads {result}", "}"])


def main():
    kind, n = sys.argv[1], int(sys.argv[2])
    if kind == "chain":
        body = ["%m0 = sparta.band lo = 0, hi = L"]
        for k in range(1, n + 1):
            op = "union" if k % 2 else "intersect"
            body += [f"%p{k} = sparta.stride period = {k + 1}",
                     f"%m{k} = sparta.{op} %m{k - 1}, %p{k}"]
        text = pattern("chain", body, f"%m{n}")
    elif kind == "union-chain":
        body = ["%m0 = sparta.band lo = 0, hi = 0"]
        for k in range(1, n + 1):
            body += [f"%p{k} = sparta.band lo = {k}, hi = {k}",
                     f"%m{k} = sparta.union %m{k - 1}, %p{k}"]
        text = pattern("union_chain", body, f"%m{n}")
    elif kind == "dag":
        body = ["%m0 = sparta.band lo = 0, hi = L"]
        for k in range(1, n + 1):
            body += [f"%s{k} = sparta.stride period = {k + 1}",
                     f"%i{k} = sparta.intersect %m{k - 1}, %s{k}",
                     f"%m{k} = sparta.union %m{k - 1}, %i{k}"]
        text = pattern("dag", body, f"%m{n}")
    elif kind == "wide":
        body = [f"%r{k} = sparta.random_blocks block = 1, count = 1, seed = {k}"
                for k in range(n)]
        body.append("%u = sparta.union " + ", ".join(f"%r{k}" for k in range(n)))
        text = pattern("wide", body, "%u")
    elif kind == "wide-strides":
        body = [f"%s{k} = sparta.stride period = {k + 2}" for k in range(n)]
        body.append("%u = sparta.union " + ", ".join(f"%s{k}" for k in range(n)))
        text = pattern("wide_strides", body, "%u")
    elif kind == "nest-attr":
        text = pattern("p", ['%d = "sparta.dense"() {x = ' + "[" * n + "]" * n +
                             "} : () -> !sparta.mask"], "%d")
    elif kind == "nest-ops":
        text = "module {" * n + "}" * n
    elif kind == "nest-expr":
        text = pattern("p", ["%b = sparta.band lo = 0, hi = " + "(" * n + "L" + ")" * n], "%b")
    elif kind == "count":
        text = pattern("p", [f"%r = sparta.random_blocks block = 1, count = {n}, seed = 0"], "%r")
    else:
        sys.exit(f"unknown kind '{kind}'")
    print(text)


if __name__ == "__main__":
    main()
