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


def fresh(tmp_path: Path, name: str = "p", prepare: list[list[str]] = ()) -> Path:
    """A new project, with the commands of `prepare` run on it."""
    root = tmp_path / name
    Project.create(root, ["yes", "no", "Unknown"])
    for args in prepare:
        done = run([*args, "-p", str(root)])
        assert done.returncode == 0, done.stderr
    return root


IMPORT = ["import", "audio", "--label", "yes", "--set", "Train"]


def assert_old_or_new(root: Path, before: dict, after: dict, what: str) -> str:
    data = run(["data", "-p", str(root), "--json"])  # opening the project finishes a committed change
    now = state(root)
    assert now in (before, after), f"{what}: the project is neither as it was nor fully updated"
    assert not pending(root), what
    assert not list((root / ".kwsgen" / "txn").glob("*")), f"{what}: staging left behind"
    summary = json.loads(data.stdout)  # and kwsgen data describes the project as it is
    assert summary["recordings"] == len([k for k in now if k.startswith("recordings/")]), what
    return "old" if now == before else "new"


def scenarios(clips: Path, tmp_path: Path) -> dict[str, tuple[list[list[str]], list[str], str]]:
    """Writing commands: (what to run first, the command, what Ctrl-C says is kept)."""
    csv = tmp_path / "speakers.csv"
    csv.write_text("file,speaker,Set\n" + "".join(f"yes/yes_{i}.wav,s{i},Validate\n" for i in range(4)))
    unlabelled = [*IMPORT, "--segments", "none", str(clips)]
    return {
        "import audio": ([], [*IMPORT, str(clips)], "nothing imported"),
        "label auto": ([unlabelled], ["label", "auto"], "no segments added"),
        "import metadata": ([unlabelled], ["import", "metadata", str(csv)], "nothing imported"),
    }


@pytest.mark.parametrize("command", ["import audio", "label auto", "import metadata"])
def test_writing_commands_fail_at_every_write_and_lose_nothing(tmp_path, clips, command):
    """At each fault point N in turn: a full disk, a Ctrl-C and a SIGKILL there; until a run passes fewer than N."""
    prepare, args, kept = scenarios(clips, tmp_path)[command]
    reference = fresh(tmp_path, "reference", prepare)
    before = state(reference)
    assert run([*args, "-p", str(reference)]).returncode == 0
    after = state(reference)
    assert after != before
    seen = set()
    for n in range(1, 200):
        for kind in ("enospc", "SIGINT", "SIGKILL"):
            root = fresh(tmp_path, f"{kind}{n}", prepare)
            r = run([*args, "-p", str(root)], env={"KWSGEN_FAULT_WRITES": str(n), "KWSGEN_FAULT_KIND": kind})
            assert "Traceback" not in r.stderr, (n, r.stderr)
            if kind == "enospc" and r.returncode == 0:
                assert state(root) == after
                break  # the run passed fewer than n fault points: every one has been tried
            if kind == "enospc":
                assert r.returncode == 1 and r.stderr.count("\n") == 1 and "No space left" in r.stderr, r.stderr
            outcome = assert_old_or_new(root, before, after, f"{command}: {kind} at write {n}")
            seen.add(outcome)
            if kind == "SIGINT" and outcome == "old":
                assert r.returncode == 130 and f"interrupted; {kept}" in r.stderr, r.stderr
            shutil.rmtree(root)
        else:
            continue
        break
    else:
        raise AssertionError("no end to the writes")
    assert "old" in seen
    if command == "import audio":
        assert n > 2 * 5 + 3  # 5 staged copies, metadata, session, journal, then the renames
        assert seen == {"old", "new"}  # both sides of the commit point were reached


def test_import_interrupted_by_a_real_ctrl_c_at_random_times(tmp_path):
    """SIGINT from outside, at random moments of a 300-file import."""
    folder = tmp_path / "many"
    rng = np.random.default_rng(9)
    for i in range(300):
        write(folder / f"c{i:03d}.wav", rng.standard_normal(8000) * 0.01)
    args = ["import", "audio", "--label", "Unknown", "--set", "Train", str(folder)]
    reference = fresh(tmp_path, "reference")
    before = state(reference)
    assert run([*args, "-p", str(reference)]).returncode == 0
    after = state(reference)
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


# ---- ordinary odd input ---------------------------------------------------------------------------------


def test_names_and_messages_with_brackets_print_literally(tmp_path):
    root = fresh(tmp_path)
    rng = np.random.default_rng(1)
    write(tmp_path / "src" / "weird[/]name.wav", clip(rng))
    r = run(["import", "audio", str(tmp_path / "src" / "weird["), "-p", str(root), "--label", "yes", "--set", "Train"])
    assert r.returncode == 0, r.stderr
    (root / "sessions" / "Training Session.csv").write_text("file,label,start,end\nweird[/]name.wav,maybe,0,16000\n")
    r = run(["data", "-p", str(root)])
    assert "Traceback" not in r.stderr
    assert "add them to [project] labels or relabel them" in r.stdout
    assert "1 segment carry labels that are not in the project (maybe)" in r.stdout
    assert "weird[/]name.wav@0" in r.stdout
    assert r.returncode == 1  # it printed errors: training would refuse


@pytest.mark.parametrize(
    ("setting", "says"),
    [
        ("frame_ms = 0", "[autolabel] frame_ms must be 1..100"),
        ("noise_step = 0", "[autolabel] noise_step must be 1..160000"),
        ("threshold_db = -3", "[autolabel] threshold_db must be above 0"),
        ("min_word_ms = -80", "[autolabel] min_word_ms and max_gap_ms must be 0..5000"),
    ],
)
def test_autolabel_settings_are_checked(tmp_path, setting, says):
    root = fresh(tmp_path)
    toml = root / "kwsgen.toml"
    key = setting.split(" = ")[0]
    text = toml.read_text()
    start = text.index(f"\n{key} = ", text.index("[autolabel]")) + 1
    toml.write_text(text[:start] + setting + text[text.index("  #", start) :])
    r = run(["data", "-p", str(root)])
    assert r.returncode == 1 and says in r.stderr and "Traceback" not in r.stderr, r.stderr


@pytest.mark.parametrize("name", ["../../escaped", "", ".", "..", "a/b", ".hidden"])
def test_model_names_stay_inside_models(tmp_path, name):
    root = fresh(tmp_path)
    r = run(["train", "-p", str(root), "--model", name])
    assert r.returncode == 1 and "must be a plain folder name" in r.stderr, r.stderr
    assert not (tmp_path / "escaped").exists()


@pytest.mark.parametrize(
    ("labels", "says"),
    [
        ("yes,UNK", "label 'UNK' is reserved"),
        ("yes,unk", "label 'unk' is reserved"),
        ("yes,yes", "label 'yes' is listed twice"),
        ("yes,Yes", "labels 'yes' and 'Yes' differ only in case"),
    ],
)
def test_labels_that_would_confuse_the_firmware_are_refused(tmp_path, labels, says):
    r = run(["init", str(tmp_path / "p"), "--labels", labels])
    assert r.returncode == 1 and says in r.stderr, r.stderr
    assert not (tmp_path / "p").exists()


def test_odd_file_names_short_clips_and_into(tmp_path):
    root = fresh(tmp_path)
    rng = np.random.default_rng(3)
    src = tmp_path / "takes" / "Test"
    write(src / "it's.wav", clip(rng))
    write(src / "short.wav", clip(rng, 0.5))
    r = run(["import", "audio", str(src), "-p", str(root), "--label", "yes", "--into", "wake/Test"])
    assert r.returncode == 0, r.stderr
    assert "1 recording is shorter than [segments] min_length" in r.stdout and "--pad" in r.stdout
    project = Project.open(root)
    assert sorted(project.recording_files()) == ["wake/Test/it_s.wav", "wake/Test/short.wav"]
    assert project.load_metadata().get("wake/Test/it_s.wav", "original_name") == "it's.wav"
    r = run(["import", "audio", str(src / "short.wav"), "-p", str(root), "--label", "yes", "--pad", "--into", "pad"])
    assert r.returncode == 0 and "shorter" not in r.stdout, r.stdout
    padded = Project.open(root)
    assert padded.recording_info("pad/short.wav").frames == padded.settings.segments.length
    assert padded.load_metadata().get("pad/short.wav", "padded_from_samples") == "8000"


def test_the_feature_cache_is_skipped_when_it_cannot_be_written(tmp_path, clips, monkeypatch):
    """A read-only project can still be read and tested: features are computed, not kept."""
    import errno

    import kwsgen.fsutil
    from kwsgen.project.features import FeatureCache

    root = fresh(tmp_path)
    assert run([*IMPORT, str(clips), "-p", str(root)]).returncode == 0
    project = Project.open(root)
    segments = project.load_session("Training Session").segments

    def read_only(path):
        raise OSError(errno.EROFS, "Read-only file system", str(path))

    monkeypatch.setattr(kwsgen.fsutil, "fault_point", read_only)
    cache = FeatureCache(project)
    feats = cache.mfcc(segments[:2], progress=False)
    assert len(feats) == 2 and not cache.writable
    assert not (root / "cache").exists()


MODEL_WRITER = """
import sys
from kwsgen.fsutil import GeneratedFolder
root, version = sys.argv[1], sys.argv[2]
out = GeneratedFolder(f"{root}/models/model", force=True, project_root=root)
for name in ("model.tflite", "model.json", "metrics.json", "report.html"):
    out.write_text(name, f"{name} {version}\\n")
if version == "1":
    out.write_text("old_only.txt", "stale after version 2\\n")
out.finish()
"""


def test_a_model_folder_is_replaced_all_at_once(tmp_path):
    """What kwsgen train and test do with models/NAME: killed at any write, the folder is all old or all new."""
    script = tmp_path / "writer.py"
    script.write_text(MODEL_WRITER)

    def write_model(root: Path, version: str, env: dict | None = None) -> subprocess.CompletedProcess:
        return subprocess.run(
            [sys.executable, str(script), str(root), version],
            capture_output=True,
            text=True,
            env={**os.environ, **(env or {})},
            timeout=60,
        )

    reference = fresh(tmp_path, "reference")
    assert write_model(reference, "1").returncode == 0
    before = state(reference)
    assert write_model(reference, "2").returncode == 0
    after = state(reference)
    assert "models/model/old_only.txt" in before and "models/model/old_only.txt" not in after
    outcomes = []
    for n in range(1, 100):
        root = fresh(tmp_path, f"k{n}")
        assert write_model(root, "1").returncode == 0
        r = write_model(root, "2", {"KWSGEN_FAULT_WRITES": str(n), "KWSGEN_FAULT_KIND": "SIGKILL"})
        if r.returncode == 0:
            break
        assert r.returncode == -signal.SIGKILL
        Project.open(root)  # the next command finishes or drops the change
        assert state(root) in (before, after), f"SIGKILL at write {n}"
        outcomes.append(state(root) == after)
        shutil.rmtree(root)
    assert n > 10 and outcomes[0] is False and outcomes[-1] is True


def test_boards_fit_80_columns():
    r = run(["boards"], env={"COLUMNS": "80"})
    assert r.returncode == 0
    table = [line for line in r.stdout.splitlines() if line.startswith("│")]
    assert all(len(line) <= 80 for line in table)
    for name in ("esp32s3", "host", "nano33", "qemu", "quickfeather"):
        assert any(line.startswith(f"│ {name} ") for line in table), name
    assert "pdm_gain=20 (0..80)" in r.stdout


def test_review_draws_a_long_recording_in_rows(tmp_path):
    from kwsgen.project.review import ROW_SECONDS, write_review

    root = fresh(tmp_path)
    rng = np.random.default_rng(5)
    write(tmp_path / "src" / "long.wav", np.concatenate([clip(rng) for _ in range(30)]))
    assert (
        run(["import", "audio", str(tmp_path / "src" / "long.wav"), "-p", str(root), "--label", "yes"]).returncode == 0
    )
    out, shown, _ = write_review(Project.open(root), ["Training Session"], tmp_path / "r.html", progress=False)
    assert shown == 1
    assert out.read_text().count("<img ") == int(np.ceil(30 / ROW_SECONDS))


def test_progress_without_a_terminal_is_a_plain_line(capsys):
    from kwsgen.progress import LineProgress, progress_bar

    assert isinstance(progress_bar(True), LineProgress)  # pytest's stderr is not a terminal
    with LineProgress(every=0) as bar:
        task = bar.add_task("features", total=10)
        bar.advance(task, 4)
        bar.update(task, completed=10, description="features done")
    assert capsys.readouterr().err.splitlines() == ["features: 4 of 10", "features done: 10 of 10"]
