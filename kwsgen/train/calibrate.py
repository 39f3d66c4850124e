"""The operating point: the detection rule with the fewest misses under a false-alarm budget.

kwsgen train calls `calibrate` after training. It runs the int8 model along
audio the model never trained on:

  - negative speech: the calibrate part of the shipped negative bank (real
    words, sentences and wake phrases; windows touching one of the project's
    keywords are not counted);
  - the project's Validate Set: its labelled segments one after another, so
    that keywords are found as the firmware finds them; its Unknown segments
    count as negative audio too.

For each device mode it then searches kws_pipeline.c's rule: the keywords'
threshold (one for all of them by default, or one each with [detection]
per_keyword_thresholds), and in continuous mode the averaging length and the
consecutive hits as well ([device] holdoff, every and suppress stay as set).
The threshold is the one with the fewest Validate misses among those whose
false alarms stay within target_false_alarms_per_hour times the hours of
negative audio; ties go to fewer false alarms (if none finds a Validate
keyword, the first of 2, 4 ... 32 times the budget that does). In continuous mode the averaging
length and the hits are those whose DET curve finds most Validate keywords over
a ladder of budgets (1 to 32 times the target), then most at the target, then
the simpler rule. The Test Set is never looked at.

One shared threshold is the default because it holds up better on speech the
calibration never heard: on bench/detection.py's held-out speakers, thresholds
chosen per keyword on half an hour of negatives landed off the shared
threshold's DET curve, with more misses at the same false alarms (a keyword
whose every threshold fired once on the calibration audio was switched off).

Each keyword is evaluated on its own: a classification can only fire for the
keyword it ranks first, so a keyword's detections, streaks and hold-offs do
not depend on the other keywords' thresholds (only one keyword's suppression
of another is left out here). Thresholds stay at or above THRESHOLD_FLOOR: a
few minutes of audio cannot vouch for a keyword at lower probabilities.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from ..firmware.app import threshold_probability
from ..frontend import EnergyFilterConfig, FrontendConfig
from ..frontend.energy_filter import filter_requests
from ..project import UNKNOWN
from ..project.store import Segment
from .negatives import NegativeBank

THRESHOLD_FLOOR = 0.4
Q_GRID = np.array([*range(103, 255, 2), 255, 256])  # q + 128 values tried (0.4023 .. 0.9961); 256 = never
AVERAGES = (1, 2, 3, 5)
HITS = (1, 2, 3, 4, 5)
# The continuous rule (average, hits) is chosen by its Validate hits summed over these budgets (multiples of the
# target), not at the target alone: there, half an hour of negatives allows no false alarm at all and a few
# dozen Validate keywords decide, so the choice was noise (bench/detection.py: rules chosen that way missed up to
# 20 points more keywords at 20 false alarms per hour than rules asking for 3-5 hits in a row).
BUDGET_LADDER = (1, 2, 4, 8, 16, 32)

Outputs = Callable[[np.ndarray], np.ndarray]  # int8 inputs [n, windows, coeffs] -> q + 128 [n, classes]


@dataclass
class Stream:
    """One stretch of audio from reset: the frames the firmware classifies and the model's outputs there."""

    frames: np.ndarray  # hop index of each classification
    probs: np.ndarray  # int64 [n, classes]: q + 128
    counted: np.ndarray  # bool per classification: a detection here counts (windows touching a keyword do not)
    truth: list[Segment]  # keyword segments, in samples of this stream


@dataclass(frozen=True)
class Rule:
    average: int
    hits: int
    quiet: int  # filter mode: holdoff; continuous mode: suppress (hops)


def classified_frames(
    peaks: np.ndarray, continuous: bool, every: int, config: FrontendConfig, filt: EnergyFilterConfig
) -> np.ndarray:
    """The frames the firmware classifies in a stream with these window peaks, from reset."""
    cl = config.cascade_len
    ready = np.arange(len(peaks)) >= cl - 1
    if continuous:
        frames = np.flatnonzero(ready)
        return frames[(frames - (cl - 1)) % every == 0]
    return np.flatnonzero(filter_requests(peaks, filt) & ready)


def moving_sums(probs: np.ndarray, average: int) -> tuple[np.ndarray, np.ndarray]:
    """The summed last `average` outputs at each classification, and how many were summed (history fill)."""
    c = np.cumsum(np.vstack([np.zeros((1, probs.shape[1]), np.int64), probs]), axis=0)
    idx = np.arange(1, len(probs) + 1)
    lo = np.maximum(idx - average, 0)
    return c[idx] - c[lo], idx - lo


def margins(stream: Stream, keyword: int, average: int) -> tuple[np.ndarray, np.ndarray]:
    """Per classification: the averaged sum of `keyword` where it ranks first (-1 elsewhere), and the history
    fill it is compared against (a classification counts at threshold q when sum >= q * fill)."""
    sums, n = moving_sums(stream.probs, average)
    top = np.argmax(sums, axis=1) if len(sums) else np.zeros(0, np.int64)
    return np.where(top == keyword, sums[:, keyword] if len(sums) else 0, -1), n


def fired(stream: Stream, keyword: int, threshold: int, rule: Rule, margin=None) -> np.ndarray:
    """Indices of the classifications that report `keyword` at `threshold` (kws_pipeline.c, this keyword alone)."""
    if not len(stream.frames) or threshold > 255:
        return np.zeros(0, np.int64)
    value, n = margin if margin is not None else margins(stream, keyword, rule.average)
    candidates = np.flatnonzero(value >= threshold * n)
    out, streak, previous, quiet_until = [], 0, -2, -1
    for i in candidates:
        streak = min(streak + 1, 255) if i == previous + 1 else 1
        previous = i
        if streak < rule.hits or stream.frames[i] < quiet_until:
            continue
        out.append(i)
        quiet_until, streak = int(stream.frames[i]) + rule.quiet, 0
    return np.asarray(out, np.int64)


@dataclass
class Curve:
    false_alarms: np.ndarray  # per Q_GRID value
    hits: np.ndarray
    events: int


def keyword_curve(streams: list[Stream], keyword: int, label: str, rule: Rule, centre: Callable) -> Curve:
    """False alarms and hits of one keyword at every threshold of Q_GRID."""
    false_alarms, hits = np.zeros(len(Q_GRID), np.int64), np.zeros(len(Q_GRID), np.int64)
    events = 0
    for s in streams:
        own = [t for t in s.truth if t.label == label]
        events += len(own)
        margin = margins(s, keyword, rule.average)
        if not own and not (margin[0] >= Q_GRID[0] * margin[1]).any():
            continue  # nothing here ever fires for this keyword
        for j, q in enumerate(Q_GRID):
            idx = fired(s, keyword, int(q), rule, margin)
            idx = idx[s.counted[idx]]
            centres = centre(s.frames[idx])
            matched = np.zeros(len(idx), bool)
            for t in own:
                inside = (centres >= t.start) & (centres < t.end)
                hits[j] += bool(inside.any())
                matched |= inside
            false_alarms[j] += int((~matched).sum())
    return Curve(false_alarms, hits, events)


def floor_index() -> int:
    """The first Q_GRID value at or above THRESHOLD_FLOOR."""
    return int(np.searchsorted(Q_GRID, int(np.ceil(THRESHOLD_FLOOR * 256))))


def choose_shared_threshold(curves: dict[int, Curve], budget: float) -> tuple[dict[int, int], int, int]:
    """One threshold for every keyword: the lowest (most hits) whose summed false alarms fit the budget."""
    floor = floor_index()
    false_alarms = sum(c.false_alarms for c in curves.values())
    hits = sum(c.hits for c in curves.values())
    best = len(Q_GRID) - 1
    for j in range(len(Q_GRID) - 1, floor - 1, -1):
        if false_alarms[j] > budget:
            break
        if hits[j] > hits[best] or (hits[j] == hits[best] and false_alarms[j] < false_alarms[best]):
            best = j
    return {k: int(Q_GRID[best]) for k in curves}, int(false_alarms[best]), int(hits[best])


def choose_thresholds(curves: dict[int, Curve], budget: float) -> tuple[dict[int, int], int, int]:
    """Lower one keyword's threshold at a time, the step that buys most hits per false alarm first."""
    floor = floor_index()
    pick = {k: len(Q_GRID) - 1 for k in curves}  # start at "never"
    spent = 0
    while True:
        best = None
        for k, c in curves.items():
            for j in range(floor, pick[k]):
                gain = int(c.hits[j] - c.hits[pick[k]])
                cost = int(c.false_alarms[j] - c.false_alarms[pick[k]])
                if gain <= 0 or spent + cost > budget:
                    continue
                value = (gain / max(cost, 0.001), j)  # free hits first; among equals the higher threshold
                if best is None or value > best[0]:
                    best = (value, k, j, cost)
        if best is None:
            break
        _, k, j, cost = best
        pick[k], spent = j, spent + cost
    found = sum(int(c.hits[pick[k]]) for k, c in curves.items())
    return {k: int(Q_GRID[pick[k]]) for k in curves}, spent, found


def poisson_upper_bound(count: int, confidence: float = 0.95) -> float:
    """The one-sided upper confidence bound on a Poisson mean after `count` events: the mean m at which
    P(N <= count) = 1 - confidence (for 0 events at 95%, -ln 0.05 = 3.0). Why: the calibration sees minutes
    of negative speech, and 0 false alarms in 22 minutes does not show 1 per hour; this says what it does show."""

    def cdf(m: float) -> float:  # P(N <= count) for a Poisson mean m, summed in log space
        return sum(math.exp(i * math.log(m) - m - math.lgamma(i + 1)) for i in range(count + 1))

    lo, hi = 0.0, count + 10.0 * math.sqrt(count + 1) + 10.0
    for _ in range(100):  # the CDF falls as m grows: bisect to well below the figures' two decimals
        mid = (lo + hi) / 2
        lo, hi = (mid, hi) if cdf(mid) > 1 - confidence else (lo, mid)
    return (lo + hi) / 2


def false_alarms_per_hour_bound(false_alarms: int, hours: float) -> float | None:
    """At 95% confidence, the false alarms per hour on speech like the calibration's are at most this."""
    return round(poisson_upper_bound(false_alarms) / hours, 2) if hours else None


@dataclass
class ModeChoice:
    thresholds: dict[str, int]  # keyword -> q + 128
    rule: Rule
    validate_keywords: int
    validate_hits: int
    false_alarms: int
    negative_hours: float
    det: list[dict]  # one threshold for every keyword, moving: the DET curve of the chosen rule
    budget_multiple: int = 1  # the budget the thresholds met, as a multiple of the target (first_rung_that_finds)

    def as_dict(self) -> dict:
        return {
            "thresholds": {k: threshold_probability(q) for k, q in self.thresholds.items()},
            "average": self.rule.average,
            "hits": self.rule.hits,
            "validate_keywords": self.validate_keywords,
            "validate_miss_rate": round(1 - self.validate_hits / self.validate_keywords, 4)
            if self.validate_keywords
            else None,
            "negative_hours": round(self.negative_hours, 3),
            "false_alarms": self.false_alarms,
            "false_alarms_per_hour": round(self.false_alarms / self.negative_hours, 2) if self.negative_hours else None,
            "false_alarms_per_hour_95": false_alarms_per_hour_bound(self.false_alarms, self.negative_hours),
            "target_multiple": self.budget_multiple,
            "det": self.det,
        }


def det_points(curves: dict[int, Curve], negative_hours: float) -> list[dict]:
    """Miss rate against false alarms per hour with one threshold for every keyword, every fourth grid value."""
    events = sum(c.events for c in curves.values())
    points = []
    for j in range(0, len(Q_GRID) - 1, 4):
        fa = sum(int(c.false_alarms[j]) for c in curves.values())
        hits = sum(int(c.hits[j]) for c in curves.values())
        points.append(
            {
                "threshold": threshold_probability(int(Q_GRID[j])),
                "false_alarms_per_hour": round(fa / negative_hours, 2) if negative_hours else None,
                "miss_rate": round(1 - hits / events, 4) if events else None,
            }
        )
    return points


def search(
    streams: list[Stream],
    labels: list[str],
    continuous: bool,
    quiet: int,
    negative_hours: float,
    target: float,
    centre: Callable,
    per_keyword: bool = False,
) -> ModeChoice:
    """The rule for one mode: the threshold (one for every keyword, or per_keyword one each) with the fewest
    Validate misses within the false-alarm budget; in continuous mode the (average, hits) that find most Validate
    keywords over BUDGET_LADDER's budgets, then most at the target."""
    budget = target * negative_hours
    choose = choose_thresholds if per_keyword else choose_shared_threshold
    best = None
    for average, hits in [(a, h) for a in AVERAGES for h in HITS] if continuous else [(1, 1)]:
        rule = Rule(average, hits, quiet)
        curves = {
            k: keyword_curve(streams, k, label, rule, centre) for k, label in enumerate(labels) if label != UNKNOWN
        }
        ladder = [choose(curves, budget * m) for m in BUDGET_LADDER]
        found = ladder[0][2]  # the ladder's first rung is the target itself
        steadiness = sum(rung[2] for rung in ladder) if continuous else 0
        key = (steadiness, found, -ladder[0][1], -average, -hits)
        if best is None or key > best[0]:
            events = sum(c.events for c in curves.values())
            rung = first_rung_that_finds(ladder, events)
            chosen, spent, found = ladder[rung]
            thresholds = {labels[k]: q for k, q in chosen.items()}
            det = det_points(curves, negative_hours)
            choice = ModeChoice(thresholds, rule, events, found, spent, negative_hours, det, BUDGET_LADDER[rung])
            best = (key, choice)
    return best[1]


def first_rung_that_finds(ladder: list[tuple[dict, int, int]], events: int) -> int:
    """The target's rung, unless it finds no Validate keyword at all: then the first larger budget that finds one.

    Why: half an hour of calibration audio allows no false alarm under a budget of 1 per hour, and a model with a
    single confident false alarm there would otherwise ship with every keyword switched off, a detector that
    never detects (the example project's filter mode did). A larger budget is said in the log and model.json.
    """
    if not events or ladder[0][2]:
        return 0
    return next((i for i, rung in enumerate(ladder) if rung[2]), 0)


def segment_reader(project) -> Callable[[Segment], np.ndarray]:
    """A segment's int16 audio; the last recording read stays in memory (segments come sorted by file)."""
    from ..audio import read_audio

    cache: dict[str, np.ndarray] = {}

    def audio_of(seg: Segment) -> np.ndarray:
        if seg.file not in cache:
            cache.clear()
            cache[seg.file] = read_audio(project.recording_path(seg.file))
        return cache[seg.file][seg.start : seg.end]

    return audio_of


def segments_stream(
    segments: list[Segment], audio_of: Callable[[Segment], np.ndarray], gap: int
) -> tuple[np.ndarray, list[Segment], int]:
    """Labelled segments one after another with `gap` samples of silence between them; the keyword segments in
    stream samples (file "validate"); and how many samples of Unknown the stream holds."""
    pieces, truth, at, unknown = [], [], 0, 0
    for seg in segments:
        clip = audio_of(seg)
        pieces += [np.zeros(gap, np.int16), clip]
        if seg.label == UNKNOWN:
            unknown += len(clip)
        else:
            truth.append(Segment("validate", at + gap, at + gap + len(clip), seg.label))
        at += gap + len(clip)
    return (np.concatenate(pieces) if pieces else np.zeros(0, np.int16)), truth, unknown


def bank_streams(
    bank: NegativeBank,
    keywords: list[str],
    outputs: Outputs,
    continuous: bool,
    every: int,
    config: FrontendConfig,
    filt: EnergyFilterConfig,
) -> tuple[list[Stream], float]:
    """The bank's calibrate part as streams, and the hours of it that count (not touching a keyword)."""
    excluded = bank.keyword_hops(keywords)
    cl = config.cascade_len
    streams, hops = [], 0
    for (first, end), part in zip(bank.streams, bank.stream_parts, strict=True):
        if part != "calibrate":
            continue
        frames = classified_frames(bank.peaks[first:end], continuous, every, config, filt)
        bad_before = np.concatenate([[0], np.cumsum(excluded[first:end])])
        counted = bad_before[frames + 1] - bad_before[frames + 1 - cl] == 0
        windows = bank.features[first + frames[:, None] - np.arange(cl)[::-1]]
        streams.append(Stream(frames, outputs(windows), counted, []))
        hops += end - first - int(excluded[first:end].sum())
    return streams, hops * config.hop_size / config.sample_rate / 3600


def audio_stream(
    audio: np.ndarray,
    truth: list[Segment],
    outputs: Outputs,
    continuous: bool,
    every: int,
    config: FrontendConfig,
    filt: EnergyFilterConfig,
    minmax,
) -> Stream:
    """Audio through the reference front end, classified where the firmware would classify it."""
    from ..frontend.stream import stream_hops

    hops = stream_hops(audio, config, EnergyFilterConfig(enabled=False), minmax)
    frames = classified_frames(hops["peak"], continuous, every, config, filt)
    windows = hops["features"][frames[:, None] - np.arange(config.cascade_len)[::-1]]
    return Stream(frames, outputs(windows), np.ones(len(frames), bool), truth)


def window_centres(config: FrontendConfig) -> Callable[[np.ndarray], np.ndarray]:
    """Frame index -> the sample at the centre of the cascade classified there (a detection at frame f reports
    sample hop * f + window - 1, the end of its cascade)."""
    half = config.cascade_samples // 2

    def centre(frames: np.ndarray) -> np.ndarray:
        return frames * config.hop_size + config.window_size - half

    return centre


def batch_outputs(tflite: bytes) -> Outputs:
    """The int8 model on many inputs at once: TFLite's built-in kernels without delegates, batched (within a
    step or two of TFLite Micro on a few outputs; exactness is for the firmware, not for choosing thresholds)."""
    from .tfutil import quiet_native, tf

    tfm = tf()
    with quiet_native():
        interp = tfm.lite.Interpreter(
            model_content=tflite,
            experimental_op_resolver_type=tfm.lite.experimental.OpResolverType.BUILTIN_WITHOUT_DEFAULT_DELEGATES,
        )
    inp, out = interp.get_input_details()[0], interp.get_output_details()[0]
    size = {"n": 0}

    def run(x: np.ndarray) -> np.ndarray:
        result = np.zeros((len(x), out["shape"][-1]), np.int64)
        for i in range(0, len(x), 512):
            chunk = x[i : i + 512]
            if size["n"] != len(chunk):
                interp.resize_tensor_input(inp["index"], [len(chunk), *inp["shape"][1:]])
                interp.allocate_tensors()
                size["n"] = len(chunk)
            interp.set_tensor(inp["index"], chunk.reshape(len(chunk), *inp["shape"][1:]).astype(np.int8))
            interp.invoke()
            result[i : i + len(chunk)] = interp.get_tensor(out["index"]).reshape(len(chunk), -1).astype(np.int64) + 128
        return result

    return run


def calibrate(
    tflite: bytes,
    labels: list[str],
    settings,
    minmax,
    bank: NegativeBank | None,
    keywords_excluded: list[str],
    validate: list[Segment],
    audio_of: Callable[[Segment], np.ndarray],
) -> dict:
    """The operating point of each device mode (kws_pipeline.c's rule), as model.json's "detection" stores it."""
    config, filt, device = settings.frontend, settings.energy_filter, settings.device
    target = settings.detection.target_false_alarms_per_hour
    outputs = batch_outputs(tflite)
    val_audio, val_truth, val_unknown = segments_stream(validate, audio_of, config.sample_rate // 4)
    centre = window_centres(config)
    result = {"target_false_alarms_per_hour": target}
    for mode in ("filter", "continuous"):
        continuous = mode == "continuous"
        streams, hours = (
            bank_streams(bank, keywords_excluded, outputs, continuous, device.every, config, filt)
            if bank is not None
            else ([], 0.0)
        )
        if len(val_audio):
            streams.append(audio_stream(val_audio, val_truth, outputs, continuous, device.every, config, filt, minmax))
            hours += val_unknown / config.sample_rate / 3600
        quiet = device.suppress if continuous else device.holdoff
        per_keyword = settings.detection.per_keyword_thresholds
        choice = search(streams, labels, continuous, quiet, hours, target, centre, per_keyword)
        result[mode] = choice.as_dict()
        if continuous:
            result[mode]["suppress"] = quiet
        else:
            result[mode]["holdoff"] = quiet
    return result
