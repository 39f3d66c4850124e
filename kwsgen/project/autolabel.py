"""kwsgen label auto: find each utterance by energy and centre a segment on it.

Per 10 ms frame, a score: the mean SNR in dB over 250 Hz to 4 kHz against
each frequency bin's noise floor (its 20th percentile over the recording), so
steady noise of any colour (hum, rumble, fans, hiss) scores only a few dB and
speech stands out. A frame is *loud* when its score exceeds both threshold_db
and the loudest frame's score + min_peak_db (so a clean recording ignores
breaths and a noisy one does not chase the noise); each loud run then grows
while frames stay within 1.5 dB below that. Loud runs closer than max_gap_ms merge into one
utterance (the gap inside a word such as "stop"); runs shorter than
min_word_ms are clicks and are dropped. Each utterance's centre is the middle
of its loud span; its segment is `length` samples centred there, moved
inside the recording when the word sits near an edge.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .settings import AutolabelSection, SegmentsSection
from .store import Segment

RATE = 16000
HYSTERESIS_DB = 1.5


@dataclass(frozen=True)
class Utterance:
    start: int
    end: int

    @property
    def centre(self) -> int:
        return (self.start + self.end) // 2


def frame_scores(samples: np.ndarray, hop: int) -> np.ndarray:
    """Per hop, the mean SNR in dB over 250 Hz to 4 kHz against each bin's noise floor.

    The floor of each frequency bin is its 20th percentile over the
    recording, so steady noise of any colour (hum, rumble, fans, hiss) scores
    about 0 and speech stands out by how far it rises above it.
    """
    win = 2 * hop + hop // 2  # 25 ms at a 10 ms hop
    n = 1 + (len(samples) - win) // hop if len(samples) >= win else 0
    if n <= 0:
        return np.zeros(0)
    frames = np.lib.stride_tricks.sliding_window_view(samples.astype(np.float64), win)[::hop][:n]
    spectrum = np.abs(np.fft.rfft(frames * np.hanning(win), 512, axis=1)) ** 2 + 1e-3
    band = slice(int(250 * 512 / RATE), int(4000 * 512 / RATE) + 1)
    power = spectrum[:, band]
    floor = np.percentile(power, 20, axis=0)
    return np.mean(np.maximum(10.0 * np.log10(power / floor), 0.0), axis=1)


def find_utterances(samples: np.ndarray, cfg: AutolabelSection) -> list[Utterance]:
    hop = RATE * cfg.frame_ms // 1000
    score = frame_scores(samples, hop)
    if score.size == 0:
        return []
    threshold = max(cfg.threshold_db, score.max() + cfg.min_peak_db)
    # Hysteresis: a run found above the threshold grows while frames stay above a
    # slightly lower one, so weak fricatives ("yes") stay part of their word.
    low = threshold - HYSTERESIS_DB
    gap = max(1, cfg.max_gap_ms // cfg.frame_ms)
    merged: list[list[int]] = []
    for start, end in _runs(score > threshold):
        while start > 0 and score[start - 1] > low:
            start -= 1
        while end < len(score) and score[end] > low:
            end += 1
        if merged and start - merged[-1][1] <= gap:
            merged[-1][1] = max(merged[-1][1], end)
        else:
            merged.append([start, end])
    min_frames = max(1, cfg.min_word_ms // cfg.frame_ms)
    half = hop + hop // 4  # frame f is centred on sample f * hop + half
    return [Utterance(s * hop + half, (e - 1) * hop + half) for s, e in merged if e - s >= min_frames]


def _runs(mask: np.ndarray) -> list[tuple[int, int]]:
    """[start, end) of each run of True."""
    edges = np.diff(np.concatenate([[0], mask.astype(np.int8), [0]]))
    return list(zip(np.flatnonzero(edges == 1).tolist(), np.flatnonzero(edges == -1).tolist(), strict=True))


def centred_segment(centre: int, length: int, n_samples: int) -> tuple[int, int]:
    """[start, end) of `length` samples centred on `centre`, kept inside [0, n_samples)."""
    if n_samples <= length:
        return 0, n_samples
    start = min(max(centre - length // 2, 0), n_samples - length)
    return start, start + length


def label_keyword_recording(
    file: str, samples: np.ndarray, label: str, cfg: AutolabelSection, seg: SegmentsSection
) -> list[Segment]:
    out = []
    for u in find_utterances(samples, cfg):
        start, end = centred_segment(u.centre, seg.length, len(samples))
        out.append(Segment(file, start, end, label))
    return out


def label_noise_recording(
    file: str, n_samples: int, label: str, cfg: AutolabelSection, seg: SegmentsSection
) -> list[Segment]:
    """Cut a noise recording into back-to-back segments (the last partial one only if long enough)."""
    out = []
    for start in range(0, max(n_samples, 1), cfg.noise_step):
        end = min(start + seg.length, n_samples)
        if end - start >= seg.min_length:
            out.append(Segment(file, start, end, label))
    return out


@dataclass(frozen=True)
class Match:
    found: int
    missed: int
    extra: int
    centre_errors_ms: tuple[float, ...]

    @property
    def recall(self) -> float:
        total = self.found + self.missed
        return self.found / total if total else 1.0


def match_centres(found: list[int], truth: list[int], tolerance: int) -> Match:
    """Pair detected and true centres (each used once, nearest first) within `tolerance` samples."""
    pairs = sorted(
        (abs(f - t), i, j) for i, f in enumerate(found) for j, t in enumerate(truth) if abs(f - t) <= tolerance
    )
    used_f, used_t, errors = set(), set(), []
    for dist, i, j in pairs:
        if i not in used_f and j not in used_t:
            used_f.add(i)
            used_t.add(j)
            errors.append(dist * 1000 / RATE)
    return Match(len(used_t), len(truth) - len(used_t), len(found) - len(used_f), tuple(errors))
