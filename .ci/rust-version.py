#!/usr/bin/env python3
"""Fails when a package's rust-version is lower than that of any crate it
needs to build (normal and build dependencies, transitively), under each TLS
feature set: the library's (Cargo.toml) and the tool's (cli/Cargo.toml);
prints what the examples and tests need (dev too)."""
import json
import subprocess
import sys

FEATURE_SETS = [[], ["--features", "platform-verifier"], ["--no-default-features", "--features", "native-tls"]]


def version(text):
    """(1, 85, 0) from "1.85" or "1.85.0"; a crate that declares none needs nothing."""
    parts = [int(part) for part in (text or "0").split(".")]
    return tuple(parts + [0] * (3 - len(parts)))


def needed(args, kinds, name="magicbell-jwt"):
    meta = json.loads(subprocess.check_output(
        ["cargo", "metadata", "--format-version", "1", "--locked"] + args))
    packages = {p["id"]: p for p in meta["packages"]}
    nodes = {n["id"]: n for n in meta["resolve"]["nodes"]}
    # A workspace: the package called `name` among its members.
    root = next(p for p in meta["workspace_members"] if packages[p]["name"] == name)
    seen, stack = set(), [root]
    while stack:
        here = stack.pop()
        for dep in nodes[here]["deps"]:
            dep_kinds = {k["kind"] for k in dep["dep_kinds"]}
            # Dev-dependencies count only for this crate's own targets.
            wanted = kinds if here == root else {None, "build"}
            if dep_kinds & wanted and dep["pkg"] not in seen:
                seen.add(dep["pkg"])
                stack.append(dep["pkg"])
    highest = max((packages[p] for p in seen), key=lambda p: version(p.get("rust_version")))
    return packages[root], highest


failed = False
for name, what in [("magicbell-jwt", "the library"), ("magicbell-jwt-cli", "the tool")]:
    for args in FEATURE_SETS:
        root, lib = needed(args, {None, "build"}, name)
        declared = root.get("rust_version")
        label = " ".join(args) or "default features"
        print(f"{label}: {what} declares {declared}; its dependencies need "
              f"{lib['rust_version']} ({lib['name']} {lib['version']})")
        if version(declared) < version(lib["rust_version"]):
            print(f"  rust-version {declared} is lower than {lib['name']}'s {lib['rust_version']}")
            failed = True
_, dev = needed([], {None, "build", "dev"})
print(f"examples and tests need {dev['rust_version']} ({dev['name']} {dev['version']})")
sys.exit(1 if failed else 0)
