"""Estimated Cortex-M4 cycles from exact instruction counts.

QEMU counts how often each instruction address ran (the plugin's profile
mode); the ELF's disassembly says what each instruction is. Each class gets
its cycle cost from Arm's Cortex-M4 Technical Reference Manual (r0p1,
section 3.3, table 3-1), for memory without wait states:

  - data processing, shifts, SIMD and saturating arithmetic, MUL, SMUL*,
    SMLA*, SMLAD/SMLSD, SMULL/SMLAL and the other long multiplies: 1;
  - MLA and MLS: 2;
  - a single load or store: 2, or 1 when it directly follows another single
    load or store (their address and data phases pipeline);
  - LDM/STM/PUSH/POP of N registers: 1 + N (LDRD/STRD: 3); a POP that loads
    the PC also branches;
  - SDIV/UDIV: 2 to 12, counted as 7;
  - a taken branch: 1 + P, with P = 2 for the pipeline refill (the manual
    gives 1 to 3); a conditional branch not taken: 1. How often a conditional
    branch was taken is the count of the branch less the count of the
    instruction after it (what fell through);
  - TBB/TBH: 2 + P; IT: 1 (the manual allows it to fold into its neighbour:
    counting it keeps the estimate on the safe side).

What it cannot see: wait states of the board's flash (the nRF52840's cache
hides most; the QuickFeather runs from SRAM), contention with DMA, and the
exact refill penalty. Published Cortex-M4 figures (cycles per MAC measured
on silicon) are therefore the check on it; docs/codegen.md compares.
"""

from __future__ import annotations

import re
import subprocess
from dataclasses import dataclass, field
from pathlib import Path

from .build import arm_tool

REFILL = 2  # P: pipeline refill cycles after a taken branch
_LINE = re.compile(r"^\s*([0-9a-f]+):\s+([a-z][a-z0-9.]*)\s*(.*)$")
_CONDITIONS = "eq|ne|cs|hs|cc|lo|mi|pl|vs|vc|hi|ls|ge|lt|gt|le"
_COND_BRANCH = re.compile(rf"^b({_CONDITIONS})$")
_SINGLE_MEMORY = re.compile(r"^(ldr|str)(b|h|sb|sh|ex|exb|exh|t|bt|ht|sbt|sht)?$")


@dataclass
class CycleEstimate:
    instructions: int = 0
    cycles: float = 0.0
    by_class: dict[str, list[float]] = field(default_factory=dict)  # class -> [instructions, cycles]

    @property
    def cycles_per_instruction(self) -> float:
        return self.cycles / self.instructions if self.instructions else 0.0

    def add(self, kind: str, count: int, cycles: float) -> None:
        self.instructions += count
        self.cycles += cycles
        entry = self.by_class.setdefault(kind, [0, 0.0])
        entry[0] += count
        entry[1] += cycles

    def to_dict(self) -> dict:
        return {
            "instructions": self.instructions,
            "cycles": round(self.cycles),
            "cycles_per_instruction": round(self.cycles_per_instruction, 3),
            "mix": {k: {"instructions": int(v[0]), "cycles": round(v[1])} for k, v in sorted(self.by_class.items())},
        }


@dataclass(frozen=True)
class Instruction:
    address: int
    mnemonic: str  # without .w/.n and without an IT block's condition suffix
    operands: str
    next_address: int


def disassemble(elf: Path) -> dict[int, Instruction]:
    out = subprocess.run(
        [arm_tool("objdump"), "-d", "--no-show-raw-insn", str(elf)], capture_output=True, text=True, check=True
    ).stdout
    parsed = []
    for line in out.splitlines():
        m = _LINE.match(line)
        if m:
            parsed.append((int(m.group(1), 16), m.group(2).split(".")[0], m.group(3)))
    table = {}
    for (addr, mnemonic, operands), following in zip(parsed, [*parsed[1:], None], strict=True):
        table[addr] = Instruction(addr, mnemonic, operands, following[0] if following else addr + 2)
    return table


def _strip_condition(mnemonic: str) -> str:
    """addeq -> add (inside IT blocks); branches keep theirs."""
    if mnemonic.startswith("b") and mnemonic not in ("bic", "bics", "bfi", "bfc"):
        return mnemonic
    m = re.match(rf"^(.+?)({_CONDITIONS})$", mnemonic)
    return m.group(1) if m and len(m.group(1)) >= 2 else mnemonic


def _registers(operands: str) -> int:
    m = re.search(r"\{([^}]*)\}", operands)
    if not m:
        return 1
    n = 0
    for part in m.group(1).split(","):
        part = part.strip()
        if "-" in part:
            lo, hi = (int(re.sub(r"\D", "", p) or 0) for p in part.split("-"))
            n += hi - lo + 1
        elif part:
            n += 1
    return n


def classify(ins: Instruction, previous: Instruction | None) -> tuple[str, float, bool]:
    """(class, cycles if not a branch, whether it is a conditional branch)."""
    name = _strip_condition(ins.mnemonic)
    if _COND_BRANCH.match(ins.mnemonic) or name in ("cbz", "cbnz"):
        return "branch", 1.0, True
    if name in ("b", "bl", "bx", "blx"):
        return "branch", 1.0 + REFILL, False
    if name in ("tbb", "tbh"):
        return "branch", 2.0 + REFILL, False
    if name == "it" or name.startswith("it"):
        return "it", 1.0, False
    if name in ("ldm", "ldmia", "ldmfd", "ldmdb", "stm", "stmia", "stmea", "stmdb", "stmfd", "push", "pop"):
        n = _registers(ins.operands)
        branches = name == "pop" and "pc" in ins.operands
        return "load/store multiple", 1.0 + n + (REFILL if branches else 0), False
    if name in ("ldrd", "strd"):
        return "load/store multiple", 3.0, False
    if _SINGLE_MEMORY.match(name):
        pipelined = previous is not None and _SINGLE_MEMORY.match(_strip_condition(previous.mnemonic))
        kind = "load" if name.startswith("ldr") else "store"
        return kind, 1.0 if pipelined else 2.0, False
    if name in ("sdiv", "udiv"):
        return "divide", 7.0, False
    if name in ("mla", "mls"):
        return "multiply-accumulate", 2.0, False
    if name.startswith(("smla", "smlsd", "smlal", "umlal", "umaal", "smmla", "smmls")):
        return "multiply-accumulate", 1.0, False
    if name in ("mul", "muls") or name.startswith(("smul", "umul", "smuad", "smusd", "smmul")):
        return "multiply", 1.0, False
    if re.match(r"^(s|u|q|sh|uh|uq)(add|sub|asx|sax)(8|16)$", name) or name.startswith(
        ("ssat", "usat", "qadd", "qsub", "qdadd", "qdsub", "pkh", "sxt", "uxt", "sel", "rev", "clz", "rbit")
    ):
        return "SIMD and saturation", 1.0, False
    if name.startswith("v"):
        return "floating point", 1.0, False
    return "data processing", 1.0, False


def estimate_cycles(elf: Path, pc_counts: dict[int, int]) -> CycleEstimate:
    """Cycles for the executed instructions of one profiled run (see the module's docstring)."""
    code = disassemble(elf)
    addresses = sorted(code)
    previous_of = dict(zip(addresses[1:], addresses, strict=False))
    estimate = CycleEstimate()
    for pc, count in pc_counts.items():
        ins = code.get(pc)
        if ins is None:
            estimate.add("unknown", count, float(count))
            continue
        prev = code.get(previous_of.get(pc, -1))
        kind, cost, conditional = classify(ins, prev)
        if conditional:
            taken = min(count, max(0, count - pc_counts.get(ins.next_address, 0)))
            estimate.add(kind, count, (count - taken) * 1.0 + taken * (1.0 + REFILL))
        else:
            estimate.add(kind, count, count * cost)
    return estimate
