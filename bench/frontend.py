"""Front-end benchmark: Python throughput, Cortex-M4 instructions, flash and RAM.

Prints one JSON document. Every figure is measured in this run; where a named
reference exists it is measured in the same run too:
  - Python: the same pipeline in float numpy (np.fft.rfft), on the same clips;
  - Cortex-M4: CMSIS-DSP's arm_mfcc_q15, on the same emulated core.

Usage: python bench/frontend.py [--clips N] [--no-reference]
"""

from __future__ import annotations

import os

# One core, as the README's figure promises: fix BLAS threads before numpy loads.
for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ[_var] = "1"

import argparse  # noqa: E402
import json  # noqa: E402
import platform  # noqa: E402
import subprocess  # noqa: E402
import sys  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402
from pathlib import Path  # noqa: E402

import numpy as np  # noqa: E402
import soundfile as sf  # noqa: E402

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from results import save  # noqa: E402  (bench/results.py)

from kwsgen.frontend import EnergyFilterConfig, FrontendConfig, MinMax, build_tables, frame_signal, mfcc_batch  # noqa: E402
from kwsgen.frontend.float_reference import float_log_mel, float_mfcc, log_mel_error_db  # noqa: E402
from kwsgen.frontend.mfcc import log_mel_frames  # noqa: E402
from kwsgen.hosttools.build import (  # noqa: E402
    M4_CFLAGS,
    arm_gcc,
    arm_tool,
    build_host_frontend_tool,
    build_m4_frontend,
    generated_frontend_dir,
)
from kwsgen.hosttools.cycles import estimate_cycles  # noqa: E402
from kwsgen.hosttools.frontend_engine import run_c_frontend  # noqa: E402
from kwsgen.hosttools.qemu import profile_by_function, symbol_sizes  # noqa: E402
from kwsgen.hosttools.stack import worst_stack  # noqa: E402
from kwsgen.resources import runtime_dir  # noqa: E402

SHARED = Path(os.environ.get("KWSGEN_SHARED_DATA", REPO.parent / "shared" / "data"))
CONFIG = FrontendConfig()


def load_clips(n: int) -> tuple[list[np.ndarray], str]:
    files = sorted((SHARED / "speech_commands_v2").glob("*/*.flac"))
    if files:
        step = max(1, len(files) // n)
        clips = [sf.read(f, dtype="int16")[0] for f in files[::step][:n]]
        return clips, f"{len(clips)} one-second Speech Commands v2 clips"
    rng = np.random.default_rng(0)
    clips = [(rng.standard_normal(16000) * 2000).astype(np.int16) for _ in range(n)]
    return clips, f"{n} one-second noise clips (../shared/data not found)"


def float_reference(clips: list[np.ndarray]) -> None:
    """The same steps in float numpy: framing, pre-emphasis, window, rfft, power, mel, log, DCT."""
    t = build_tables(CONFIG)
    mel = t.mel_matrix().T / 32768.0
    dct = t.dct.T / 32768.0
    window = t.window / 32768.0
    frames = np.concatenate([frame_signal(c, CONFIG) for c in clips]).astype(np.float64)
    emph = frames.copy()
    emph[:, 1:] -= CONFIG.preemphasis * frames[:, :-1]
    power = np.abs(np.fft.rfft(emph * window, CONFIG.fft_size)) ** 2
    np.log(power @ mel + 1e-12) @ dct


def accuracy_vs_float(clips: list[np.ndarray], source: str) -> dict:
    """The fixed-point front end against the same steps in float64 (kwsgen/frontend/float_reference.py)."""
    got_mel, exact_mel, mfcc_errors = [], [], []
    for clip in clips:
        exact = float_log_mel(clip, CONFIG)
        got_mel.append(log_mel_frames(frame_signal(clip, CONFIG), CONFIG))
        exact_mel.append(exact)
        err = np.abs(mfcc_batch([clip], CONFIG)[0][:, 1:] - float_mfcc(clip, CONFIG)[:, 1:]) / 1024
        mfcc_errors.append(float(np.median(err)))
    got, exact = np.concatenate(got_mel), np.concatenate(exact_mel)
    p99 = {}
    for lo, hi in ((0, 30), (30, 40)):
        err = log_mel_error_db(got, exact, (lo, hi))
        p99[f"{lo}_{hi}_db_below_the_strongest_band"] = round(float(np.percentile(err, 99)), 3)
    return {
        "clips": source,
        "log_mel_error_db_99th_percentile": p99,
        "mfcc_median_error_log2": round(float(np.median(mfcc_errors)), 4),
        "note": "MFCC error: median over clips of each clip's median |error| of coefficients 1.., in log2 units",
    }


def timed(fn, repeats: int = 3) -> float:
    best = float("inf")
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - start)
    return best


def python_throughput(clips: list[np.ndarray], source: str) -> dict:
    seconds = sum(len(c) for c in clips) / 16000
    ours = timed(lambda: mfcc_batch(clips, CONFIG))
    ref = timed(lambda: float_reference(clips))
    return {
        "clips": source,
        "audio_seconds": seconds,
        "kwsgen_fixed_point_s": round(ours, 4),
        "kwsgen_x_realtime": round(seconds / ours, 1),
        "reference": "float64 numpy MFCC (np.fft.rfft), same clips and steps",
        "reference_s": round(ref, 4),
        "reference_x_realtime": round(seconds / ref, 1),
    }


def c_host_throughput(clips: list[np.ndarray]) -> dict:
    audio = np.concatenate(clips)
    tool = build_host_frontend_tool(CONFIG)
    with tempfile.TemporaryDirectory() as tmp:
        audio.astype("<i2").tofile(Path(tmp) / "in.raw")
        cmd = [str(tool), "--in", "in.raw", "--out", "out.bin", "--chunks", "320"]
        best = timed(lambda: subprocess.run(cmd, cwd=tmp, check=True))
    return {
        "audio_seconds": len(audio) / 16000,
        "seconds": round(best, 4),
        "x_realtime": round(len(audio) / 16000 / best, 1),
    }


def m4_hop_counts(audio: np.ndarray, dsp: bool) -> tuple[dict, object]:
    hops = (len(audio) - 160) // 320
    audio = audio[: 160 + 320 * hops]
    minmax = MinMax(np.full(CONFIG.n_coeffs, -150_000), np.full(CONFIG.n_coeffs, 150_000))
    run = run_c_frontend(
        audio,
        CONFIG,
        EnergyFilterConfig(),
        minmax,
        engine="qemu",
        dsp=dsp,
        count=True,
        profile=dsp,
        first=160,
        chunks=[320],
    )
    marks = np.array(run.marks)
    overhead = marks[1] - marks[0]
    per_call = marks[3::2] - marks[2::2] - overhead
    per_hop = per_call[1:]  # the first call (160 samples) completes no window
    return {
        "hops": len(per_hop),
        "instructions_per_hop_median": int(np.median(per_hop)),
        "instructions_per_hop_max": int(per_hop.max()),
        "instructions_per_hop_min": int(per_hop.min()),
    }, run


def frontend_sizes() -> dict:
    """Flash of the front end's own objects (code and tables) for the Cortex-M4."""
    gen = generated_frontend_dir(CONFIG, EnergyFilterConfig())
    sources = [
        *(
            runtime_dir() / s
            for s in ("kws_fft.c", "kws_mfcc.c", "kws_scale.c", "kws_energy_filter.c", "kws_frontend.c")
        ),
        gen / "kws_fe_tables.c",
    ]
    sizes = {}
    with tempfile.TemporaryDirectory() as tmp:
        for src in sources:
            obj = Path(tmp) / (src.stem + ".o")
            subprocess.run(
                [arm_gcc(), *M4_CFLAGS, f"-I{runtime_dir()}", f"-I{gen}", "-c", str(src), "-o", str(obj)], check=True
            )
            out = subprocess.run([arm_tool("size"), "-B", str(obj)], capture_output=True, text=True, check=True)
            text, data, bss = (int(v) for v in out.stdout.splitlines()[1].split()[:3])
            sizes[src.stem] = {"text": text, "data": data, "bss": bss}
    code = sum(v["text"] for k, v in sizes.items() if k != "kws_fe_tables")
    return {
        "flash_code_bytes": code,
        "flash_tables_bytes": sizes["kws_fe_tables"]["text"],
        "flash_total_bytes": code + sizes["kws_fe_tables"]["text"],
        "static_ram_in_objects_bytes": sum(v["data"] + v["bss"] for v in sizes.values()),
    }


def m4_section(audio: np.ndarray, reference: bool) -> dict:
    dsp, run = m4_hop_counts(audio, dsp=True)
    portable, _ = m4_hop_counts(audio, dsp=False)
    elf = build_m4_frontend(CONFIG, EnergyFilterConfig(), dsp=True)
    state = symbol_sizes(elf)["fe"][1]
    stack = worst_stack(elf.parent, "kws_frontend_process")
    n_hops = dsp["hops"]
    breakdown = {k: round(v / n_hops) for k, v in list(profile_by_function(elf, run.pc_counts).items())[:8]}
    # The hop's own Cortex-M4 cycle cost (bench/realtime.py): its mix is not the model kernels'.
    dsp["estimated_cycles_per_instruction"] = round(estimate_cycles(elf, run.pc_counts).cycles_per_instruction, 3)
    result = {
        "core": "QEMU mps2-an386 (Cortex-M4F), arm-none-eabi-gcc -O2, executed instructions",
        "dsp_path": dsp,
        "portable_path": portable,
        "per_hop_breakdown_dsp": breakdown,
        "target_instructions_per_hop": 40000,
        **frontend_sizes(),
        "ram_state_bytes": state,
        "ram_stack_bytes": stack.bytes,
        "ram_total_bytes": state + stack.bytes,
        "target_ram_bytes": 8192,
        "stack_note": f"worst path {' > '.join(stack.path)}; excludes {', '.join(sorted(stack.unknown)) or 'nothing'}",
    }
    if reference:
        # A reference that cannot be built or computes wrong MFCCs fails the benchmark (--no-reference
        # skips it): a broken reference would still be timed and compared otherwise.
        from cmsis_reference import measure

        result["reference_cmsis_dsp_arm_mfcc_q15"] = [measure(40, True), measure(23, True), measure(23, False)]
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clips", type=int, default=1000, help="clips for the throughput figures")
    parser.add_argument("--no-reference", action="store_true", help="skip the CMSIS-DSP reference")
    args = parser.parse_args()
    if hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, {min(os.sched_getaffinity(0))})
    clips, source = load_clips(args.clips)
    sys.path.insert(0, str(Path(__file__).parent))
    report = {
        "benchmark": "frontend",
        "machine": {
            "python": platform.python_version(),
            "numpy": np.__version__,
            "cpu": platform.processor() or platform.machine(),
            "cores_used": 1,
        },
        "config": CONFIG.to_dict(),
        "python_reference": python_throughput(clips, source),
        "accuracy_vs_float": accuracy_vs_float(clips[:200], f"the first 200 of the {source}"),
        "c_host": c_host_throughput(clips),
        "cortex_m4": m4_section(np.concatenate(clips[:40]), reference=not args.no_reference),
    }
    if args.clips == 1000 and not args.no_reference:
        save("frontend", report)  # the README quotes the full run
    else:
        json.dump(report, sys.stdout, indent=2)
        print()


if __name__ == "__main__":
    main()
