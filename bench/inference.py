"""Compiled-inference benchmark: instructions on the Cortex-M4, flash, RAM, and TFLite Micro beside it.

Prints one JSON document. For each model template, the shipped pretrained
base model (or random weights where none is shipped) is converted to int8,
compiled to C by kwsgen, and measured in this run:
  - executed instructions per inference on the emulated Cortex-M4 (QEMU
    mps2-an386), DSP and portable paths, and per multiply-accumulate;
  - flash (code + weights) and RAM (activations + stack) from arm-none-eabi-gcc;
  - bit-exactness against TensorFlow Lite Micro on every tensor;
  - the named reference, the PyPI tflite-micro runtime on the same model:
    its arena size, and its host inference time against the generated C's.

Usage: python bench/inference.py [--templates kws10k,kws25k,kws50k] [--repeat 300]
"""

from __future__ import annotations

import os

for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ[_var] = "1"

import argparse  # noqa: E402
import json  # noqa: E402
import platform  # noqa: E402
import re  # noqa: E402
import sys  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402
from pathlib import Path  # noqa: E402

import numpy as np  # noqa: E402

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from results import save  # noqa: E402  (bench/results.py)

from kwsgen.audio import read_audio  # noqa: E402
from kwsgen.check.footprint import measure_footprint  # noqa: E402
from kwsgen.check.verify import compare_traces, run_generated, tflm_interpreter, tflm_run  # noqa: E402
from kwsgen.codegen.emit import generate_c  # noqa: E402
from kwsgen.codegen.model import read_tflite  # noqa: E402
from kwsgen.frontend import mfcc_batch  # noqa: E402
from kwsgen.hosttools.build import arm_gcc, compiler_version  # noqa: E402
from kwsgen.project import example_project_dir  # noqa: E402
from kwsgen.train.basemodel import base_keras_model, load_base, shipped_base_dir  # noqa: E402
from kwsgen.train.quantize import to_int8_tflite  # noqa: E402
from kwsgen.train.templates import TEMPLATES, build_base, get_template  # noqa: E402


def calibration_features(minmax, config, n: int = 200) -> np.ndarray:
    """int8 features of one-second windows of the example project's recordings."""
    clips = []
    for wav in sorted((example_project_dir() / "recordings").glob("*/*.flac")):
        audio = read_audio(wav)
        clips += [audio[s : s + 16000] for s in range(0, len(audio) - 16000, 8000)]
    feats = mfcc_batch(clips[:n], config)
    return np.stack([minmax.scale(f[: config.cascade_len]) for f in feats])


def model_for(template: str) -> tuple[bytes, str]:
    folder = shipped_base_dir() / template
    if (folder / "base.json").exists():
        base = load_base(folder)
        model = base_keras_model(base)
        card = json.loads((folder / "card.json").read_text())
        what = f"shipped base model, {card.get('held_out_accuracy_int8', float('nan')):.3f} int8 on held-out speakers"
        x = calibration_features(base.minmax, base.frontend)
    else:
        from kwsgen.frontend import FrontendConfig

        config = FrontendConfig()
        model = build_base(get_template(template), (config.cascade_len, config.n_coeffs), 12)
        what = "random weights (no shipped base model)"
        x = np.random.default_rng(0).integers(-128, 128, (200, config.cascade_len, config.n_coeffs)).astype(np.int8)
    return to_int8_tflite(model, x, samples=200), what


def tflm_arena_bytes(model: bytes) -> int:
    """TFLite Micro's own report of its arena, captured from its C++ log (standard error)."""
    interp = tflm_interpreter(model, preserve=False)
    shape = interp.get_input_details(0)["shape"]
    interp.set_input(np.zeros(shape, np.int8), 0)
    interp.invoke()
    with tempfile.TemporaryFile(mode="w+b") as capture:
        sys.stderr.flush()
        saved = os.dup(2)
        os.dup2(capture.fileno(), 2)
        try:
            interp.print_allocations()
        finally:
            sys.stderr.flush()
            os.dup2(saved, 2)
            os.close(saved)
        capture.seek(0)
        text = capture.read().decode(errors="replace")
    match = re.search(r"Arena allocation total (\d+) bytes", text)
    return int(match.group(1)) if match else -1


def tflm_invoke_seconds(model: bytes, x: np.ndarray, repeat: int) -> float:
    interp = tflm_interpreter(model, preserve=False)
    shape = interp.get_input_details(0)["shape"]
    interp.set_input(x.reshape(shape), 0)
    interp.invoke()
    best = float("inf")
    for _ in range(3):
        t0 = time.perf_counter()
        for _ in range(repeat):
            interp.invoke()
        best = min(best, (time.perf_counter() - t0) / repeat)
    return best


def layer_counts(gen, x: np.ndarray, dsp: bool) -> list[dict]:
    """Instructions of each operator of one inference (QEMU, a mark after every operator)."""
    marks = run_generated(gen, x, "qemu", dsp=dsp, trace=True, count=True).marks
    return [
        {"op": layer.op, "macs": layer.macs, "instructions": b - a}
        for layer, a, b in zip(gen.layers, marks, marks[1:], strict=False)
    ]


def bench_template(template: str, repeat: int) -> dict:
    model, what = model_for(template)
    graph = read_tflite(model, template)
    gen = generate_c(graph)
    rng = np.random.default_rng(1)
    x = rng.integers(-128, 128, (4, gen.input_size)).astype(np.int8)
    mismatches = compare_traces(graph, tflm_run(model, graph, x), run_generated(gen, x, "host", trace=True).traces)
    m4 = {}
    for dsp in (True, False):
        run = run_generated(gen, x[:1], "qemu", dsp=dsp, count=True, profile=True)
        insns = run.marks[1] - run.marks[0]
        fp = measure_footprint(gen, dsp=dsp)
        m4["dsp" if dsp else "portable"] = {
            "instructions_by_layer": layer_counts(gen, x[:1], dsp),
            "instructions_per_inference": insns,
            "instructions_per_mac": round(insns / gen.macs, 3),
            # Estimated from the executed instruction mix with the Cortex-M4 manual's cycle costs
            # (kwsgen/hosttools/cycles.py); published silicon figures for a 2.66 M-MAC DS-CNN:
            # 4.5 (TFLM + CMSIS-NN), 2.15 (Plumerai), 1.95 (X-CUBE-AI).
            "estimated_cycles_per_instruction": round(run.cycles_per_instruction or 0, 3),
            "estimated_cycles_per_mac": round(insns * (run.cycles_per_instruction or 0) / gen.macs, 3),
            **fp.to_dict(),
        }
    host = run_generated(gen, x[:1], "host", repeat=repeat)
    c_seconds = host.elapsed_ns / host.invokes / 1e9
    tflm_seconds = tflm_invoke_seconds(model, x[0], repeat)
    return {
        "weights": what,
        "operators": len(gen.layers),
        "macs": gen.macs,
        "int8_tflite_bytes": len(model),
        "bit_exact_vs_tflite_micro": not mismatches,
        "tensors_compared": len(x) * len(graph.operators),
        "cortex_m4": m4,
        "host_invoke_us": {
            "generated_c": round(c_seconds * 1e6, 1),
            "tflite_micro_reference": round(tflm_seconds * 1e6, 1),
            "speedup": round(tflm_seconds / c_seconds, 1),
            "note": "tflite-micro timed through its Python binding (a few microseconds of call overhead)",
        },
        "tflite_micro_reference_arena_bytes": tflm_arena_bytes(model),
        "generated_arena_bytes": gen.arena_size,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--templates",
        default=",".join(TEMPLATES),
        help="comma-separated model templates (default: %(default)s)",
    )
    parser.add_argument("--repeat", type=int, default=300, help="invokes per host timing")
    args = parser.parse_args()
    results = {
        "machine": f"{platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}",
        "arm_compiler": compiler_version(arm_gcc()),
        "cortex_m4": "QEMU mps2-an386, exact executed-instruction counts (kwsgen's TCG plugin)",
        "templates": {},
    }
    for name in args.templates.split(","):
        get_template(name)
        results["templates"][name] = bench_template(name, args.repeat)
        print(f"{name} done", file=sys.stderr)
    if args.templates == ",".join(TEMPLATES):
        save("inference", results)  # the README quotes the full run
    else:
        print(json.dumps(results, indent=1))


if __name__ == "__main__":
    main()
