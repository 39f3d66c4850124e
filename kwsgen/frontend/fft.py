"""Fixed-point real FFT, vectorised over frames. This is the specification.

The real input v[0..N-1] is packed as z[m] = v[2m] + i v[2m+1] and put through
an in-place complex DIF FFT of length M = N/2 (radix-4 stages, then one
radix-2 stage when log2 M is odd). Each butterfly divides by its radix by
floor halving, so every stage keeps magnitudes bounded and the result is
FFT(z)/M. A split step then forms the N/2+1 bins of the real FFT, divided
by N in total. All arithmetic is int32; see docs/frontend.md.
"""

from __future__ import annotations

import numpy as np

from .tables import FrontendTables

_ROUND_Q15 = 1 << 14


def _rshift_round(x: np.ndarray, bits: int) -> np.ndarray:
    """Round half up, then shift: (x + 2^(bits-1)) >> bits."""
    return (x + (1 << (bits - 1))) >> bits


def _q15_mul(pr, pi, wr, wi):
    """Complex multiply by a Q15 twiddle, each part rounded half up."""
    return (pr * wr - pi * wi + _ROUND_Q15) >> 15, (pr * wi + pi * wr + _ROUND_Q15) >> 15


def _radix4_stage(re, im, length, tables):
    n, m = re.shape
    q = length // 4
    shape = (n, m // length, 4, q)
    r, i = re.reshape(shape), im.reshape(shape)
    # Two levels of floor halving divide by 4 (the DSP's SHADD16/SHSUB16).
    t0r, t0i = (r[:, :, 0] + r[:, :, 2]) >> 1, (i[:, :, 0] + i[:, :, 2]) >> 1
    t1r, t1i = (r[:, :, 0] - r[:, :, 2]) >> 1, (i[:, :, 0] - i[:, :, 2]) >> 1
    t2r, t2i = (r[:, :, 1] + r[:, :, 3]) >> 1, (i[:, :, 1] + i[:, :, 3]) >> 1
    t3r, t3i = (r[:, :, 1] - r[:, :, 3]) >> 1, (i[:, :, 1] - i[:, :, 3]) >> 1
    out_r = np.empty(shape, dtype=np.int32)
    out_i = np.empty(shape, dtype=np.int32)
    out_r[:, :, 0] = (t0r + t2r) >> 1
    out_i[:, :, 0] = (t0i + t2i) >> 1
    # p1 = (t1 - i t3) / 2, p2 = (t0 - t2) / 2, p3 = (t1 + i t3) / 2, each times W^(k j e).
    parts = (
        ((t1r + t3i) >> 1, (t1i - t3r) >> 1),
        ((t0r - t2r) >> 1, (t0i - t2i) >> 1),
        ((t1r - t3i) >> 1, (t1i + t3r) >> 1),
    )
    step = m // length
    j = np.arange(q)
    for k, (pr, pi) in enumerate(parts, start=1):
        idx = k * j * step
        yr, yi = _q15_mul(pr, pi, tables.fft_tw_re[idx], tables.fft_tw_im[idx])
        # The twiddle of j = 0 is exactly 1: no multiply, no rounding.
        yr[..., 0], yi[..., 0] = pr[..., 0], pi[..., 0]
        out_r[:, :, k], out_i[:, :, k] = yr, yi
    return out_r.reshape(n, m), out_i.reshape(n, m)


def _radix2_last_stage(re, im):
    n, m = re.shape
    shape = (n, m // 2, 2)
    r, i = re.reshape(shape), im.reshape(shape)
    out_r = np.empty(shape, dtype=np.int32)
    out_i = np.empty(shape, dtype=np.int32)
    out_r[:, :, 0] = (r[:, :, 0] + r[:, :, 1]) >> 1
    out_i[:, :, 0] = (i[:, :, 0] + i[:, :, 1]) >> 1
    out_r[:, :, 1] = (r[:, :, 0] - r[:, :, 1]) >> 1
    out_i[:, :, 1] = (i[:, :, 0] - i[:, :, 1]) >> 1
    return out_r.reshape(n, m), out_i.reshape(n, m)


def complex_fft(re: np.ndarray, im: np.ndarray, tables: FrontendTables) -> tuple[np.ndarray, np.ndarray]:
    """In-place-order DIF FFT of int32 [n, M] arrays; returns (re, im) in natural order."""
    length = re.shape[1]
    for radix in tables.fft_radices:
        if radix == 4:
            re, im = _radix4_stage(re, im, length, tables)
            length //= 4
        else:
            re, im = _radix2_last_stage(re, im)
            length //= 2
    return re[:, tables.fft_pos], im[:, tables.fft_pos]


def real_fft(v: np.ndarray, tables: FrontendTables) -> tuple[np.ndarray, np.ndarray]:
    """Bins 0..N/2 of the real FFT of int32 frames v [n, W], scaled by 1/N."""
    n_frames, width = v.shape
    m = tables.fft_len
    padded = np.zeros((n_frames, 2 * m), dtype=np.int32)
    padded[:, :width] = v
    zr, zi = complex_fft(padded[:, 0::2].copy(), padded[:, 1::2].copy(), tables)
    k = np.arange(m + 1)
    mirror = (m - k) % m
    ar, ai = zr[:, k % m], zi[:, k % m]
    br, bi = zr[:, mirror], zi[:, mirror]
    er, ei = ar + br, ai - bi  # 2 * even part
    or_, oi = ai + bi, br - ar  # 2 * odd part
    # Split twiddles exp(-i pi k / M); the upper half mirrors the lower exactly.
    half = m // 2
    wr = np.concatenate([tables.split_tw_re, -tables.split_tw_re[1:half][::-1], [0]])
    wi = np.concatenate([tables.split_tw_im, tables.split_tw_im[1:half][::-1], [0]])
    tr, ti = _q15_mul(or_, oi, wr, wi)
    # exp(0) = 1 and exp(-i pi) = -1 are exact: no multiply.
    tr[:, 0], ti[:, 0] = or_[:, 0], oi[:, 0]
    tr[:, m], ti[:, m] = -or_[:, m], -oi[:, m]
    return _rshift_round(er + tr, 2), _rshift_round(ei + ti, 2)
