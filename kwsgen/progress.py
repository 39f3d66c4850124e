"""Progress on long work: a bar on a terminal, a plain line every few seconds otherwise."""

from __future__ import annotations

import sys
import time

from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn


def progress_bar(enabled: bool = True) -> Progress | LineProgress:
    """A transient bar on stderr (stdout stays for results, also when it is a closed pipe).

    When stderr is not a terminal (a log file, CI), long work still shows
    progress: a plain line every few seconds instead of a bar.
    """
    from rich.console import Console

    console = Console(stderr=True)
    if enabled and not console.is_terminal:
        return LineProgress()
    return Progress(
        TextColumn("{task.description}", markup=False),
        BarColumn(),
        MofNCompleteColumn(),
        TimeRemainingColumn(),
        transient=True,
        disable=not enabled,
        console=console,
    )


class LineProgress:
    """The part of rich's Progress that kwsgen uses, as a line on stderr at most every `every` seconds."""

    def __init__(self, every: float = 5.0) -> None:
        self.every = every
        self.tasks: dict[int, list] = {}  # id -> [description, completed, total]
        self.last = time.monotonic()

    def __enter__(self) -> LineProgress:
        return self

    def __exit__(self, *exc: object) -> None:
        pass

    def add_task(self, description: str, total: float | None = None, **_: object) -> int:
        self.tasks[len(self.tasks)] = [description, 0, total]
        return len(self.tasks) - 1

    def advance(self, task: int, advance: float = 1) -> None:
        self.update(task, advance=advance)

    def update(
        self,
        task: int,
        completed: float | None = None,
        advance: float | None = None,
        description: str | None = None,
        **_: object,
    ) -> None:
        entry = self.tasks[task]
        if description is not None:
            entry[0] = description
        if completed is not None:
            entry[1] = completed
        if advance is not None:
            entry[1] += advance
        if time.monotonic() - self.last >= self.every:
            self.last = time.monotonic()
            of = f" of {entry[2]:,.0f}" if entry[2] else ""
            print(f"{entry[0]}: {entry[1]:,.0f}{of}", file=sys.stderr, flush=True)
