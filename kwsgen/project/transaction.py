"""All-or-nothing changes to a project, one writer at a time.

A change (an import, auto-labelling, a trained model) is first *staged*:
every new file is written under PROJECT/.kwsgen/txn/<id>/, where nothing
reads it. Then, holding the project lock, the writer merges with the files as
they are now, stages those too, and writes the journal, a list of renames.
Writing the journal is the commit point: before it the change never
happened (the staging folder is removed, also by the next writer when the
process was killed); after it the renames are replayed until they are all
done, by this process or, if it was killed, by the next kwsgen command that
opens the project. Each rename is atomic, and every staged file lives on the
project's file system, so a project is always either as it was or fully
updated.

The lock is an flock on PROJECT/.kwsgen/lock, released by the kernel when
its process dies. It is held only while merging and committing, so writers
that overlap in time all succeed one after the other; one that cannot get the
lock within a few seconds refuses with the name of the command holding it.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import shutil
import signal
import sys
import threading
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

from ..errors import KwsgenError
from ..fsutil import atomic_write_text, fault_point

STATE_DIR = ".kwsgen"
JOURNAL = "journal.json"
LOCK_WAIT_S = 10.0  # how long a second writer waits for the first one

_held: dict[Path, int] = {}  # project roots this process holds the lock of -> depth
_held_lock = threading.Lock()


def _state(root: Path) -> Path:
    return Path(root) / STATE_DIR


def _txn_root(root: Path) -> Path:
    return _state(root) / "txn"


def _command_line() -> str:
    words = ["kwsgen", *sys.argv[1:]]
    text = " ".join(words)
    return text if len(text) <= 80 else text[:77] + "..."


def _lock_wait() -> float:
    try:
        return float(os.environ.get("KWSGEN_LOCK_WAIT", LOCK_WAIT_S))
    except ValueError:
        return LOCK_WAIT_S


@contextlib.contextmanager
def project_lock(root: str | Path, wait: float | None = None) -> Iterator[None]:
    """Hold the project's write lock (re-entrant within a process); finish interrupted commits first."""
    root = Path(root).resolve()
    with _held_lock:
        depth = _held.get(root, 0)
        if depth:
            _held[root] = depth + 1
    if depth:
        try:
            yield
        finally:
            with _held_lock:
                _held[root] -= 1
        return
    state = _state(root)
    try:
        state.mkdir(exist_ok=True)
        fd = os.open(state / "lock", os.O_RDWR | os.O_CREAT, 0o666)
    except OSError as exc:
        raise KwsgenError(f"cannot write to the project ({exc.strerror})", root) from None
    try:
        _acquire(fd, root, _lock_wait() if wait is None else wait)
        os.ftruncate(fd, 0)
        os.pwrite(fd, f"{_command_line()} (pid {os.getpid()}, since {time.strftime('%H:%M:%S')})\n".encode(), 0)
        with _held_lock:
            _held[root] = 1
        try:
            recover(root)
            yield
        finally:
            with _held_lock:
                del _held[root]
            with contextlib.suppress(OSError):
                os.ftruncate(fd, 0)
    finally:
        os.close(fd)  # releases the flock


def _acquire(fd: int, root: Path, wait: float) -> None:
    deadline = time.monotonic() + wait
    while True:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            return
        except BlockingIOError:
            if time.monotonic() >= deadline:
                holder = os.pread(fd, 400, 0).decode("utf-8", "replace").strip() or "a kwsgen command"
                raise KwsgenError(
                    f"another kwsgen command is writing to this project: {holder}; run this again when it has finished",
                    root,
                ) from None
            time.sleep(0.05)


class Transaction:
    """Stage new files, then commit them all at once (see the module's docstring).

    Use as a context manager: leaving it without commit() (an error, Ctrl-C)
    removes everything staged.
    """

    def __init__(self, root: str | Path) -> None:
        self.root = Path(root)
        self.moves: list[tuple[str, str]] = []  # (staged name, destination relative to the root)
        self.removals: list[str] = []
        self.committed = False
        self._owner = -1
        try:
            _txn_root(self.root).mkdir(parents=True, exist_ok=True)
            self.dir = _txn_root(self.root) / uuid.uuid4().hex
            self.dir.mkdir()
            # Held while staging, so a recovering writer can tell a live stager from a dead one.
            self._owner = os.open(self.dir / "owner", os.O_RDWR | os.O_CREAT, 0o600)
        except OSError as exc:
            raise KwsgenError(f"cannot write to the project ({exc.strerror})", self.root) from None
        fcntl.flock(self._owner, fcntl.LOCK_EX)

    def __enter__(self) -> Transaction:
        return self

    def __exit__(self, kind: type | None, exc: BaseException | None, tb: object) -> None:
        if self.committed:
            return
        self.abort()
        if isinstance(exc, OSError) and exc.filename and Path(exc.filename).parent == self.dir:
            # Name the file the user knows, not the staging copy.
            dest = dict(self.moves).get(Path(exc.filename).name, Path(exc.filename).name)
            raise KwsgenError(f"{exc.strerror}; nothing was changed", self.root / dest) from None

    def stage_path(self, dest: str) -> Path:
        """A path to write the new content of ROOT/dest to (the caller writes it)."""
        name = f"{len(self.moves)}{Path(dest).suffix}"  # the suffix tells writers the format
        self.moves.append((name, dest))
        fault_point(self.dir / name)
        return self.dir / name

    def stage_bytes(self, dest: str, data: bytes) -> None:
        with open(self.stage_path(dest), "wb") as handle:
            handle.write(data)

    def stage_text(self, dest: str, text: str) -> None:
        self.stage_bytes(dest, text.encode("utf-8"))

    def remove(self, dest: str) -> None:
        self.removals.append(dest)

    def commit(self) -> None:
        """Write the journal (the commit point) and apply it. Call with the project lock held."""
        self._sync_staged()
        self._check_writable()
        atomic_write_text(
            self.dir / JOURNAL, json.dumps({"moves": self.moves, "removals": self.removals}, indent=0) + "\n"
        )
        self.committed = True
        try:
            with _sigint_deferred():
                _apply(self.dir, self.root)
        except OSError as exc:
            where = exc.filename or self.root
            raise KwsgenError(
                f"{exc.strerror}; the change is recorded and the next kwsgen command on this project "
                "finishes it once this is fixed",
                where,
            ) from None
        finally:
            self._release_owner()

    def abort(self) -> None:
        """Remove everything staged; nothing to do after commit()."""
        if self.committed:
            return
        self._release_owner()
        shutil.rmtree(self.dir, ignore_errors=True)

    def _release_owner(self) -> None:
        if self._owner >= 0:
            os.close(self._owner)
            self._owner = -1

    def _sync_staged(self) -> None:
        for name, _ in self.moves:
            fd = os.open(self.dir / name, os.O_RDONLY)
            try:
                os.fsync(fd)
            finally:
                os.close(fd)

    def _check_writable(self) -> None:
        """Refuse before the commit point when a destination folder cannot be written (for non-root users)."""
        for _, dest in self.moves:
            folder = (self.root / dest).parent
            while not folder.exists():
                folder = folder.parent
            if not os.access(folder, os.W_OK):
                raise KwsgenError("is not writable; nothing was changed", folder)


def _apply(txn_dir: Path, root: Path) -> None:
    """Replay a committed journal; safe to repeat after a crash at any point."""
    journal = json.loads((txn_dir / JOURNAL).read_text())
    for name, dest in journal["moves"]:
        staged, target = txn_dir / name, root / dest
        if staged.exists():
            fault_point(target)
            target.parent.mkdir(parents=True, exist_ok=True)
            os.replace(staged, target)
    for dest in journal["removals"]:
        with contextlib.suppress(FileNotFoundError):
            (root / dest).unlink()
    (txn_dir / JOURNAL).unlink()
    shutil.rmtree(txn_dir, ignore_errors=True)


@contextlib.contextmanager
def _sigint_deferred() -> Iterator[None]:
    """After the commit point the change is made: Ctrl-C waits for the renames, then is ignored."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = signal.signal(signal.SIGINT, signal.SIG_IGN)
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)


def _owner_alive(txn_dir: Path) -> bool:
    try:
        fd = os.open(txn_dir / "owner", os.O_RDWR)
    except FileNotFoundError:
        return False
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        return False
    except BlockingIOError:
        return True
    finally:
        os.close(fd)


def recover(root: str | Path) -> list[str]:
    """Finish committed changes and remove abandoned staging; call with the lock held. Returns what was done."""
    root = Path(root)
    done = []
    txns = _txn_root(root)
    if not txns.is_dir():
        return done
    for txn_dir in sorted(p for p in txns.iterdir() if p.is_dir()):
        if (txn_dir / JOURNAL).exists():
            _apply(txn_dir, root)
            done.append(f"finished an interrupted change ({txn_dir.name})")
        elif not _owner_alive(txn_dir):
            shutil.rmtree(txn_dir, ignore_errors=True)
            done.append(f"removed an interrupted change that was never committed ({txn_dir.name})")
    return done


def pending(root: str | Path) -> list[Path]:
    """Committed changes not yet applied (their command was killed after the commit point)."""
    txns = _txn_root(Path(root))
    if not txns.is_dir():
        return []
    return sorted(p for p in txns.iterdir() if (p / JOURNAL).exists())


def tidy(root: str | Path) -> bool:
    """Finish changes of commands killed after their commit point and drop those killed before it.

    Called when a project is opened, by readers too; it does nothing when the
    project is read-only or another command holds the lock. True when no
    committed change is left pending.
    """
    txns = _txn_root(Path(root))
    if not txns.is_dir() or not any(txns.iterdir()):
        return True
    with contextlib.suppress(KwsgenError, OSError), project_lock(root, wait=0):
        pass
    return not pending(root)
