"""kwsgen features from the command line: identical files from every engine,
and one-line errors (never a traceback) for bad input."""

from __future__ import annotations

import json
import subprocess
import sys

import numpy as np
import pytest
import soundfile as sf

from kwsgen.cli import main
from kwsgen.frontend import MinMax, mfcc

from .conftest import REPO

DEMO = REPO / "kwsgen" / "data" / "yes.flac"


def run_cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "kwsgen", *args], capture_output=True, text=True, cwd=REPO)


@pytest.mark.parametrize("scaled", [False, True])
def test_engines_write_identical_files(tmp_path, scaled):
    extra = []
    if scaled:
        mm = tmp_path / "minmax.json"
        MinMax.fit(mfcc(sf.read(DEMO, dtype="int16")[0])).save(mm)
        extra = ["--scaled", "--minmax", str(mm)]
    outputs = {}
    for engine in ("python", "c", "qemu"):
        out = tmp_path / f"{engine}.npy"
        assert main(["features", str(DEMO), "--engine", engine, "--out", str(out), *extra]) == 0
        outputs[engine] = np.load(out)
    assert outputs["python"].dtype == (np.int8 if scaled else np.int32)
    assert outputs["python"].shape == (49, 23)
    assert np.array_equal(outputs["python"], outputs["c"]) and np.array_equal(outputs["python"], outputs["qemu"])


def test_check_option(capsys):
    assert main(["features", str(DEMO), "--check"]) == 0
    out = capsys.readouterr().out
    assert "c      identical to python" in out and "qemu   identical to python" in out


def test_speech_file_identical_across_engines(tmp_path, shared_data):
    clip = next((shared_data / "speech_commands_v2" / "no").glob("*.flac"))
    assert main(["features", str(clip), "--engine", "c", "--check"]) == 0


def test_other_config_file(tmp_path):
    cfg = tmp_path / "kwsgen.toml"
    cfg.write_text("[frontend]\nwindow_size = 400\nhop_size = 160\nn_mels = 40\nn_coeffs = 13\n")
    out = tmp_path / "f.npy"
    assert main(["features", str(DEMO), "--config", str(cfg), "--check", "--out", str(out)]) == 0
    assert np.load(out).shape == (98, 13)


def test_bad_inputs_give_one_line_errors(tmp_path):
    notes = tmp_path / "notes.wav"
    notes.write_text("hello")
    cfg = tmp_path / "bad.toml"
    cfg.write_text("[frontend]\nhop_size = -3\n")
    bad_mm = tmp_path / "mm.json"
    bad_mm.write_text(json.dumps({"min": [0], "max": [1]}))
    stereo = tmp_path / "stereo.wav"
    sf.write(stereo, np.zeros((16000, 2), np.int16), 16000, subtype="PCM_16")
    cases = [
        (["features", str(notes)], "not a readable audio file"),
        (["features", str(tmp_path / "none.wav")], "file not found"),
        (["features", str(stereo)], "has 2 channels"),
        (["features", str(DEMO), "--scaled"], "--scaled needs --minmax"),
        (["features", str(DEMO), "--config", str(cfg)], "hop_size must be"),
        (["features", str(DEMO), "--scaled", "--minmax", str(bad_mm)], "has 1 coefficients"),
    ]
    for args, message in cases:
        proc = run_cli(*args)
        assert proc.returncode == 1, proc.stderr
        lines = proc.stderr.strip().splitlines()
        assert len(lines) == 1 and message in lines[0] and "Traceback" not in proc.stderr, proc.stderr


def test_convert_on_request(tmp_path):
    path = tmp_path / "cd.wav"
    sf.write(path, np.zeros((44100, 2), np.float32), 44100, subtype="FLOAT")
    assert run_cli("features", str(path)).returncode == 1
    proc = run_cli("features", str(path), "--resample", "--mono")
    assert proc.returncode == 0, proc.stderr
    assert "49 windows" in proc.stdout


def test_help_and_usage_errors():
    proc = run_cli("features", "--help")
    assert proc.returncode == 0 and "--engine" in proc.stdout and "bit for bit" in proc.stdout
    proc = run_cli("features", str(DEMO), "--engine", "fpga")
    assert proc.returncode == 2 and "fpga" in proc.stderr
