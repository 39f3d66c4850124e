"""Run Cortex-M4 programs under QEMU (mps2-an386) with semihosting, and count instructions."""

from __future__ import annotations

import bisect
import shutil
import subprocess
from dataclasses import dataclass, field
from pathlib import Path

from ..errors import ToolchainError
from .build import arm_tool, build_insn_count_plugin, qemu_arm

MARK_SYMBOL = "kws_bench_mark"


@dataclass
class QemuResult:
    returncode: int
    output: str
    marks: list[int] = field(default_factory=list)
    total: int | None = None
    pc_counts: dict[int, int] = field(default_factory=dict)


def symbol_address(elf: Path, name: str) -> int | None:
    out = subprocess.run([arm_tool("nm"), str(elf)], capture_output=True, text=True, check=True).stdout
    for line in out.splitlines():
        parts = line.split()
        if len(parts) == 3 and parts[2] == name:
            return int(parts[0], 16) & ~1
    return None


def run_m4(
    elf: Path,
    args: list[str],
    workdir: Path,
    count: bool = False,
    profile: bool = False,
    timeout: float = 600.0,
) -> QemuResult:
    """Run elf with semihosting; file paths in args are relative to workdir.

    The program sees argv = ["fw.elf", *args]. With count=True the kwsgen
    plugin records the instruction count at every call of kws_bench_mark()
    and the total; profile=True adds counts per instruction address.
    """
    workdir = Path(workdir)
    if any(" " in a for a in args):
        raise ToolchainError("QEMU semihosting arguments cannot contain spaces")
    shutil.copyfile(elf, workdir / "fw.elf")
    cmd = [
        qemu_arm(),
        "-M",
        "mps2-an386",
        "-display",
        "none",
        "-monitor",
        "none",
        "-serial",
        "none",
        "-chardev",
        "stdio,id=c0",
        "-semihosting-config",
        "enable=on,target=native,chardev=c0",
        "-kernel",
        "fw.elf",
        "-append",
        " ".join(args),
    ]
    counts_file = workdir / "insn_counts.txt"
    if count or profile:
        plugin_args = [f"out={counts_file}"]
        mark = symbol_address(elf, MARK_SYMBOL)
        if mark is not None:
            plugin_args.append(f"mark={mark:#x}")
        if profile:
            plugin_args.append("profile=on")
        cmd += ["-plugin", ",".join([str(build_insn_count_plugin()), *plugin_args])]
    try:
        proc = subprocess.run(cmd, cwd=workdir, capture_output=True, text=True, timeout=timeout)
    except subprocess.TimeoutExpired:
        raise ToolchainError(f"QEMU did not finish {elf.name} within {timeout:.0f} s") from None
    result = QemuResult(proc.returncode, proc.stdout + proc.stderr)
    if (count or profile) and counts_file.exists():
        for line in counts_file.read_text().splitlines():
            parts = line.split()
            if parts[0] == "mark":
                result.marks.append(int(parts[1]))
            elif parts[0] == "total":
                result.total = int(parts[1])
            elif parts[0] == "pc":
                result.pc_counts[int(parts[1], 16)] = int(parts[2])
    return result


def elf_sizes(elf: Path) -> dict[str, int]:
    """Berkeley sizes: text (code + const data), data, bss."""
    out = subprocess.run([arm_tool("size"), "-B", str(elf)], capture_output=True, text=True, check=True).stdout
    text, data, bss = (int(v) for v in out.splitlines()[1].split()[:3])
    return {"text": text, "data": data, "bss": bss}


def symbol_sizes(elf: Path) -> dict[str, tuple[int, int, str]]:
    """name -> (address, size, nm type letter) for every sized symbol."""
    out = subprocess.run([arm_tool("nm"), "-S", str(elf)], capture_output=True, text=True, check=True).stdout
    table = {}
    for line in out.splitlines():
        parts = line.split()
        if len(parts) == 4:
            table[parts[3]] = (int(parts[0], 16) & ~1, int(parts[1], 16), parts[2])
    return table


def profile_by_function(elf: Path, pc_counts: dict[int, int]) -> dict[str, int]:
    """Fold per-address instruction counts into per-function totals."""
    funcs = sorted(
        (addr, size, name) for name, (addr, size, kind) in symbol_sizes(elf).items() if kind in "tTwW" and size
    )
    totals: dict[str, int] = {}
    starts = [f[0] for f in funcs]
    for pc, n in pc_counts.items():
        i = bisect.bisect_right(starts, pc) - 1
        name = funcs[i][2] if i >= 0 and pc < funcs[i][0] + funcs[i][1] else "?"
        totals[name] = totals.get(name, 0) + n
    return dict(sorted(totals.items(), key=lambda kv: -kv[1]))
