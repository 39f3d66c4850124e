"""Run generated C on the host or the emulated Cortex-M4, and compare it with TensorFlow Lite Micro.

TFLite Micro (the PyPI ``tflite-micro`` runtime, which runs TFLM's reference
kernels) is the oracle: kwsgen's C must give the same int8 values for every
operator's output, not just the final one.
"""

from __future__ import annotations

import struct
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from ..codegen.emit import GeneratedModel
from ..codegen.model import Graph
from ..errors import KwsgenError, ToolchainError


@dataclass
class CRun:
    """What one run of the compiled model gave."""

    outputs: np.ndarray  # [n, output_size] int8 (empty when traced)
    traces: list[dict[int, np.ndarray]] = field(default_factory=list)  # per input: op index -> output bytes
    marks: list[int] = field(default_factory=list)  # instruction counts at each marker (QEMU with count=True)
    invokes: int = 0
    elapsed_ns: int = 0
    cycles_per_instruction: float | None = None  # QEMU with profile=True: the executed mix's estimate


def _parse_trace(data: bytes, n_ops: int) -> list[dict[int, np.ndarray]]:
    runs: list[dict[int, np.ndarray]] = []
    pos = 0
    while pos < len(data):
        op, size = struct.unpack_from("<ii", data, pos)
        pos += 8
        if op == 0 or not runs:
            runs.append({})
        runs[-1][op] = np.frombuffer(data[pos : pos + size], dtype=np.int8).copy()
        pos += size
        if op >= n_ops:
            raise ToolchainError(f"model trace names operator {op} of {n_ops}")
    return runs


def run_generated(
    gen: GeneratedModel,
    inputs: np.ndarray,
    engine: str = "host",
    *,
    trace: bool = False,
    sanitize: bool = False,
    dsp: bool = True,
    count: bool = False,
    repeat: int = 1,
    profile: bool = False,
    asm: bool = True,
) -> CRun:
    """Run `inputs` ([n, input_size] int8) through the compiled model.

    engine "host" builds with the host compiler (optionally under ASan and
    UBSan); "qemu" builds for the Cortex-M4 (DSP or portable path) and runs
    under QEMU, where count=True gives the instruction counts around every
    invoke (and after every operator when tracing), and profile=True the estimated Cortex-M4 cycles per
    instruction of what ran (kwsgen/hosttools/cycles.py); asm=False builds the DSP path without its
    assembly loops (their C twins).
    """
    from ..hosttools.build import build_host_model_tool, build_m4_model

    inputs = np.ascontiguousarray(inputs, dtype=np.int8).reshape(len(inputs), gen.input_size)
    with tempfile.TemporaryDirectory(prefix="kwsgen-nn-") as tmp:
        work = Path(tmp)
        (work / "in.bin").write_bytes(inputs.tobytes())
        args = ["--in", "in.bin", "--out", "out.bin", "--time", "time.txt", "--repeat", str(repeat)]
        if trace:
            args.append("--trace")
        marks: list[int] = []
        cpi = None
        if engine == "host":
            import subprocess

            exe = build_host_model_tool(gen.header, gen.source, gen.prefix, sanitize=sanitize, trace=trace)
            proc = subprocess.run([str(exe), *args], cwd=work, capture_output=True, text=True, timeout=600)
            if proc.returncode != 0:
                raise ToolchainError(
                    f"the compiled model failed (exit {proc.returncode}): {(proc.stderr or proc.stdout).strip()[:2000]}"
                )
        elif engine == "qemu":
            from ..hosttools.qemu import run_m4

            elf = build_m4_model(gen.header, gen.source, gen.prefix, dsp=dsp, trace=trace, asm=asm)
            if count:
                args.append("--mark")
            result = run_m4(elf, args, work, count=count, profile=profile)
            if result.returncode != 0:
                raise ToolchainError(
                    f"the compiled model failed under QEMU (exit {result.returncode}): {result.output.strip()[:2000]}"
                )
            marks = result.marks
            if profile:
                from ..hosttools.cycles import estimate_cycles

                cpi = estimate_cycles(elf, result.pc_counts).cycles_per_instruction
        else:
            raise KwsgenError(f"unknown engine {engine!r}; use host or qemu")
        data = (work / "out.bin").read_bytes()
        invokes, elapsed = (int(v) for v in (work / "time.txt").read_text().split())
    n_ops = len(gen.layers)
    if trace:
        return CRun(np.zeros((0, gen.output_size), np.int8), _parse_trace(data, n_ops), marks, invokes, elapsed, cpi)
    outputs = np.frombuffer(data, np.int8).reshape(-1, gen.output_size).copy()
    return CRun(outputs, [], marks, invokes, elapsed, cpi)


def tflm_interpreter(model: bytes, preserve: bool = True):
    from tflite_micro.python.tflite_micro import runtime

    config = (
        runtime.InterpreterConfig.kPreserveAllTensors if preserve else runtime.InterpreterConfig.kAllocationRecording
    )
    return runtime.Interpreter.from_bytes(model, intrepreter_config=config)


def tflm_run(model: bytes, graph: Graph, inputs: np.ndarray) -> list[dict[int, np.ndarray]]:
    """TFLite Micro's output of every operator, per input: op index -> flat int8 values."""
    interp = tflm_interpreter(model)
    shape = graph.tensor(graph.inputs[0]).shape
    runs = []
    for x in np.asarray(inputs, np.int8):
        interp.set_input(x.reshape(shape), 0)
        interp.invoke()
        runs.append(
            {
                op.index: np.asarray(interp.GetTensor(op.outputs[0], 0)["tensor_data"]).astype(np.int8).ravel()
                for op in graph.operators
            }
        )
    return runs


@dataclass
class Mismatch:
    input_index: int
    op_index: int
    op: str
    differing: int
    max_abs_diff: int

    def __str__(self) -> str:
        return (
            f"input {self.input_index}, operator {self.op_index} ({self.op}): {self.differing} values differ, "
            f"by up to {self.max_abs_diff}"
        )


def compare_traces(
    graph: Graph, expected: list[dict[int, np.ndarray]], got: list[dict[int, np.ndarray]]
) -> list[Mismatch]:
    if len(expected) != len(got):
        raise ToolchainError(f"compared {len(got)} traced runs with {len(expected)} expected")
    bad = []
    for i, (e_run, g_run) in enumerate(zip(expected, got, strict=True)):
        for op in graph.operators:
            e, g = e_run[op.index], g_run.get(op.index)
            if g is None or g.shape != e.shape:
                bad.append(Mismatch(i, op.index, op.op, e.size, 256))
                continue
            diff = np.abs(e.astype(np.int32) - g.astype(np.int32))
            if diff.any():
                bad.append(Mismatch(i, op.index, op.op, int((diff > 0).sum()), int(diff.max())))
    return bad


def probe_inputs(size: int, n_random: int = 3, seed: int = 0) -> np.ndarray:
    """The extremes (all -128, all 127, alternating, all zero) and `n_random` uniform random inputs.

    The extremes saturate every accumulator path a real input can reach;
    random inputs exercise every weight.
    """
    rng = np.random.default_rng(seed)
    extremes = [np.full(size, -128), np.full(size, 127), np.resize([-128, 127], size), np.zeros(size)]
    return np.concatenate([np.stack(extremes), rng.integers(-128, 128, (n_random, size))]).astype(np.int8)


@dataclass
class CheckResult:
    engine: str
    inputs: int
    tensors: int
    mismatches: list[Mismatch]


def check_against_tflm(
    model: bytes,
    graph: Graph,
    gen: GeneratedModel,
    engines: list[str],
    inputs: np.ndarray,
    *,
    sanitize: bool = False,
    dsp: bool = True,
    asm: bool = True,
) -> list[CheckResult]:
    """Run `inputs` through TFLite Micro and through the generated C on each engine; compare every tensor.

    sanitize applies to the host build; dsp (the Cortex-M4 DSP path or the portable one) and asm (the
    DSP path's assembly loops or their C twins) to QEMU.
    """
    expected = tflm_run(model, graph, inputs)
    results = []
    for engine in engines:
        kwargs = {"sanitize": sanitize} if engine == "host" else {"dsp": dsp, "asm": asm}
        got = run_generated(gen, inputs, engine, trace=True, **kwargs)
        mismatches = compare_traces(graph, expected, got.traces)
        results.append(CheckResult(engine, len(inputs), len(inputs) * len(graph.operators), mismatches))
    return results
