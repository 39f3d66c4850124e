"""Bringing recordings and labels into a project.

Every importer first builds a complete plan (which files to copy or convert,
which metadata and segments to add) and validates all of it; only a plan
without errors is applied. Bad input therefore leaves the project exactly as
it was. Sources are only read: recordings are copied into recordings/, and
converted copies are written there when --resample/--mono is given.
"""

from __future__ import annotations

import hashlib
import json
import re
import shutil
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from ..audio import AudioInfo, checked_info, read_audio, write_wav
from ..errors import KwsgenError
from ..progress import progress_bar
from .autolabel import centred_segment, find_utterances, label_keyword_recording, label_noise_recording
from .features import sha256_file
from .project import AUDIO_SUFFIXES, TRAINING_SESSION, Project
from .settings import SETS, UNKNOWN
from .store import (
    Metadata,
    Segment,
    Session,
    canonical_set,
    check_column_name,
    check_label,
    check_session_name,
    metadata_text,
    read_csv,
    session_text,
)
from .transaction import Transaction, project_lock

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
        if re.search(r"[\\\"'`\x00-\x1f\x7f]", p):
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


def _plural(n: int, word: str) -> str:
    return f"{n} {word}{'' if n == 1 else 's'}"


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


# ---- WAV/FLAC files and folders -------------------------------------------------------------


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


# ---- Speech Commands layout -------------------------------------------------------------------

_SC_NAME = re.compile(r"^(?:(?P<word>[a-z]+)_)?(?P<speaker>[0-9a-f]{8})_nohash_(?P<n>\d+)$")
NOISE_FOLDERS = ("_background_noise_", "background_noise")


def speech_commands_speaker(stem: str) -> str | None:
    m = _SC_NAME.match(stem)
    return m.group("speaker") if m else None


def split_by_key(key: str, split: tuple[int, int, int]) -> str:
    """A stable Set for a speaker (or file): the same key always lands in the same Set."""
    bucket = int(hashlib.sha1(key.encode()).hexdigest(), 16) % 100
    if bucket < split[0]:
        return "Train"
    return "Validate" if bucket < split[0] + split[1] else "Test"


def _list_file(folder: Path, name: str) -> set[str]:
    path = folder / name
    if not path.exists():
        return set()
    return {line.strip() for line in path.read_text(encoding="utf-8").splitlines() if line.strip()}


def plan_speech_commands(
    project: Project,
    folder: Path,
    words: list[str] | None = None,
    max_per_word: int | None = None,
    split: tuple[int, int, int] = (80, 10, 10),
    session: str = TRAINING_SESSION,
    into: str = "speech_commands",
    noise_dirs: list[Path] | None = None,
) -> ImportPlan:
    """One folder per word; words that are not keywords, _unknown_, _silence_ and noise become Unknown.

    Sets come from validation_list.txt / testing_list.txt when the folder has
    them, else from a hash of the speaker, so a speaker's clips share one Set.
    """
    if not folder.is_dir():
        raise KwsgenError("is not a folder", folder)
    if sum(split) != 100 or min(split) < 0:
        raise KwsgenError("--split needs three percentages (Train, Validate, Test) that add up to 100")
    keywords = [w for w in (words or [label for label in project.labels if label != UNKNOWN])]
    for w in keywords:
        if w not in project.labels:
            raise KwsgenError(f"word {w!r} is not a project label ({', '.join(project.labels)})")
    validation, testing = _list_file(folder, "validation_list.txt"), _list_file(folder, "testing_list.txt")
    plan = ImportPlan(session=check_session_name(session))
    subfolders = sorted(p for p in folder.iterdir() if p.is_dir() and not p.name.startswith("."))
    if not subfolders:
        raise KwsgenError("holds no word folders; a Speech Commands folder has one subfolder per word", folder)
    noise = [p for p in subfolders if p.name in NOISE_FOLDERS] + list(noise_dirs or [])
    for word_dir in subfolders:
        if word_dir.name in NOISE_FOLDERS:
            continue
        label = word_dir.name if word_dir.name in keywords else UNKNOWN
        files = sorted(f for f in word_dir.iterdir() if f.suffix.lower() in AUDIO_SUFFIXES)
        if max_per_word is not None:
            files = sorted(files, key=lambda f: hashlib.sha1(f.name.encode()).hexdigest())[:max_per_word]
            files.sort()
        for f in files:
            rel = f"{word_dir.name}/{f.name}"
            speaker = speech_commands_speaker(f.stem) or f"{word_dir.name}:{f.stem}"
            if rel in validation or rel.replace(".flac", ".wav") in validation:
                set_name = "Validate"
            elif rel in testing or rel.replace(".flac", ".wav") in testing:
                set_name = "Test"
            else:
                set_name = split_by_key(speaker, split)
            rec = plan_recording(project, f, f"{into}/{rel}" if into else rel, resample=False, mono=False)
            word = word_dir.name
            m = _SC_NAME.match(f.stem)
            if word.startswith("_") and m and m.group("word"):
                word = m.group("word")
            rec.metadata = {"Set": set_name, "speaker": speaker, "word": word, "keyword": label}
            rec.segments = (
                [Segment(rec.dest, 0, rec.info.frames, label)]
                if rec.info.frames <= project.settings.segments.length
                else []
            )
            plan.recordings.append(rec)
    for noise_dir in noise:
        for f in sorted(p for p in noise_dir.iterdir() if p.suffix.lower() in AUDIO_SUFFIXES):
            rel = f"_background_noise_/{f.name}"
            rec = plan_recording(project, f, f"{into}/{rel}" if into else rel, resample=False, mono=False)
            rec.metadata = {
                "Set": split_by_key(f"noise:{f.stem}", split),
                "speaker": f"noise:{f.stem}",
                "word": "_background_noise_",
                "keyword": UNKNOWN,
            }
            rec.segments = label_noise_recording(
                rec.dest, rec.info.frames, UNKNOWN, project.settings.autolabel, project.settings.segments
            )
            plan.recordings.append(rec)
    if not plan.recordings:
        raise KwsgenError("holds no .wav or .flac files in its word folders", folder)
    resolve_names(project, plan)
    for rec in plan.recordings:
        check_segments(project, rec, str(rec.source))
    return plan


# ---- label files with positions ---------------------------------------------------------------


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
    from .store import decode_text

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


def positioned_segment(project: Project, dest: str, start: int, end: int, label: str, n: int, as_is: bool) -> Segment:
    """Regions shorter than a segment (a word marked tightly) become a default-length segment centred on them."""
    length = project.settings.segments.length
    if as_is or end - start >= length:
        return Segment(dest, start, end, label)
    s, e = centred_segment((start + end) // 2, length, n)
    return Segment(dest, s, e, label)


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


def _load_json(path: Path) -> object:
    from .store import decode_text

    try:
        return json.loads(decode_text(path))
    except json.JSONDecodeError as exc:
        raise KwsgenError(f"is not valid JSON: {exc}", path) from None


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


# ---- metadata CSV -------------------------------------------------------------------------------


def plan_metadata(project: Project, csv_path: Path, skip_missing: bool = False) -> ImportPlan:
    """Merge a CSV with a file column (recording names) and any other columns into metadata.csv."""
    header, rows = read_csv(csv_path)
    if "file" not in header:
        raise KwsgenError('needs a "file" column naming recordings (as in metadata.csv)', csv_path)
    for h in header:
        try:
            check_column_name(h)
        except KwsgenError as exc:
            raise KwsgenError(str(exc), csv_path) from None
    present = set(project.recording_files())
    plan = ImportPlan()
    missing = []
    for line, row in rows:
        values = dict(zip(header, row, strict=True))
        file = values.pop("file")
        if file not in present:
            missing.append(f"{file} (line {line})")
            continue
        if values.get("Set"):
            try:
                values["Set"] = check_set(values["Set"])
            except KwsgenError as exc:
                raise KwsgenError(f"line {line}: {exc}", csv_path) from None
        if file in plan.extra_metadata:
            raise KwsgenError(f"line {line}: {file} is listed twice", csv_path)
        plan.extra_metadata[file] = values
    if missing and not skip_missing:
        raise KwsgenError(
            f"names recordings that are not in the project: {', '.join(missing[:3])}"
            + (f" and {len(missing) - 3} more" if len(missing) > 3 else "")
            + " (use --skip-missing to ignore them)",
            csv_path,
        )
    return plan
