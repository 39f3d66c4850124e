"""Does a firmware configuration keep up with the microphone on a board?

kwsgen build answers before anything is flashed: the CPU load of the chosen
device mode, and how much audio must wait in a buffer while one inference
runs. Both come from instruction counts measured on the Cortex-M4 build of
the very same core (QEMU mps2-an386 with the instruction-counting plugin:
the front end's count per hop, and the model's per inference), turned into
cycles with a cycles-per-instruction factor per core:

  - Cortex-M4F, 1.3 unless measured: most data-processing and multiply-accumulate
    instructions take one cycle, loads two unless pipelined, taken branches
    two to four (Arm's Cortex-M4 Technical Reference Manual, 3.3); the
    kernels' inner loops are loads and SMLADs with few branches. Flash wait
    states that the nRF52840's cache does not hide would add to it.
  - Xtensa LX7 (ESP32-S3), 1.6: the counts are of Arm instructions, and the
    LX7 has no dual 16-bit MAC in its base instruction set, so the same work
    takes more of its instructions; an estimate until measured on the chip.

On the Cortex-M4 the factor is measured when QEMU and arm-none-eabi-gcc are
there: each executed instruction costed by the Cortex-M4 manual
(kwsgen/hosttools/cycles.py), once for the front end's hop and once for the
model's inference. Their mixes differ (the front end's FFT and MFCC run at
about 1.28 cycles per instruction, kws25k's kernels at about 1.40), and in
filter mode the front end is an eighth of the worst-case load.

The factors are estimates, so a load above HEADROOM is refused: the board
also runs its USB stack, the microphone driver and the RTOS.
"""

from __future__ import annotations

import contextlib
import dataclasses
import hashlib
import json
import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..boards import Board
from ..errors import KwsgenError, ToolchainError
from ..fsutil import atomic_write_text
from .app import FirmwareSpec

CYCLES_PER_INSTRUCTION = {"Cortex-M4F": 1.3, "Xtensa LX7": 1.6}
HEADROOM = 0.85
# Without QEMU or the Arm compiler: the figures measured for kws25k's compiled model (issue 16).
ESTIMATED_PER_HOP = 36_000
ESTIMATED_PER_MAC = 2.5
BUFFER_QUANTUM = 512  # samples: the buffers hold whole driver blocks
# Part of the cache key: a cache written before the hop's own cycles per instruction is measured again.
MEASUREMENT_VERSION = b"2"


@dataclass(frozen=True)
class Counts:
    per_hop: int  # front end, energy filter and pipeline for one hop without inference
    per_inference: int  # what one inference adds
    measured: bool
    # Cortex-M4 cycles per instruction of this very core's inference, from its executed instruction mix
    # (kwsgen/hosttools/cycles.py); None when not measured.
    cycles_per_instruction: float | None = None
    # the same for a hop without inference (front end, energy filter, pipeline); None: as the inference's
    hop_cycles_per_instruction: float | None = None


@dataclass(frozen=True)
class Budget:
    board: Board
    mode: str
    counts: Counts
    cycles_per_instruction: float  # of the inference
    hop_cycles_per_instruction: float  # of a hop without inference
    inferences_per_hop: float  # worst case: in filter mode, speech that never stops
    load: float  # share of the CPU, worst case
    inference_ms: float
    buffer_samples: int  # audio that waits while the core catches up, rounded up to whole blocks

    @property
    def fits(self) -> bool:
        return self.load <= HEADROOM

    def text(self) -> str:
        how = "measured on the Cortex-M4 build under QEMU" if self.counts.measured else "estimated from the MACs"
        from_mix = self.board.core == "Cortex-M4F" and self.counts.cycles_per_instruction
        if self.hop_cycles_per_instruction != self.cycles_per_instruction:
            cycles = (
                f"x {self.hop_cycles_per_instruction} cycles each in the hop, {self.cycles_per_instruction} in the "
                "inference"
            )
        else:
            cycles = f"x {self.cycles_per_instruction} cycles each"
        cpi_how = "estimated from the executed instruction mixes" if from_mix else f"the {self.board.core} factor"
        return (
            f"real time on {self.board.name} ({self.board.clock_mhz} MHz), {self.mode} mode: worst-case CPU load "
            f"{self.load:.0%} ({self.counts.per_hop:,} instructions per hop, {self.counts.per_inference:,} per "
            f"inference, {how}; {cycles}, {cpi_how}); one inference takes "
            f"{self.inference_ms:.0f} ms, so the audio buffer holds {self.buffer_samples:,} samples "
            f"({self.buffer_samples / 16:.0f} ms)"
        )


def inferences_per_hop(spec: FirmwareSpec) -> float:
    """Worst case: continuous mode infers every `every` hops; the energy filter, when speech never stops,
    waits `delay` hops after each trigger and then infers backoff + 1 times."""
    if spec.continuous:
        return 1.0 / spec.rule.every
    f = spec.energy_filter
    if not f.enabled:
        return 1.0
    return (f.backoff + 1) / (f.delay + f.backoff + 1)


def _schedule(spec: FirmwareSpec) -> list[bool]:
    """Which hops infer, over a few periods of the worst case."""
    if spec.continuous:
        period = [i == spec.rule.every - 1 for i in range(spec.rule.every)]
    elif not spec.energy_filter.enabled:
        period = [True]
    else:
        f = spec.energy_filter
        period = [False] * f.delay + [True] * (f.backoff + 1)
    return period * max(3, math.ceil(200 / len(period)))


def budget(spec: FirmwareSpec, board: Board, counts: Counts) -> Budget | None:
    """The load and buffer on `board`; None for boards without a real-time clock (host, QEMU)."""
    cpi = CYCLES_PER_INSTRUCTION.get(board.core)
    if cpi is None or not board.clock_mhz or board.project in ("cmake", "make"):
        return None
    hop_cpi = cpi
    if board.core == "Cortex-M4F" and counts.cycles_per_instruction:
        cpi = hop_cpi = round(counts.cycles_per_instruction, 2)
        if counts.hop_cycles_per_instruction:
            hop_cpi = round(counts.hop_cycles_per_instruction, 2)
    hz = board.clock_mhz * 1e6
    rate = spec.frontend.sample_rate
    hop_s = spec.frontend.hop_size / rate
    hop_cost = counts.per_hop * hop_cpi / hz
    inference_cost = counts.per_inference * cpi / hz
    per_hop = inferences_per_hop(spec)
    load = (hop_cost + per_hop * inference_cost) / hop_s
    # Hop i's samples are all there at (i + 1) hop_s; its work starts when the previous hop's ends.
    finish, lag = 0.0, 0.0
    for i, infers in enumerate(_schedule(spec)):
        ready = (i + 1) * hop_s
        finish = max(finish, ready) + hop_cost + (inference_cost if infers else 0.0)
        lag = max(lag, finish - ready)
    waiting = math.ceil(lag * rate) + spec.frontend.window_size + spec.frontend.hop_size
    buffer = BUFFER_QUANTUM * math.ceil(waiting / BUFFER_QUANTUM)
    mode = "continuous" if spec.continuous else "filter"
    return Budget(board, mode, counts, cpi, hop_cpi, per_hop, load, inference_cost * 1000, buffer)


def refuse_if_too_slow(b: Budget, spec: FirmwareSpec) -> None:
    """A one-line error with the settings that would fit."""
    if b.fits:
        return
    options = []
    if spec.continuous:
        every = next(
            (
                n
                for n in range(spec.rule.every + 1, 1001)
                if budget(
                    dataclasses.replace(spec, rule=dataclasses.replace(spec.rule, every=n)), b.board, b.counts
                ).load  # type: ignore[union-attr]
                <= HEADROOM
            ),
            None,
        )
        if every:
            options.append(f"[device] every = {every} or more")
        filtered = budget(
            dataclasses.replace(spec, device=dataclasses.replace(spec.device, mode="filter")), b.board, b.counts
        )
        if filtered and filtered.fits:
            options.append(f'[device] mode = "filter" ({filtered.load:.0%})')
    else:
        options.append("a longer [energy_filter] delay")
    options.append("a smaller base model ([training] base = kws10k)")
    raise KwsgenError(
        f"{b.mode} mode cannot keep up on {b.board.title}: worst-case CPU load {b.load:.0%} "
        f"(at most {HEADROOM:.0%}; one inference takes {b.inference_ms:.0f} ms every "
        f"{1000 * spec.frontend.hop_size / spec.frontend.sample_rate / b.inferences_per_hop:.0f} ms). "
        f"What would fit: {'; '.join(options)}. Or pass --allow-overload to build it anyway"
    )


def measured_counts(spec: FirmwareSpec, cache_dir: Path | None = None) -> Counts:
    """Instructions per hop and per inference of this core on the Cortex-M4 (QEMU), cached by content.

    Without QEMU or arm-none-eabi-gcc, an estimate from the model's MACs."""
    key = hashlib.sha256(
        MEASUREMENT_VERSION
        + spec.tflite
        + json.dumps(spec.frontend.to_dict(), sort_keys=True).encode()
        + _core_digest(spec)
    ).hexdigest()[:24]
    cached = cache_dir / "realtime" / f"{key}.json" if cache_dir else None
    if cached and cached.is_file():
        data = json.loads(cached.read_text())
        return Counts(
            data["per_hop"],
            data["per_inference"],
            True,
            data.get("cycles_per_instruction"),
            data.get("hop_cycles_per_instruction"),
        )
    try:
        counts = _measure(spec)
    except ToolchainError:
        macs = sum(layer.macs for layer in spec.model.layers)
        return Counts(ESTIMATED_PER_HOP, int(ESTIMATED_PER_MAC * macs), False)
    if cached:
        with contextlib.suppress(OSError):  # a read-only project measures again next time
            atomic_write_text(cached, json.dumps(dataclasses.asdict(counts)) + "\n")
    return counts


def _core_digest(spec: FirmwareSpec) -> bytes:
    return hashlib.sha256("".join(f"{k}\n{v}" for k, v in sorted(spec.core.items())).encode()).digest()


def _measure(spec: FirmwareSpec) -> Counts:
    """Two runs of one Cortex-M4 build: a long one whose hops infer in turn, and its first 48 windows,
    before the cascade first fills, which never infer. The short run's executed mix is the hop's; what
    the long run executed beyond it is nearly all inference (its 27 more hops are 1% of it)."""
    from ..hosttools.cycles import estimate_cycles
    from .engines import run_qemu

    every = 2  # continuous mode, so that hops with and without an inference both occur
    probe = dataclasses.replace(
        spec,
        device=dataclasses.replace(spec.device, mode="continuous"),
        rule=dataclasses.replace(spec.rule, every=every),
    )
    fe = spec.frontend
    audio = (np.random.default_rng(0).standard_normal(fe.cascade_samples + 8000) * 300).astype(np.int16)
    run = run_qemu(probe, audio, count=True, profile=True)
    plain, inferring = run.hops_split()
    before_first = run_qemu(probe, audio[: fe.cascade_samples - fe.hop_size], count=True, profile=True)
    if not plain or not inferring or run.elf is None or any(before_first.hop_inferences):
        raise KwsgenError("could not measure the firmware's instruction counts under QEMU")
    per_hop = int(np.median(plain))
    hop_mix = before_first.pc_counts
    inference_mix = {pc: n - hop_mix.get(pc, 0) for pc, n in run.pc_counts.items() if n > hop_mix.get(pc, 0)}
    return Counts(
        per_hop,
        int(np.median(inferring)) - per_hop,
        True,
        round(estimate_cycles(run.elf, inference_mix).cycles_per_instruction, 3),
        round(estimate_cycles(run.elf, hop_mix).cycles_per_instruction, 3),
    )
