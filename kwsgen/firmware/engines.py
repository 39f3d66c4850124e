"""Run the firmware on audio: `python` (simulation), `host` (the host board's binary), `qemu` (Cortex-M4).

The host and QEMU engines compile the same files `kwsgen build` writes for the
host and qemu boards, from a content-addressed cache folder, so what is tested
is what is shipped.
"""

from __future__ import annotations

import itertools
import subprocess
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from ..errors import KwsgenError, ToolchainError
from ..hosttools.build import (
    HOST_CFLAGS,
    M4_CFLAGS,
    SANITIZE_CFLAGS,
    BuildSpec,
    arm_gcc,
    build,
    cached_folder,
    host_cc,
    m4_link_flags,
)
from ..resources import host_tools_dir, resource_dir
from .app import FirmwareSpec

ENGINES = ("python", "host", "qemu")


def board_sources(board: str) -> Path:
    return resource_dir("firmware_templates") / "boards" / board


def core_dir(spec: FirmwareSpec) -> Path:
    """A cache folder holding the core's files for this spec."""
    return cached_folder("core", spec.core)


def host_program(sources: tuple[Path, ...], include: Path, name: str, cache: str, sanitize: bool) -> Path:
    """A host executable from C sources, cached by content; with `sanitize`, under ASan and UBSan."""
    flags = HOST_CFLAGS + (SANITIZE_CFLAGS if sanitize else ())
    bs = BuildSpec(
        cc=host_cc(),
        sources=sources,
        include_dirs=(include,),
        flags=flags,
        link_flags=SANITIZE_CFLAGS if sanitize else (),
        output_name=name,
    )
    return build(bs, f"{cache}-asan" if sanitize else cache)


def build_host_firmware(spec: FirmwareSpec, sanitize: bool = False) -> Path:
    core = core_dir(spec)
    sources = (*sorted(core.glob("*.c")), board_sources("host") / "main.c")
    return host_program(sources, core, "kws_host", "fw-host", sanitize)


def build_host_capture(spec: FirmwareSpec, sanitize: bool = False) -> Path:
    """The host build of the capture firmware (kws_capture.c behind capture_main.c)."""
    core = core_dir(spec)
    sources = (core / "kws_capture.c", board_sources("host") / "capture_main.c")
    return host_program(sources, core, "kws_capture", "capture-host", sanitize)


def build_qemu_firmware(spec: FirmwareSpec, dsp: bool = True) -> Path:
    core = core_dir(spec)
    m4 = host_tools_dir() / "m4"
    bs = BuildSpec(
        cc=arm_gcc(),
        sources=(*sorted(core.glob("*.c")), board_sources("qemu") / "main.c", m4 / "semihost.c", m4 / "startup.c"),
        include_dirs=(core, m4),
        flags=(*M4_CFLAGS, f"-DKWS_USE_DSP={int(dsp)}"),
        link_flags=m4_link_flags(),
        output_name="kws_qemu.elf",
        extra_inputs=(m4 / "mps2_an386.ld",),
    )
    return build(bs, "fw-qemu" if dsp else "fw-qemu-portable")


@dataclass
class FirmwareRun:
    lines: list[str]
    hop_instructions: list[int] = field(default_factory=list)  # qemu with count: per hop
    hop_inferences: list[int] = field(default_factory=list)  # qemu with count: inferences run in each hop
    pc_counts: dict[int, int] = field(default_factory=dict)  # qemu with profile: executions per address
    elf: Path | None = None  # qemu: the firmware that ran

    def hops_split(self) -> tuple[list[int], list[int]]:
        """Instructions of the hops that ran no inference, and of those that ran one (qemu with count)."""
        pairs = list(zip(self.hop_instructions, self.hop_inferences, strict=False))
        return [n for n, ran in pairs if not ran], [n for n, ran in pairs if ran]


def run_python(spec: FirmwareSpec, audio: np.ndarray) -> FirmwareRun:
    from .simulate import simulate

    return FirmwareRun([r.line(spec) for r in simulate(spec, audio)])


def run_host(spec: FirmwareSpec, audio: np.ndarray, chunk: int = 512, sanitize: bool = False) -> FirmwareRun:
    exe = build_host_firmware(spec, sanitize=sanitize)
    proc = subprocess.run(
        [str(exe), str(chunk)], input=np.asarray(audio, "<i2").tobytes(), capture_output=True, timeout=600
    )
    if proc.returncode != 0:
        raise ToolchainError(f"the host firmware failed (exit {proc.returncode}): {proc.stderr.decode()[:500]}")
    return FirmwareRun(proc.stdout.decode().splitlines())


def run_qemu(
    spec: FirmwareSpec, audio: np.ndarray, count: bool = False, dsp: bool = True, profile: bool = False
) -> FirmwareRun:
    """profile: also count each instruction address (pc_counts), for the cycle estimate."""
    from ..hosttools.qemu import run_m4

    elf = build_qemu_firmware(spec, dsp=dsp)
    with tempfile.TemporaryDirectory(prefix="kwsgen-fw-") as tmp:
        work = Path(tmp)
        (work / "audio.raw").write_bytes(np.asarray(audio, "<i2").tobytes())
        result = run_m4(elf, ["audio.raw", "lines.txt", "flags.bin"], work, count=count, profile=profile)
        if result.returncode != 0:
            raise ToolchainError(f"the Cortex-M4 firmware failed (exit {result.returncode}): {result.output[:500]}")
        lines = (work / "lines.txt").read_text().splitlines()
        flags = list((work / "flags.bin").read_bytes())
    run = FirmwareRun(lines, pc_counts=result.pc_counts, elf=elf)
    if count:
        marks = result.marks
        run.hop_instructions = [b - a for a, b in itertools.pairwise(marks)]
        run.hop_inferences = flags
    return run


def run_engine(engine: str, spec: FirmwareSpec, audio: np.ndarray, **kwargs) -> FirmwareRun:
    if engine == "python":
        return run_python(spec, audio)
    if engine == "host":
        return run_host(spec, audio, **kwargs)
    if engine == "qemu":
        return run_qemu(spec, audio, **kwargs)
    raise KwsgenError(f"unknown engine {engine!r}; the engines are: {', '.join(ENGINES)}")
