"""Reliability: nothing is lost when a command is interrupted, killed, fails to write, or runs twice at once.

The fault-injection layer runs real kwsgen processes and makes the Nth
write (or commit rename) of the process fail like a full disk, or sends it a
real SIGINT or SIGKILL at that point (KWSGEN_FAULT_WRITES, see
kwsgen/fsutil.py). For every N the project must afterwards be either exactly
as it was or exactly as an uninterrupted run leaves it, and `kwsgen data`
must describe it truthfully.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from kwsgen.project import Project
from kwsgen.project.transaction import Transaction, pending, project_lock

from .project_helpers import clip, write

KWSGEN = [sys.executable, "-m", "kwsgen"]


def run(args: list[str], env: dict[str, str] | None = None, **kw) -> subprocess.CompletedProcess:
    return subprocess.run(
        [*KWSGEN, *args], capture_output=True, text=True, env={**os.environ, **(env or {})}, timeout=120, **kw
    )


def state(root: Path) -> dict[str, str]:
    """What a user would call the project: every file but kwsgen's own state and the cache."""
    out = {}
    for p in sorted(root.rglob("*")):
        rel = p.relative_to(root).as_posix()
        if p.is_file() and not rel.startswith((".kwsgen/", "cache/")):
            out[rel] = hashlib.sha256(p.read_bytes()).hexdigest()
    return out


@pytest.fixture(scope="module")
def clips(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("clips") / "yes"
    rng = np.random.default_rng(4)
    for i in range(4):
        write(folder / f"yes_{i}.wav", clip(rng))
    write(folder / "long.wav", np.concatenate([clip(rng) for _ in range(3)]))
    return folder


def fresh(tmp_path: Path, name: str = "p") -> Path:
    root = tmp_path / name
    Project.create(root, ["yes", "no", "Unknown"])
    return root


IMPORT = ["import", "audio", "--label", "yes", "--set", "Train"]


def reference(tmp_path: Path, args: list[str]) -> tuple[dict[str, str], dict[str, str]]:
    """The project before, and after an uninterrupted run of args."""
    root = fresh(tmp_path, "reference")
    before = state(root)
    done = run([*args, "-p", str(root)])
    assert done.returncode == 0, done.stderr
    return before, state(root)


def assert_old_or_new(root: Path, before: dict, after: dict, what: str) -> str:
    data = run(["data", "-p", str(root), "--json"])  # opening the project finishes a committed change
    now = state(root)
    assert now in (before, after), f"{what}: the project is neither as it was nor fully updated"
    assert not pending(root), what
    assert not list((root / ".kwsgen" / "txn").glob("*")), f"{what}: staging left behind"
    summary = json.loads(data.stdout)
    expected = 0 if now == before else len([k for k in after if k.startswith("recordings/")])
    assert summary["recordings"] == expected, what
    return "old" if now == before else "new"


def count_writes(tmp_path: Path, args: list[str]) -> int:
    """How many fault points an uninterrupted run passes (found by failing ever later ones)."""
    for n in range(1, 200):
        root = fresh(tmp_path, f"count{n}")
        r = run([*args, "-p", str(root)], env={"KWSGEN_FAULT_WRITES": str(n)})
        shutil.rmtree(root)
        if r.returncode == 0:
            return n - 1
    raise AssertionError("no end to the writes")


@pytest.mark.parametrize("kind", ["enospc", "SIGINT", "SIGKILL"])
def test_import_fails_at_every_write_and_loses_nothing(tmp_path, clips, kind):
    args = [*IMPORT, str(clips)]
    before, after = reference(tmp_path, args)
    writes = count_writes(tmp_path, args)
    assert writes >= 2 * 5 + 3  # 5 staged copies, metadata, session, journal, then the renames
    seen = set()
    for n in range(1, writes + 1):
        root = fresh(tmp_path, f"{kind}{n}")
        r = run([*args, "-p", str(root)], env={"KWSGEN_FAULT_WRITES": str(n), "KWSGEN_FAULT_KIND": kind})
        assert r.returncode != 0 or kind == "SIGINT", (n, r.stderr)
        assert "Traceback" not in r.stderr, (n, r.stderr)
        if kind == "enospc":
            assert r.stderr.count("\n") == 1 and "No space left on device" in r.stderr, r.stderr
        outcome = assert_old_or_new(root, before, after, f"{kind} at write {n}")
        seen.add(outcome)
        if kind == "SIGINT" and outcome == "old":
            assert r.returncode == 130 and "interrupted; nothing imported" in r.stderr, r.stderr
        shutil.rmtree(root)
    assert seen == {"old", "new"}  # both sides of the commit point were reached


def test_import_interrupted_by_a_real_ctrl_c_at_random_times(tmp_path):
    """SIGINT from outside, at random moments of a 300-file import."""
    folder = tmp_path / "many"
    rng = np.random.default_rng(9)
    for i in range(300):
        write(folder / f"c{i:03d}.wav", rng.standard_normal(8000) * 0.01)
    args = ["import", "audio", "--label", "Unknown", "--set", "Train", str(folder)]
    before, after = reference(tmp_path, args)
    for trial, delay in enumerate(rng.uniform(0.3, 2.5, size=4)):
        root = fresh(tmp_path, f"t{trial}")
        proc = subprocess.Popen([*KWSGEN, *args, "-p", str(root)], stderr=subprocess.PIPE, text=True)
        time.sleep(delay)
        proc.send_signal(signal.SIGINT)
        _, err = proc.communicate(timeout=60)
        assert "Traceback" not in err, err
        if assert_old_or_new(root, before, after, f"SIGINT after {delay:.2f} s") == "old":
            assert "interrupted; nothing imported" in err, err


def test_concurrent_imports_keep_every_row(tmp_path):
    root = fresh(tmp_path)
    rng = np.random.default_rng(2)
    folders = []
    for k in range(3):
        folder = tmp_path / f"src{k}" / f"batch{k}"
        for i in range(40):
            write(folder / f"c{i}.wav", rng.standard_normal(8000) * 0.01)
        folders.append(folder)
    procs = [
        subprocess.Popen(
            [*KWSGEN, "import", "audio", str(f), "-p", str(root), "--label", "Unknown", "--set", "Train"],
            stderr=subprocess.PIPE,
            text=True,
        )
        for f in folders
    ]
    for proc in procs:
        _, err = proc.communicate(timeout=120)
        assert proc.returncode == 0, err
    project = Project.open(root)
    assert len(project.recording_files()) == 120
    assert len(project.load_metadata().rows) == 120
    assert {s.file for s in project.load_session("Training Session").segments} == set(project.recording_files())


def test_a_second_writer_waits_then_refuses_naming_the_first(tmp_path, clips):
    root = fresh(tmp_path)
    holder = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import sys, time; sys.argv = ['kwsgen', 'train', '--demo'];"
            "from kwsgen.project.transaction import project_lock\n"
            f"with project_lock({str(root)!r}):\n    print('held', flush=True); time.sleep(30)",
        ],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout.readline().strip() == "held"
        started = time.monotonic()
        r = run([*IMPORT, str(clips), "-p", str(root)], env={"KWSGEN_LOCK_WAIT": "1"})
        assert time.monotonic() - started >= 1.0
        assert r.returncode == 1
        assert "another kwsgen command is writing to this project: kwsgen train --demo (pid" in r.stderr
        assert "Traceback" not in r.stderr
    finally:
        holder.kill()
        holder.wait()
    assert len(Project.open(root).recording_files()) == 0
    assert run([*IMPORT, str(clips), "-p", str(root)]).returncode == 0  # the lock died with its holder


def test_the_lock_is_reentrant_and_recovers_a_killed_commit(tmp_path):
    root = fresh(tmp_path)
    with project_lock(root), project_lock(root):
        pass
    # A change committed (journal written) by a process that then died: the next opener finishes it.
    txn = Transaction(root)
    txn.stage_text("sessions/extra.csv", "file,label,start,end\n")
    (txn.dir / "journal.json").write_text(json.dumps({"moves": txn.moves, "removals": []}))
    os.close(txn._owner)
    assert pending(root)
    assert "extra" in Project.open(root).session_names()
    assert not pending(root)
    # A staging folder whose owner died without committing is removed, never applied.
    txn = Transaction(root)
    txn.stage_text("sessions/ghost.csv", "file,label,start,end\n")
    os.close(txn._owner)
    with project_lock(root):
        pass
    assert "ghost" not in Project.open(root).session_names()
    assert not txn.dir.exists()


def test_reimport_refuses_to_change_set_and_segments_without_update(tmp_path, clips):
    root = fresh(tmp_path)
    assert run([*IMPORT, str(clips / "yes_0.wav"), "-p", str(root)]).returncode == 0
    before = state(root)
    again = run([*IMPORT, str(clips / "yes_0.wav"), "-p", str(root)])
    assert again.returncode == 0 and "1 already in the project" in again.stdout
    assert state(root) == before
    changed = run(["import", "audio", "--label", "no", "--set", "Test", str(clips / "yes_0.wav"), "-p", str(root)])
    assert changed.returncode == 1
    assert (
        "yes_0.wav: keyword 'yes' -> 'no', Set 'Train' -> 'Test', segments in 'Training Session' yes 0..16000 -> no"
        in changed.stderr
    )
    assert "pass --update" in changed.stderr
    assert state(root) == before
    updated = run(
        ["import", "audio", "--label", "no", "--set", "Test", "--update", str(clips / "yes_0.wav"), "-p", str(root)]
    )
    assert updated.returncode == 0, updated.stderr
    project = Project.open(root)
    assert project.load_metadata().get("yes_0.wav", "Set") == "Test"
    assert [s.label for s in project.load_session("Training Session").segments] == ["no"]


def test_write_failures_are_one_line_naming_the_path(tmp_path, clips):
    root = fresh(tmp_path)
    for args in (["init", str(tmp_path / "new")], ["label", "auto", "-p", str(root), "--label", "yes"]):
        r = run(args, env={"KWSGEN_FAULT_WRITES": "1"})
        assert r.returncode == 1, r.stderr
        assert r.stderr.startswith("error: ") and r.stderr.count("\n") == 1, r.stderr
        assert "No space left on device" in r.stderr
    assert not (tmp_path / "new").exists()
    assert not list(tmp_path.glob(".new.kwsgen-init-*"))


def test_closed_pipe_after_import_keeps_the_import(tmp_path, clips):
    root = fresh(tmp_path)
    proc = subprocess.Popen(
        [*KWSGEN, *IMPORT, str(clips), "-p", str(root)], stdout=subprocess.PIPE, stderr=subprocess.PIPE
    )
    proc.stdout.close()  # like `| head` that has already exited
    _, err = proc.communicate(timeout=60)
    assert b"Traceback" not in err, err
    assert len(Project.open(root).recording_files()) == 5


def test_data_reports_recordings_without_segments(tmp_path, clips):
    root = fresh(tmp_path)
    assert run([*IMPORT, str(clips), "--segments", "none", "-p", str(root)]).returncode == 0
    r = run(["data", "-p", str(root)])
    assert "5 recordings with a keyword in metadata.csv have no segments" in r.stdout
    assert "no problems found" not in r.stdout
