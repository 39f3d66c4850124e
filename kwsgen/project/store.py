"""The project's text files: metadata.csv and sessions/<name>.csv.

Both are plain CSV a person can edit, diff and keep in git. Reading is strict:
anything malformed raises a one-line error naming the file, the row and the
problem. Writing is atomic and sorted, so diffs stay small.
"""

from __future__ import annotations

import csv
import io
import re
from dataclasses import dataclass, field
from pathlib import Path

from ..errors import KwsgenError
from ..fsutil import atomic_write_text
from .settings import SETS, UNKNOWN

SESSION_COLUMNS = ("file", "label", "start", "end")
RESERVED_LABEL = "UNK"  # class 0 of every model: below the threshold, or Unknown
MAX_SAMPLE_INDEX = 2**31 - 1  # 37 hours at 16 kHz: anything beyond is a typo
_FORBIDDEN = re.compile(r"[/\\\"'`\x00-\x1f\x7f]")


@dataclass(frozen=True, order=True)
class Segment:
    """A labelled span [start, end) of a recording, in samples."""

    file: str
    start: int
    end: int
    label: str

    @property
    def length(self) -> int:
        return self.end - self.start

    @property
    def centre(self) -> int:
        return (self.start + self.end) // 2


@dataclass
class Session:
    name: str
    segments: list[Segment] = field(default_factory=list)

    def add(self, new: list[Segment]) -> int:
        """Add segments that are not already in the session; returns how many were new."""
        have = set(self.segments)
        fresh = [s for s in dict.fromkeys(new) if s not in have]
        self.segments.extend(fresh)
        return len(fresh)


@dataclass
class Metadata:
    """One row per recording: file, Set, then any other columns."""

    columns: list[str] = field(default_factory=lambda: ["file", "Set"])
    rows: dict[str, dict[str, str]] = field(default_factory=dict)
    # Recordings listed more than once: file -> the row numbers (kept for the checks).
    repeats: dict[str, list[int]] = field(default_factory=dict)
    repeat_sets: dict[str, set[str]] = field(default_factory=dict)

    def get(self, file: str, column: str, default: str = "") -> str:
        return self.rows.get(file, {}).get(column, default)

    def set(self, file: str, values: dict[str, str]) -> None:
        for column in values:
            check_column_name(column)
            if column not in self.columns:
                self.columns.append(column)
        row = self.rows.setdefault(file, {"file": file})
        row.update({k: str(v) for k, v in values.items()})


def check_label(name: str, where: str = "label") -> str:
    """Labels become C identifiers, file names and CSV cells: keep them plain."""
    if not isinstance(name, str) or not name.strip():
        raise KwsgenError(f"{where} must not be empty")
    if name != name.strip():
        raise KwsgenError(f"{where} {name!r} has leading or trailing spaces")
    if _FORBIDDEN.search(name):
        raise KwsgenError(f"{where} {name!r} contains a path separator, a quote or a control character")
    if len(name) > 64:
        raise KwsgenError(f"{where} {name!r} is longer than 64 characters")
    if name.startswith("."):
        raise KwsgenError(f"{where} {name!r} must not start with a dot")
    return name


def check_labels(labels: list[str]) -> list[str]:
    """The project's label list: valid names, no duplicates, Unknown spelled exactly."""
    for label in labels:
        check_label(label)
        if label.upper() == RESERVED_LABEL:
            raise KwsgenError(
                f"label {label!r} is reserved: the firmware reports {RESERVED_LABEL!r} when no keyword is "
                "sure enough; choose another name"
            )
    lowered: dict[str, str] = {}
    for label in labels:
        if label in lowered.values():
            raise KwsgenError(f"label {label!r} is listed twice")
        if label.lower() in lowered:
            raise KwsgenError(f"labels {lowered[label.lower()]!r} and {label!r} differ only in case")
        lowered[label.lower()] = label
    if UNKNOWN not in labels:
        near = [label for label in labels if label.lower() == "unknown"]
        hint = f': rename {near[0]!r} to "Unknown"' if near else ': add "Unknown" for noise and other words'
        raise KwsgenError(f'labels must include "Unknown", spelled exactly{hint}')
    if len(labels) < 2:
        raise KwsgenError('labels need at least one keyword besides "Unknown"')
    return labels


def check_session_name(name: str) -> str:
    if not name or not name.strip() or name != name.strip():
        raise KwsgenError(f"session name {name!r} must not be empty or start or end with spaces")
    if _FORBIDDEN.search(name) or name.startswith(".") or len(name) > 100:
        raise KwsgenError(
            f"session name {name!r} must be at most 100 characters, without /, \\, quotes or a leading dot"
        )
    return name


def check_model_name(name: str) -> str:
    """A model is the folder models/<name>/: one plain folder name, never a path."""
    if (
        not name
        or name != name.strip()
        or name in (".", "..")
        or name.startswith(".")
        or _FORBIDDEN.search(name)
        or len(name) > 100
    ):
        raise KwsgenError(
            f"model name {name!r} must be a plain folder name (1 to 100 characters, no slashes, quotes "
            "or leading dot): models are written to models/<name>/"
        )
    return name


def check_column_name(name: str) -> str:
    if not name or name != name.strip() or _FORBIDDEN.search(name) or len(name) > 64:
        raise KwsgenError(f"metadata column {name!r} must be 1 to 64 plain characters without quotes or slashes")
    return name


def canonical_set(value: str) -> str | None:
    """Train / Validate / Test, or None for an empty cell."""
    value = value.strip()
    if not value:
        return None
    for s in SETS:
        if value == s:
            return s
    raise ValueError(value)


def decode_text(path: Path) -> str:
    raw = path.read_bytes()
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = raw[: exc.start].count(b"\n") + 1
        raise KwsgenError(f"is not UTF-8 text (byte {exc.start}, line {line}); save it as UTF-8", path) from None
    if "\x00" in text:
        raise KwsgenError("contains NUL characters: is it really a CSV text file?", path)
    return text


def read_csv(path: Path) -> tuple[list[str], list[tuple[int, list[str]]]]:
    """Header and (line number, fields) rows; blank lines are skipped."""
    text = decode_text(path)
    try:
        rows = list(csv.reader(io.StringIO(text, newline="")))
    except csv.Error as exc:
        raise KwsgenError(f"is not valid CSV: {exc}", path) from None
    numbered = [(i + 1, r) for i, r in enumerate(rows) if any(cell.strip() for cell in r)]
    if not numbered:
        raise KwsgenError("is empty: it needs at least a header row", path)
    (_, header), body = numbered[0], numbered[1:]
    header = [h.strip() for h in header]
    if any(not h for h in header):
        raise KwsgenError(f"header has an empty column name: {','.join(header)}", path)
    seen = set()
    for h in header:
        if h in seen:
            raise KwsgenError(f"header names column {h!r} twice", path)
        seen.add(h)
    for line, row in body:
        if len(row) != len(header):
            raise KwsgenError(f"line {line} has {len(row)} fields but the header has {len(header)}", path)
    return header, [(line, [c.strip() for c in row]) for line, row in body]


def _parse_int(text: str, what: str, line: int, path: Path) -> int:
    try:
        value = int(text)
    except ValueError:
        raise KwsgenError(f"line {line}: {what} {text!r} is not a whole number of samples", path) from None
    if not 0 <= value <= MAX_SAMPLE_INDEX:
        raise KwsgenError(f"line {line}: {what} {value} is outside 0..{MAX_SAMPLE_INDEX}", path)
    return value


def load_session(path: Path, name: str) -> Session:
    header, rows = read_csv(path)
    if sorted(header) != sorted(SESSION_COLUMNS):
        extra = sorted(set(header) - set(SESSION_COLUMNS))
        missing = sorted(set(SESSION_COLUMNS) - set(header))
        detail = "; ".join(
            part
            for part in (
                f"unknown column(s) {', '.join(extra)}" if extra else "",
                f"missing column(s) {', '.join(missing)}" if missing else "",
            )
            if part
        )
        raise KwsgenError(f"a session file needs exactly the columns {','.join(SESSION_COLUMNS)}: {detail}", path)
    idx = {h: i for i, h in enumerate(header)}
    segments = []
    for line, row in rows:
        file, label = row[idx["file"]], row[idx["label"]]
        if not file:
            raise KwsgenError(f"line {line}: file is empty", path)
        try:
            check_label(label)
        except KwsgenError as exc:
            raise KwsgenError(f"line {line}: {exc}", path) from None
        start = _parse_int(row[idx["start"]], "start", line, path)
        end = _parse_int(row[idx["end"]], "end", line, path)
        if end <= start:
            raise KwsgenError(f"line {line}: end {end} must be after start {start}", path)
        segments.append(Segment(file, start, end, label))
    return Session(name, segments)


def session_text(session: Session) -> str:
    out = io.StringIO(newline="")
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(SESSION_COLUMNS)
    for s in sorted(session.segments):
        writer.writerow([s.file, s.label, s.start, s.end])
    return out.getvalue()


def save_session(path: Path, session: Session) -> None:
    atomic_write_text(path, session_text(session))


def load_metadata(path: Path) -> Metadata:
    if not path.exists():
        return Metadata()
    header, rows = read_csv(path)
    if "file" not in header:
        raise KwsgenError('needs a "file" column naming each recording', path)
    for column in header:
        try:
            check_column_name(column)
        except KwsgenError as exc:
            raise KwsgenError(str(exc), path) from None
    columns = ["file", *[h for h in header if h != "file"]]
    if "Set" not in columns:
        columns.insert(1, "Set")
    md = Metadata(columns=columns)
    first_line: dict[str, int] = {}
    for line, row in rows:
        values = dict(zip(header, row, strict=True))
        file = values["file"]
        if not file:
            raise KwsgenError(f"line {line}: file is empty", path)
        set_value = values.get("Set", "")
        if set_value:
            try:
                canonical_set(set_value)
            except ValueError:
                hint = next((s for s in SETS if s.lower() == set_value.lower()), None)
                fix = f" (write {hint!r})" if hint else f" (use {', '.join(SETS)})"
                raise KwsgenError(f"line {line}: Set {set_value!r} is not a Set{fix}", path) from None
        if file in md.rows:
            md.repeats.setdefault(file, [first_line[file]]).append(line)
            md.repeat_sets.setdefault(file, {md.rows[file].get("Set", "")}).add(set_value)
            continue
        first_line[file] = line
        md.rows[file] = values
    return md


def metadata_text(md: Metadata) -> str:
    out = io.StringIO(newline="")
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(md.columns)
    for file in sorted(md.rows):
        row = md.rows[file]
        writer.writerow([row.get(c, "") for c in md.columns])
    return out.getvalue()


def save_metadata(path: Path, md: Metadata) -> None:
    atomic_write_text(path, metadata_text(md))
