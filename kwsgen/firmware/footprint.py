"""Flash and RAM of kwsgen's whole portable core (front end, model, pipeline) on a Cortex-M4.

The core is linked on its own for the Cortex-M4 with the firmware's flags and
--gc-sections, keeping only what kws_pipeline_init, kws_pipeline_process and
kws_pipeline_format reach (memcpy and friends from newlib-nano included), plus
one static kws_pipeline_t, as a board's glue declares it. Flash is text +
data; RAM is data + bss plus the deepest stack of one kws_pipeline_process call
(GCC's call-graph stack usage). Board glue, the SDK and the C library's other
parts come on top: the board definitions reserve room for them.
"""

from __future__ import annotations

import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path

from ..errors import ToolchainError
from .app import FirmwareSpec

STATE_SOURCE = """#include "kws_pipeline.h"
kws_pipeline_t kws_footprint_state;
"""


@dataclass
class FirmwareFootprint:
    flash: int
    ram: int
    stack: int
    measured: bool


def firmware_footprint(spec: FirmwareSpec, cpu_flags: tuple[str, ...] = ()) -> FirmwareFootprint:
    """cpu_flags: the board's (its float ABI: the Nano's Arduino core builds with softfp), else QEMU's M4F."""
    from ..check.footprint import measure_footprint
    from ..hosttools.build import M4_CFLAGS, M4_CPU_FLAGS, arm_gcc, m4_link_flags
    from ..hosttools.qemu import elf_sizes
    from ..hosttools.stack import worst_stack
    from .engines import core_dir

    try:
        cc = arm_gcc()
    except ToolchainError:
        model = measure_footprint(spec.model)
        frontend_flash, frontend_ram = 9 * 1024, 4600  # measured figures of the default front end, rounded up
        return FirmwareFootprint(model.flash + frontend_flash, model.ram + frontend_ram, model.stack, measured=False)
    core = core_dir(spec)
    with tempfile.TemporaryDirectory(prefix="kwsgen-fwsize-") as tmp:
        work = Path(tmp)
        (work / "state.c").write_text(STATE_SOURCE)
        sources = [*sorted(core.glob("*.c")), work / "state.c"]
        keep = ["kws_pipeline_init", "kws_pipeline_process", "kws_pipeline_format", "kws_footprint_state"]
        cpu = tuple(cpu_flags) or M4_CPU_FLAGS
        cmd = [
            cc,
            *_with_cpu(M4_CFLAGS, M4_CPU_FLAGS, cpu),
            "-DKWS_USE_DSP=1",
            "-fcallgraph-info=su",
            f"-I{core}",
            *map(str, sources),
            *_with_cpu(m4_link_flags(), M4_CPU_FLAGS, cpu),
            "-nostdlib",
            "-lc_nano",
            "-lgcc",
            "-Wl,--entry=kws_pipeline_init",
            *(f"-Wl,--undefined={k}" for k in keep),
            "-o",
            "core.elf",
        ]
        proc = subprocess.run(cmd, cwd=work, capture_output=True, text=True)
        if proc.returncode:
            raise ToolchainError(f"arm-none-eabi-gcc failed linking the core: {proc.stderr.strip()[:500]}")
        sizes = elf_sizes(work / "core.elf")
        stack = worst_stack(work, "kws_pipeline_process").bytes
    return FirmwareFootprint(
        flash=sizes["text"] + sizes["data"], ram=sizes["data"] + sizes["bss"] + stack, stack=stack, measured=True
    )


def _with_cpu(flags: tuple[str, ...], default_cpu: tuple[str, ...], cpu: tuple[str, ...]) -> list[str]:
    """flags with the default CPU flags replaced by a board's."""
    rest = [f for f in flags if f not in default_cpu]
    return [*cpu, *rest]
