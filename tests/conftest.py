"""Shared fixtures: the real-speech data beside the checkout, and test signals."""

from __future__ import annotations

import csv
import os
import re
import shutil
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from kwsgen.project import Project, example_project_dir

REPO = Path(__file__).resolve().parents[1]
SHARED_DATA = Path(os.environ.get("KWSGEN_SHARED_DATA", REPO.parent / "shared" / "data"))


def start_virtual_device(*args: str):
    """`kwsgen virtual-device ARGS` in the background: (the process, the port path it printed)."""
    import subprocess
    import sys

    proc = subprocess.Popen(
        [sys.executable, "-m", "kwsgen", "virtual-device", *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    first = proc.stdout.readline()
    assert first.startswith("port: "), first + proc.stderr.read()
    return proc, first.split(": ", 1)[1].strip()


def in_ci() -> bool:
    """CI has the shared data and the tools: there a missing one is a failure, never a skip."""
    return os.environ.get("CI", "").lower() in ("true", "1", "yes")


@pytest.fixture(scope="session")
def shared_data() -> Path:
    if not (SHARED_DATA / "speech_commands_v2").is_dir():
        why = f"real speech data not found at {SHARED_DATA} (set KWSGEN_SHARED_DATA to its folder)"
        if in_ci():
            pytest.fail(f"{why}; CI=true, where it must be there")
        pytest.skip(why)
    return SHARED_DATA


def read_int16(path: Path) -> np.ndarray:
    return sf.read(str(path), dtype="int16")[0]


@pytest.fixture(scope="session")
def speech_sample(shared_data: Path) -> list[np.ndarray]:
    """A spread of real 1 s clips: every word folder, several speakers, silence and unknown words."""
    clips = []
    for folder in sorted((shared_data / "speech_commands_v2").iterdir()):
        if folder.is_dir():
            files = sorted(folder.glob("*.flac"))
            clips += [read_int16(f) for f in files[:: max(1, len(files) // 12)][:12]]
    return clips


@pytest.fixture(scope="session")
def long_speech(speech_sample: list[np.ndarray]) -> np.ndarray:
    """The sample clips back to back: one long signal, one C run."""
    return np.concatenate(speech_sample)


# ---- a small trained project: a slice of the example project (tests of training, firmware and devices) ----

FAST = {"epochs": 2, "fine_tune_epochs": 1, "early_stopping_patience": 0}


def example_subset(dest: Path, speakers: dict[str, str], mining_epochs: int = 1) -> Project:
    """A copy of the example project with only some speakers (speaker -> Set) and the noise recordings;
    one mining epoch keeps the tests quick."""
    src = example_project_dir()
    dest.mkdir(parents=True)
    toml = re.sub(r"(?m)^mining_epochs = \d+", f"mining_epochs = {mining_epochs}", (src / "kwsgen.toml").read_text())
    (dest / "kwsgen.toml").write_text(toml)
    with open(src / "metadata.csv") as f:
        rows = [r for r in csv.DictReader(f) if r["speaker"] in speakers or r["speaker"] == "noise"]
    for r in rows:
        if r["speaker"] in speakers:
            r["Set"] = speakers[r["speaker"]]
        (dest / "recordings" / r["file"]).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(src / "recordings" / r["file"], dest / "recordings" / r["file"])
    with open(dest / "metadata.csv", "w", newline="") as f:
        w = csv.DictWriter(f, fieldnames=list(rows[0]), lineterminator="\n")
        w.writeheader()
        w.writerows(rows)
    keep = {r["file"] for r in rows}
    (dest / "sessions").mkdir(exist_ok=True)
    with open(src / "sessions" / "Training Session.csv") as f:
        seg_rows = [r for r in csv.DictReader(f) if r["file"] in keep]
    with open(dest / "sessions" / "Training Session.csv", "w", newline="") as f:
        w = csv.DictWriter(f, fieldnames=["file", "label", "start", "end"], lineterminator="\n")
        w.writeheader()
        w.writerows(seg_rows)
    return Project.open(dest)


SMALL = {
    "espeak-us-m1": "Train",
    "espeak-gb-f2": "Train",
    "flite-awb": "Train",
    "festival-kal": "Train",
    "espeak-rp-f4": "Validate",
    "espeak-us-f5": "Test",
}


@pytest.fixture(scope="module")
def project(tmp_path_factory):
    """The SMALL slice trained quickly, once per test module that asks for it."""
    from kwsgen.train.transfer import train_project

    p = example_subset(tmp_path_factory.mktemp("fw") / "p", SMALL)
    train_project(p, progress=False, log=lambda *_: None, **FAST)
    return p


@pytest.fixture(scope="module")
def spec(project):
    from kwsgen.firmware.app import load_spec

    return load_spec(project)
