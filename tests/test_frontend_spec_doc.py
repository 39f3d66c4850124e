"""docs/frontend.md is enough to re-implement the front end.

This is a second, naive implementation written from the document alone:
plain Python integers, one window at a time, tables built from the formulas
in section 2 (math, not numpy). It must agree with the reference bit for bit.
"""

from __future__ import annotations

import math

import numpy as np
import pytest

from kwsgen.frontend import FrontendConfig, MinMax, mfcc

from .signals import synthetic_signals


def rnd(x: float) -> int:
    return math.floor(x + 0.5)


def q15(x: float) -> int:
    return min(max(rnd(32768 * x), -32768), 32767)


def bitlen(n: int) -> int:
    return n.bit_length()


class DocFrontend:
    def __init__(self, cfg: FrontendConfig) -> None:
        self.cfg = cfg
        W, B, C = cfg.window_size, cfg.n_mels, cfg.n_coeffs
        self.N = 16
        while self.N < W:
            self.N *= 2
        self.M = self.N // 2
        M, N = self.M, self.N
        self.A = rnd(32768 * cfg.preemphasis)
        hann = [0.5 - 0.5 * math.cos(2 * math.pi * n / (W - 1)) for n in range(W)]
        shapes = {
            "hann": hann,
            "hamming": [0.54 - 0.46 * math.cos(2 * math.pi * n / (W - 1)) for n in range(W)],
            "povey": [h**0.85 for h in hann],
        }
        self.w = [min(max(q15(v), 0), 32767) for v in shapes[cfg.window]]
        self.tw = [(q15(math.cos(2 * math.pi * k / M)), q15(-math.sin(2 * math.pi * k / M))) for k in range(M)]
        sw = [(q15(math.cos(math.pi * k / M)), q15(-math.sin(math.pi * k / M))) for k in range(M // 2 + 1)]
        sw += [(-sw[M - k][0], sw[M - k][1]) for k in range(M // 2 + 1, M)]
        self.sw = sw

        def mel(f):
            return 2595 * math.log10(1 + f / 700)

        lo, hi = mel(cfg.f_low), mel(cfg.f_high)
        edges = [lo + (hi - lo) * i / (B + 1) for i in range(B + 2)]
        self.F = []
        for b in range(B):
            row = []
            for k in range(N // 2 + 1):
                m = mel(k * 16000 / N)
                up = (m - edges[b]) / (edges[b + 1] - edges[b])
                down = (edges[b + 2] - m) / (edges[b + 2] - edges[b + 1])
                row.append(q15(max(0.0, min(up, down))))
            self.F.append(row)
        self.T = [rnd(65536 * math.log2(1 + i / 64)) for i in range(65)]
        self.D = [
            [
                q15((math.sqrt(1 / B) if c == 0 else math.sqrt(2 / B)) * math.cos(math.pi * c * (b + 0.5) / B))
                for b in range(B)
            ]
            for c in range(C)
        ]
        radices = []
        m = M
        while m >= 4:
            radices.append(4)
            m //= 4
        if m == 2:
            radices.append(2)
        self.radices = radices
        self.pos = []
        for f in range(M):
            digits, rest = [], f
            for r in radices:
                digits.append(rest % r)
                rest //= r
            p = 0
            for i, d in enumerate(digits):
                p += d * math.prod(radices[i + 1 :])
            self.pos.append(p)

    def rot(self, p, w):
        return ((p[0] * w[0] - p[1] * w[1] + 2**14) >> 15, (p[0] * w[1] + p[1] * w[0] + 2**14) >> 15)

    def fft(self, z):
        M = self.M
        Lb = M
        for r in self.radices:
            if r == 4:
                q, e = Lb // 4, M // Lb
                for base in range(0, M, Lb):
                    for j in range(q):
                        i0, i1, i2, i3 = (base + j + k * q for k in range(4))
                        a, b, c, d = z[i0], z[i1], z[i2], z[i3]
                        t0 = ((a[0] + c[0]) >> 1, (a[1] + c[1]) >> 1)
                        t1 = ((a[0] - c[0]) >> 1, (a[1] - c[1]) >> 1)
                        t2 = ((b[0] + d[0]) >> 1, (b[1] + d[1]) >> 1)
                        t3 = ((b[0] - d[0]) >> 1, (b[1] - d[1]) >> 1)
                        y0 = ((t0[0] + t2[0]) >> 1, (t0[1] + t2[1]) >> 1)
                        p1 = ((t1[0] + t3[1]) >> 1, (t1[1] - t3[0]) >> 1)
                        p2 = ((t0[0] - t2[0]) >> 1, (t0[1] - t2[1]) >> 1)
                        p3 = ((t1[0] - t3[1]) >> 1, (t1[1] + t3[0]) >> 1)
                        if j == 0:
                            y1, y2, y3 = p1, p2, p3
                        else:
                            y1 = self.rot(p1, self.tw[j * e])
                            y2 = self.rot(p2, self.tw[2 * j * e])
                            y3 = self.rot(p3, self.tw[3 * j * e])
                        z[i0], z[i1], z[i2], z[i3] = y0, y1, y2, y3
                Lb //= 4
            else:
                for base in range(0, M, 2):
                    a, b = z[base], z[base + 1]
                    z[base] = ((a[0] + b[0]) >> 1, (a[1] + b[1]) >> 1)
                    z[base + 1] = ((a[0] - b[0]) >> 1, (a[1] - b[1]) >> 1)
        return z

    def log2q(self, E):
        E = max(E, 1)
        e = bitlen(E) - 1
        mant = E << (31 - e) if e < 31 else E >> (e - 31)
        frac = mant - 2**31
        i = frac >> 25
        r = (frac >> 9) & 0xFFFF
        f16 = self.T[i] + (((self.T[i + 1] - self.T[i]) * r) >> 16)
        return 1024 * e + ((f16 + 32) >> 6)

    def window_mfcc(self, x):
        W, N, M = self.cfg.window_size, self.N, self.M
        P = max(abs(int(s)) for s in x)
        s1 = 15 if P == 0 else min(max(15 - bitlen(P), 0), 15)
        e = []
        for n in range(W):
            prev = int(x[n - 1]) if n > 0 else 0
            e.append(((32768 * int(x[n]) - self.A * prev) * 2**s1 + 2**15) >> 16)
        g = [e[n] * self.w[n] for n in range(W)]
        ones = 0
        for gn in g:
            ones |= gn if gn >= 0 else (-gn - 1)
        s2 = 28 if ones == 0 else min(max(29 - bitlen(ones), -1), 28)
        v = [(gn * 2 ** (s2 + 1) + 2**15) >> 16 for gn in g] + [0] * (N - W)
        z = self.fft([(v[2 * m], v[2 * m + 1]) for m in range(M)])
        Z = [z[self.pos[f]] for f in range(M)]
        Pw = []
        for k in range(M + 1):
            A, B = Z[k % M], Z[(M - k) % M]
            Er, Ei = A[0] + B[0], A[1] - B[1]
            Or, Oi = A[1] + B[1], B[0] - A[0]
            if k == 0:
                Tr, Ti = Or, Oi
            elif k == M:
                Tr, Ti = -Or, -Oi
            else:
                Tr = (Or * self.sw[k][0] - Oi * self.sw[k][1] + 2**14) >> 15
                Ti = (Or * self.sw[k][1] + Oi * self.sw[k][0] + 2**14) >> 15
            X = ((Er + Tr + 2) >> 2, (Ei + Ti + 2) >> 2)
            Pw.append(X[0] ** 2 + X[1] ** 2)
        s = s1 + s2
        L = [self.log2q(sum(f * p for f, p in zip(row, Pw, strict=True))) - 2048 * s for row in self.F]
        return [(sum(d * lb for d, lb in zip(row, L, strict=True)) + 2**14) >> 15 for row in self.D]

    def mfcc(self, audio):
        W, H = self.cfg.window_size, self.cfg.hop_size
        n = 0 if len(audio) < W else 1 + (len(audio) - W) // H
        return [self.window_mfcc(audio[f * H : f * H + W]) for f in range(n)]


def doc_scale(c, lo, hi):
    R = hi - lo
    u = ((min(max(c, lo), hi) - lo) * 255 + R // 2) // R
    return u - 128


@pytest.mark.parametrize(
    "config",
    [FrontendConfig(), FrontendConfig(window_size=255, hop_size=200, n_mels=12, n_coeffs=7, window="povey")],
    ids=["default", "radix2_povey"],
)
def test_document_reimplementation_matches(config):
    sig = synthetic_signals()
    audio = np.concatenate(
        [
            sig["noise_3000"][:1500],
            sig["square_3000"][:900],
            sig["silence"][:500],
            sig["noise_1"][:700],
            sig["chirp_log_full"][:1200],
            sig["dc_min"][:500],
        ]
    )
    doc = DocFrontend(config)
    got = np.array(doc.mfcc(audio), dtype=np.int64)
    want = mfcc(audio, config)
    assert got.shape == want.shape
    assert np.array_equal(got, want)
    mm = MinMax.fit(want)
    scaled = np.array(
        [[doc_scale(int(c), int(lo), int(hi)) for c, lo, hi in zip(row, mm.min, mm.max, strict=True)] for row in want]
    )
    assert np.array_equal(scaled, mm.scale(want))
