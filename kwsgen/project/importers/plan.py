"""The import engine: plans, their checks, and applying one all at once (shared by every format)."""

from __future__ import annotations

import json
import re
import shutil
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from ...audio import AudioInfo, checked_info, read_audio, write_wav
from ...errors import KwsgenError
from ...progress import progress_bar
from ..autolabel import centred_segment, find_utterances, label_keyword_recording, label_noise_recording
from ..check import _plural
from ..features import sha256_file
from ..project import AUDIO_SUFFIXES, TRAINING_SESSION, Project
from ..settings import SETS, UNKNOWN
from ..store import (
    Metadata,
    Segment,
    Session,
    canonical_set,
    check_column_name,
    check_session_name,
    metadata_text,
    session_text,
)
from ..transaction import Transaction, project_lock

SEGMENT_MODES = ("auto", "whole", "none")


@dataclass
class PlannedRecording:
    source: Path
    dest: str
    info: AudioInfo
    convert: bool
    metadata: dict[str, str] = field(default_factory=dict)
    segments: list[Segment] = field(default_factory=list)
    # Filled while planning when the source matches a recording already in the project.
    existing: bool = False
    pad_to: int = 0  # --pad: the copy is the clip centred in this many samples of silence


@dataclass
class ImportPlan:
    session: str = TRAINING_SESSION  # where the recordings' own segments go
    recordings: list[PlannedRecording] = field(default_factory=list)
    # More segments, by session name (label files may name several sessions).
    extra_segments: dict[str, list[Segment]] = field(default_factory=dict)
    # Metadata for recordings already in the project, by recording name.
    extra_metadata: dict[str, dict[str, str]] = field(default_factory=dict)

    def sessions(self) -> dict[str, list[Segment]]:
        out = {self.session: [s for r in self.recordings for s in r.segments]}
        for name, segs in self.extra_segments.items():
            out.setdefault(name, []).extend(segs)
        return {name: segs for name, segs in out.items() if segs or name == self.session}


@dataclass
class ImportSummary:
    copied: int = 0
    converted: int = 0
    already_present: int = 0
    segments_added: dict[str, int] = field(default_factory=dict)
    metadata_rows: int = 0
    updated: int = 0  # recordings already in the project whose metadata or segments changed (--update)
    short: list[str] = field(default_factory=list)  # new recordings shorter than [segments] min_length


# ---- shared planning helpers ------------------------------------------------------


def parse_meta(items: list[str]) -> dict[str, str]:
    """--meta speaker=alice --meta mic=pdm -> dict, with the Set checked."""
    out = {}
    for item in items:
        if "=" not in item:
            raise KwsgenError(f"--meta needs KEY=VALUE, got {item!r}")
        key, value = (part.strip() for part in item.split("=", 1))
        check_column_name(key)
        if key == "file":
            raise KwsgenError("--meta cannot set the file column")
        out[key] = value
    if "Set" in out:
        out["Set"] = check_set(out["Set"])
    return out


def check_set(value: str) -> str:
    try:
        s = canonical_set(value)
    except ValueError:
        s = None
    if s is None:
        hint = next((x for x in SETS if x.lower() == value.strip().lower()), None)
        raise KwsgenError(
            f"Set {value!r} is not one of {', '.join(SETS)}" + (f" (did you mean {hint}?)" if hint else "")
        )
    return s


def source_info(path: Path, resample: bool, mono: bool) -> tuple[AudioInfo, bool]:
    """The source's format, and whether it must be converted; errors name the file."""
    info = checked_info(path)
    wrong_format = info.sample_rate != 16000 or info.subtype != "PCM_16"
    needs = wrong_format or info.channels != 1
    if (info.channels != 1 and not mono) or (wrong_format and not resample):
        read_audio(path, resample=resample, mono=mono)  # raises the precise one-line message
    return info, needs


def _converted_name(dest: str) -> str:
    return str(Path(dest).with_suffix(".flac").as_posix())


_UNSAFE = re.compile(r"[\\\"'`\x00-\x1f\x7f]")


def plan_recording(project: Project, source: Path, dest: str, resample: bool, mono: bool) -> PlannedRecording:
    if not source.is_file():
        raise KwsgenError("file not found", source)
    info, convert = source_info(source, resample, mono)
    original = dest
    # Quotes and control characters break C strings, CSV cells and shells: the copy gets "_"
    # instead, and metadata keeps the name it had.
    dest = _UNSAFE.sub("_", dest)
    if convert:
        dest = _converted_name(dest)
        info = AudioInfo(16000, 1, _converted_frames(info), "PCM_16", "FLAC")
    rec = PlannedRecording(source, dest, info, convert)
    if _UNSAFE.search(original):
        rec.metadata["original_name"] = source.name
    return rec


def _converted_frames(info: AudioInfo) -> int:
    from math import gcd

    g = gcd(info.sample_rate, 16000)
    up, down = 16000 // g, info.sample_rate // g
    return -(-info.frames * up // down)  # resample_poly's output length: ceil(n * up / down)


def _dest_ok(dest: str) -> str:
    parts = Path(dest).parts
    if Path(dest).is_absolute() or any(p in ("..", "") or p.startswith(".") for p in parts):
        raise KwsgenError(f"recording name {dest!r} must be a relative path without '..' or hidden parts")
    for p in parts:
        if _UNSAFE.search(p):
            raise KwsgenError(f"recording name {dest!r} contains a quote, a backslash or a control character")
    if not dest.lower().endswith(AUDIO_SUFFIXES):
        raise KwsgenError(f"recording name {dest!r} must end in .wav or .flac")
    return dest


def resolve_names(project: Project, plan: ImportPlan) -> None:
    """Refuse two sources with one name; recognise sources that are already in the project."""
    by_dest: dict[str, Path] = {}
    for rec in plan.recordings:
        _dest_ok(rec.dest)
        if rec.dest in by_dest:
            raise KwsgenError(
                f"two files would both become recordings/{rec.dest}: {by_dest[rec.dest]} and "
                f"{rec.source}; rename one, or import them with different --into folders"
            )
        by_dest[rec.dest] = rec.source
        target = project.recording_path(rec.dest)
        if target.exists():
            plain = not rec.convert and not rec.pad_to
            same = plain and sha256_file(target) == sha256_file(rec.source)
            if not same and not plain:
                same = _same_samples(target, rec)
            if not same:
                raise KwsgenError(
                    f"recordings/{rec.dest} already exists and holds different audio; rename the new "
                    "file or import it with --into another folder",
                    rec.source,
                )
            rec.existing = True


def _same_samples(target: Path, rec: PlannedRecording) -> bool:
    try:
        return np.array_equal(read_audio(target), _read_planned(rec))
    except KwsgenError:
        return False


def pad_short(project: Project, rec: PlannedRecording) -> None:
    """--pad: a clip shorter than [segments] min_length becomes one of [segments] length, centred in silence.

    A device hears silence (or room noise) around a word; a clip cut tight
    around it would otherwise be skipped from training.
    """
    seg = project.settings.segments
    if rec.info.frames >= seg.min_length:
        return
    rec.metadata["padded_from_samples"] = str(rec.info.frames)
    rec.pad_to = seg.length
    rec.info = AudioInfo(16000, 1, seg.length, "PCM_16", rec.info.format)


def check_segments(project: Project, rec: PlannedRecording, where: str) -> None:
    for s in rec.segments:
        if s.label not in project.labels:
            raise KwsgenError(
                f"{where}: label {s.label!r} is not in the project ({', '.join(project.labels)}); "
                "add it to [project] labels in kwsgen.toml first"
            )
        if s.start < 0 or s.end <= s.start:
            raise KwsgenError(f"{where}: segment {s.start}..{s.end} of {rec.dest} has no length or starts before 0")
        if s.end > rec.info.frames:
            raise KwsgenError(
                f"{where}: segment {s.start}..{s.end} runs past the end of {rec.dest} ({rec.info.frames} samples)"
            )


def segments_for(
    project: Project, rec: PlannedRecording, label: str | None, mode: str, samples: np.ndarray | None = None
) -> list[Segment]:
    """Segments for a recording that carries one label (--segments auto|whole|none)."""
    if label is None or mode == "none":
        return []
    seg = project.settings.segments
    n = rec.info.frames
    if mode == "whole" or n <= seg.length:
        return [Segment(rec.dest, 0, n, label)]
    if samples is None:
        samples = _read_planned(rec)
    if label == UNKNOWN:
        return label_noise_recording(rec.dest, n, label, project.settings.autolabel, seg)
    if n <= seg.length * 3 // 2:
        found = find_utterances(samples, project.settings.autolabel)
        centre = max(found, key=lambda u: u.end - u.start).centre if found else n // 2
        start, end = centred_segment(centre, seg.length, n)
        return [Segment(rec.dest, start, end, label)]
    return label_keyword_recording(rec.dest, samples, label, project.settings.autolabel, seg)


def _read_planned(rec: PlannedRecording) -> np.ndarray:
    """The samples the project's copy will hold."""
    samples = read_audio(rec.source, resample=True, mono=True) if rec.convert else read_audio(rec.source)
    if rec.pad_to > len(samples):
        before = (rec.pad_to - len(samples)) // 2
        samples = np.pad(samples, (before, rec.pad_to - len(samples) - before))
    return samples


def apply_plan(project: Project, plan: ImportPlan, progress: bool = True, update: bool = False) -> ImportSummary:
    """Write a validated plan all at once: every recording, metadata row and segment, or nothing.

    Recordings are copied (or converted) into a staging folder first; then,
    holding the project lock, metadata and sessions are merged with the files
    as they are now and everything is committed together (see transaction.py).
    A recording already in the project keeps its metadata and segments unless
    update: otherwise the import refuses and says what would change.
    """
    summary = ImportSummary()
    with Transaction(project.root) as txn:
        with progress_bar(progress) as bar:
            task = bar.add_task("importing", total=len(plan.recordings))
            for rec in plan.recordings:
                if not rec.existing:
                    _stage_recording(txn, rec)
                    if rec.convert:
                        summary.converted += 1
                    else:
                        summary.copied += 1
                bar.advance(task)
        with project_lock(project.root):
            _recheck_targets(project, plan)
            summary.already_present = sum(rec.existing for rec in plan.recordings)
            md = project.load_metadata()
            sessions = {name: project.load_session(check_session_name(name), create=True) for name in plan.sessions()}
            changes = _changes_to_existing(plan, md, sessions)
            if changes and not update:
                raise KwsgenError(
                    f"{_plural(len(changes), 'recording')} already in the project would change: "
                    + "; ".join(changes[:3])
                    + (f"; and {len(changes) - 3} more" if len(changes) > 3 else "")
                    + ". Nothing was imported; pass --update to apply these changes"
                )
            summary.updated = len(changes)
            for rec in plan.recordings:
                if rec.metadata or rec.dest not in md.rows:
                    md.set(rec.dest, rec.metadata)
            for file, values in plan.extra_metadata.items():
                md.set(file, values)
            summary.metadata_rows = len(plan.recordings) + len(plan.extra_metadata)
            min_length = project.settings.segments.min_length
            summary.short = [r.dest for r in plan.recordings if not r.existing and r.info.frames < min_length]
            txn.stage_text(project.metadata_path.relative_to(project.root).as_posix(), metadata_text(md))
            replaced = {rec.dest for rec in plan.recordings if rec.existing} if update else set()
            for name, segs in plan.sessions().items():
                session = sessions[name]
                session.segments = [s for s in session.segments if s.file not in replaced]
                summary.segments_added[name] = session.add(segs)
                txn.stage_text(project.session_path(name).relative_to(project.root).as_posix(), session_text(session))
            txn.commit()
    return summary


def _stage_recording(txn: Transaction, rec: PlannedRecording) -> None:
    staged = txn.stage_path(f"recordings/{rec.dest}")
    if rec.convert or rec.pad_to:
        write_wav(staged, _read_planned(rec))
    else:
        with open(rec.source, "rb") as src, open(staged, "wb") as dst:
            shutil.copyfileobj(src, dst)


def _recheck_targets(project: Project, plan: ImportPlan) -> None:
    """Another import may have added a recording of the same name since planning."""
    for rec in plan.recordings:
        if not rec.existing and project.recording_path(rec.dest).exists():
            raise KwsgenError(
                f"recordings/{rec.dest} was added by another command while this import ran; "
                "nothing was imported: run the import again",
                rec.source,
            )


def _changes_to_existing(plan: ImportPlan, md: Metadata, sessions: dict[str, Session]) -> list[str]:
    """What importing recordings that are already in the project would change, one phrase per recording."""
    out = []
    new_segments: dict[str, set[Segment]] = {}
    for name, segs in plan.sessions().items():
        for s in segs:
            new_segments.setdefault(f"{name}\0{s.file}", set()).add(s)
    for rec in plan.recordings:
        if not rec.existing:
            continue
        parts = [
            f"{column} {md.get(rec.dest, column)!r} -> {value!r}"
            for column, value in rec.metadata.items()
            if rec.dest in md.rows and md.get(rec.dest, column) != value
        ]
        for name, session in sessions.items():
            have = {s for s in session.segments if s.file == rec.dest}
            new = new_segments.get(f"{name}\0{rec.dest}", set())
            if new and have and new != have:
                parts.append(f"segments in {name!r} {_spans(have)} -> {_spans(new)}")
        if parts:
            out.append(f"{rec.dest}: {', '.join(parts)}")
    return out


def _spans(segments: set[Segment]) -> str:
    return ", ".join(f"{s.label} {s.start}..{s.end}" for s in sorted(segments))


def positioned_segment(project: Project, dest: str, start: int, end: int, label: str, n: int, as_is: bool) -> Segment:
    """Regions shorter than a segment (a word marked tightly) become a default-length segment centred on them."""
    length = project.settings.segments.length
    if as_is or end - start >= length:
        return Segment(dest, start, end, label)
    s, e = centred_segment((start + end) // 2, length, n)
    return Segment(dest, s, e, label)


def _load_json(path: Path) -> object:
    from ..store import decode_text

    try:
        return json.loads(decode_text(path))
    except json.JSONDecodeError as exc:
        raise KwsgenError(f"is not valid JSON: {exc}", path) from None
