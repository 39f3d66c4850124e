"""Writing a label session out: Audacity label tracks, or one CSV with metadata."""

from __future__ import annotations

import csv
import io
from collections import defaultdict
from pathlib import Path

from ..errors import KwsgenError
from ..fsutil import atomic_write_text
from .project import Project
from .store import Segment


def _refuse_existing(paths: list[Path], force: bool) -> None:
    existing = [p for p in paths if p.exists()]
    if existing and not force:
        raise KwsgenError(
            f"{existing[0]} already exists"
            + (f" (and {len(existing) - 1} more)" if len(existing) > 1 else "")
            + "; choose another --out or add --force to overwrite"
        )


def audacity_text(segments: list[Segment], rate: int = 16000) -> str:
    return "".join(f"{s.start / rate:.6f}\t{s.end / rate:.6f}\t{s.label}\n" for s in sorted(segments))


def export_audacity(project: Project, session: str, out: Path, force: bool = False) -> list[Path]:
    """One label file per recording, at out/<recording path without extension>.txt."""
    by_file: dict[str, list[Segment]] = defaultdict(list)
    for s in project.load_session(session).segments:
        by_file[s.file].append(s)
    if out.exists() and not out.is_dir():
        raise KwsgenError("exists and is not a folder", out)
    targets = {file: out / Path(file).with_suffix(".txt") for file in by_file}
    _refuse_existing(list(targets.values()), force)
    for file, path in targets.items():
        atomic_write_text(path, audacity_text(by_file[file]))
    return list(targets.values())


def export_csv(project: Project, session: str, out: Path, force: bool = False) -> Path:
    """The session's segments with times in seconds and each recording's metadata."""
    md = project.load_metadata()
    extra = [c for c in md.columns if c != "file"]
    _refuse_existing([out], force)
    buf = io.StringIO(newline="")
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow(["file", "label", "start", "end", "start_s", "end_s", *extra])
    for s in sorted(project.load_session(session).segments):
        writer.writerow(
            [
                s.file,
                s.label,
                s.start,
                s.end,
                f"{s.start / 16000:.6f}",
                f"{s.end / 16000:.6f}",
                *[md.get(s.file, c) for c in extra],
            ]
        )
    atomic_write_text(out, buf.getvalue())
    return out
