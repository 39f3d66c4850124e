"""The front end built for the Cortex-M4 and run under QEMU (mps2-an386)
equals the Python reference, on both the DSP-extension and the portable path."""

from __future__ import annotations

import numpy as np
import pytest

from kwsgen.frontend import EnergyFilterConfig, FrontendConfig, MinMax, mfcc, stream_hops
from kwsgen.hosttools.frontend_engine import run_c_frontend

from .signals import synthetic_signals

SYNTHETIC = np.concatenate(list(synthetic_signals().values()))


def check_qemu(audio, config=None, dsp=True, **kw):
    config = config or FrontendConfig()
    minmax = MinMax.fit(mfcc(audio, config))
    want = stream_hops(audio, config, EnergyFilterConfig(), minmax)
    got = run_c_frontend(audio, config, EnergyFilterConfig(), minmax, engine="qemu", dsp=dsp, **kw)
    assert len(got.hops) == len(want)
    assert np.array_equal(got.hops, want)
    return got


@pytest.mark.parametrize("dsp", [True, False], ids=["dsp", "portable"])
def test_synthetic_signals_on_m4(dsp):
    check_qemu(SYNTHETIC, dsp=dsp, chunks=[5, 320, 1000])


@pytest.mark.parametrize("dsp", [True, False], ids=["dsp", "portable"])
def test_real_speech_on_m4(long_speech, dsp):
    check_qemu(long_speech, dsp=dsp)


@pytest.mark.parametrize(
    "config",
    [
        # An odd window and a radix-2 last stage exercise the DSP path's scalar tails, and the peak
        # kept from the last window covers an odd number of samples from an odd start.
        FrontendConfig(window_size=255, hop_size=128, n_mels=16, n_coeffs=10),
        # Windows overlapping by more than a hop: the peak is searched over the whole window.
        FrontendConfig(window_size=400, hop_size=160, n_mels=40, n_coeffs=13),
    ],
    ids=["odd-window", "overlap-over-a-hop"],
)
def test_other_configuration_on_m4(config):
    check_qemu(SYNTHETIC[:60000], config, dsp=True)


def test_instruction_counts_are_deterministic():
    # 160 samples first, then whole hops: every call after the first completes one window.
    audio = synthetic_signals()["noise_3000"][: 160 + 320 * 49]
    runs = [check_qemu(audio, count=True, first=160, chunks=[320]) for _ in range(2)]
    deltas = [np.diff(r.marks) for r in runs]
    assert len(runs[0].marks) == 2 + 2 * 50  # calibration pair, then one pair per call
    assert np.array_equal(deltas[0], deltas[1])
