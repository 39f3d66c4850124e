"""Properties of the Python reference: its tables, its accuracy against a
float MFCC, the integer bounds the C relies on, the energy filter and the
Min/Max scaling."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from kwsgen.errors import ConfigError, KwsgenError
from kwsgen.frontend import (
    EnergyFilterConfig,
    FrontendConfig,
    MinMax,
    build_tables,
    cascades,
    filter_requests,
    frame_signal,
    mfcc,
    mfcc_batch,
    stream_hops,
)
from kwsgen.frontend.cgen import config_header, tables_source
from kwsgen.frontend.fft import complex_fft, real_fft
from kwsgen.frontend.float_reference import float_log_mel, float_mfcc, log_mel_error_db
from kwsgen.frontend.mfcc import log2_q10, log_mel_frames, preemphasis_window

from .conftest import REPO
from .signals import synthetic_signals

DEFAULT = FrontendConfig()


def test_default_tables():
    t = build_tables(DEFAULT)
    assert t.fft_radices == (4, 4, 4, 4)
    assert np.array_equal(t.window, t.window[::-1]), "Hann window must be symmetric"
    assert t.window.min() == 0 and t.window.max() <= 32767
    assert sorted(t.fft_pos.tolist()) == list(range(256))
    assert np.all(t.mel_count > 0) and np.all(t.mel_weights <= 32767)
    assert np.all(np.hypot(t.fft_tw_re, t.fft_tw_im) <= 32768 * 1.0001)
    gram = t.dct.astype(np.float64) @ t.dct.T / 32768**2
    assert np.allclose(gram, np.eye(23), atol=3e-4), "DCT rows must be orthonormal"
    assert t.log2_table[0] == 0 and t.log2_table[-1] == 65536


def test_fft_matches_numpy_within_rounding():
    rng = np.random.default_rng(3)
    t = build_tables(DEFAULT)
    re = rng.integers(-11000, 11000, (64, 256)).astype(np.int32)
    im = rng.integers(-11000, 11000, (64, 256)).astype(np.int32)
    zr, zi = complex_fft(re, im, t)
    ref = np.fft.fft(re + 1j * im, axis=1) / 256
    # Floor halving: each stage may lose up to 3/4 LSB, and the rotations round.
    err = np.abs(zr + 1j * zi - ref)
    assert err.max() < 5.0 and err.mean() < 2.5, f"complex FFT error max {err.max():.2f}, mean {err.mean():.2f} LSB"
    v = rng.integers(-16384, 16385, (64, 480)).astype(np.int32)
    xr, xi = real_fft(v, t)
    ref = np.fft.rfft(v, 512, axis=1) / 512
    assert np.abs(xr + 1j * xi - ref).max() < 5.0


@pytest.mark.parametrize("name", ["noise_3", "noise_300", "noise_12000", "bursts"])
def test_close_to_float_mfcc(name):
    audio = synthetic_signals()[name]
    err = np.abs(mfcc(audio) - float_mfcc(audio, DEFAULT))
    # Q10 log2 units: 100 is 0.1 in log2, about 0.3 dB.
    assert np.median(err) < 60, f"median error {np.median(err):.0f}"


@pytest.mark.parametrize(
    "name", ["chirp_log_full", "sine_1000_full", "square_100", "chirp_linear_quiet", "noise_3000", "noise_3"]
)
def test_log_mel_dynamic_range(name):
    # docs/frontend.md: bands up to 30 dB below a frame's strongest band are
    # within 0.5 dB of exact (99th percentile), 30-40 dB below within 1.5 dB.
    # Deeper, a 16-bit FFT's rounding noise dominates, as on any fixed-point DSP.
    audio = synthetic_signals()[name]
    exact = float_log_mel(audio, DEFAULT)
    got = log_mel_frames(frame_signal(audio, DEFAULT), DEFAULT)
    for lo, hi, limit in ((0, 30, 0.5), (30, 40, 1.5)):
        err_db = log_mel_error_db(got, exact, (lo, hi))
        if err_db.size:
            p99 = np.percentile(err_db, 99)
            assert p99 < limit, f"{lo}-{hi} dB below the peak: 99th percentile error {p99:.2f} dB"


def test_close_to_float_mfcc_on_speech(speech_sample):
    errors = [np.median(np.abs(mfcc(c)[:, 1:] - float_mfcc(c, DEFAULT)[:, 1:])) for c in speech_sample]
    assert np.median(errors) < 40, f"median error {np.median(errors):.0f} Q10 units"


def test_fft_input_and_output_stay_in_int16():
    t = build_tables(DEFAULT)
    for name, audio in synthetic_signals().items():
        frames = frame_signal(audio, DEFAULT)
        if len(frames) == 0:
            continue
        v, shifts = preemphasis_window(frames, t)
        assert np.abs(v).max() <= 16384, name
        padded = np.zeros((len(v), DEFAULT.fft_size), dtype=np.int32)
        padded[:, : v.shape[1]] = v
        zr, zi = complex_fft(padded[:, 0::2].copy(), padded[:, 1::2].copy(), t)
        assert max(np.abs(zr).max(), np.abs(zi).max()) <= 32767, name
        xr, xi = real_fft(v, t)
        assert (xr.astype(np.int64) ** 2 + xi.astype(np.int64) ** 2).max() < 2**31, name
        assert shifts.min() >= -1 and shifts.max() <= 15 + 28


def test_log2_q10_spot_values():
    t = build_tables(DEFAULT)
    e = np.array([0, 1, 2, 3, 1024, 2**40, 2**63, 2**64 - 1], dtype=np.uint64)
    got = log2_q10(e, t)
    assert got[:6].tolist() == [0, 0, 1024, 1623, 10240, 40960]
    assert got[6] == 63 * 1024 and abs(got[7] - 64 * 1024) <= 1
    rng = np.random.default_rng(0)
    x = rng.integers(1, 2**62, 10000, dtype=np.int64).astype(np.uint64)
    assert np.abs(log2_q10(x, t) - np.log2(x.astype(np.float64)) * 1024).max() < 1.0


def test_batch_equals_single_clips():
    clips = list(synthetic_signals().values())
    for single, batched in zip([mfcc(c) for c in clips], mfcc_batch(clips), strict=True):
        assert np.array_equal(single, batched)


def test_window_count_and_framing():
    assert DEFAULT.n_frames(16000) == 49
    assert DEFAULT.n_frames(479) == 0
    assert DEFAULT.n_frames(480) == 1
    assert DEFAULT.n_frames(800) == 2
    audio = np.arange(1200, dtype=np.int16)
    frames = frame_signal(audio, DEFAULT)
    assert frames.shape == (3, 480) and frames[1, 0] == 320 and frames[2, -1] == 1119


def test_cascades_do_not_overlap_by_default():
    feats = np.arange(120 * 2, dtype=np.int8).reshape(120, 2)
    c = cascades(feats, 49)
    assert c.shape == (2, 49, 2)
    assert np.array_equal(c[1], feats[49:98])
    assert cascades(feats, 49, step=10).shape == (8, 49, 2)
    assert cascades(feats[:10], 49).shape == (0, 49, 2)


def reference_filter(peaks, cfg):
    """The filter as a literal state machine, written independently of filter_requests."""
    out, state, wait, left = [], "idle", 0, 0
    for p in peaks:
        if not cfg.enabled:
            out.append(True)
            continue
        if state == "idle" and p > cfg.threshold:
            state, wait, left = "busy", cfg.delay, cfg.backoff + 1
        if state == "idle":
            out.append(False)
        elif wait > 0:
            wait -= 1
            out.append(False)
        else:
            left -= 1
            out.append(True)
            if left == 0:
                state = "idle"
    return np.array(out, dtype=bool)


def test_filter_trace_known_bursts():
    # Bursts in hops 2-6 and at hop 10; delay 3, backoff 1.
    peaks = np.array([0, 0, 500, 500, 500, 500, 500, 0, 0, 0, 900, 0, 0, 0, 0, 0])
    want = np.array([0, 0, 0, 0, 0, 1, 1, 0, 0, 0, 0, 0, 0, 1, 1, 0], dtype=bool)
    assert np.array_equal(filter_requests(peaks, EnergyFilterConfig(delay=3, backoff=1)), want)


def test_filter_trace_on_audio_with_defaults():
    # Silence, then a 0.1 s burst starting at sample 8000: the first window that
    # sees it is the one starting at 7680 (hop 24); delay 25 -> classify at hop 49.
    audio = np.zeros(32000, dtype=np.int16)
    audio[8000:9600] = 1000
    hops = stream_hops(audio, DEFAULT, EnergyFilterConfig(), MinMax(np.full(23, -(10**6)), np.full(23, 10**6)))
    assert np.flatnonzero(hops["classify"]).tolist() == [24 + 25]
    assert hops["dropped"].sum() == 0
    early = np.zeros(32000, dtype=np.int16)
    early[100] = 1000  # hop 0 triggers, asks at hop 25 < 48: dropped
    hops = stream_hops(early, DEFAULT, EnergyFilterConfig(), MinMax(np.full(23, -(10**6)), np.full(23, 10**6)))
    assert hops["classify"].sum() == 0 and np.flatnonzero(hops["dropped"]).tolist() == [25]


@settings(max_examples=200, deadline=None)
@given(
    peaks=st.lists(st.integers(0, 1000), max_size=200),
    threshold=st.integers(0, 1000),
    delay=st.integers(0, 30),
    backoff=st.integers(0, 5),
    enabled=st.booleans(),
)
def test_filter_matches_state_machine(peaks, threshold, delay, backoff, enabled):
    cfg = EnergyFilterConfig(enabled=enabled, threshold=threshold, delay=delay, backoff=backoff)
    assert np.array_equal(filter_requests(np.array(peaks), cfg), reference_filter(peaks, cfg))


def test_minmax_scaling_edges():
    mm = MinMax(np.array([-1000, 0]), np.array([1000, 1]))
    out = mm.scale(np.array([[-5000, -3], [1000, 1], [0, 0], [-1000, 5]]))
    assert out.tolist() == [[-128, -128], [127, 127], [0, -128], [-128, 127]]
    fitted = MinMax.fit(np.array([[5, 7], [5, 9]]))
    assert fitted.min.tolist() == [5, 7] and fitted.max.tolist() == [6, 9]


def test_minmax_rejects_bad_bounds(tmp_path):
    with pytest.raises(ConfigError, match="must be above min"):
        MinMax(np.array([3]), np.array([3]))
    with pytest.raises(ConfigError, match="2\\^23"):
        MinMax(np.array([0]), np.array([1 << 23]))
    bad = tmp_path / "mm.json"
    bad.write_text('{"min": [1, 2]}')
    with pytest.raises(KwsgenError, match=r"mm\.json"):
        MinMax.load(bad)
    bad.write_text("not json")
    with pytest.raises(KwsgenError, match="not a minmax JSON"):
        MinMax.load(bad)
    good = tmp_path / "ok.json"
    MinMax(np.array([1, -4]), np.array([9, 4])).save(good)
    assert MinMax.load(good).max.tolist() == [9, 4]


def test_config_validation_messages():
    with pytest.raises(ConfigError, match=r"n_coeffs must be 1\.\.n_mels"):
        FrontendConfig(n_coeffs=30).validate()
    with pytest.raises(ConfigError, match="hop_size"):
        FrontendConfig(hop_size=0).validate()
    with pytest.raises(ConfigError, match="unknown setting"):
        FrontendConfig.from_dict({"hop": 320})
    with pytest.raises(ConfigError, match="must be an integer"):
        FrontendConfig.from_dict({"hop_size": "320"})
    with pytest.raises(ConfigError, match="covers no FFT bin"):
        build_tables(FrontendConfig(n_mels=120, window_size=64, hop_size=32, n_coeffs=13))


def test_committed_default_c_config_is_fresh():
    folder = REPO / "firmware_templates" / "runtime" / "default_config"
    assert (folder / "kws_fe_config.h").read_text() == config_header(DEFAULT, EnergyFilterConfig()), (
        "regenerate firmware_templates/runtime/default_config with kwsgen.frontend.cgen.write_frontend_sources"
    )
    assert (folder / "kws_fe_tables.c").read_text() == tables_source(DEFAULT)
