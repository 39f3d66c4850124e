"""Small edits of labels, sessions and metadata, safe against stale copies.

kwsgen studio (and a notebook) edit one recording's segments or a few
metadata cells at a time while the CLI may be changing the same files. Every
edit here therefore names what it was based on: the version of the
recording's segments, or the metadata cells' old values. Under the project
lock the file is read again; when it no longer matches, the edit is refused
with :class:`StaleEdit` and nothing is written. A person's edit is never
merged into a file that changed under them.
"""

from __future__ import annotations

import hashlib
import json
from collections import Counter
from dataclasses import dataclass

from ..errors import KwsgenError
from .project import TRAINING_SESSION, Project
from .settings import SETS
from .store import Metadata, Segment, Session, canonical_set, check_label, check_session_name
from .transaction import project_lock


class StaleEdit(KwsgenError):
    """The file changed on disk since the editor read it: reload, then edit again."""


def segments_version(segments: list[Segment]) -> str:
    """A short fingerprint of a recording's segments in one session (order does not matter)."""
    text = json.dumps(sorted((s.start, s.end, s.label) for s in segments))
    return hashlib.sha1(text.encode()).hexdigest()[:16]


def file_segments(session: Session, file: str) -> list[Segment]:
    return sorted((s for s in session.segments if s.file == file), key=lambda s: (s.start, s.end, s.label))


def _recording_length(project: Project, file: str) -> int:
    if not project.is_recording(file):
        raise KwsgenError(f"{file!r} is not one of the project's recordings", project.recordings_dir)
    return project.recording_info(file).frames


def check_segment(file: str, start: int, end: int, label: str, length: int) -> Segment:
    """One segment as an editor sends it: whole samples inside the recording, a plain label."""
    if isinstance(start, bool) or isinstance(end, bool) or not isinstance(start, int) or not isinstance(end, int):
        raise KwsgenError(f"{file}: a segment's start and end must be whole numbers of samples")
    if not 0 <= start < end:
        raise KwsgenError(f"{file}: segment {start}..{end} must start at 0 or later and end after its start")
    if end > length:
        raise KwsgenError(f"{file}: segment {start}..{end} runs past the end of the recording ({length} samples)")
    check_label(label)
    return Segment(file, start, end, label)


def set_file_segments(
    project: Project, session_name: str, file: str, segments: list[tuple[int, int, str]], base_version: str
) -> str:
    """Replace one recording's segments in a session; returns their new version.

    ``base_version`` is :func:`segments_version` of the segments the editor
    started from; when the file holds others now, :class:`StaleEdit` is
    raised and nothing changes. Other recordings' segments are kept as they
    are on disk.
    """
    check_session_name(session_name)
    length = _recording_length(project, file)
    new = [check_segment(file, start, end, label, length) for start, end, label in segments]
    if len(set(new)) != len(new):
        raise KwsgenError(f"{file}: the same segment is listed twice")
    with project_lock(project.root):
        session = project.load_session(session_name, create=True)
        current = file_segments(session, file)
        if segments_version(current) != base_version:
            raise StaleEdit(
                f"the segments of {file} in session {session_name!r} changed on disk since they were loaded "
                "(by a kwsgen command or another window); nothing was saved: reload and make the change again",
                project.session_path(session_name),
            )
        session.segments = [s for s in session.segments if s.file != file] + new
        project.save_session(session)
    return segments_version(new)


# ---- sessions -------------------------------------------------------------------


def create_session(project: Project, name: str, copy_from: str | None = None) -> Session:
    """A new label session: empty, or a copy of another one."""
    check_session_name(name)
    with project_lock(project.root):
        if project.has_session(name):
            raise KwsgenError(f"a label session named {name!r} already exists", project.session_path(name))
        source = project.load_session(copy_from) if copy_from else Session(name)
        session = Session(name, list(source.segments))
        project.save_session(session)
    return session


def rename_session(project: Project, old: str, new: str) -> None:
    """Rename a label session; the Training Session keeps its name (training reads it)."""
    check_session_name(new)
    if old == TRAINING_SESSION:
        raise KwsgenError(f"the {TRAINING_SESSION!r} is what kwsgen train reads; copy it instead of renaming it")
    with project_lock(project.root):
        session = project.load_session(old)
        if project.has_session(new):
            raise KwsgenError(f"a label session named {new!r} already exists", project.session_path(new))
        project.save_session(Session(new, session.segments))
        project.session_path(old).unlink()


# ---- metadata -------------------------------------------------------------------


def check_metadata_value(column: str, value: str) -> str:
    value = value.strip()
    if any(ch in value for ch in "\n\r\x00"):
        raise KwsgenError(f"metadata {column!r}: a value must be one line of text")
    if column == "Set" and value:
        try:
            canonical_set(value)
        except ValueError:
            raise KwsgenError(f"Set {value!r} is not a Set (use {', '.join(SETS)} or leave it empty)") from None
    if column == "file":
        raise KwsgenError("the file column names the recording and cannot be edited")
    return value


def set_metadata(project: Project, edits: dict[str, dict[str, str]], base: dict[str, dict[str, str]]) -> Metadata:
    """Set metadata cells: ``edits[file][column] = value``.

    ``base`` holds the values the editor saw for every edited cell; a cell
    that holds something else on disk now refuses the whole edit
    (:class:`StaleEdit`). New columns are added.
    """
    unknown = sorted(f for f in edits if not project.is_recording(f))
    if unknown:
        raise KwsgenError(f"not in recordings/: {', '.join(unknown[:3])}", project.recordings_dir)
    clean = {f: {c: check_metadata_value(c, v) for c, v in row.items()} for f, row in edits.items()}
    with project_lock(project.root):
        md = project.load_metadata()
        changed = [
            f"{file} {column}"
            for file, row in clean.items()
            for column in row
            if md.get(file, column) != base.get(file, {}).get(column, "")
        ]
        if changed:
            raise StaleEdit(
                f"metadata changed on disk since it was loaded ({', '.join(changed[:3])}); nothing was saved: "
                "reload and make the change again",
                project.metadata_path,
            )
        for file, row in clean.items():
            md.set(file, row)
        project.save_metadata(md)
    return md


@dataclass(frozen=True)
class SplitPlan:
    """Which Set each value of a metadata column (a speaker) goes to."""

    column: str
    sets: dict[str, str]  # value -> Set
    recordings: dict[str, str]  # file -> Set
    without_value: list[str]  # recordings with no value in the column: left as they are

    def counts(self) -> dict[str, tuple[int, int]]:
        """Set -> (values, recordings)."""
        values = Counter(self.sets.values())
        files = Counter(self.recordings.values())
        return {s: (values[s], files[s]) for s in SETS}


def plan_split(project: Project, column: str, validate_percent: float, test_percent: float) -> SplitPlan:
    """Validate and Test shares chosen by a column's values, so one speaker's recordings share a Set.

    The values are ordered by a hash of their text (stable, and unrelated to
    names or import order), and the first ones go to Test, the next to
    Validate, the rest to Train, in the given shares of the values.
    """
    for name, pct in (("validate", validate_percent), ("test", test_percent)):
        if not 0 <= pct < 100:
            raise KwsgenError(f"the {name} share must be between 0 and 100 percent, not {pct:g}")
    if validate_percent + test_percent >= 100:
        raise KwsgenError("the validate and test shares leave nothing to train on; keep their sum under 100")
    md = project.load_metadata()
    if column not in md.columns:
        known = ", ".join(md.columns)
        raise KwsgenError(f"metadata has no column {column!r} (columns: {known})", project.metadata_path)
    if column in ("file", "Set"):
        raise KwsgenError(f"split by a column that groups recordings, such as speaker, not {column!r}")
    present = set(project.recording_files())
    by_value: dict[str, list[str]] = {}
    without = []
    for file in sorted(present):
        value = md.get(file, column)
        if value:
            by_value.setdefault(value, []).append(file)
        else:
            without.append(file)
    if not by_value:
        raise KwsgenError(f"no recording has a value in column {column!r}", project.metadata_path)
    order = sorted(by_value, key=lambda v: hashlib.sha1(f"kwsgen-split:{v}".encode()).hexdigest())
    n_test = round(len(order) * test_percent / 100)
    n_validate = round(len(order) * validate_percent / 100)
    sets = {}
    for i, value in enumerate(order):
        sets[value] = "Test" if i < n_test else "Validate" if i < n_test + n_validate else "Train"
    recordings = {f: sets[v] for v, files in by_value.items() for f in files}
    return SplitPlan(column, sets, recordings, without)


def apply_split(project: Project, plan: SplitPlan) -> int:
    """Write the plan's Sets into metadata.csv; returns how many recordings changed Set."""
    with project_lock(project.root):
        md = project.load_metadata()
        changed = [f for f, s in plan.recordings.items() if md.get(f, "Set") != s]
        for file in changed:
            md.set(file, {"Set": plan.recordings[file]})
        project.save_metadata(md)
    return len(changed)
