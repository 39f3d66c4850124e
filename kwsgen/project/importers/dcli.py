"""SensiML Data Capture Lab import files: kwsgen import dcli."""

from __future__ import annotations

from pathlib import Path

from ...errors import KwsgenError
from ..project import TRAINING_SESSION, Project
from ..store import (
    Segment,
    check_column_name,
    check_label,
    check_session_name,
)
from .plan import (
    ImportPlan,
    PlannedRecording,
    _load_json,
    check_segments,
    check_set,
    plan_recording,
    positioned_segment,
    resolve_names,
)


def plan_dcli(
    project: Project,
    dcli: Path,
    audio_dir: Path | None = None,
    as_is: bool = True,
    resample: bool = False,
    mono: bool = False,
) -> ImportPlan:
    """SensiML Data Capture Lab import files (.dcli/.dai): files, metadata, sessions, segments.

    SensiML's segment end is the index of its last sample, so kwsgen's
    (exclusive) end is end + 1. A metadata entry named Set gives the Set.
    """
    data = _load_json(dcli)
    if not isinstance(data, list):
        raise KwsgenError("must hold a JSON list of capture files", dcli)
    audio_dir = audio_dir or dcli.parent
    plan = ImportPlan()
    by_session: dict[str, list[Segment]] = {}
    for i, entry in enumerate(data):
        where = f"{dcli}: entry {i}"
        if not isinstance(entry, dict) or not isinstance(entry.get("file_name"), str):
            raise KwsgenError(f"{where} needs a file_name")
        audio = audio_dir / entry["file_name"]
        rec = plan_recording(project, audio, Path(entry["file_name"]).name, resample, mono)
        for item in entry.get("metadata", []) or []:
            if not isinstance(item, dict) or "name" not in item or "value" not in item:
                raise KwsgenError(f"{where}: metadata items need a name and a value")
            name, value = str(item["name"]).strip(), str(item["value"]).strip()
            check_column_name(name)
            rec.metadata[name] = check_set(value) if name == "Set" else value
        for sess in entry.get("sessions", []) or []:
            if not isinstance(sess, dict) or not isinstance(sess.get("session_name"), str):
                raise KwsgenError(f"{where}: each session needs a session_name")
            name = check_session_name(sess["session_name"])
            for seg in sess.get("segments", []) or []:
                try:
                    start, end = int(seg["start"]), int(seg["end"]) + 1
                    label = str(seg["value"])
                except (KeyError, TypeError, ValueError):
                    raise KwsgenError(f"{where}: segments need a value and whole-number start and end") from None
                check_label(label)
                s = positioned_segment(project, rec.dest, start, end, label, rec.info.frames, as_is)
                by_session.setdefault(name, []).append(s)
                check_segments(project, PlannedRecording(rec.source, rec.dest, rec.info, False, segments=[s]), where)
        plan.recordings.append(rec)
    resolve_names(project, plan)
    plan.session = next(iter(by_session), TRAINING_SESSION)
    plan.extra_segments = by_session
    return plan
