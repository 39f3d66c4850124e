"""Edge Impulse dataset exports: kwsgen import edge-impulse."""

from __future__ import annotations

from pathlib import Path

from ...errors import KwsgenError
from ..project import TRAINING_SESSION, Project
from ..store import (
    check_column_name,
    check_label,
    check_session_name,
)
from .plan import (
    ImportPlan,
    PlannedRecording,
    _load_json,
    check_segments,
    plan_recording,
    positioned_segment,
    resolve_names,
    segments_for,
)
from .speech_commands import split_by_key


def plan_edge_impulse(
    project: Project,
    folder: Path,
    session: str = TRAINING_SESSION,
    validate_percent: int = 0,
    as_is: bool = False,
    segments: str = "auto",
    resample: bool = False,
    mono: bool = False,
) -> ImportPlan:
    """An Edge Impulse export: info.labels lists each file's category, label and metadata.

    category training -> Train (or Validate for a hash-chosen validate_percent),
    testing -> Test. A "label" is the whole file's keyword; "multi-label"
    entries carry startIndex/endIndex in samples (endIndex read as the last sample).
    """
    info_path = folder / "info.labels"
    if not info_path.is_file():
        raise KwsgenError("has no info.labels file; is it an Edge Impulse export folder?", folder)
    data = _load_json(info_path)
    if not isinstance(data, dict) or not isinstance(data.get("files"), list):
        raise KwsgenError('must be a JSON object with a "files" list', info_path)
    plan = ImportPlan(session=check_session_name(session))
    pending: list[tuple[PlannedRecording, dict]] = []
    for i, entry in enumerate(data["files"]):
        where = f"{info_path}: files[{i}]"
        if not isinstance(entry, dict) or not isinstance(entry.get("path"), str):
            raise KwsgenError(f"{where} needs a path")
        path = folder / entry["path"]
        if path.suffix.lower() in (".json", ".cbor"):
            raise KwsgenError(
                f"{where}: {entry['path']} is an Edge Impulse JSON/CBOR sample; export the dataset "
                "from Edge Impulse as WAV files"
            )
        category = entry.get("category", "training")
        if category == "training":
            set_name = (
                "Validate"
                if split_by_key(entry["path"], (100 - validate_percent, validate_percent, 0)) == "Validate"
                else "Train"
            )
        elif category == "testing":
            set_name = "Test"
        else:
            raise KwsgenError(f"{where}: category {category!r} is not training or testing")
        rec = plan_recording(project, path, Path(entry["path"]).as_posix(), resample, mono)
        meta = entry.get("metadata") or {}
        if not isinstance(meta, dict):
            raise KwsgenError(f"{where}: metadata must be an object")
        for key, value in meta.items():
            check_column_name(str(key))
            rec.metadata[str(key)] = str(value)
        rec.metadata["Set"] = set_name
        plan.recordings.append(rec)
        pending.append((rec, entry.get("label") or {}))
    resolve_names(project, plan)
    for rec, label in pending:
        kind = label.get("type") if isinstance(label, dict) else None
        if kind == "label":
            name = check_label(str(label.get("label", "")))
            rec.metadata["keyword"] = name
            rec.segments = segments_for(project, rec, name, segments)
        elif kind == "multi-label":
            for part in label.get("labels", []):
                try:
                    start, end, name = int(part["startIndex"]), int(part["endIndex"]) + 1, str(part["label"])
                except (KeyError, TypeError, ValueError):
                    raise KwsgenError(
                        f"{info_path}: {rec.dest}: multi-label entries need label, startIndex and endIndex"
                    ) from None
                check_label(name)
                rec.segments.append(positioned_segment(project, rec.dest, start, end, name, rec.info.frames, as_is))
        else:
            raise KwsgenError(f"{info_path}: {rec.dest}: label type {kind!r} is not label or multi-label")
        check_segments(project, rec, str(info_path))
    return plan
