"""The front end's C tables against an independent derivation.

The C gets its tables from the same Python that computes the reference, so
the bit-exact tests cannot see a wrong table: both sides would share it.
Here every table as the C compiles it (the shipped default_config and the C
generated for other configurations) is parsed back and rebuilt from the
formulas of docs/frontend.md in exact or high-precision arithmetic, written
again here on purpose (no kwsgen table code is used). A value may differ only
where the exact value lies within 1e-6 of a rounding boundary, which float
formulas cannot settle.
"""

from __future__ import annotations

import math
import re
from decimal import Decimal, getcontext
from pathlib import Path

import pytest

from kwsgen.frontend.cgen import tables_source
from kwsgen.frontend.config import FrontendConfig

REPO = Path(__file__).resolve().parents[1]
SHIPPED = REPO / "firmware_templates" / "runtime" / "default_config" / "kws_fe_tables.c"

CONFIGS = {
    "default": FrontendConfig(),
    "hamming-40": FrontendConfig(window="hamming", n_mels=40, n_coeffs=13),
    "povey-odd": FrontendConfig(window="povey", window_size=255, hop_size=128, n_mels=16, n_coeffs=10),
    "narrow": FrontendConfig(f_low=300.0, f_high=4000.0, n_mels=20, n_coeffs=20),
}


def c_arrays(source: str) -> dict[str, list[int]]:
    arrays = {}
    for name, body in re.findall(r"\b(kws_fe_\w+)\[[^\]]*\]\s*=\s*\{([^}]*)\}", source):
        arrays[name] = [int(v) for v in body.replace("\n", " ").split(",") if v.strip()]
    return arrays


def half_up(x: float) -> int:
    return math.floor(x + 0.5)


def assert_rounded(got: list[int], exact: list[float], scale: int, lo: int, hi: int, what: str) -> None:
    """got[i] == clamp(round_half_up(exact[i] * scale)), except within 1e-6 of a rounding boundary."""
    assert len(got) == len(exact), what
    for i, (g, x) in enumerate(zip(got, exact, strict=True)):
        v = x * scale
        want = min(hi, max(lo, half_up(v)))
        near_boundary = abs((v - math.floor(v)) - 0.5) < 1e-6
        assert g == want or near_boundary, f"{what}[{i}]: {g}, expected {want} ({v:.9f})"


def mel(f: float) -> float:
    return 2595.0 * math.log10(1.0 + f / 700.0)


def window(kind: str, n: int, size: int) -> float:
    hann = 0.5 - 0.5 * math.cos(2.0 * math.pi * n / (size - 1))
    return {"hann": hann, "hamming": 0.54 - 0.46 * math.cos(2.0 * math.pi * n / (size - 1)), "povey": hann**0.85}[kind]


def expected_log2_table() -> list[int]:
    """Q16 log2(1 + i/64), rounded half up, in 60-digit decimal arithmetic."""
    getcontext().prec = 60
    ln2 = Decimal(2).ln()
    out = []
    for i in range(65):
        v = (Decimal(1) + Decimal(i) / 64).ln() / ln2 * 65536
        out.append(int((v + Decimal("0.5")).to_integral_value(rounding="ROUND_FLOOR")))
    return out


def check_tables(source: str, config: FrontendConfig) -> None:
    t = c_arrays(source)
    n_fft = 1 << (config.window_size - 1).bit_length()
    m = n_fft // 2
    assert t["kws_fe_log2_table"] == expected_log2_table()
    assert_rounded(
        t["kws_fe_window"],
        [window(config.window, n, config.window_size) for n in range(config.window_size)],
        32768,
        0,
        32767,
        "window",
    )
    twiddle = [v for k in range(m) for v in (math.cos(2 * math.pi * k / m), -math.sin(2 * math.pi * k / m))]
    assert_rounded(t["kws_fe_fft_twiddle"], twiddle, 32768, -32768, 32767, "fft twiddle")
    split = [v for k in range(m // 2 + 1) for v in (math.cos(math.pi * k / m), -math.sin(math.pi * k / m))]
    assert_rounded(t["kws_fe_split_twiddle"], split, 32768, -32768, 32767, "split twiddle")
    dct = [
        (math.sqrt(1 / config.n_mels) if i == 0 else math.sqrt(2 / config.n_mels))
        * math.cos(math.pi * i * (b + 0.5) / config.n_mels)
        for i in range(config.n_coeffs)
        for b in range(config.n_mels)
    ]
    assert_rounded(t["kws_fe_dct"], dct, 32768, -32768, 32767, "dct")
    # Mel filters: triangles on the HTK mel scale between n_mels + 2 equally spaced edges, over the
    # n_fft / 2 + 1 bins; each band keeps its run from the first to the last nonzero Q15 weight.
    lo, hi = mel(config.f_low), mel(config.f_high)
    edges = [lo + (hi - lo) * j / (config.n_mels + 1) for j in range(config.n_mels + 2)]
    weights, starts, counts, offsets = [], [], [], []
    for b in range(config.n_mels):
        row = []
        for k in range(m + 1):
            x = mel(k * config.sample_rate / n_fft)
            rising = (x - edges[b]) / (edges[b + 1] - edges[b])
            falling = (edges[b + 2] - x) / (edges[b + 2] - edges[b + 1])
            row.append(max(0.0, min(rising, falling)))
        q = [min(32767, half_up(v * 32768)) for v in row]
        nonzero = [k for k, v in enumerate(q) if v]
        starts.append(nonzero[0])
        counts.append(nonzero[-1] - nonzero[0] + 1)
        offsets.append(len(weights))
        weights.extend(row[nonzero[0] : nonzero[-1] + 1])
    assert t["kws_fe_mel_start"] == starts and t["kws_fe_mel_count"] == counts
    assert t["kws_fe_mel_offset"] == offsets
    assert_rounded(t["kws_fe_mel_weights"], weights, 32768, 0, 32767, "mel weights")
    # The DIF output order: frequency f sits where its radix digits, read the other way, point.
    pos = t["kws_fe_fft_pos"]
    assert sorted(pos) == list(range(m))
    radices = [4] * ((m.bit_length() - 1) // 2) + [2] * ((m.bit_length() - 1) % 2)
    for f in range(m):
        rest, p = f, 0
        for i, r in enumerate(radices):
            p += (rest % r) * math.prod(radices[i + 1 :])
            rest //= r
        assert pos[f] == p, f"fft position of frequency {f}"


def test_the_shipped_tables_match_the_formulas():
    check_tables(SHIPPED.read_text(), CONFIGS["default"])


@pytest.mark.parametrize("name", sorted(CONFIGS))
def test_generated_tables_match_the_formulas(name):
    check_tables(tables_source(CONFIGS[name]), CONFIGS[name])


def test_a_table_rounded_the_wrong_way_is_caught():
    """The log2 table with floor instead of round-half-up: the deliberate change that once passed."""
    source = SHIPPED.read_text()
    table = c_arrays(source)["kws_fe_log2_table"]
    wrong = [str(v - 1 if i % 2 else v) for i, v in enumerate(table)]
    broken = re.sub(
        r"(kws_fe_log2_table\[[^\]]*\]\s*=\s*\{)[^}]*\}", lambda m: m.group(1) + ", ".join(wrong) + "}", source
    )
    with pytest.raises(AssertionError):
        check_tables(broken, CONFIGS["default"])


def test_every_allowed_dct_table_is_mirrored():
    # The C folds each DCT row in half (D[c][B-1-b] = (-1)^c D[c][b]); that must hold for the rounded
    # integers of every n_mels the configuration allows, not only for the cosines.
    for n_mels in range(2, 129):
        rows = c_arrays(tables_source(FrontendConfig(n_mels=n_mels, n_coeffs=n_mels, window_size=1024, hop_size=512)))
        table = rows["kws_fe_dct"]
        for c in range(n_mels):
            row = table[c * n_mels : (c + 1) * n_mels]
            assert row[::-1] == [v * (-1) ** c for v in row], (n_mels, c)


@pytest.mark.parametrize("name", sorted(CONFIGS))
def test_mel_weights_are_stored_back_to_back(name):
    # log_mel walks one pointer through the weights, so each band's offset is the running sum of the counts.
    arrays = c_arrays(tables_source(CONFIGS[name]))
    counts, offsets = arrays["kws_fe_mel_count"], arrays["kws_fe_mel_offset"]
    assert offsets == [sum(counts[:m]) for m in range(len(counts))]
    assert len(arrays["kws_fe_mel_weights"]) == sum(counts)
