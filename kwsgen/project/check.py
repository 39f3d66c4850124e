"""The project's rules, each with an exact message, and which segments training may use.

Errors stop training; warnings name what is skipped and why. Nothing here
changes a file: a problem is reported, never "fixed" behind the user's back.
"""

from __future__ import annotations

import itertools
from collections import Counter, defaultdict
from dataclasses import dataclass, field

from ..errors import KwsgenError
from .project import Project
from .settings import SETS
from .store import Metadata, Segment, canonical_set
from .transaction import STATE_DIR, pending


@dataclass(frozen=True)
class Issue:
    level: str  # "error" or "warning"
    code: str
    message: str
    files: tuple[str, ...] = ()  # every recording concerned (the message names a few)


@dataclass
class CheckReport:
    session: str
    issues: list[Issue] = field(default_factory=list)
    usable: list[Segment] = field(default_factory=list)
    skipped: Counter = field(default_factory=Counter)  # reason -> segments
    sets: dict[str, str] = field(default_factory=dict)  # file -> Set of usable recordings

    @property
    def errors(self) -> list[Issue]:
        return [i for i in self.issues if i.level == "error"]

    @property
    def warnings(self) -> list[Issue]:
        return [i for i in self.issues if i.level == "warning"]

    def error(self, code: str, message: str) -> None:
        self.issues.append(Issue("error", code, message))

    def warn(self, code: str, message: str, files: list[str] | tuple[str, ...] = ()) -> None:
        self.issues.append(Issue("warning", code, message, tuple(dict.fromkeys(files))))

    def counts(self, labels: list[str]) -> dict[str, dict[str, int]]:
        """Usable segments per label and Set."""
        table = {label: dict.fromkeys(SETS, 0) for label in labels}
        for s in self.usable:
            table[s.label][self.sets[s.file]] += 1
        return table

    def raise_for_errors(self) -> None:
        if self.errors:
            raise KwsgenError(f"session {self.session!r}: " + "; ".join(i.message for i in self.errors))


def _plural(n: int, word: str) -> str:
    return f"{n} {word}{'' if n == 1 else 's'}"


def _examples(items: list[str], n: int = 3) -> str:
    shown = ", ".join(items[:n])
    return shown + (f" and {len(items) - n} more" if len(items) > n else "")


def recording_sets(md: Metadata, report: CheckReport) -> dict[str, str | None]:
    sets: dict[str, str | None] = {}
    for file, row in md.rows.items():
        sets[file] = canonical_set(row.get("Set", ""))
    two = sorted(f for f, values in md.repeat_sets.items() if len({v for v in values if v}) > 1)
    if two:
        lines = ", ".join(f"{f} (lines {', '.join(map(str, md.repeats[f]))})" for f in two[:3])
        report.warn(
            "metadata.two-sets",
            f"{_plural(len(two), 'recording')} in two Sets in metadata.csv: {lines}; "
            "keep one row each. Their segments are skipped",
            two,
        )
        for f in two:
            sets[f] = None
    repeated = sorted(f for f in md.repeats if f not in two)
    if repeated:
        report.warn(
            "metadata.repeated",
            f"{_plural(len(repeated), 'recording')} listed more than once in "
            f"metadata.csv: {_examples(repeated)}; the first row counts",
            repeated,
        )
    return sets


def check_session(project: Project, session_name: str, metadata: Metadata | None = None) -> CheckReport:
    """Apply every rule to one label session."""
    report = CheckReport(session_name)
    if pending(project.root):
        report.error(
            "project.unfinished-change",
            "a command that changed the project was stopped after committing and its change is not yet in "
            f"place; any writing kwsgen command finishes it (the project or {STATE_DIR}/ is not writable now)",
        )
    labels = project.labels
    settings = project.settings.segments
    md = metadata if metadata is not None else project.load_metadata()
    session = project.load_session(session_name)
    sets = recording_sets(md, report)
    present = set(project.recording_files())

    by_file: dict[str, list[Segment]] = defaultdict(list)
    for s in session.segments:
        by_file[s.file].append(s)

    skipped_by: dict[str, list[str]] = defaultdict(list)

    def skip(reason: str, seg: Segment) -> None:
        report.skipped[reason] += 1
        skipped_by[reason].append(f"{seg.file}@{seg.start}")

    candidates: list[Segment] = []
    for file in sorted(by_file):
        segs = sorted(by_file[file])
        if file not in present:
            for s in segs:
                skip("recording missing", s)
            continue
        n = project.recording_info(file).frames
        if file not in md.rows or sets.get(file) is None:
            for s in segs:
                skip("no Set" if file not in md.rows or not md.get(file, "Set") else "in two Sets", s)
            continue
        overlapping: set[Segment] = set()
        for a, b in itertools.pairwise(segs):
            if b.start < a.end - settings.max_overlap:
                overlapping.update((a, b))
        for s in segs:
            if s.label not in labels:
                skip("label not in project", s)
            elif s.end > n:
                skip("runs past the end of the file", s)
            elif s in overlapping:
                skip("overlaps another segment", s)
            elif s.length < settings.min_length:
                skip("shorter than min_length", s)
            else:
                candidates.append(s)
                report.sets[s.file] = sets[file]  # type: ignore[assignment]

    report.usable = candidates
    _report_skips(report, project, session, skipped_by, labels, settings.min_length, settings.max_overlap, md, present)
    _report_classes(report, labels)
    return report


def _report_skips(report, project, session, skipped_by, labels, min_length, max_overlap, md, present) -> None:
    messages = {
        "shorter than min_length": lambda k: (
            "segment.short",
            f"{_plural(k, 'segment')} shorter than {min_length} samples skipped from training "
            f"(min_length in kwsgen.toml)",
        ),
        "runs past the end of the file": lambda k: (
            "segment.past-end",
            f"{_plural(k, 'segment')} run past the end of their recording and are skipped",
        ),
        "overlaps another segment": lambda k: (
            "segment.overlap",
            f"{_plural(k, 'segment')} overlap a neighbour by more than {max_overlap} samples "
            "(max_overlap in kwsgen.toml) and are skipped",
        ),
        "label not in project": lambda k: (
            "segment.unknown-label",
            f"{_plural(k, 'segment')} carry labels that are not in the project "
            f"({', '.join(sorted({s.label for s in session.segments if s.label not in labels}))}); "
            f"add them to [project] labels or relabel them",
        ),
        "no Set": lambda k: (
            "metadata.no-set",
            f"{_plural(k, 'segment')} belong to recordings with no Set in metadata.csv "
            f"(give each recording Train, Validate or Test)",
        ),
        "in two Sets": lambda k: ("metadata.two-sets", f"{_plural(k, 'segment')} belong to recordings in two Sets"),
        "recording missing": lambda k: (
            "segment.missing-recording",
            f"{_plural(k, 'segment')} point to recordings that are not in recordings/",
        ),
    }
    for reason, count in report.skipped.items():
        code, text = messages[reason](count)
        if reason == "in two Sets":
            continue  # already reported per recording
        files = [] if reason == "recording missing" else [where.rsplit("@", 1)[0] for where in skipped_by[reason]]
        report.warn(code, f"{text}: {_examples(skipped_by[reason])}", files)
    no_set = sorted(f for f in md.rows if not md.get(f, "Set"))
    if no_set:
        report.warn(
            "metadata.recording-no-set",
            f"{_plural(len(no_set), 'recording')} with no Set in metadata.csv: {_examples(no_set)}",
            no_set,
        )
    labelled = {s.file for s in session.segments}
    unlabelled = sorted(f for f in present & set(md.rows) if md.get(f, "keyword") and f not in labelled)
    if unlabelled:
        report.warn(
            "recording.no-segments",
            f"{_plural(len(unlabelled), 'recording')} with a keyword in metadata.csv "
            f"{'has' if len(unlabelled) == 1 else 'have'} no segments in "
            f"session {session.name!r}, so training does not use them: {_examples(unlabelled)} "
            f"(kwsgen label auto -s {session.name!r} labels them)",
            unlabelled,
        )
    outside = sorted(f for f in present if project.links_outside(f))
    if outside:
        report.warn(
            "recording.outside",
            f"{_plural(len(outside), 'recording')} in recordings/ "
            f"{'is a link to a file' if len(outside) == 1 else 'are links to files'} outside it: {_examples(outside)}; "
            "training reads them, but kwsgen studio will not open them (it serves nothing outside the project): "
            "copy them into recordings/ to label them there",
            outside,
        )
    unlisted = sorted(present - set(md.rows))
    if unlisted:
        report.warn(
            "metadata.unlisted",
            f"{_plural(len(unlisted), 'recording')} in recordings/ have no row in metadata.csv: {_examples(unlisted)}",
            unlisted,
        )


def _report_classes(report: CheckReport, labels: list[str]) -> None:
    counts = report.counts(labels)
    for label in labels:
        if counts[label]["Train"] == 0:
            report.error("class.empty", f"label {label!r} has no usable Train segments")
    if not any(counts[label]["Validate"] for label in labels):
        report.warn(
            "sets.no-validate",
            "no usable Validate segments: give some recordings (other speakers) "
            "Set = Validate so training can stop early and be checked",
        )
