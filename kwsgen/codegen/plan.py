"""A static memory plan: every activation tensor gets an offset in one buffer.

Lifetimes come from the graph: a tensor lives from the operator that writes
it (or the start, for the model input) to the last operator that reads it
(or the end, for the model output). A RESHAPE's output is its input under
another shape, so the two share one buffer and one lifetime. Scratch memory
an operator needs (a convolution's im2col columns) lives for that operator
alone. An operator that can run in place, and whose input dies with it,
writes its output over its input: the two share one buffer, as a RESHAPE's
do. Buffers are placed largest first, each at the lowest offset that
overlaps no buffer alive at the same time: the greedy strategy TFLite
Micro's own planner uses.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass, field

from .model import Graph

ALIGNMENT = 8  # the DSP kernels read words and half-words


@dataclass
class Buffer:
    """One region of the arena: a tensor (and its reshaped aliases) or an operator's scratch."""

    name: str
    size: int
    first: int  # first operator step it is alive in (-1: before the first operator)
    last: int  # last operator step it is alive in
    tensors: list[int] = field(default_factory=list)
    scratch_of: int | None = None
    offset: int = -1

    def overlaps_in_time(self, other: Buffer) -> bool:
        return self.first <= other.last and other.first <= self.last

    @property
    def end(self) -> int:
        return self.offset + self.size


@dataclass
class MemoryPlan:
    arena_size: int
    buffers: list[Buffer]
    tensor_offset: dict[int, int]
    scratch_offset: dict[int, int]
    in_place: frozenset[int] = frozenset()  # operators that write over their input

    def input_dies_at(self, graph: Graph, op_index: int) -> bool:
        """Whether nothing after operator op_index reads its first input (nor is it the model's output)."""
        op = graph.operators[op_index]
        first = next((i for i in op.inputs if i >= 0 and not graph.tensor(i).is_constant), None)
        if first is None:
            return False
        buffer = next(b for b in self.buffers if first in b.tensors)
        return buffer.last == op_index

    def describe(self) -> list[str]:
        lines = []
        for b in sorted(self.buffers, key=lambda b: (b.offset, b.first)):
            name = b.name if len(b.name) <= 60 else "..." + b.name[-57:]
            lines.append(f"[{b.offset:6d}, {b.end:6d}) ops {b.first}..{b.last}: {name}")
        return lines


def _align(n: int) -> int:
    return (n + ALIGNMENT - 1) // ALIGNMENT * ALIGNMENT


def plan_memory(
    graph: Graph, scratch_sizes: dict[int, int] | None = None, in_place: Collection[int] = ()
) -> MemoryPlan:
    """Offsets for every non-constant tensor and every scratch request (op index -> bytes).

    in_place: operators whose output may overwrite their first input; the caller
    checks that the kernel allows it and that the input dies there
    (MemoryPlan.input_dies_at on a plan made without them).
    """
    scratch_sizes = scratch_sizes or {}
    n_ops = len(graph.operators)
    root: dict[int, Buffer] = {}
    buffers: list[Buffer] = []

    def new_buffer(tensor: int, step: int) -> None:
        t = graph.tensor(tensor)
        b = Buffer(t.name, t.size, step, step, [tensor])
        root[tensor] = b
        buffers.append(b)

    for idx in graph.inputs:
        new_buffer(idx, -1)
    for step, op in enumerate(graph.operators):
        for idx in op.inputs:
            if idx >= 0 and not graph.tensor(idx).is_constant:
                if idx not in root:  # read before anything wrote it: treat as alive from the start
                    new_buffer(idx, -1)
                root[idx].last = max(root[idx].last, step)
        for idx in op.outputs:
            if op.index in in_place or (op.op == "RESHAPE" and not graph.tensor(op.inputs[0]).is_constant):
                alias = root[op.inputs[0]]
                if alias.size < graph.tensor(idx).size:
                    raise ValueError(f"operator {op.index} cannot write its output over its smaller input")
                alias.tensors.append(idx)
                alias.last = max(alias.last, step)
                root[idx] = alias
            else:
                new_buffer(idx, step)
        if scratch_sizes.get(op.index, 0) > 0:
            buffers.append(
                Buffer(
                    f"scratch of operator {op.index} ({op.op})",
                    scratch_sizes[op.index],
                    step,
                    step,
                    scratch_of=op.index,
                )
            )
    for idx in graph.outputs:
        root[idx].last = n_ops

    placed: list[Buffer] = []
    for b in sorted(buffers, key=lambda b: (-_align(b.size), b.first)):
        offset = 0
        for other in sorted((p for p in placed if p.overlaps_in_time(b)), key=lambda p: p.offset):
            if offset + b.size <= other.offset:
                break
            offset = max(offset, _align(other.end))
        b.offset = offset
        placed.append(b)
    arena = _align(max((b.end for b in buffers), default=0))
    tensor_offset = {t: b.offset for b in buffers for t in b.tensors}
    scratch_offset = {b.scratch_of: b.offset for b in buffers if b.scratch_of is not None}
    return MemoryPlan(arena, buffers, tensor_offset, scratch_offset, frozenset(in_place))
