"""A project's labelled segments as int8 model inputs, per metadata Set.

Each usable segment (kwsgen's project rules decide which) gives one or more
cascades of `cascade_len` windows of min/max-scaled MFCCs: non-overlapping,
every `cascade_step` windows, as SensiML's training does. With the energy
filter's `disable_train = false`, a segment gives instead the cascades the
device would classify: those ending where the filter asks for a classification.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from ..audio import read_audio
from ..errors import KwsgenError
from ..frontend import MinMax, frame_signal
from ..frontend.energy_filter import filter_requests
from ..frontend.mfcc import frame_peaks
from ..frontend.stream import cascades
from ..project import TRAINING_SESSION, UNKNOWN, FeatureCache, Project, Segment, check_session
from ..project.check import CheckReport


@dataclass
class SplitData:
    """Model inputs of one Set: x int8 [n, windows, coefficients], y label indices, where each came from."""

    x: np.ndarray
    y: np.ndarray
    sources: list[str] = field(default_factory=list)

    def __len__(self) -> int:
        return len(self.y)

    def counts(self, n_labels: int) -> list[int]:
        return np.bincount(self.y, minlength=n_labels).tolist() if len(self.y) else [0] * n_labels


@dataclass
class ProjectData:
    labels: list[str]
    splits: dict[str, SplitData]
    report: CheckReport
    mfcc_train: np.ndarray  # all Train windows' MFCCs, for fitting a project min/max
    speed_pool: SplitData | None = None  # Train inputs played 0.9 and 1.1 times as fast
    noise_pool: SplitData | None = None  # Train inputs mixed with noise


def usable_segments(project: Project, session: str = TRAINING_SESSION) -> CheckReport:
    """The session's usable segments, with training's own errors made explicit."""
    if not project.has_session(session):
        raise KwsgenError(
            f"no label session {session!r}: label recordings first (kwsgen label auto, or import labels)", project.root
        )
    report = check_session(project, session)
    if not report.usable:
        short = report.skipped.get("shorter than min_length", 0)
        if short:
            raise KwsgenError(
                f"all {short} segments are shorter than min_length ({project.settings.segments.min_length} "
                "samples, [segments] in kwsgen.toml): label longer segments (kwsgen label auto makes 20,000-sample "
                "ones) or lower min_length",
                project.root,
            )
        raise KwsgenError("no usable segments to train on (kwsgen data lists what is wrong)", project.root)
    with_data = sorted({s.label for s in report.usable if report.sets[s.file] == "Train"})
    if len(with_data) < 2:
        raise KwsgenError(
            f"training needs at least two labels with Train segments; this project has only "
            f"{', '.join(repr(x) for x in with_data) or 'none'} (add recordings of the other labels and of "
            f"{UNKNOWN} sounds)",
            project.root,
        )
    report.raise_for_errors()
    if not any(report.sets[s.file] == "Validate" for s in report.usable):
        raise KwsgenError(
            "no Validate segments: give some recordings (ideally of other speakers than Train) Set = Validate in "
            "metadata.csv, e.g. kwsgen import audio ... --set Validate; training needs them to stop early and to "
            "be checked",
            project.root,
        )
    return report


def _segment_cascades(
    mfcc: np.ndarray, minmax: MinMax, project: Project, seg: Segment, audio_cache: dict[str, np.ndarray]
) -> np.ndarray:
    fe, filt = project.settings.frontend, project.settings.energy_filter
    features = minmax.scale(mfcc)
    if filt.disable_train or not filt.enabled:
        return cascades(features, fe.cascade_len, project.settings.segments.cascade_step)
    if seg.file not in audio_cache:
        audio_cache.clear()  # segments come sorted by file: keep one recording in memory
        audio_cache[seg.file] = read_audio(project.recording_path(seg.file))
    peaks = frame_peaks(frame_signal(audio_cache[seg.file][seg.start : seg.end], fe))
    ends = np.flatnonzero(filter_requests(peaks, filt))
    ends = ends[ends >= fe.cascade_len - 1]
    if not len(ends):
        return np.zeros((0, fe.cascade_len, fe.n_coeffs), np.int8)
    return np.stack([features[e - fe.cascade_len + 1 : e + 1] for e in ends])


SPEEDS = (0.9, 1.1)


def project_data(
    project: Project,
    minmax: MinMax | None,
    session: str = TRAINING_SESSION,
    progress: bool = True,
    speeds: tuple[float, ...] = (),
) -> ProjectData:
    """Every usable segment's cascades, per Set; with speeds, also speed-perturbed Train cascades.

    minmax None: only the Train MFCCs are needed first (to fit a project min/max).
    """
    report = usable_segments(project, session)
    labels = project.labels
    segments = sorted(report.usable)
    mfccs = FeatureCache(project).mfcc(segments, progress=progress)
    train_mfcc = [m for s, m in zip(segments, mfccs, strict=True) if report.sets[s.file] == "Train"]
    mfcc_train = np.concatenate(train_mfcc) if train_mfcc else np.zeros((0, project.settings.frontend.n_coeffs))
    splits: dict[str, SplitData] = {}
    if minmax is not None:
        audio_cache: dict[str, np.ndarray] = {}
        xs: dict[str, list[np.ndarray]] = {}
        ys: dict[str, list[int]] = {}
        sources: dict[str, list[str]] = {}
        for seg, mfcc in zip(segments, mfccs, strict=True):
            name = report.sets[seg.file]
            c = _segment_cascades(mfcc, minmax, project, seg, audio_cache)
            xs.setdefault(name, []).append(c)
            ys.setdefault(name, []).extend([labels.index(seg.label)] * len(c))
            sources.setdefault(name, []).extend(f"{seg.file}@{seg.start}" for _ in range(len(c)))
        shape = (0, project.settings.frontend.cascade_len, project.settings.frontend.n_coeffs)
        for name in ("Train", "Validate", "Test"):
            x = np.concatenate(xs[name]) if name in xs else np.zeros(shape, np.int8)
            splits[name] = SplitData(
                x.astype(np.int8), np.array(ys.get(name, []), dtype=np.int64), sources.get(name, [])
            )
        if speeds:
            splits_speed = _speed_pool(
                project, [s for s in segments if report.sets[s.file] == "Train"], minmax, labels, speeds, progress
            )
        else:
            splits_speed = None
        if not len(splits["Train"]):
            raise KwsgenError(
                "no Train inputs: with disable_train = false the energy filter passed no window of "
                "any Train segment (lower [energy_filter] threshold)",
                project.root,
            )
        return ProjectData(labels, splits, report, mfcc_train, splits_speed)
    return ProjectData(labels, splits, report, mfcc_train)


def _speed_pool(
    project: Project,
    segments: list[Segment],
    minmax: MinMax,
    labels: list[str],
    speeds: tuple[float, ...],
    progress: bool,
) -> SplitData:
    """Non-overlapping cascades of every Train segment at each speed (the energy filter is not applied)."""
    fe = project.settings.frontend
    cache = FeatureCache(project)
    xs, ys, sources = [], [], []
    for speed in speeds:
        for seg, mfcc in zip(segments, cache.mfcc(segments, progress=progress, speed=speed), strict=True):
            c = cascades(minmax.scale(mfcc), fe.cascade_len, project.settings.segments.cascade_step)
            xs.append(c)
            ys.extend([labels.index(seg.label)] * len(c))
            sources.extend(f"{seg.file}@{seg.start}x{speed:g}" for _ in range(len(c)))
    x = np.concatenate(xs) if xs else np.zeros((0, fe.cascade_len, fe.n_coeffs), np.int8)
    return SplitData(x.astype(np.int8), np.array(ys, dtype=np.int64), sources)


NOISE_COPIES = 2  # noisy copies of each Train segment, each at its own noise, place and SNR


def noise_pool(
    project: Project,
    segments: list[Segment],
    minmax: MinMax,
    labels: list[str],
    noises: list[np.ndarray],
    snr_db: tuple[float, float],
    rng: np.random.Generator,
) -> SplitData:
    """Cascades of Train segments mixed with noise at a random SNR (relative to the segment's louder part).

    Made afresh each training run (not cached): a few seconds of front end for a few hundred segments.
    """
    from ..frontend import mfcc_batch

    fe = project.settings.frontend
    if not noises or not segments:
        return SplitData(np.zeros((0, fe.cascade_len, fe.n_coeffs), np.int8), np.zeros(0, np.int64))
    clips, ys, sources = [], [], []
    by_file: dict[str, list[Segment]] = {}
    for seg in segments:
        by_file.setdefault(seg.file, []).append(seg)
    for file, segs in by_file.items():
        audio = read_audio(project.recording_path(file))
        for seg in segs:
            clip = audio[seg.start : seg.end].astype(np.float64)
            for _ in range(NOISE_COPIES):
                clips.append(mix_noise(clip, noises[int(rng.integers(len(noises)))], rng.uniform(*snr_db), rng))
                ys.append(labels.index(seg.label))
                sources.append(f"{seg.file}@{seg.start}+noise")
    xs = [
        cascades(minmax.scale(m), fe.cascade_len, project.settings.segments.cascade_step) for m in mfcc_batch(clips, fe)
    ]
    y = np.concatenate([[label] * len(x) for label, x in zip(ys, xs, strict=True)]).astype(np.int64)
    src = [s for s, x in zip(sources, xs, strict=True) for _ in range(len(x))]
    return SplitData(np.concatenate(xs).astype(np.int8), y, src)


def mix_noise(clip: np.ndarray, noise: np.ndarray, snr_db: float, rng: np.random.Generator) -> np.ndarray:
    """int16 clip + a random stretch of noise, scaled to snr_db below the clip's louder samples' level."""
    start = int(rng.integers(0, max(1, len(noise) - len(clip))))
    bed = np.resize(noise[start:], len(clip)).astype(np.float64)
    loud = np.abs(clip) > 0.1 * max(1.0, float(np.abs(clip).max()))
    level = np.sqrt(np.mean(clip[loud] ** 2)) if loud.any() else 1.0
    bed *= level / (np.sqrt(np.mean(bed**2)) + 1e-9) / 10 ** (snr_db / 20)
    return np.clip(np.round(clip + bed), -32768, 32767).astype(np.int16)


def noise_recordings(source: str, root) -> list[np.ndarray]:
    """Noise for [augmentation] noise_source: shipped (the example project's noise recordings, made by
    host_tools/scripts/make_example_project.py: pink, brown, hum, fan, knocks), a folder of audio, or none."""
    from pathlib import Path

    from ..project import example_project_dir

    if source == "none":
        return []
    folder = example_project_dir() / "recordings" / "noise" if source == "shipped" else (Path(root) / source)
    if not folder.is_dir():
        raise KwsgenError("[augmentation] noise_source is not shipped, none, or an existing folder", folder)
    files = sorted(p for p in folder.rglob("*") if p.suffix.lower() in (".wav", ".flac", ".ogg"))
    if not files:
        raise KwsgenError("holds no audio files (.wav, .flac, .ogg) for [augmentation] noise_source", folder)
    return [read_audio(f, resample=True, mono=True) for f in files]
