"""The Segment Energy Threshold Filter, hop by hop (docs/frontend.md)."""

from __future__ import annotations

import numpy as np

from .config import EnergyFilterConfig


def filter_requests(peaks: np.ndarray, config: EnergyFilterConfig) -> np.ndarray:
    """For each hop, whether the filter asks for a classification.

    peaks[t] is max|x| of hop t's window. Idle, a peak above the threshold at
    hop t triggers requests at hops t + delay .. t + delay + backoff; the
    energy is ignored until the last of them. Disabled, it asks every hop.
    """
    peaks = np.asarray(peaks)
    if not config.enabled:
        return np.ones(len(peaks), dtype=bool)
    want = np.zeros(len(peaks), dtype=bool)
    t, n = 0, len(peaks)
    span = config.delay + config.backoff  # hops after the trigger that the filter stays busy
    while t < n:
        hits = np.flatnonzero(peaks[t:] > config.threshold)
        if hits.size == 0:
            break
        trigger = t + int(hits[0])
        first = trigger + config.delay
        want[first : min(n, first + config.backoff + 1)] = True
        t = trigger + span + 1
    return want
