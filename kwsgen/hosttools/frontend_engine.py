"""Run the C front end on audio, on the host or on the emulated Cortex-M4.

Both return the same structured hop records as
:func:`kwsgen.frontend.stream_hops`, so any difference from Python is one
``np.array_equal`` away.
"""

from __future__ import annotations

import subprocess
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from ..errors import ToolchainError
from ..frontend.config import EnergyFilterConfig, FrontendConfig
from ..frontend.scale import MinMax
from ..frontend.stream import hop_dtype
from .build import build_host_frontend_tool, build_m4_frontend
from .qemu import run_m4


@dataclass
class FrontendRun:
    hops: np.ndarray
    marks: list[int] = field(default_factory=list)
    pc_counts: dict[int, int] = field(default_factory=dict)
    elf: Path | None = None


def _driver_args(
    minmax: MinMax | None,
    filt: EnergyFilterConfig,
    chunks: Sequence[int] | None,
    first: int | None,
    mark: bool,
) -> list[str]:
    args = ["--in", "in.raw", "--out", "out.bin"]
    if minmax is not None:
        args += ["--minmax", "minmax.bin"]
    if chunks:
        if len(chunks) > 64 or min(chunks) < 1 or max(chunks) > 4096:
            raise ValueError("chunks: 1 to 64 sizes, each from 1 to 4096")
        args += ["--chunks", ",".join(str(int(c)) for c in chunks)]
    if first:
        if not 0 < first <= 4096:
            raise ValueError("first: a size from 1 to 4096")
        args += ["--first", str(int(first))]
    args += ["--filter", f"{int(filt.enabled)},{filt.threshold},{filt.delay},{filt.backoff}"]
    if mark:
        args.append("--mark")
    return args


def run_c_frontend(
    audio: np.ndarray,
    config: FrontendConfig | None = None,
    energy_filter: EnergyFilterConfig | None = None,
    minmax: MinMax | None = None,
    engine: str = "host",
    chunks: Sequence[int] | None = None,
    first: int | None = None,
    sanitize: bool = False,
    dsp: bool = True,
    count: bool = False,
    profile: bool = False,
) -> FrontendRun:
    """Stream audio through the C front end; engine is "host" or "qemu"."""
    config = config or FrontendConfig()
    energy_filter = energy_filter or EnergyFilterConfig()
    audio = np.asarray(audio, dtype=np.int16)
    if minmax is not None and minmax.n_coeffs != config.n_coeffs:
        raise ValueError(f"minmax has {minmax.n_coeffs} coefficients, the front end {config.n_coeffs}")
    args = _driver_args(minmax, energy_filter, chunks, first, mark=count)
    with tempfile.TemporaryDirectory(prefix="kwsgen-fe-") as tmp:
        work = Path(tmp)
        audio.astype("<i2").tofile(work / "in.raw")
        if minmax is not None:
            (work / "minmax.bin").write_bytes(minmax.to_bytes())
        run = FrontendRun(hops=np.zeros(0, dtype=hop_dtype(config.n_coeffs)))
        if engine == "host":
            tool = build_host_frontend_tool(config, energy_filter, sanitize=sanitize)
            proc = subprocess.run([str(tool), *args], cwd=work, capture_output=True, text=True)
            if proc.returncode != 0:
                raise ToolchainError(f"the host front end failed (exit {proc.returncode}): {proc.stderr.strip()}")
        elif engine == "qemu":
            run.elf = build_m4_frontend(config, energy_filter, dsp=dsp)
            result = run_m4(run.elf, args, work, count=count, profile=profile)
            if result.returncode != 0:
                raise ToolchainError(
                    f"the Cortex-M4 front end failed under QEMU (exit {result.returncode}): "
                    f"{result.output.strip()[-300:]}"
                )
            run.marks, run.pc_counts = result.marks, result.pc_counts
        else:
            raise ValueError(f"unknown engine {engine!r}: use host or qemu")
        run.hops = np.fromfile(work / "out.bin", dtype=hop_dtype(config.n_coeffs))
    return run
