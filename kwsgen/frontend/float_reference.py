"""The front end's steps in float64 with no rounding: what the integer pipeline approximates.

Used to measure the fixed-point front end's accuracy (tests/test_frontend_reference.py
bounds it, bench/frontend.py reports it): same framing, window and mel weights,
the exact FFT and log. Values are in the integer pipeline's units: log2 in Q10.
"""

from __future__ import annotations

import numpy as np

from .config import FrontendConfig
from .mfcc import frame_signal
from .tables import build_tables


def float_log_mel(audio: np.ndarray, config: FrontendConfig) -> np.ndarray:
    """Step 7 in float64 with no rounding (same window and mel weights)."""
    t = build_tables(config)
    frames = frame_signal(audio, config).astype(np.float64)
    prev = np.zeros_like(frames)
    prev[:, 1:] = frames[:, :-1]
    v = 0.5 * (frames - config.preemphasis_q15 / 32768 * prev) * t.window / 32768
    power = np.abs(np.fft.rfft(v, config.fft_size) / config.fft_size) ** 2
    mel = power @ t.mel_matrix().T  # Q15 weights: the integer path keeps that factor too
    return np.log2(np.maximum(mel, 1e-30)) * 1024


def float_mfcc(audio: np.ndarray, config: FrontendConfig) -> np.ndarray:
    return float_log_mel(audio, config) @ (build_tables(config).dct.T / 32768)


def log_mel_error_db(got: np.ndarray, exact: np.ndarray, below_db: tuple[float, float]) -> np.ndarray:
    """|got - exact| in dB for the bands lying below_db[0]..below_db[1] dB under their window's strongest band."""
    depth = (exact.max(axis=1, keepdims=True) - exact) / 1024 * 3.0103
    band = (depth >= below_db[0]) & (depth < below_db[1])
    return (np.abs(got - exact) / 1024 * 3.0103)[band]
