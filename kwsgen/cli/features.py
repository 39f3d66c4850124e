"""kwsgen features: the front end on one audio file, in Python, in C, or on the emulated Cortex-M4."""

from __future__ import annotations

from enum import StrEnum
from pathlib import Path

import numpy as np
import typer

from ..audio import read_audio
from ..errors import KwsgenError
from ..frontend import MinMax, stream_hops
from ..fsutil import atomic_open
from ..project.settings import load_frontend_settings
from .main import app, console


class Engine(StrEnum):
    python = "python"
    c = "c"
    qemu = "qemu"


def compute_hops(engine: Engine, audio: np.ndarray, settings, minmax: MinMax | None) -> np.ndarray:
    if engine is Engine.python:
        return stream_hops(audio, settings.frontend, settings.energy_filter, minmax)
    from ..hosttools.frontend_engine import run_c_frontend

    return run_c_frontend(
        audio,
        settings.frontend,
        settings.energy_filter,
        minmax,
        engine="host" if engine is Engine.c else "qemu",
    ).hops


@app.command()
def features(
    audio: Path = typer.Argument(..., help="A 16 kHz mono 16-bit WAV or FLAC file."),
    out: Path | None = typer.Option(None, "--out", "-o", help="Write the features here as .npy."),
    engine: Engine = typer.Option(
        Engine.python,
        help="python: the reference; c: the C runtime built for this "
        "computer; qemu: the C runtime on an emulated Cortex-M4.",
    ),
    scaled: bool = typer.Option(False, "--scaled", help="Write int8 Min/Max-scaled features instead of int32 MFCCs."),
    minmax: Path | None = typer.Option(None, "--minmax", help="Min/Max bounds (JSON) for --scaled."),
    config: Path | None = typer.Option(
        None,
        "--config",
        help="A kwsgen.toml whose [frontend] and [energy_filter] settings to use (default: the built-in defaults).",
    ),
    check: bool = typer.Option(
        False, "--check", help="Also run the other engines and fail unless all agree bit for bit."
    ),
    resample: bool = typer.Option(
        False,
        "--resample",
        help="Convert other sample rates and sample formats to 16 kHz 16-bit (the file itself is not changed).",
    ),
    mono: bool = typer.Option(False, "--mono", help="Mix several channels down to one."),
) -> None:
    """Compute front-end features of AUDIO: one row per 320-sample hop.

    Writes int32 MFCCs [windows x coefficients], or with --scaled --minmax the
    int8 features the model sees. The engines give identical files for any
    input; --check proves it on this one.
    """
    if scaled and minmax is None:
        raise KwsgenError("--scaled needs --minmax FILE (per-coefficient bounds from training)")
    settings = load_frontend_settings(config)
    bounds = MinMax.load(minmax) if minmax is not None else None
    if bounds is not None and bounds.n_coeffs != settings.frontend.n_coeffs:
        raise KwsgenError(
            f"has {bounds.n_coeffs} coefficients but the front end makes {settings.frontend.n_coeffs}", minmax
        )
    samples = read_audio(audio, resample=resample, mono=mono)
    hops = compute_hops(engine, samples, settings, bounds)
    result = hops["features"] if scaled else hops["mfcc"]
    what = "int8 features" if scaled else "int32 MFCCs"
    console.print(
        f"{audio}: {len(samples)} samples ({len(samples) / 16000:.2f} s) -> {result.shape[0]} windows x "
        f"{settings.frontend.n_coeffs} {what} ({engine.value})"
    )
    if check:
        for other in Engine:
            if other is engine:
                continue
            theirs = compute_hops(other, samples, settings, bounds)
            if not np.array_equal(theirs, hops):
                diff = int(np.sum(theirs["mfcc"] != hops["mfcc"])) if len(theirs) == len(hops) else -1
                raise KwsgenError(f"{other.value} differs from {engine.value} ({diff} values)", audio)
            console.print(
                f"  {other.value:6s} identical to {engine.value}: every MFCC, feature, peak and filter decision"
            )
    if out is not None:
        with atomic_open(out, "wb") as handle:
            np.save(handle, np.ascontiguousarray(result))
        console.print(f"wrote {out}")
