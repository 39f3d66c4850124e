"""Audacity label tracks: kwsgen import audacity."""

from __future__ import annotations

from pathlib import Path

from ...errors import KwsgenError
from ..project import TRAINING_SESSION, Project
from ..store import (
    check_label,
    check_session_name,
)
from .plan import (
    ImportPlan,
    PlannedRecording,
    check_segments,
    check_set,
    plan_recording,
    positioned_segment,
    resolve_names,
)


def _seconds(text: str, line: int, path: Path) -> float:
    try:
        value = float(text)
    except ValueError:
        raise KwsgenError(f"line {line}: {text!r} is not a time in seconds", path) from None
    if not 0 <= value < 1e6:
        raise KwsgenError(f"line {line}: time {value} is outside 0..1000000 s", path)
    return value


def read_audacity_labels(path: Path) -> list[tuple[int, int, str, int]]:
    """(start sample, end sample, label, line) for each region or point in an Audacity label track."""
    from ..store import decode_text

    out = []
    for line_no, line in enumerate(decode_text(path).splitlines(), start=1):
        if not line.strip() or line.startswith("\\"):
            continue  # blank, or the frequency line of a spectral selection
        parts = line.split("\t")
        if len(parts) < 2:
            raise KwsgenError(f"line {line_no}: expected START<tab>END<tab>LABEL", path)
        start = _seconds(parts[0], line_no, path)
        end = _seconds(parts[1], line_no, path)
        label = parts[2].strip() if len(parts) > 2 else ""
        if end < start:
            raise KwsgenError(f"line {line_no}: end {end} is before start {start}", path)
        out.append((round(start * 16000), round(end * 16000), label, line_no))
    return out


def _recording_for(
    project: Project, plan: ImportPlan, audio: Path, resample: bool, mono: bool, meta: dict
) -> PlannedRecording:
    """Plan an audio file; one already in the project under its name is recognised by content."""
    rec = plan_recording(project, audio, audio.name, resample, mono)
    rec.metadata.update(meta)
    plan.recordings.append(rec)
    resolve_names(project, plan)
    return rec


def plan_audacity(
    project: Project,
    labels_file: Path,
    audio: Path,
    session: str = TRAINING_SESSION,
    set_name: str | None = None,
    meta: dict[str, str] | None = None,
    as_is: bool = False,
    resample: bool = False,
    mono: bool = False,
) -> ImportPlan:
    plan = ImportPlan(session=check_session_name(session))
    meta = dict(meta or {})
    if set_name:
        meta["Set"] = check_set(set_name)
    rec = _recording_for(project, plan, audio, resample, mono, meta)
    for start, end, label, line in read_audacity_labels(labels_file):
        if not label:
            raise KwsgenError(f"line {line}: the label is empty", labels_file)
        check_label(label)
        if end > rec.info.frames:
            raise KwsgenError(
                f"line {line}: {end / 16000:.3f} s is past the end of {audio.name} ({rec.info.frames / 16000:.3f} s)",
                labels_file,
            )
        rec.segments.append(positioned_segment(project, rec.dest, start, end, label, rec.info.frames, as_is))
    check_segments(project, rec, str(labels_file))
    return plan
