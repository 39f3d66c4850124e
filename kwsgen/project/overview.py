"""What a project holds, as plain data: for `kwsgen data`, kwsgen studio and notebooks alike."""

from __future__ import annotations

from collections import Counter

from .check import CheckReport, check_session
from .project import Project
from .settings import SETS
from .store import Metadata


def project_summary(project: Project, session: str, report: CheckReport | None = None) -> dict:
    """Recordings, audio time, usable segments per label and Set, and the rules' findings."""
    report = report or check_session(project, session)
    counts = report.counts(project.labels)
    files = project.recording_files()
    return {
        "project": str(project.root),
        "session": session,
        "sessions": project.session_names(),
        "labels": project.labels,
        "recordings": len(files),
        "audio_seconds": round(sum(project.recording_info(f).seconds for f in files), 2),
        "labelled_seconds": round(sum(s.length for s in report.usable) / project.settings.frontend.sample_rate, 2),
        "segments": {label: counts[label] for label in project.labels},
        "usable_segments": len(report.usable),
        "skipped": dict(report.skipped),
        "errors": [i.message for i in report.errors],
        "warnings": [i.message for i in report.warnings],
    }


def issues_with_files(report: CheckReport) -> list[dict]:
    """Each finding with every recording it concerns, so an editor can link to them."""
    return [{"level": i.level, "code": i.code, "message": i.message, "files": list(i.files)} for i in report.issues]


def recordings_table(project: Project, session: str, metadata: Metadata | None = None) -> dict:
    """One row per recording: its length, every metadata column and its segments in the session."""
    md = metadata if metadata is not None else project.load_metadata()
    segments = project.load_session(session).segments if project.has_session(session) else []
    per_file: dict[str, Counter] = {}
    for s in segments:
        per_file.setdefault(s.file, Counter())[s.label] += 1
    rows = []
    for file in project.recording_files():
        info = project.recording_info(file)
        labels = per_file.get(file, Counter())
        row = {c: md.get(file, c) for c in md.columns}
        row.update(file=file, seconds=round(info.seconds, 3), segments=sum(labels.values()), labels=dict(labels))
        rows.append(row)
    return {"session": session, "columns": md.columns, "sets": list(SETS), "rows": rows}
