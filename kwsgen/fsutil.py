"""Atomic file writes: a crash or Ctrl-C leaves the old file or the new one, never half of one."""

from __future__ import annotations

import contextlib
import errno
import os
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import IO

_writes = 0


def fault_point(path: str | Path) -> None:
    """The fault-injection tests' hook: the Nth write of this process fails when KWSGEN_FAULT_WRITES=N.

    Every file kwsgen writes, and every rename that commits a change, passes
    here first. KWSGEN_FAULT_KIND says how the Nth one fails: "enospc" (the
    default) raises the OSError of a full disk; "SIGINT" or "SIGKILL" sends
    that signal to this process, as a user's Ctrl-C or a crash would. The
    tests use it to check that nothing is lost at any point.
    """
    global _writes
    limit = os.environ.get("KWSGEN_FAULT_WRITES")
    if not limit:
        return
    _writes += 1
    if _writes != int(limit):
        return
    kind = os.environ.get("KWSGEN_FAULT_KIND", "enospc")
    if kind == "enospc":
        raise OSError(errno.ENOSPC, "No space left on device (KWSGEN_FAULT_WRITES)", str(path))
    import signal

    os.kill(os.getpid(), getattr(signal, kind))
    time.sleep(1)  # a signal handled in Python arrives at the next bytecode; SIGKILL never returns


@contextlib.contextmanager
def atomic_open(path: str | Path, mode: str = "w", encoding: str | None = "utf-8") -> Iterator[IO]:
    """Write to a temporary file beside ``path``, then rename it into place."""
    path = Path(path)
    fault_point(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    binary = "b" in mode
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        # mkstemp makes 0600 files; give the result the mode a plain open() would.
        os.chmod(tmp, _existing_mode(path) or (0o666 & ~_umask()))
        with os.fdopen(fd, mode, encoding=None if binary else encoding) as handle:
            yield handle
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def _existing_mode(path: Path) -> int | None:
    try:
        return path.stat().st_mode & 0o777
    except FileNotFoundError:
        return None


def atomic_write_text(path: str | Path, text: str) -> None:
    with atomic_open(path, "w") as handle:
        handle.write(text)


def atomic_write_bytes(path: str | Path, data: bytes) -> None:
    with atomic_open(path, "wb") as handle:
        handle.write(data)


MANIFEST = ".kwsgen-generated.json"


class GeneratedFolder:
    """A folder kwsgen writes, which refuses to overwrite what a person changed.

    kwsgen records the sha256 of every file it writes in a manifest. Before
    writing again it compares: a file that differs from its recorded hash, or
    any file kwsgen did not write, is a user change, and writing stops with an
    error naming it unless `force`. Files are written atomically, and the
    manifest last.
    """

    def __init__(
        self,
        root: str | Path,
        force: bool = False,
        update: bool = False,
        build_outputs: tuple[str, ...] = (),
        project_root: str | Path | None = None,
    ) -> None:
        """update: add or replace some files and keep the others (kwsgen test beside kwsgen train).
        build_outputs: files and folders a build tool makes inside the folder (`.pio`, `build`);
        they are neither user changes nor kwsgen's, so they are left alone.
        project_root: the folder is inside this project; its files are staged and appear all at
        once in finish(), under the project lock (a model folder is never half old, half new)."""
        import json

        self.root = Path(root)
        self.project_root = Path(project_root) if project_root is not None else None
        self.txn = None  # the project's Transaction, begun at the first write
        self.build_outputs = build_outputs
        self.force = force
        self.update = update
        self.written: dict[str, str] = {}
        try:
            self.previous: dict[str, str] = json.loads((self.root / MANIFEST).read_text())["files"]
        except (FileNotFoundError, ValueError, KeyError, TypeError):
            self.previous = {}

    def user_changes(self) -> list[str]:
        """Files in the folder that kwsgen did not write as they are now."""
        import hashlib

        if not self.root.exists():
            return []
        changed = []
        for path in sorted(p for p in self.root.rglob("*") if p.is_file() and p.name != MANIFEST):
            rel = path.relative_to(self.root).as_posix()
            if any(rel == out or rel.startswith(out + "/") for out in self.build_outputs):
                continue
            if self.previous.get(rel) != hashlib.sha256(path.read_bytes()).hexdigest():
                changed.append(rel)
        return changed

    def check(self) -> None:
        from .errors import KwsgenError

        if self.force:
            return
        changed = self.user_changes()
        if changed:
            more = f" and {len(changed) - 3} more" if len(changed) > 3 else ""
            raise KwsgenError(
                f"holds files kwsgen did not write or that were changed since ({', '.join(changed[:3])}{more}); "
                "move them away, or pass --force to overwrite the folder",
                self.root,
            )

    def write_bytes(self, name: str, data: bytes) -> Path:
        import hashlib

        path = self.root / name
        if self.project_root is not None:
            if self.txn is None:
                from .project.transaction import Transaction

                self.txn = Transaction(self.project_root)
            self.txn.stage_bytes(self._in_project(path), data)
        else:
            atomic_write_bytes(path, data)
        self.written[Path(name).as_posix()] = hashlib.sha256(data).hexdigest()
        return path

    def _in_project(self, path: Path) -> str:
        assert self.project_root is not None
        return path.resolve().relative_to(self.project_root.resolve()).as_posix()

    def write_text(self, name: str, text: str) -> Path:
        return self.write_bytes(name, text.encode("utf-8"))

    def finish(self) -> None:
        """Record what was written; stale files from an earlier run that kwsgen wrote are removed."""
        import json

        files = dict(self.written)
        stale = []
        if self.update:
            files = {**{k: v for k, v in self.previous.items() if (self.root / k).is_file()}, **self.written}
        else:
            stale = [self.root / rel for rel in set(self.previous) - set(self.written) if (self.root / rel).is_file()]
        manifest = json.dumps({"files": files}, indent=1, sort_keys=True) + "\n"
        if self.project_root is None:
            for path in stale:
                path.unlink()
            atomic_write_text(self.root / MANIFEST, manifest)
            return
        from .project.transaction import Transaction, project_lock

        self.txn = self.txn or Transaction(self.project_root)
        with self.txn:
            for path in stale:
                self.txn.remove(self._in_project(path))
            self.txn.stage_text(self._in_project(self.root / MANIFEST), manifest)
            with project_lock(self.project_root):
                self.txn.commit()

    def abandon(self) -> None:
        """Drop what was staged (nothing appears); for callers that stop before finish()."""
        if self.txn is not None:
            self.txn.abort()
