"""Project creation, kwsgen.toml, and every rule with its exact message."""

from __future__ import annotations

import json
import tomllib

import numpy as np
import pytest

from kwsgen.cli import main
from kwsgen.errors import KwsgenError
from kwsgen.frontend import FrontendConfig
from kwsgen.project import Project, Segment, Session, check_session
from kwsgen.project.settings import SECTION_TYPES, load_settings
from kwsgen.project.store import Metadata

from .project_helpers import new_project, snapshot, write


def test_init_writes_every_parameter_with_a_comment(tmp_path):
    assert main(["init", str(tmp_path / "p"), "--labels", "yes,no,on,off"]) == 0
    text = (tmp_path / "p" / "kwsgen.toml").read_text()
    data = tomllib.loads(text)
    assert data["project"]["labels"] == ["yes", "no", "on", "off", "Unknown"]
    for section, cls in SECTION_TYPES.items():
        import dataclasses

        for f in dataclasses.fields(cls):
            assert f.name in data[section], f"[{section}] {f.name} missing"
    for line in text.splitlines():
        if "=" in line and not line.startswith("#"):
            assert "  # " in line, f"no comment: {line}"
    for folder in ("recordings", "sessions", "models"):
        assert (tmp_path / "p" / folder).is_dir()
    assert (tmp_path / "p" / "sessions" / "Training Session.csv").read_text() == "file,label,start,end\n"
    assert "cache/" in (tmp_path / "p" / ".gitignore").read_text()
    assert ".kwsgen/" in (tmp_path / "p" / ".gitignore").read_text()
    assert not list((tmp_path / "p").rglob("*.tmp")), "atomic writes must leave no temporary files"


def test_unknown_must_be_spelled_exactly(tmp_path, capsys):
    assert main(["init", str(tmp_path / "a"), "--labels", "yes,unknown"]) == 1
    err = capsys.readouterr().err
    assert 'labels must include "Unknown" spelled exactly; found \'unknown\': write "Unknown"' in err
    assert not (tmp_path / "a").exists()
    with pytest.raises(KwsgenError, match=r"rename 'UNKNOWN' to \"Unknown\""):
        Project.create(tmp_path / "b", ["yes", "UNKNOWN"])
    p = new_project(tmp_path)
    toml = p.root / "kwsgen.toml"
    toml.write_text(toml.read_text().replace('"Unknown"]', '"unknown"]'))
    with pytest.raises(KwsgenError, match=r"rename 'unknown' to \"Unknown\""):
        Project.open(p.root)


@pytest.mark.parametrize("bad", ["a/b", 'say "yes"', "it's", "back\\slash", " yes", ".hidden", "x" * 65])
def test_label_names_are_plain(tmp_path, bad):
    with pytest.raises(KwsgenError, match="label"):
        Project.create(tmp_path / "p", [bad, "Unknown"])
    assert not (tmp_path / "p").exists()


def test_labels_differing_only_in_case(tmp_path):
    with pytest.raises(KwsgenError, match="differ only in case"):
        Project.create(tmp_path / "p", ["yes", "Yes", "Unknown"])


def test_init_refuses_a_non_empty_folder(tmp_path):
    (tmp_path / "p").mkdir()
    (tmp_path / "p" / "mine.txt").write_text("keep me")
    with pytest.raises(KwsgenError, match="not empty"):
        Project.create(tmp_path / "p", ["yes", "Unknown"])
    assert (tmp_path / "p" / "mine.txt").read_text() == "keep me"


def test_settings_errors_name_the_problem(tmp_path):
    p = new_project(tmp_path)
    toml = p.root / "kwsgen.toml"
    original = toml.read_text()
    toml.write_text(original.replace("hop_size = 320", "hop_size = 'fast'"))
    with pytest.raises(KwsgenError, match=r"\[frontend\] hop_size must be a int"):
        load_settings(toml)
    toml.write_text(original + "\n[trainig]\nepochs = 3\n")
    with pytest.raises(KwsgenError, match=r"unknown section\(s\) \[trainig\]"):
        load_settings(toml)
    toml.write_text(original.replace("max_overlap = 4000", "max_overlap = 4000\nmax_overlapp = 2"))
    with pytest.raises(KwsgenError, match="unknown setting"):
        load_settings(toml)
    toml.write_text(original.replace("length = 20000", "length = 100"))
    with pytest.raises(KwsgenError, match="at least one window"):
        load_settings(toml)
    toml.write_text(original.replace("n_coeffs = 23", "n_coeffs = 13"))
    assert load_settings(toml).frontend == FrontendConfig(n_coeffs=13)


def project_with(tmp_path, segments, metadata, lengths):
    p = new_project(tmp_path)
    for file, n in lengths.items():
        write(p.recording_path(file), np.zeros(n))
    md = Metadata()
    for file, values in metadata.items():
        md.set(file, values)
    p.save_metadata(md)
    p.save_session(Session("Training Session", segments))
    return p


def messages(report):
    return [i.message for i in report.issues]


def test_rules_each_have_an_exact_message(tmp_path):
    S = Segment
    segs = [
        S("a.wav", 0, 20000, "yes"),
        S("a.wav", 18000, 38000, "no"),  # overlaps its neighbour by 2000: mild, allowed
        S("a.wav", 40000, 50000, "yes"),  # short
        S("a.wav", 50000, 52000, "no"),  # short
        S("a.wav", 60000, 80000, "maybe"),  # label not in project
        S("a.wav", 90000, 110000, "Unknown"),  # past the end (100000)
        S("b.wav", 0, 20000, "yes"),
        S("b.wav", 5000, 25000, "no"),  # overlaps by 15000
        S("c.wav", 0, 20000, "no"),  # c has no Set
        S("d.wav", 0, 20000, "yes"),  # d is in two Sets
        S("gone.wav", 0, 20000, "yes"),  # recording missing
    ]
    p = project_with(
        tmp_path,
        segs,
        {"a.wav": {"Set": "Train"}, "b.wav": {"Set": "Train"}, "c.wav": {"Set": ""}, "d.wav": {"Set": "Train"}},
        {"a.wav": 100000, "b.wav": 40000, "c.wav": 30000, "d.wav": 30000},
    )
    md_path = p.metadata_path
    md_path.write_text(md_path.read_text() + "d.wav,Test\n")
    report = check_session(p, "Training Session")
    text = "\n".join(messages(report))
    assert (
        "2 segments shorter than 16000 samples skipped from training (min_length in kwsgen.toml): a.wav@40000, a.wav@50000"
        in text
    )
    assert "1 segment run past the end of their recording and are skipped: a.wav@90000" in text
    assert "2 segments overlap a neighbour by more than 4000 samples" in text and "b.wav@0, b.wav@5000" in text
    assert "1 segment carry labels that are not in the project (maybe)" in text
    assert "1 segment belong to recordings with no Set in metadata.csv" in text
    assert "1 recording in two Sets in metadata.csv: d.wav (lines 5, 6)" in text
    assert "1 segment point to recordings that are not in recordings/: gone.wav@0" in text
    assert "label 'Unknown' has no usable Train segments" in text
    assert [s.start for s in report.usable] == [0, 18000]
    assert report.errors and report.errors[0].code == "class.empty"


def test_recordings_linked_from_outside_are_named(tmp_path):
    p = project_with(
        tmp_path / "p",
        [Segment("a.wav", 0, 20000, "yes"), Segment("out.wav", 0, 20000, "no")],
        {"a.wav": {"Set": "Train"}, "out.wav": {"Set": "Train"}},
        {"a.wav": 20000},
    )
    write(tmp_path / "elsewhere.wav", np.zeros(20000))
    (p.recordings_dir / "out.wav").symlink_to(tmp_path / "elsewhere.wav")
    (p.recordings_dir / "same.wav").symlink_to(p.recordings_dir / "a.wav")  # inside: nothing to say
    report = check_session(p, "Training Session")
    assert [f for f in p.recording_files() if p.links_outside(f)] == ["out.wav"]
    assert not p.is_recording("out.wav") and p.is_recording("same.wav")
    [issue] = [i for i in report.issues if i.code == "recording.outside"]
    assert issue.files == ("out.wav",)
    assert issue.message.startswith("1 recording in recordings/ is a link to a file outside it: out.wav; ")
    assert "kwsgen studio will not open" in issue.message
    assert {s.file for s in report.usable} == {"a.wav", "out.wav"}  # training still reads it


def test_empty_class_and_no_validate(tmp_path):
    p = project_with(tmp_path, [Segment("a.wav", 0, 20000, "yes")], {"a.wav": {"Set": "Train"}}, {"a.wav": 20000})
    report = check_session(p, "Training Session")
    assert "label 'no' has no usable Train segments" in messages(report)
    assert any("no usable Validate segments" in m for m in messages(report))


def test_data_command_json_and_table(tmp_path, capsys):
    segs = [
        Segment("a.wav", 0, 20000, "yes"),
        Segment("a.wav", 20000, 40000, "no"),
        Segment("a.wav", 40000, 60000, "Unknown"),
        Segment("v.wav", 0, 16000, "yes"),
    ]
    p = project_with(
        tmp_path, segs, {"a.wav": {"Set": "Train"}, "v.wav": {"Set": "Validate"}}, {"a.wav": 64000, "v.wav": 16000}
    )
    before = snapshot(p.root)
    assert main(["data", "-p", str(p.root), "--json"]) == 0
    summary = json.loads(capsys.readouterr().out)
    assert summary["segments"]["yes"] == {"Train": 1, "Validate": 1, "Test": 0}
    assert summary["audio_seconds"] == 5.0 and summary["usable_segments"] == 4
    assert summary["errors"] == []
    assert main(["data", "-p", str(p.root)]) == 0
    out = capsys.readouterr().out
    assert "usable segments" in out and "Validate" in out
    assert snapshot(p.root) == before, "kwsgen data must not change the project"


def test_not_a_project(tmp_path, capsys):
    assert main(["data", "-p", str(tmp_path)]) == 1
    assert "not a kwsgen project (no kwsgen.toml); create one with: kwsgen init" in capsys.readouterr().err
