"""Named test signals for the bit-exact comparisons: noise at many levels,
clipped sines and squares, silence, DC, impulses and chirps."""

from __future__ import annotations

import numpy as np

RATE = 16000


def _clip(x: np.ndarray) -> np.ndarray:
    return np.clip(np.round(x), -32768, 32767).astype(np.int16)


def _decays_at_window_starts(n: int) -> np.ndarray:
    """Decays by exactly the pre-emphasis factor, each starting a window: the
    pre-emphasised window is almost all zeros, so the block gain s2 is 16-28
    (the window step's large-gain branch), with a few small bumps near the edge."""
    x = np.zeros(n, dtype=np.int64)
    for k, (peak, bump) in enumerate([(32767, 0), (32767, 2), (20000, 5), (16384, 1), (-32768, 3), (9000, 7)]):
        start = 3 * 320 * k
        v, decay = peak, []
        for _ in range(480):
            decay.append(v)
            v = round(v * 31785 / 32768)
        x[start : start + 480] = decay
        x[start + 1] += bump
    return np.clip(x, -32768, 32767).astype(np.int16)


def synthetic_signals(n: int = 16000, seed: int = 7) -> dict[str, np.ndarray]:
    rng = np.random.default_rng(seed)
    t = np.arange(n) / RATE
    sig: dict[str, np.ndarray] = {}
    for level in (1, 3, 30, 300, 3000, 12000):
        sig[f"noise_{level}"] = _clip(rng.standard_normal(n) * level)
    sig["noise_full_scale"] = rng.integers(-32768, 32768, n).astype(np.int16)
    sig["silence"] = np.zeros(n, dtype=np.int16)
    sig["dc_max"] = np.full(n, 32767, dtype=np.int16)
    sig["dc_min"] = np.full(n, -32768, dtype=np.int16)
    sig["dc_one"] = np.ones(n, dtype=np.int16)
    sig["dc_minus_one"] = -np.ones(n, dtype=np.int16)
    for f in (50, 440, 1000, 4000, 7999):
        sig[f"sine_{f}_full"] = _clip(32767 * np.sin(2 * np.pi * f * t))
        sig[f"sine_{f}_clipped"] = _clip(60000 * np.sin(2 * np.pi * f * t + 0.3))
    sig["sine_8000_nyquist"] = _clip(32767 * np.cos(np.pi * np.arange(n)))
    sig["square_100"] = np.where(np.sin(2 * np.pi * 100 * t) >= 0, 32767, -32768).astype(np.int16)
    sig["square_3000"] = np.where(np.sin(2 * np.pi * 3000 * t) >= 0, 32767, -32768).astype(np.int16)
    alternating = np.where(np.arange(n) % 2 == 0, 32767, -32768).astype(np.int16)
    sig["alternating_full"] = alternating
    impulses = np.zeros(n, dtype=np.int16)
    impulses[::997] = 32767
    impulses[500::1499] = -32768
    sig["impulses"] = impulses
    single = np.zeros(n, dtype=np.int16)
    single[7777] = -32768
    sig["single_impulse"] = single
    sweep = 20 * (8000 / 20) ** (t / t[-1])
    phase = 2 * np.pi * np.cumsum(sweep) / RATE
    sig["chirp_log_full"] = _clip(32767 * np.sin(phase))
    sig["chirp_linear_quiet"] = _clip(40 * np.sin(2 * np.pi * (20 * t + 7990 * t**2 / (2 * t[-1]))))
    bursts = _clip(rng.standard_normal(n) * 20)
    for start in (2000, 9000):
        bursts[start : start + 1500] = _clip(rng.standard_normal(1500) * 8000)
    sig["bursts"] = bursts
    sig["decays_at_window_starts"] = _decays_at_window_starts(n)
    sig["short_479"] = _clip(rng.standard_normal(479) * 1000)
    sig["short_480"] = _clip(rng.standard_normal(480) * 1000)
    sig["short_801"] = _clip(rng.standard_normal(801) * 1000)
    sig["empty"] = np.zeros(0, dtype=np.int16)
    return sig
