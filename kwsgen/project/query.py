"""Selecting segments: by session, labels and metadata, e.g. ``Set in [Train, Validate]``."""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from ..errors import KwsgenError
from .check import CheckReport, check_session
from .project import TRAINING_SESSION, Project
from .store import Metadata, Segment

_CONDITION = re.compile(r"^\s*([^\s=!]+)\s*(not\s+in|in|==|=|!=)\s*(.+?)\s*$", re.IGNORECASE)


@dataclass(frozen=True)
class Condition:
    column: str
    values: tuple[str, ...]
    negate: bool = False

    def matches(self, row: dict[str, str]) -> bool:
        return (row.get(self.column, "") in self.values) != self.negate

    def __str__(self) -> str:
        op = "not in" if self.negate else "in"
        return f"{self.column} {op} [{', '.join(self.values)}]"


def parse_condition(text: str) -> Condition:
    """``Set in [Train, Validate]``, ``speaker = alice``, ``Set != Test``, ``mic not in [a, b]``."""
    m = _CONDITION.match(text)
    if not m:
        raise KwsgenError(
            f"cannot read the condition {text!r}; write e.g. 'Set in [Train, Validate]' or 'speaker = alice'"
        )
    column, op, rhs = m.group(1), re.sub(r"\s+", " ", m.group(2).lower()), m.group(3)
    if op in ("in", "not in"):
        if not (rhs.startswith("[") and rhs.endswith("]")):
            raise KwsgenError(f"in the condition {text!r}, the values after '{op}' go in brackets: [a, b]")
        values = tuple(v.strip().strip("\"'") for v in rhs[1:-1].split(",") if v.strip())
        if not values:
            raise KwsgenError(f"the condition {text!r} lists no values")
    else:
        values = (rhs.strip("\"'"),)
    return Condition(column, values, negate=op in ("not in", "!="))


@dataclass(frozen=True)
class Query:
    session: str = TRAINING_SESSION
    labels: tuple[str, ...] | None = None
    where: tuple[Condition, ...] = field(default_factory=tuple)

    @classmethod
    def from_strings(cls, session: str = TRAINING_SESSION, labels=None, where=()) -> Query:
        return cls(session, tuple(labels) if labels else None, tuple(parse_condition(w) for w in where))


@dataclass(frozen=True)
class Selected:
    segment: Segment
    metadata: dict[str, str]

    @property
    def set(self) -> str:
        return self.metadata.get("Set", "")


def select(
    project: Project, query: Query, report: CheckReport | None = None, metadata: Metadata | None = None
) -> list[Selected]:
    """Usable segments (the rules applied) that match the query, with their recording's metadata."""
    md = metadata if metadata is not None else project.load_metadata()
    report = report or check_session(project, query.session, md)
    if query.labels:
        unknown = sorted(set(query.labels) - set(project.labels))
        if unknown:
            raise KwsgenError(f"labels {', '.join(unknown)} are not in the project ({', '.join(project.labels)})")
    for cond in query.where:
        if cond.column not in md.columns:
            raise KwsgenError(f"metadata has no column {cond.column!r} (columns: {', '.join(md.columns)})")
    out = []
    for seg in report.usable:
        row = md.rows.get(seg.file, {})
        if query.labels and seg.label not in query.labels:
            continue
        if all(c.matches(row) for c in query.where):
            out.append(Selected(seg, dict(row)))
    return out
