#!/usr/bin/env python3
"""Fails when a file of a crate imports, directly or through others, a file
that imports it back. Usage: import-circles.py SRC_DIR ROOT_FILE (such as
`src lib.rs` or `cli/src main.rs`).

An edge is a `use crate::…` (doc-only ones too) or a `crate::x::` path in
code; an item named through the root file's `pub use` counts as an edge to
the file that defines it, and the root file itself is left out (its
re-exports are the public face, not a layer). Test modules count too: a
test that imports a file importing it back is a circle all the same.
"""
import glob
import os
import re
import sys


def modules(src):
    files = {}
    for path in glob.glob(os.path.join(src, "**", "*.rs"), recursive=True):
        rel = os.path.relpath(path, src)[:-3]
        if rel.endswith("/mod"):
            rel = rel[:-4]
        files[rel.replace("/", "::")] = path
    return files


def code(path):
    return "\n".join(line.split("//")[0] for line in open(path, encoding="utf-8"))


def expand(prefix, s):
    """`a::{b, c::{d}}` into `a::b`, `a::c::d`."""
    if s.startswith("{"):
        depth, cur, out = 0, "", []
        for c in s[1:-1] + ",":
            depth += c == "{"
            depth -= c == "}"
            if c == "," and depth == 0:
                out.append(cur)
                cur = ""
            else:
                cur += c
        return [x for o in out if o for x in expand(prefix, o)]
    if "::{" in s:
        a, b = s.split("::{", 1)
        return expand(prefix + a + "::", "{" + b)
    return [prefix + s]


def main():
    src, root = sys.argv[1], sys.argv[2][:-3]
    files = modules(src)
    root_text = code(files[root])
    reexported = {}
    for module, items in re.findall(r"pub use (\w+)::\{?([\w\s,]+)\}?;", root_text):
        for item in re.split(r"[\s,]+", items):
            if item:
                reexported[item] = module

    def target(path):
        parts = path.split("::")
        for n in range(len(parts), 0, -1):
            m = "::".join(parts[:n])
            if m in files and m != root:
                return m
        return reexported.get(parts[0])

    edges = {}
    for m, path in files.items():
        if m == root:
            continue
        text = code(path)
        outs = set()
        for used in re.findall(r"use crate::([^;]+);", text, re.S):
            for p in expand("", re.sub(r"\s", "", used)):
                outs.add(target(p.split(" as ")[0]))
        for p in re.findall(r"(?<!use )crate::([\w:]+)", text):
            outs.add(target(p))
        outs.discard(None)
        outs.discard(m)
        edges[m] = sorted(outs)

    state, stack, circles = {}, [], []

    def visit(u):
        state[u] = 1
        stack.append(u)
        for v in edges.get(u, []):
            if state.get(v) == 1:
                circles.append(stack[stack.index(v):] + [v])
            elif not state.get(v):
                visit(v)
        stack.pop()
        state[u] = 2

    for u in sorted(edges):
        if not state.get(u):
            visit(u)
    for c in circles:
        print(f"{src}: import circle: " + " -> ".join(c))
    return 1 if circles else 0


if __name__ == "__main__":
    sys.exit(main())
