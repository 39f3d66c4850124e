"""WAV/FLAC files and folders: kwsgen import audio."""

from __future__ import annotations

from pathlib import Path

from ...errors import KwsgenError
from ...progress import progress_bar
from ..project import AUDIO_SUFFIXES, TRAINING_SESSION, Project
from ..store import (
    check_label,
    check_session_name,
)
from .plan import (
    SEGMENT_MODES,
    ImportPlan,
    check_segments,
    check_set,
    pad_short,
    plan_recording,
    resolve_names,
    segments_for,
)


def _audio_sources(paths: list[Path]) -> list[tuple[Path, Path]]:
    """(file, base) pairs: the recording's name is the file's path relative to base."""
    found = []
    for p in paths:
        if p.is_dir():
            # A folder keeps its own name: importing data/yes gives recordings/yes/...
            found += [
                (f, p.parent)
                for f in sorted(p.rglob("*"))
                if f.is_file() and f.suffix.lower() in AUDIO_SUFFIXES and not f.name.startswith(".")
            ]
        elif p.exists():
            found.append((p, p.parent))
        else:
            raise KwsgenError("file not found", p)
    if not found:
        raise KwsgenError(f"no .wav or .flac files found in {', '.join(map(str, paths))}")
    return found


def plan_audio(
    project: Project,
    paths: list[Path],
    label: str | None = None,
    label_from_folder: bool = False,
    set_name: str | None = None,
    meta: dict[str, str] | None = None,
    session: str = TRAINING_SESSION,
    into: str = "",
    segments: str = "auto",
    resample: bool = False,
    mono: bool = False,
    pad: bool = False,
) -> ImportPlan:
    if segments not in SEGMENT_MODES:
        raise KwsgenError(f"--segments must be one of {', '.join(SEGMENT_MODES)}")
    if label is not None and label_from_folder:
        raise KwsgenError("give either --label or --label-from-folder, not both")
    if label is not None:
        check_label(label)
    meta = dict(meta or {})
    if set_name:
        meta["Set"] = check_set(set_name)
    plan = ImportPlan(session=check_session_name(session))
    into_name = Path(into.strip("/")).name if into else None
    for file, base in _audio_sources(paths):
        if into_name and base / into_name in paths and (base / into_name).is_dir():
            base = base / into_name  # --into wake/Test for a folder Test: wake/Test/..., not wake/Test/Test/...
        rel = file.relative_to(base).as_posix()
        dest = f"{into.strip('/')}/{rel}" if into else rel
        rec = plan_recording(project, file, dest, resample, mono)
        if pad:
            pad_short(project, rec)
        rec_label = label
        if label_from_folder:
            rec_label = file.parent.name
            check_label(rec_label, "folder name")
        if rec_label is not None:
            rec.metadata["keyword"] = rec_label
        rec.metadata.update(meta)
        plan.recordings.append(rec)
    resolve_names(project, plan)
    with progress_bar(len(plan.recordings) > 20) as bar:
        task = bar.add_task("labelling", total=len(plan.recordings))
        for rec in plan.recordings:
            rec.segments = segments_for(project, rec, rec.metadata.get("keyword"), segments)
            check_segments(project, rec, str(rec.source))
            bar.advance(task)
    return plan
