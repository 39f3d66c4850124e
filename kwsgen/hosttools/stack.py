"""Worst-case stack depth from GCC's -fcallgraph-info=su output (.ci files).

Each .ci file is a VCG graph: nodes carry "N bytes (static)" for functions
compiled with a fixed frame, edges are calls. The depth of a root is its
frame plus the deepest callee's depth. Calls into functions with no .ci node
(C library memcpy/memset, which use a few words) count as zero and are
listed so the caller can say so.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

_NODE = re.compile(r'node: \{ title: "([^"]+)" label: "[^"]*?\\n[^"]*?(?:\\n(\d+) bytes \((static|dynamic[^)]*)\))?"')
_EDGE = re.compile(r'edge: \{ sourcename: "([^"]+)" targetname: "([^"]+)"')


@dataclass
class StackReport:
    bytes: int
    path: list[str]
    unknown: set[str] = field(default_factory=set)
    dynamic: set[str] = field(default_factory=set)


def load_callgraph(folder: Path) -> tuple[dict[str, int], dict[str, set[str]], set[str]]:
    frames: dict[str, int] = {}
    calls: dict[str, set[str]] = {}
    dynamic: set[str] = set()
    for ci in sorted(Path(folder).glob("*.ci")):
        text = ci.read_text(errors="replace")
        for name, size, kind in _NODE.findall(text):
            if size:
                frames[name] = max(frames.get(name, 0), int(size))
                if kind != "static":
                    dynamic.add(name)
        for src, dst in _EDGE.findall(text):
            calls.setdefault(src, set()).add(dst)
    return frames, calls, dynamic


def worst_stack(folder: Path, root: str) -> StackReport:
    frames, calls, dynamic = load_callgraph(folder)
    memo: dict[str, tuple[int, list[str]]] = {}
    unknown: set[str] = set()

    def depth(fn: str, seen: tuple[str, ...]) -> tuple[int, list[str]]:
        if fn in memo:
            return memo[fn]
        if fn in seen:
            raise ValueError(f"recursion through {fn}: stack depth is unbounded")
        if fn not in frames:
            unknown.add(fn)
            return 0, [fn]
        best = (0, [])
        for callee in sorted(calls.get(fn, ())):
            d = depth(callee, (*seen, fn))
            if d[0] > best[0]:
                best = d
        memo[fn] = (frames[fn] + best[0], [fn, *best[1]])
        return memo[fn]

    total, path = depth(root, ())
    used_dynamic = {f for f in path if f in dynamic}
    return StackReport(total, path, unknown, used_dynamic)
