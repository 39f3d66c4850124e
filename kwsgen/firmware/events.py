"""Model testing on files: firmware-exact detections compared with ground-truth segments, event by event.

A detection is a classification line naming a keyword (not UNK, not
Unknown). It hits a truth segment of the same label when the centre of its
classified window lies inside the segment; the first such detection is the
hit, later ones are repeats of the same event (reported, not false alarms).
A detection that hits nothing is a false alarm for its class. Latency runs
from the centre of the truth segment (auto-labelling centres segments on the
utterance) to the last sample of the detecting window.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import numpy as np

from ..project.settings import UNKNOWN
from ..project.store import Segment
from ..project.transaction import project_lock

if TYPE_CHECKING:
    from .app import FirmwareSpec


@dataclass(frozen=True)
class Detection:
    file: str
    sample: int  # last sample of the classified window
    label: str
    score: float

    def window(self, length: int) -> tuple[int, int]:
        return max(0, self.sample + 1 - length), self.sample + 1


@dataclass
class ClassEvents:
    events: int = 0
    hits: int = 0
    misses: int = 0
    false_alarms: int = 0
    repeats: int = 0


@dataclass
class EventReport:
    classes: dict[str, ClassEvents]
    seconds: float
    latencies: list[float] = field(default_factory=list)  # seconds
    detections: list[Detection] = field(default_factory=list)
    files: list[str] = field(default_factory=list)  # the recordings tested (evaluate_files)

    @property
    def hits(self) -> int:
        return sum(c.hits for c in self.classes.values())

    @property
    def events(self) -> int:
        return sum(c.events for c in self.classes.values())

    @property
    def false_alarms(self) -> int:
        return sum(c.false_alarms for c in self.classes.values())

    @property
    def false_alarms_per_hour(self) -> float:
        return self.false_alarms / (self.seconds / 3600) if self.seconds else 0.0

    @property
    def miss_rate(self) -> float:
        return 1 - self.hits / self.events if self.events else 0.0

    def as_dict(self) -> dict:
        lat = np.array(self.latencies) if self.latencies else np.array([np.nan])
        return {
            "audio_hours": round(self.seconds / 3600, 4),
            "events": self.events,
            "hits": self.hits,
            "misses": self.events - self.hits,
            "miss_rate": round(self.miss_rate, 4),
            "false_alarms": self.false_alarms,
            "false_alarms_per_hour": round(self.false_alarms_per_hour, 2),
            "latency_ms": {
                "median": None if np.isnan(lat).all() else round(float(np.median(lat)) * 1000, 1),
                "p90": None if np.isnan(lat).all() else round(float(np.percentile(lat, 90)) * 1000, 1),
            },
            "classes": {k: vars(v) for k, v in self.classes.items()},
        }

    def table(self) -> list[str]:
        rows = [f"{'class':>12} {'events':>7} {'hits':>6} {'misses':>7} {'false alarms':>13} {'repeats':>8}"]
        for name, c in self.classes.items():
            rows.append(f"{name:>12} {c.events:>7} {c.hits:>6} {c.misses:>7} {c.false_alarms:>13} {c.repeats:>8}")
        d = self.as_dict()
        rows.append(
            f"{self.hits}/{self.events} keywords detected (miss rate {d['miss_rate']:.1%}); "
            f"{self.false_alarms} false alarms in {self.seconds / 60:.1f} min = "
            f"{d['false_alarms_per_hour']:.1f} per hour; "
            f"latency median {d['latency_ms']['median']} ms, 90th percentile {d['latency_ms']['p90']} ms"
        )
        return rows


def samples_needed(spec: FirmwareSpec) -> int:
    """Audio the firmware needs from reset before it can report a word near the start.

    A cascade to fill, then in filter mode the filter's delay and backoff, in
    continuous mode enough classifications to average and to lead in a row.
    """
    hop = spec.frontend.hop_size
    if spec.continuous:
        after = spec.rule.every * (spec.rule.average + spec.rule.hits)
    else:
        after = spec.energy_filter.delay + spec.energy_filter.backoff + 1
    return spec.frontend.cascade_samples + after * hop


def in_silence(spec: FirmwareSpec, audio: np.ndarray) -> tuple[np.ndarray, int]:
    """A clip too short for the firmware (a one-second Speech Commands clip) inside the silence a device hears.

    Returns the audio to play and how many samples of silence come before the
    clip (0 when the clip is long enough and is played as it is): a cascade of
    silence before it, as if the device had been listening, and enough after
    it for the rule to decide.
    """
    needed = samples_needed(spec)
    if len(audio) >= needed:
        return audio, 0
    lead = spec.frontend.cascade_samples
    return np.concatenate([np.zeros(lead, np.int16), audio, np.zeros(needed, np.int16)]), lead


def detections(file: str, lines: list[str], lead: int = 0) -> list[Detection]:
    """The keyword detections among a file's JSON lines (UNK and Unknown are not detections)."""
    found = []
    for line in lines:
        d = json.loads(line)
        if d["Classification"] == 0 or d["label"] == UNKNOWN:
            continue
        found.append(Detection(file, int(d["sample"]) - lead, d["label"], float(d["score"])))
    return found


def score_events(
    truth: list[Segment], found: list[Detection], keywords: list[str], window: int, seconds: float, rate: int = 16000
) -> EventReport:
    report = EventReport({k: ClassEvents() for k in keywords}, seconds, detections=list(found))
    events = [s for s in truth if s.label in report.classes]
    hit: set[Segment] = set()
    for seg in events:
        report.classes[seg.label].events += 1
    for det in sorted(found, key=lambda d: (d.file, d.sample)):
        start, end = det.window(window)
        centre = (start + end) // 2
        match = next(
            (s for s in events if s.file == det.file and s.label == det.label and s.start <= centre < s.end), None
        )
        counts = report.classes.setdefault(det.label, ClassEvents())
        if match is None:
            counts.false_alarms += 1
        elif match in hit:
            counts.repeats += 1
        else:
            hit.add(match)
            counts.hits += 1
            report.latencies.append((det.sample - match.centre) / rate)
    for seg in events:
        if seg not in hit:
            report.classes[seg.label].misses += 1
    return report


def events_by_file(
    truth: list[Segment], found: list[Detection], keywords: list[str], window: int, files: list[str]
) -> dict[str, dict[str, int]]:
    """Hits, misses and false alarms of each recording, scored as score_events scores them all."""
    truth_of: dict[str, list[Segment]] = {}
    found_of: dict[str, list[Detection]] = {}
    for s in truth:
        truth_of.setdefault(s.file, []).append(s)
    for d in found:
        found_of.setdefault(d.file, []).append(d)
    out = {}
    for file in files:
        r = score_events(truth_of.get(file, []), found_of.get(file, []), keywords, window, 0.0)
        out[file] = {"events": r.events, "hits": r.hits, "misses": r.events - r.hits, "false_alarms": r.false_alarms}
    return out


def prediction_segments(found: list[Detection], window: int, lengths: dict[str, int] | None = None) -> list[Segment]:
    """The detections as segments; a clip played inside silence keeps its segments within the clip."""
    out = []
    for d in found:
        start, end = d.window(window)
        end = min(end, (lengths or {}).get(d.file, end))
        if end > start:
            out.append(Segment(d.file, start, end, d.label))
    return out


PREDICTIONS_SESSION = "Model Testing"


def evaluate_files(
    project,
    spec,
    truth_session: str,
    files: list[str] | None = None,
    engine: str = "python",
    predictions_session: str = PREDICTIONS_SESSION,
    progress: bool = True,
    set_name: str | None = None,
):
    """Run `files` (project recordings; default: every recording of the truth session, of `set_name` if
    given) through the firmware engine, score them against `truth_session`, and write the predictions as
    a label session and as Audacity label files. Returns (report, folder)."""
    from ..audio import read_audio
    from ..errors import KwsgenError
    from ..fsutil import atomic_write_text
    from ..progress import progress_bar
    from ..project.exporters import export_audacity
    from ..project.project import TRAINING_SESSION
    from ..project.store import check_session_name
    from .engines import run_engine

    check_session_name(predictions_session)
    if predictions_session in (truth_session, TRAINING_SESSION):
        raise KwsgenError(
            f"the predictions would replace the labels of session {predictions_session!r}; choose another --predictions"
        )
    if not project.has_session(truth_session):
        raise KwsgenError(f"no label session {truth_session!r}; the sessions are: {', '.join(project.session_names())}")
    truth_segments = project.load_session(truth_session).segments
    if files is None:
        md = project.load_metadata()
        files = sorted({s.file for s in truth_segments if set_name is None or md.get(s.file, "Set") == set_name})
        if not files:
            where = f" in Set {set_name}" if set_name else ""
            raise KwsgenError(f"session {truth_session!r} has no recordings{where}")
    tested = set(files)
    truth = [s for s in truth_segments if s.file in tested]
    keywords = [label for label in spec.labels if label != UNKNOWN]
    found: list[Detection] = []
    lengths: dict[str, int] = {}
    seconds = 0.0
    rate = spec.frontend.sample_rate
    with progress_bar(progress and len(files) > 1) as bar:
        task = bar.add_task(f"testing ({engine})", total=len(files))
        for file in files:
            audio = read_audio(project.recording_path(file))
            seconds += len(audio) / rate
            played, lead = in_silence(spec, audio)
            lengths[file] = len(audio)
            found += detections(file, run_engine(engine, spec, played).lines, lead)
            bar.advance(task)
    window = spec.frontend.cascade_samples
    report = score_events(truth, found, keywords, window, seconds, rate)
    report.files = list(files)
    folder = project.root / "model_testing" / predictions_session.replace(" ", "_")
    # one lock for the session and the files made from it, so that a concurrent run cannot interleave them
    with project_lock(project.root):
        session = project.load_session(predictions_session, create=True)
        session.segments = [s for s in session.segments if s.file not in tested]
        session.add(prediction_segments(found, window, lengths))
        project.save_session(session)
        export_audacity(project, predictions_session, folder / "audacity", force=True)
        atomic_write_text(
            folder / "events.json",
            json.dumps({"truth": truth_session, "engine": engine, "files": len(files), **report.as_dict()}, indent=1)
            + "\n",
        )
    return report, folder
