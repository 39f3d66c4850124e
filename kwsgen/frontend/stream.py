"""What the streaming C front end reports per hop, computed from whole audio.

Because each window depends only on its own samples, the streaming result is
a pure function of the audio; this module is the reference the C stream is
compared with, record for record.
"""

from __future__ import annotations

import numpy as np

from .config import EnergyFilterConfig, FrontendConfig
from .energy_filter import filter_requests
from .mfcc import frame_peaks, frame_signal, mfcc_frames
from .scale import MinMax


def hop_dtype(n_coeffs: int) -> np.dtype:
    """Layout of one hop record, identical to host_tools/fe_driver.c's."""
    pad = (4 - n_coeffs % 4) % 4
    fields = [
        ("frame", "<u4"),
        ("peak", "<i4"),
        ("cascade_ready", "u1"),
        ("classify", "u1"),
        ("dropped", "u1"),
        ("reserved", "u1"),
        ("mfcc", "<i4", (n_coeffs,)),
        ("features", "i1", (n_coeffs,)),
    ]
    if pad:
        fields.append(("pad", "u1", (pad,)))
    return np.dtype(fields)


def stream_hops(
    audio: np.ndarray,
    config: FrontendConfig | None = None,
    energy_filter: EnergyFilterConfig | None = None,
    minmax: MinMax | None = None,
) -> np.ndarray:
    """One record per window, exactly as kws_frontend_process reports them."""
    config = config or FrontendConfig()
    energy_filter = energy_filter or EnergyFilterConfig()
    frames = frame_signal(audio, config)
    n = len(frames)
    out = np.zeros(n, dtype=hop_dtype(config.n_coeffs))
    if n == 0:
        return out
    out["frame"] = np.arange(n)
    out["peak"] = frame_peaks(frames)
    out["mfcc"] = mfcc_frames(frames, config)
    want = filter_requests(out["peak"], energy_filter)
    if minmax is not None:
        out["features"] = minmax.scale(out["mfcc"])
        ready = np.arange(n) >= config.cascade_len - 1
    else:
        ready = np.zeros(n, dtype=bool)
    out["cascade_ready"] = ready
    out["classify"] = want & ready
    out["dropped"] = want & ~ready
    return out


def cascades(features: np.ndarray, cascade_len: int, step: int | None = None) -> np.ndarray:
    """[n, cascade_len, n_coeffs] cascades of consecutive windows, every `step` windows.

    The default step is cascade_len: cascades that do not overlap, as in
    training. Cascade i covers windows i*step .. i*step + cascade_len - 1.
    """
    features = np.asarray(features)
    step = step or cascade_len
    if len(features) < cascade_len:
        return np.zeros((0, cascade_len, *features.shape[1:]), dtype=features.dtype)
    view = np.lib.stride_tricks.sliding_window_view(features, cascade_len, axis=0)
    return np.ascontiguousarray(np.moveaxis(view[::step], -1, 1))
