"""Integer tables of the front end, computed once from a :class:`FrontendConfig`.

These integers are normative: the Python reference and the generated C both
use exactly these values. Float maths appears only here, at table-building
time, and every value is rounded half up and clamped to its stated range.
See docs/frontend.md for the formulas.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass

import numpy as np

from ..errors import ConfigError
from .config import FrontendConfig

Q15_ONE = 32768
LOG2_TABLE_BITS = 6  # 64 segments of linear interpolation for log2(1 + f)
LOG_Q = 10  # log2 energies are in Q10
MAX_INPUT_SHIFT = 15  # s1: gain on the raw samples before pre-emphasis
MAX_WINDOW_SHIFT = 28  # s2: gain on the windowed frame before the FFT


def _round_q15(values: np.ndarray) -> np.ndarray:
    """round(32768 * v), half up, clamped to int16."""
    q = np.floor(np.asarray(values, dtype=np.float64) * Q15_ONE + 0.5)
    return np.clip(q, -32768, 32767).astype(np.int32)


@dataclass(frozen=True)
class FrontendTables:
    config: FrontendConfig
    window: np.ndarray  # int32[W], Q15 in 0..32767
    fft_radices: tuple[int, ...]  # radix of each DIF stage, first to last
    fft_tw_re: np.ndarray  # int32[M], Q15 cos(2 pi k / M)
    fft_tw_im: np.ndarray  # int32[M], Q15 -sin(2 pi k / M)
    fft_pos: np.ndarray  # int32[M]: position in the FFT output of frequency f
    split_tw_re: np.ndarray  # int32[M/2 + 1], Q15 cos(pi k / M)
    split_tw_im: np.ndarray  # int32[M/2 + 1], Q15 -sin(pi k / M)
    mel_start: np.ndarray  # int32[n_mels]: first bin with a weight
    mel_count: np.ndarray  # int32[n_mels]: number of bins from mel_start
    mel_offset: np.ndarray  # int32[n_mels]: index of the first weight in mel_weights
    mel_weights: np.ndarray  # int32[sum(mel_count)], Q15 in 0..32767
    log2_table: np.ndarray  # int32[65], Q16 log2(1 + i/64)
    dct: np.ndarray  # int32[n_coeffs, n_mels], Q15

    @property
    def fft_len(self) -> int:
        """Length M of the complex FFT (half the real FFT size)."""
        return self.config.fft_size // 2

    def mel_matrix(self) -> np.ndarray:
        """Dense int64 [n_mels, n_bins] form of the sparse filterbank."""
        dense = np.zeros((self.config.n_mels, self.config.n_bins), dtype=np.int64)
        for m in range(self.config.n_mels):
            start, count, off = self.mel_start[m], self.mel_count[m], self.mel_offset[m]
            dense[m, start : start + count] = self.mel_weights[off : off + count]
        return dense


def window_function(kind: str, size: int) -> np.ndarray:
    n = np.arange(size, dtype=np.float64)
    hann = 0.5 - 0.5 * np.cos(2.0 * np.pi * n / (size - 1))
    if kind == "hann":
        return hann
    if kind == "hamming":
        return 0.54 - 0.46 * np.cos(2.0 * np.pi * n / (size - 1))
    if kind == "povey":
        return hann**0.85
    raise ConfigError(f"unknown window {kind!r}")


def fft_radices(m: int) -> tuple[int, ...]:
    """Radix-4 stages, then one radix-2 stage when log2(M) is odd."""
    log2m = m.bit_length() - 1
    return (4,) * (log2m // 2) + (2,) * (log2m % 2)


def fft_output_positions(m: int, radices: tuple[int, ...]) -> np.ndarray:
    """pos[f] = index in the in-place DIF output that holds frequency f.

    A DIF stage of radix r splits its block into r sub-blocks; sub-block k
    then carries the frequencies congruent to k modulo r. Walking the stages
    gives position p = sum k_i * prod(r_j, j > i) and frequency
    f = sum k_i * prod(r_j, j < i) for the same digits k_i.
    """
    pos = np.zeros(m, dtype=np.int64)
    for f in range(m):
        rest, p = f, 0
        for i, r in enumerate(radices):
            digit = rest % r
            rest //= r
            p += digit * int(np.prod(radices[i + 1 :], dtype=np.int64))
        pos[f] = p
    return pos.astype(np.int32)


def hz_to_mel(f: np.ndarray | float) -> np.ndarray:
    return 2595.0 * np.log10(1.0 + np.asarray(f, dtype=np.float64) / 700.0)


def mel_to_hz(m: np.ndarray | float) -> np.ndarray:
    return 700.0 * (10.0 ** (np.asarray(m, dtype=np.float64) / 2595.0) - 1.0)


def mel_filterbank(config: FrontendConfig) -> np.ndarray:
    """Float triangular HTK-mel filters [n_mels, n_bins], triangles in the mel domain."""
    edges = np.linspace(hz_to_mel(config.f_low), hz_to_mel(config.f_high), config.n_mels + 2)
    bin_mel = hz_to_mel(np.arange(config.n_bins) * config.sample_rate / config.fft_size)
    weights = np.zeros((config.n_mels, config.n_bins))
    for m in range(config.n_mels):
        lo, centre, hi = edges[m], edges[m + 1], edges[m + 2]
        rising = (bin_mel - lo) / (centre - lo)
        falling = (hi - bin_mel) / (hi - centre)
        weights[m] = np.clip(np.minimum(rising, falling), 0.0, None)
    return weights


def _sparse_mel(config: FrontendConfig) -> tuple[np.ndarray, ...]:
    q = _round_q15(mel_filterbank(config))
    starts, counts, offsets, flat = [], [], [], []
    for m, row in enumerate(q):
        nonzero = np.flatnonzero(row)
        if nonzero.size == 0:
            raise ConfigError(
                f"mel band {m} of {config.n_mels} covers no FFT bin: use fewer bands, "
                f"a wider f_low..f_high range or a longer window"
            )
        start, stop = int(nonzero[0]), int(nonzero[-1]) + 1
        starts.append(start)
        counts.append(stop - start)
        offsets.append(len(flat))
        flat.extend(int(v) for v in row[start:stop])
    as32 = lambda v: np.asarray(v, dtype=np.int32)  # noqa: E731
    return as32(starts), as32(counts), as32(offsets), as32(flat)


def dct_matrix(n_coeffs: int, n_mels: int) -> np.ndarray:
    """Orthonormal DCT-II rows 0..n_coeffs-1, in Q15."""
    i = np.arange(n_coeffs)[:, None]
    m = np.arange(n_mels)[None, :]
    scale = np.where(i == 0, np.sqrt(1.0 / n_mels), np.sqrt(2.0 / n_mels))
    return _round_q15(scale * np.cos(np.pi * i * (m + 0.5) / n_mels))


def log2_table() -> np.ndarray:
    i = np.arange((1 << LOG2_TABLE_BITS) + 1, dtype=np.float64)
    return np.floor(np.log2(1.0 + i / (1 << LOG2_TABLE_BITS)) * 65536.0 + 0.5).astype(np.int32)


@functools.lru_cache(maxsize=16)
def build_tables(config: FrontendConfig) -> FrontendTables:
    config.validate()
    m = config.fft_size // 2
    k = np.arange(m, dtype=np.float64)
    radices = fft_radices(m)
    half = np.arange(m // 2 + 1, dtype=np.float64)
    mel_start, mel_count, mel_offset, mel_weights = _sparse_mel(config)
    tables = FrontendTables(
        config=config,
        window=_round_q15(window_function(config.window, config.window_size)).clip(0, 32767),
        fft_radices=radices,
        fft_tw_re=_round_q15(np.cos(2.0 * np.pi * k / m)),
        fft_tw_im=_round_q15(-np.sin(2.0 * np.pi * k / m)),
        fft_pos=fft_output_positions(m, radices),
        split_tw_re=_round_q15(np.cos(np.pi * half / m)),
        split_tw_im=_round_q15(-np.sin(np.pi * half / m)),
        mel_start=mel_start,
        mel_count=mel_count,
        mel_offset=mel_offset,
        mel_weights=mel_weights,
        log2_table=log2_table(),
        dct=dct_matrix(config.n_coeffs, config.n_mels),
    )
    for arr in (tables.window, tables.fft_tw_re, tables.mel_weights, tables.dct):
        arr.setflags(write=False)
    return tables
