"""The Google Speech Commands layout: kwsgen import speech-commands."""

from __future__ import annotations

import hashlib
import re
from pathlib import Path

from ...errors import KwsgenError
from ..autolabel import label_noise_recording
from ..project import AUDIO_SUFFIXES, TRAINING_SESSION, Project
from ..settings import UNKNOWN
from ..store import (
    Segment,
    check_session_name,
)
from .plan import (
    ImportPlan,
    check_segments,
    plan_recording,
    resolve_names,
)

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
