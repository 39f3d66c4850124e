"""Flash and RAM of a generated model on the Cortex-M4, measured from the compiler's own output.

The model's C and the kernels it calls are compiled for the Cortex-M4 as the
firmware compiles them; `arm-none-eabi-size` gives code and constant data per
object, the memory plan gives the activation buffer, and GCC's call-graph
stack usage gives the deepest stack of one invoke. Without the Arm toolchain
the figures fall back to the generator's own count of constant bytes plus a
stated allowance for kernel code.
"""

from __future__ import annotations

import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path

from ..codegen.emit import GeneratedModel
from ..errors import ToolchainError
from ..resources import KERNEL_SOURCE, runtime_dir

# Used without the Arm toolchain: the largest kernel set measured (all ops, DSP path), rounded up.
KERNEL_CODE_ALLOWANCE = 12 * 1024
STACK_ALLOWANCE = 512


@dataclass
class Footprint:
    model_code: int  # the generated invoke/init functions
    model_data: int  # weights, biases, requantisation tables, parameter blocks
    kernel_code: dict[str, int]  # per kernel source
    arena: int
    stack: int
    measured: bool  # False: estimated without the Arm toolchain

    @property
    def flash(self) -> int:
        return self.model_code + self.model_data + sum(self.kernel_code.values())

    @property
    def ram(self) -> int:
        return self.arena + self.stack

    def to_dict(self) -> dict:
        return {
            "flash_bytes": self.flash,
            "flash_weights_and_tables_bytes": self.model_data,
            "flash_code_bytes": self.model_code + sum(self.kernel_code.values()),
            "kernel_code_bytes": dict(self.kernel_code),
            "ram_bytes": self.ram,
            "arena_bytes": self.arena,
            "stack_bytes": self.stack,
            "measured_with_arm_gcc": self.measured,
        }


def _size(obj: Path) -> tuple[int, int, int, int]:
    """text, rodata, data, bss of one object file (sections by name)."""
    from ..hosttools.build import arm_tool

    out = subprocess.run([arm_tool("size"), "-A", str(obj)], capture_output=True, text=True, check=True).stdout
    text = rodata = data = bss = 0
    for line in out.splitlines():
        parts = line.split()
        if len(parts) < 2 or not parts[1].isdigit():
            continue
        name, size = parts[0], int(parts[1])
        if name.startswith(".text"):
            text += size
        elif name.startswith(".rodata"):
            rodata += size
        elif name.startswith(".data"):
            data += size
        elif name.startswith(".bss"):
            bss += size
    return text, rodata, data, bss


def measure_footprint(gen: GeneratedModel, dsp: bool = True) -> Footprint:
    """Compile the model for the Cortex-M4 and measure it; estimate if the Arm toolchain is missing."""
    from ..hosttools.build import M4_CFLAGS, arm_gcc
    from ..hosttools.stack import worst_stack

    ops = {layer.op for layer in gen.layers}
    kernels = sorted({KERNEL_SOURCE[op] for op in ops if op in KERNEL_SOURCE})
    try:
        cc = arm_gcc()
    except ToolchainError:
        return Footprint(
            0, gen.const_bytes, {"(allowance)": KERNEL_CODE_ALLOWANCE}, gen.arena_size, STACK_ALLOWANCE, measured=False
        )
    nn = runtime_dir() / "nn"
    with tempfile.TemporaryDirectory(prefix="kwsgen-size-") as tmp:
        work = Path(tmp)
        (work / f"{gen.prefix}.h").write_text(gen.header)
        (work / f"{gen.prefix}.c").write_text(gen.source)
        sources = [work / f"{gen.prefix}.c", *(nn / k for k in kernels)]
        flags = [*M4_CFLAGS, "-fcallgraph-info=su", f"-DKWS_USE_DSP={int(dsp)}", f"-I{runtime_dir()}", f"-I{nn}"]
        sizes = {}
        for src in sources:
            obj = work / (src.stem + ".o")
            proc = subprocess.run(
                [cc, *flags, f"-I{work}", "-c", str(src), "-o", str(obj)], cwd=work, capture_output=True, text=True
            )
            if proc.returncode:
                raise ToolchainError(f"arm-none-eabi-gcc failed on {src.name}: {proc.stderr.strip()[:500]}")
            sizes[src.name] = _size(obj)
        stack = worst_stack(work, f"{gen.prefix}_invoke")
    text, rodata, data, bss = sizes.pop(f"{gen.prefix}.c")
    kernel_code = {name: t + r + d for name, (t, r, d, _) in sizes.items()}
    return Footprint(text, rodata + data, kernel_code, bss, stack.bytes, measured=True)


def fits_board(board, what: str):
    """For export_c(before_writing=...): refuse a model that does not fit the board (kwsgen.boards.Board)."""

    def check(gen: GeneratedModel) -> None:
        fp = measure_footprint(gen)
        board.check_fits(f"{what} on {board.name}", fp.flash, fp.ram)

    return check
