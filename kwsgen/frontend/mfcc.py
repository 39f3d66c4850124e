"""Fixed-point MFCC, vectorised over frames. This module is the specification.

Every step is integer arithmetic on numpy arrays; docs/frontend.md states the
same steps in words and the C runtime implements them for one frame at a
time. The only float maths in the front end lives in tables.py.
"""

from __future__ import annotations

import numpy as np

from .config import FrontendConfig
from .fft import real_fft
from .tables import LOG2_TABLE_BITS, LOG_Q, MAX_INPUT_SHIFT, MAX_WINDOW_SHIFT, FrontendTables, build_tables

# Frames per vectorised block: big enough to amortise numpy's per-call cost,
# small enough that the working arrays stay in cache.
_BLOCK_FRAMES = 1024


def as_int16_audio(audio: np.ndarray) -> np.ndarray:
    a = np.asarray(audio)
    if a.ndim != 1:
        raise ValueError(f"audio must be 1-D mono samples, got shape {a.shape}")
    if a.dtype != np.int16:
        raise ValueError(f"audio must be int16, got {a.dtype}")
    return a


def frame_signal(audio: np.ndarray, config: FrontendConfig) -> np.ndarray:
    """[n_frames, window_size] int16 view: frame f starts at sample f * hop."""
    audio = as_int16_audio(audio)
    n = config.n_frames(len(audio))
    if n == 0:
        return np.zeros((0, config.window_size), dtype=np.int16)
    windows = np.lib.stride_tricks.sliding_window_view(audio, config.window_size)
    return windows[: (n - 1) * config.hop_size + 1 : config.hop_size]


def frame_peaks(frames: np.ndarray) -> np.ndarray:
    """max |x| of each frame as int32 (|-32768| is 32768)."""
    if frames.shape[0] == 0:
        return np.zeros(0, dtype=np.int32)
    f = frames.astype(np.int32)
    return np.maximum(f.max(axis=1), -f.min(axis=1))


def _bit_length(values: np.ndarray) -> np.ndarray:
    """Bits needed for non-negative integers (0 for 0), exactly, as int64."""
    p = np.asarray(values, dtype=np.int64).copy()
    bitlen = np.zeros(p.shape, dtype=np.int64)
    for bits in (32, 16, 8, 4, 2, 1):
        big = p >= (1 << bits)
        bitlen += np.where(big, bits, 0)
        p = np.where(big, p >> bits, p)
    return bitlen + p  # p is 0 or 1 here


def input_shifts(peaks: np.ndarray) -> np.ndarray:
    """s1: largest s in 0..15 with peak * 2^s <= 32767 (15 for silence)."""
    return np.clip(15 - _bit_length(peaks), 0, MAX_INPUT_SHIFT).astype(np.int32)


def window_shifts(g: np.ndarray) -> np.ndarray:
    """s2 = clamp(29 - b, -1, 28), b the bit length of OR_n (g[n] ^ (g[n] >> 31)).

    g ^ (g >> 31) is |g| for g >= 0 and |g| - 1 below; the OR has the bit length
    of their maximum, which the device gets with one EOR and one ORR a sample.
    """
    if g.shape[0] == 0:
        return np.zeros(0, dtype=np.int32)
    ones = np.bitwise_or.reduce(g ^ (g >> 31), axis=1)
    return np.clip(29 - _bit_length(ones), -1, MAX_WINDOW_SHIFT).astype(np.int32)


def preemphasis_window(frames: np.ndarray, tables: FrontendTables) -> tuple[np.ndarray, np.ndarray]:
    """Scaled, pre-emphasised, windowed frames v (int32 [n, W], |v| <= 16384) and shifts s1 + s2.

    v = 0.5 * (x[n] - a x[n-1]) * w[n] * 2^(s1 + s2), with x[-1] = 0 in every frame.
    """
    alpha = tables.config.preemphasis_q15
    s1 = input_shifts(frame_peaks(frames))
    xs = frames.astype(np.int32) << s1[:, None]
    prev = np.zeros_like(xs)
    prev[:, 1:] = xs[:, :-1]
    e = (xs * 32768 - alpha * prev + (1 << 15)) >> 16
    g = e * tables.window
    s2 = window_shifts(g)
    v = ((g << (s2 + 1)[:, None]) + (1 << 15)) >> 16
    return v, s1 + s2


def log2_q10(energy: np.ndarray, tables: FrontendTables) -> np.ndarray:
    """Fixed-point log2 of uint64 energies (0 counts as 1), in Q10, int64."""
    e = np.maximum(np.asarray(energy, dtype=np.uint64), np.uint64(1))
    # floor(log2 e): float64 gives it up to one off near powers of two; fix it exactly.
    exponent = np.clip(np.floor(np.log2(e.astype(np.float64))).astype(np.int64), 0, 63)
    exponent -= (np.uint64(1) << exponent.astype(np.uint64)) > e
    below_top = exponent < 63
    next_pow = np.uint64(1) << np.where(below_top, exponent + 1, 0).astype(np.uint64)
    exponent += below_top & (next_pow <= e)
    up = np.clip(31 - exponent, 0, None).astype(np.uint64)
    down = np.clip(exponent - 31, 0, None).astype(np.uint64)
    mant = ((e << up) >> down).astype(np.int64)  # in [2^31, 2^32)
    frac = mant - (1 << 31)
    idx = frac >> (31 - LOG2_TABLE_BITS)
    rem = (frac >> (31 - LOG2_TABLE_BITS - 16)) & 0xFFFF
    table = tables.log2_table.astype(np.int64)
    frac16 = table[idx] + (((table[idx + 1] - table[idx]) * rem) >> 16)
    return exponent * (1 << LOG_Q) + ((frac16 + (1 << (15 - LOG_Q))) >> (16 - LOG_Q))


def _log_mel_block(frames: np.ndarray, tables: FrontendTables) -> np.ndarray:
    v, shifts = preemphasis_window(frames, tables)
    xr, xi = real_fft(v, tables)
    power = (xr.astype(np.int64) ** 2 + xi.astype(np.int64) ** 2).astype(np.float64)
    # Exact in float64: every partial sum is an integer below 2^53.
    mel = (power @ tables.mel_matrix().T.astype(np.float64)).astype(np.uint64)
    return log2_q10(mel, tables) - (2 << LOG_Q) * shifts[:, None].astype(np.int64)


def _dct(logmel: np.ndarray, tables: FrontendTables) -> np.ndarray:
    acc = logmel.astype(np.float64) @ tables.dct.T.astype(np.float64)
    return ((acc.astype(np.int64) + (1 << 14)) >> 15).astype(np.int32)


def _blocks(frames: np.ndarray, config: FrontendConfig, width: int, step) -> np.ndarray:
    tables = build_tables(config)
    frames = np.asarray(frames)
    if frames.ndim != 2 or frames.shape[1] != config.window_size:
        raise ValueError(f"frames must be [n, {config.window_size}], got {frames.shape}")
    out = np.empty((frames.shape[0], width), dtype=np.int64)
    for start in range(0, frames.shape[0], _BLOCK_FRAMES):
        block = frames[start : start + _BLOCK_FRAMES]
        out[start : start + len(block)] = step(block, tables)
    return out


def log_mel_frames(frames: np.ndarray, config: FrontendConfig | None = None) -> np.ndarray:
    """Step 7's log2 mel energies (Q10, int64 [n, n_mels]) of int16 frames."""
    config = config or FrontendConfig()
    return _blocks(frames, config, config.n_mels, _log_mel_block)


def mfcc_frames(frames: np.ndarray, config: FrontendConfig | None = None) -> np.ndarray:
    """MFCCs of int16 frames [n, window_size] -> int32 [n, n_coeffs]."""
    config = config or FrontendConfig()
    out = _blocks(frames, config, config.n_coeffs, lambda b, t: _dct(_log_mel_block(b, t), t))
    return out.astype(np.int32)


def mfcc(audio: np.ndarray, config: FrontendConfig | None = None) -> np.ndarray:
    """MFCCs of an int16 signal -> int32 [n_frames, n_coeffs]."""
    config = config or FrontendConfig()
    return mfcc_frames(frame_signal(audio, config), config)


def mfcc_batch(clips: list[np.ndarray], config: FrontendConfig | None = None) -> list[np.ndarray]:
    """MFCCs of many clips at once (one vectorised pass over all their frames)."""
    config = config or FrontendConfig()
    framed = [frame_signal(c, config) for c in clips]
    if not framed:
        return []
    all_frames = np.concatenate(framed) if len(framed) > 1 else framed[0]
    feats = mfcc_frames(all_frames, config)
    bounds = np.cumsum([0] + [len(f) for f in framed])
    return [feats[bounds[i] : bounds[i + 1]] for i in range(len(framed))]
