"""Every import format, export, and bad input that must leave the project unchanged."""

from __future__ import annotations

import json

import numpy as np
import pytest

from kwsgen.audio import read_audio
from kwsgen.cli import main
from kwsgen.errors import KwsgenError
from kwsgen.project import (
    Project,
    apply_plan,
    check_session,
    plan_audacity,
    plan_audio,
    plan_dcli,
    plan_edge_impulse,
    plan_metadata,
    plan_speech_commands,
)
from kwsgen.project.exporters import export_audacity, export_csv
from kwsgen.project.importers import read_audacity_labels

from .project_helpers import clip, multi_word_recording, new_project, snapshot, write

RNG = np.random.default_rng(5)


def digest_tree(root):
    return snapshot(root)


def test_audio_files_with_label_and_set(tmp_path):
    p = new_project(tmp_path)
    src = tmp_path / "src"
    for i in range(3):
        write(src / f"yes_{i}.wav", clip(RNG))
    before = digest_tree(src)
    summary = apply_plan(p, plan_audio(p, [src], label="yes", set_name="Train", meta={"speaker": "ann"}))
    assert summary.copied == 3 and summary.segments_added == {"Training Session": 3}
    assert digest_tree(src) == before, "sources are only read"
    md = p.load_metadata()
    assert md.get("src/yes_0.wav", "Set") == "Train" and md.get("src/yes_0.wav", "speaker") == "ann"
    segs = p.load_session("Training Session").segments
    assert {s.label for s in segs} == {"yes"} and all(s.length == 16000 for s in segs)
    # importing the same files again adds nothing
    again = apply_plan(p, plan_audio(p, [src], label="yes", set_name="Train"))
    assert again.copied == 0 and again.already_present == 3 and again.segments_added == {"Training Session": 0}


def test_label_from_folder_and_long_recordings(tmp_path):
    p = new_project(tmp_path)
    src = tmp_path / "data"
    audio, centres = multi_word_recording(RNG, 4)
    write(src / "yes" / "take1.wav", audio)
    noise = RNG.standard_normal(5 * 16000) * 0.01
    write(src / "Unknown" / "fan.wav", noise)
    apply_plan(p, plan_audio(p, [src], label_from_folder=True, set_name="Train"))
    segs = p.load_session("Training Session").segments
    yes = sorted(s for s in segs if s.label == "yes")
    assert len(yes) == 4
    assert all(abs(s.centre - c) < 1600 for s, c in zip(yes, centres, strict=True))
    unknown = [s for s in segs if s.label == "Unknown"]
    assert len(unknown) == 4 and all(s.length == 20000 for s in unknown)  # 80000 samples, back to back
    with pytest.raises(KwsgenError, match="folder name"):
        write(tmp_path / "bad" / "a b'" / "x.wav", clip(RNG))
        plan_audio(p, [tmp_path / "bad"], label_from_folder=True)


def test_other_formats_need_conversion_flags(tmp_path):
    p = new_project(tmp_path)
    stereo = write(tmp_path / "s.wav", np.stack([clip(RNG)] * 2, axis=1))
    cd = write(tmp_path / "cd.wav", clip(RNG, 1.0)[:16000].repeat(3)[:44100], rate=44100, subtype="PCM_24")
    before = snapshot(p.root)
    with pytest.raises(KwsgenError, match="has 2 channels; kwsgen needs mono"):
        plan_audio(p, [stereo], label="yes")
    with pytest.raises(KwsgenError, match="sample rate is 44100 Hz"):
        plan_audio(p, [cd], label="yes")
    assert snapshot(p.root) == before
    summary = apply_plan(p, plan_audio(p, [stereo, cd], label="yes", resample=True, mono=True))
    assert summary.converted == 2
    assert sorted(p.recording_files()) == ["cd.flac", "s.flac"]
    assert len(read_audio(p.recording_path("cd.flac"))) == 16000
    assert stereo.exists() and cd.exists()


def test_duplicate_names_are_refused(tmp_path):
    p = new_project(tmp_path)
    a, b = write(tmp_path / "a" / "x.wav", clip(RNG)), write(tmp_path / "b" / "x.wav", clip(RNG))
    apply_plan(p, plan_audio(p, [a], label="yes"))
    before = snapshot(p.root)
    with pytest.raises(KwsgenError, match="already exists and holds different audio"):
        plan_audio(p, [b], label="yes")
    with pytest.raises(KwsgenError, match="two files would both become recordings/x.wav"):
        plan_audio(p, [tmp_path / "a" / "x.wav", tmp_path / "b" / "x.wav"], label="no")
    assert snapshot(p.root) == before
    apply_plan(p, plan_audio(p, [b], label="yes", into="second"))
    assert "second/x.wav" in p.recording_files()


def make_speech_commands(root, speakers=6, per_word=2):
    for word in ("yes", "no", "up", "_silence_"):
        for s in range(speakers):
            for n in range(per_word):
                name = f"{s:08x}_nohash_{n}.wav" if word != "_silence_" else f"{s}{n}.wav"
                write(root / word / name, clip(RNG))
    write(root / "_background_noise_" / "hum.wav", RNG.standard_normal(70000) * 0.01)
    (root / "testing_list.txt").write_text("yes/00000000_nohash_0.wav\n")


def test_speech_commands_layout(tmp_path):
    p = new_project(tmp_path)
    sc = tmp_path / "sc"
    make_speech_commands(sc)
    apply_plan(p, plan_speech_commands(p, sc, split=(50, 25, 25)))
    report = check_session(p, "Training Session")
    total = {label: sum(c.values()) for label, c in report.counts(p.labels).items()}
    assert total["yes"] == 12 and total["no"] == 12
    assert total["Unknown"] == 12 + 12 + 3  # up, _silence_, three noise segments of 70000 samples
    md = p.load_metadata()
    assert md.get("speech_commands/yes/00000000_nohash_0.wav", "Set") == "Test"  # from testing_list.txt
    by_speaker: dict[str, set[str]] = {}
    for _file, row in md.rows.items():
        if row["speaker"] != "00000000" and not row["speaker"].startswith(("noise", "_silence_")):
            by_speaker.setdefault(row["speaker"], set()).add(row["Set"])
    assert all(len(sets) == 1 for sets in by_speaker.values()), "a speaker's clips share one Set"


def test_speech_commands_from_shared_data(tmp_path, shared_data):
    p = new_project(tmp_path, ("yes", "no", "on", "off", "Unknown"))
    src = shared_data / "speech_commands_v2"
    apply_plan(p, plan_speech_commands(p, src, max_per_word=15), progress=False)
    counts = check_session(p, "Training Session").counts(p.labels)
    for word in ("yes", "no", "on", "off"):
        assert sum(counts[word].values()) == min(15, len(list((src / word).glob("*.flac"))))
    others = [d for d in src.iterdir() if d.is_dir() and d.name not in ("yes", "no", "on", "off")]
    assert sum(counts["Unknown"].values()) == sum(min(15, len(list(d.glob("*.flac")))) for d in others)


def test_audacity_import_and_export_round_trip(tmp_path):
    p = new_project(tmp_path)
    audio, centres = multi_word_recording(RNG, 3)
    wav = write(tmp_path / "take.wav", audio)
    labels = tmp_path / "take.txt"
    labels.write_text(
        "".join(f"{(c - 3000) / 16000:.6f}\t{(c + 3000) / 16000:.6f}\tyes\n" for c in centres) + "\\\t100.0\t4000.0\n"
    )  # spectral-selection frequency line
    apply_plan(p, plan_audacity(p, labels, wav, set_name="Train"))
    segs = sorted(p.load_session("Training Session").segments)
    assert len(segs) == 3 and all(s.length == 20000 for s in segs)
    assert all(abs(s.centre - c) <= 1 for s, c in zip(segs, centres, strict=True))
    out = tmp_path / "export"
    written = export_audacity(p, "Training Session", out)
    back = read_audacity_labels(written[0])
    assert [(a, b, lab) for a, b, lab, _ in back] == [(s.start, s.end, s.label) for s in segs]
    with pytest.raises(KwsgenError, match="already exists"):
        export_audacity(p, "Training Session", out)
    csv_out = export_csv(p, "Training Session", tmp_path / "s.csv")
    lines = csv_out.read_text().splitlines()
    assert lines[0] == "file,label,start,end,start_s,end_s,Set" and len(lines) == 4


def test_audacity_bad_lines(tmp_path):
    p = new_project(tmp_path)
    wav = write(tmp_path / "take.wav", clip(RNG, 2.0))
    bad = tmp_path / "bad.txt"
    before = snapshot(p.root)
    for text, message in [
        ("0.5\tx\tyes\n", "line 1: 'x' is not a time in seconds"),
        ("0.5\t0.2\tyes\n", "end 0.2 is before start 0.5"),
        ("0.5\t9.0\tyes\n", "past the end of take.wav"),
        ("0.1\t0.5\tmaybe\n", "label 'maybe' is not in the project"),
        ("0.1\t0.5\ta/b\n", "path separator"),
        ("-1\t0.5\tyes\n", "outside 0..1000000"),
    ]:
        bad.write_text(text)
        with pytest.raises(KwsgenError, match=message):
            plan_audacity(p, bad, wav)
    bad.write_bytes(b"0.1\t0.5\tyes\xff\n")
    with pytest.raises(KwsgenError, match="is not UTF-8 text"):
        plan_audacity(p, bad, wav)
    assert snapshot(p.root) == before


def test_edge_impulse_export(tmp_path):
    p = new_project(tmp_path)
    ei = tmp_path / "ei"
    write(ei / "training" / "yes.1.wav", clip(RNG))
    write(ei / "testing" / "no.2.wav", clip(RNG))
    long, centres = multi_word_recording(RNG, 2)
    write(ei / "training" / "mixed.wav", long)
    info = {
        "version": 1,
        "files": [
            {
                "path": "training/yes.1.wav",
                "category": "training",
                "label": {"type": "label", "label": "yes"},
                "metadata": {"speaker": "ann"},
            },
            {"path": "testing/no.2.wav", "category": "testing", "label": {"type": "label", "label": "no"}},
            {
                "path": "training/mixed.wav",
                "category": "training",
                "label": {
                    "type": "multi-label",
                    "labels": [
                        {"label": "yes", "startIndex": centres[0] - 2000, "endIndex": centres[0] + 1999},
                        {"label": "no", "startIndex": centres[1] - 2000, "endIndex": centres[1] + 1999},
                    ],
                },
            },
        ],
    }
    (ei / "info.labels").write_text(json.dumps(info))
    apply_plan(p, plan_edge_impulse(p, ei))
    md = p.load_metadata()
    assert md.get("training/yes.1.wav", "Set") == "Train" and md.get("testing/no.2.wav", "Set") == "Test"
    assert md.get("training/yes.1.wav", "speaker") == "ann"
    mixed = sorted(s for s in p.load_session("Training Session").segments if s.file == "training/mixed.wav")
    assert [s.label for s in mixed] == ["yes", "no"] and all(s.length == 20000 for s in mixed)
    (ei / "info.labels").write_text(json.dumps({"version": 1, "files": [{"path": "training/x.json", "label": {}}]}))
    with pytest.raises(KwsgenError, match="export the dataset from Edge Impulse as WAV"):
        plan_edge_impulse(p, ei)


def test_dcli_import(tmp_path):
    p = new_project(tmp_path)
    audio, centres = multi_word_recording(RNG, 2)
    write(tmp_path / "cap" / "Capture_01.wav", audio)
    dcli = [
        {
            "file_name": "Capture_01.wav",
            "metadata": [{"name": "Set", "value": "Validate"}, {"name": "Subject", "value": "u1"}],
            "sessions": [
                {
                    "session_name": "Training Session",
                    "segments": [
                        {"name": "Label", "value": "yes", "start": centres[0] - 10000, "end": centres[0] + 9999}
                    ],
                },
                {
                    "session_name": "Model Testing",
                    "segments": [
                        {"name": "Label", "value": "no", "start": centres[1] - 10000, "end": centres[1] + 9999}
                    ],
                },
            ],
        }
    ]
    path = tmp_path / "cap" / "labels.dcli"
    path.write_text(json.dumps(dcli))
    apply_plan(p, plan_dcli(p, path))
    assert p.load_metadata().get("Capture_01.wav", "Set") == "Validate"
    train = p.load_session("Training Session").segments
    assert train[0].length == 20000 and train[0].label == "yes"
    assert p.load_session("Model Testing").segments[0].label == "no"
    path.write_text(json.dumps([{"file_name": "Capture_01.wav", "metadata": [{"name": "Set", "value": "train"}]}]))
    with pytest.raises(KwsgenError, match="did you mean Train"):
        plan_dcli(p, path)


def test_metadata_csv(tmp_path):
    p = new_project(tmp_path)
    apply_plan(p, plan_audio(p, [write(tmp_path / "a.wav", clip(RNG))], label="yes"))
    csv_path = tmp_path / "meta.csv"
    csv_path.write_text("file,Set,speaker,room\na.wav,Validate,bob,kitchen\n")
    apply_plan(p, plan_metadata(p, csv_path), progress=False)
    md = p.load_metadata()
    assert (md.get("a.wav", "Set"), md.get("a.wav", "room")) == ("Validate", "kitchen")
    before = snapshot(p.root)
    for text, message in [
        ("file,Set\nmissing.wav,Train\n", "names recordings that are not in the project: missing.wav"),
        ("name,Set\na.wav,Train\n", 'needs a "file" column'),
        ("file,Set\na.wav,Train,extra\n", "line 2 has 3 fields but the header has 2"),
        ("file,Set\na.wav,train\n", "did you mean Train"),
        ("file,Set,Set\na.wav,Train,Test\n", "names column 'Set' twice"),
        ("file,bad/col\na.wav,x\n", "metadata column 'bad/col'"),
        ("file,Set\na.wav,Train\na.wav,Test\n", "listed twice"),
    ]:
        csv_path.write_text(text)
        with pytest.raises(KwsgenError, match=message):
            plan_metadata(p, csv_path)
    csv_path.write_bytes("file,Set\na.wav,Tr\xe4in\n".encode("latin-1"))
    with pytest.raises(KwsgenError, match="is not UTF-8 text"):
        plan_metadata(p, csv_path)
    assert snapshot(p.root) == before


def test_bad_session_files_give_clear_errors(tmp_path):
    p = new_project(tmp_path)
    path = p.session_path("Training Session")
    for text, message in [
        ("file,label,start,end,score\n", "unknown column\\(s\\) score"),
        ("file,label,start\n", "missing column\\(s\\) end"),
        ("file,label,start,end\na.wav,yes,-5,100\n", "line 2: start -5 is outside"),
        ("file,label,start,end\na.wav,yes,10,99999999999\n", "line 2: end 99999999999 is outside"),
        ("file,label,start,end\na.wav,yes,500,100\n", "end 100 must be after start 500"),
        ("file,label,start,end\na.wav,yes,1.5,100\n", "'1.5' is not a whole number"),
        ('file,label,start,end\na.wav,"y""es",0,100\n', "quote"),
    ]:
        path.write_text(text)
        with pytest.raises(KwsgenError, match=message):
            p.load_session("Training Session")


def test_truncated_and_non_audio_imports(tmp_path):
    p = new_project(tmp_path)
    good = write(tmp_path / "good.wav", clip(RNG))
    cut = tmp_path / "cut.wav"
    cut.write_bytes(good.read_bytes()[:9000])
    text = tmp_path / "notes.wav"
    text.write_text("not audio")
    before = snapshot(p.root)
    with pytest.raises(KwsgenError, match="cut.wav: is truncated"):
        plan_audio(p, [good, cut], label="yes")
    with pytest.raises(KwsgenError, match="notes.wav: not a readable audio file"):
        plan_audio(p, [good, text], label="yes")
    assert snapshot(p.root) == before


def test_cli_import_errors_are_one_line(tmp_path, capsys):
    p = new_project(tmp_path)
    bad = tmp_path / "x.txt"
    bad.write_text("0\t1\tyes\n")
    before = snapshot(p.root)
    assert main(["import", "audacity", str(bad), "--audio", str(tmp_path / "none.wav"), "-p", str(p.root)]) == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "none.wav: file not found" in err[0]
    assert main(["import", "audio", str(tmp_path), "-p", str(p.root), "--label", "yes", "--set", "training"]) == 1
    assert "Set 'training' is not one of Train, Validate, Test" in capsys.readouterr().err
    assert snapshot(p.root) == before
    assert isinstance(Project.open(p.root), Project)
