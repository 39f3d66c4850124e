"""The C front end equals the Python reference, hop for hop, bit for bit.

Runs the host build under AddressSanitizer and UndefinedBehaviorSanitizer,
so an out-of-bounds access or a signed overflow fails the test as well.
"""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from kwsgen.frontend import EnergyFilterConfig, FrontendConfig, MinMax, mfcc, stream_hops
from kwsgen.hosttools.frontend_engine import run_c_frontend

from .signals import synthetic_signals

SIGNALS = synthetic_signals()
DEFAULT = FrontendConfig()
WIDE_MINMAX = MinMax(np.full(23, -150_000), np.full(23, 150_000))


def assert_same(audio, config=DEFAULT, filt=None, minmax=WIDE_MINMAX, **engine_kw):
    filt = filt or EnergyFilterConfig()
    want = stream_hops(audio, config, filt, minmax)
    got = run_c_frontend(audio, config, filt, minmax, sanitize=True, **engine_kw).hops
    assert len(got) == len(want), f"{len(got)} windows from C, {len(want)} from Python"
    for field in want.dtype.names:
        if not np.array_equal(got[field], want[field]):
            bad = np.argwhere(np.atleast_2d((got[field] != want[field]).T).T)[0]
            raise AssertionError(
                f"field {field} differs first at {tuple(bad)}: C {got[field][bad[0]]} Python {want[field][bad[0]]}"
            )


@pytest.mark.parametrize("name", sorted(SIGNALS))
def test_synthetic_signal(name):
    assert_same(SIGNALS[name])


def test_all_synthetic_signals_in_one_stream():
    audio = np.concatenate(list(SIGNALS.values()))
    minmax = MinMax.fit(mfcc(audio))  # realistic bounds: exercises clipping at both ends
    assert_same(audio, minmax=minmax, chunks=[1, 2, 3, 319, 320, 321, 4096])


def test_real_speech(long_speech):
    minmax = MinMax.fit(mfcc(long_speech[: len(long_speech) // 2]))
    assert_same(long_speech, minmax=minmax)


def test_real_speech_without_minmax(speech_sample):
    for clip in speech_sample[::10]:
        assert_same(clip, minmax=None)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    length=st.integers(0, 6000),
    level_bits=st.integers(0, 15),
    seed=st.integers(0, 2**32 - 1),
    chunks=st.lists(st.integers(1, 700), min_size=1, max_size=8),
    first=st.integers(0, 500),
)
def test_hypothesis_lengths_levels_chunks(length, level_bits, seed, chunks, first):
    rng = np.random.default_rng(seed)
    peak = (1 << level_bits) - 1 if level_bits < 15 else 32767
    audio = rng.integers(-peak - 1, peak + 1, length).astype(np.int16)
    assert_same(audio, chunks=chunks, first=first)


@settings(max_examples=40, deadline=None)
@given(
    enabled=st.booleans(),
    threshold=st.integers(0, 3000),
    delay=st.integers(0, 60),
    backoff=st.integers(0, 10),
    seed=st.integers(0, 2**32 - 1),
)
def test_hypothesis_energy_filter(enabled, threshold, delay, backoff, seed):
    rng = np.random.default_rng(seed)
    audio = (rng.standard_normal(20000) * rng.choice([10, 100, 1000], 20000)).astype(np.int16)
    filt = EnergyFilterConfig(enabled=enabled, threshold=threshold, delay=delay, backoff=backoff)
    assert_same(audio, filt=filt)


def test_chunked_equals_whole_file():
    audio = SIGNALS["bursts"]
    whole = stream_hops(audio, minmax=WIDE_MINMAX)
    for chunks in ([1], [7, 1, 480], [320], [160, 320], [4096]):
        assert np.array_equal(run_c_frontend(audio, minmax=WIDE_MINMAX, chunks=chunks).hops, whole)


CONFIGS = {
    "window400_hop160_40mels_13coeffs": FrontendConfig(window_size=400, hop_size=160, n_mels=40, n_coeffs=13),
    "fft1024_radix2_stage": FrontendConfig(window_size=640, hop_size=320, n_mels=32, n_coeffs=20),
    "fft256_radix2_odd_window": FrontendConfig(window_size=255, hop_size=128, n_mels=16, n_coeffs=10),
    "hamming_no_preemphasis": FrontendConfig(window="hamming", preemphasis=0.0, f_low=100, f_high=7000),
    "povey_short_cascade": FrontendConfig(window="povey", cascade_len=5, hop_size=480),
}


@pytest.mark.parametrize("name", sorted(CONFIGS))
def test_other_configurations(name, speech_sample):
    config = CONFIGS[name]
    audio = np.concatenate([SIGNALS["noise_3000"], SIGNALS["chirp_log_full"], SIGNALS["impulses"]])
    minmax = MinMax(np.full(config.n_coeffs, -150_000), np.full(config.n_coeffs, 150_000))
    filt = EnergyFilterConfig(delay=3, backoff=2)
    assert_same(audio, config, filt, minmax, chunks=[97, 1000])


def test_other_configurations_on_speech(long_speech):
    for config in CONFIGS.values():
        minmax = MinMax(np.full(config.n_coeffs, -150_000), np.full(config.n_coeffs, 150_000))
        assert_same(long_speech[:80000], config, minmax=minmax)
