"""Metadata CSV files: kwsgen import metadata."""

from __future__ import annotations

from pathlib import Path

from ...errors import KwsgenError
from ..project import Project
from ..store import (
    check_column_name,
    read_csv,
)
from .plan import (
    ImportPlan,
    check_set,
)


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
