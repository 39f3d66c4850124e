"""Auto-labelling, the feature cache, queries, the review page and the example project."""

from __future__ import annotations

import csv
from collections import defaultdict

import numpy as np
import pytest

from kwsgen.audio import read_audio
from kwsgen.cli import main
from kwsgen.errors import KwsgenError
from kwsgen.frontend import FrontendConfig, mfcc
from kwsgen.project import (
    FeatureCache,
    Project,
    Query,
    Segment,
    apply_plan,
    check_session,
    example_project_dir,
    parse_condition,
    plan_audio,
    select,
)
from kwsgen.project.autolabel import find_utterances, match_centres
from kwsgen.project.labelling import auto_label
from kwsgen.project.store import Metadata

from .project_helpers import clip, multi_word_recording, new_project, snapshot, write

RNG = np.random.default_rng(11)


def test_autolabel_on_generated_recordings_with_known_positions():
    """The example project's generator kept every word's true position (truth.csv)."""
    root = example_project_dir()
    project = Project.open(root)
    truth: dict[str, list[int]] = defaultdict(list)
    with open(root / "truth.csv", newline="") as f:
        for row in csv.DictReader(f):
            truth[row["file"]].append((int(row["start"]) + int(row["end"])) // 2)
    found = total = 0
    errors = []
    for file, centres in truth.items():
        u = find_utterances(read_audio(project.recording_path(file)), project.settings.autolabel)
        m = match_centres([x.centre for x in u], centres, 1600)
        found, total, errors = found + m.found, total + len(centres), errors + list(m.centre_errors_ms)
    assert found / total >= 0.98, f"found {found} of {total}"
    assert max(errors) <= 100


def test_label_auto_adds_but_never_replaces(tmp_path, capsys):
    p = new_project(tmp_path)
    audio, centres = multi_word_recording(RNG, 5, noise_db=-45)
    take = write(tmp_path / "in" / "take.wav", audio)
    noise = write(tmp_path / "in" / "room.wav", RNG.standard_normal(3 * 16000) * 0.01)
    apply_plan(p, plan_audio(p, [take], label="yes", segments="none"))
    apply_plan(p, plan_audio(p, [noise], label="Unknown", segments="none"))
    assert p.load_session("Training Session").segments == []
    assert main(["label", "auto", "-p", str(p.root)]) == 0
    segs = p.load_session("Training Session").segments
    yes = sorted(s for s in segs if s.label == "yes")
    assert len(yes) == 5 and all(abs(s.centre - c) < 1600 for s, c in zip(yes, centres, strict=True))
    assert all(s.length == 20000 for s in segs)
    assert sum(s.label == "Unknown" for s in segs) == 2  # 48000 samples: two full and no short tail
    before = snapshot(p.root)
    added, _labelled, skipped = auto_label(p, ["take.wav"], "Training Session", progress=False)
    assert added == 0 and "already has segments" in skipped[0]
    assert snapshot(p.root) == before
    auto_label(p, ["take.wav"], "Auto", progress=False)
    assert len(p.load_session("Auto").segments) == 5
    with pytest.raises(KwsgenError, match="not in recordings/"):
        auto_label(p, ["nope.wav"], "Auto", progress=False)


def test_feature_cache_recomputes_only_what_changed(tmp_path, monkeypatch):
    p = new_project(tmp_path)
    for i in range(3):
        write(p.recording_path(f"r{i}.wav"), clip(RNG, 1.5))
    segs = [Segment(f"r{i}.wav", 1000, 17000, "yes") for i in range(3)]
    cache = FeatureCache(p)
    first = cache.mfcc(segs, progress=False)
    for seg, feats in zip(segs, first, strict=True):
        assert np.array_equal(feats, mfcc(read_audio(p.recording_path(seg.file))[1000:17000]))
    calls = []
    import kwsgen.project.features as features_module

    real = features_module.mfcc_batch
    monkeypatch.setattr(features_module, "mfcc_batch", lambda clips, cfg: calls.append(len(clips)) or real(clips, cfg))
    again = FeatureCache(p).mfcc(segs, progress=False)
    assert calls == [] and all(np.array_equal(a, b) for a, b in zip(first, again, strict=True))
    write(p.recording_path("r1.wav"), clip(RNG, 1.5))  # new content
    FeatureCache(p).mfcc(segs, progress=False)
    assert calls == [1]
    FeatureCache(p, FrontendConfig(n_coeffs=13)).mfcc(segs, progress=False)
    assert calls == [1, 1, 1, 1]


def test_feature_cache_survives_interruption(tmp_path, monkeypatch):
    p = new_project(tmp_path)
    for i in range(3):
        write(p.recording_path(f"r{i}.wav"), clip(RNG))
    segs = [Segment(f"r{i}.wav", 0, 16000, "yes") for i in range(3)]
    import kwsgen.project.features as features_module

    real, seen = features_module.mfcc_batch, []

    def flaky(clips, cfg):
        seen.append(1)
        if len(seen) == 2:
            raise KeyboardInterrupt
        return real(clips, cfg)

    monkeypatch.setattr(features_module, "mfcc_batch", flaky)
    with pytest.raises(KeyboardInterrupt):
        FeatureCache(p).mfcc(segs, progress=False)
    monkeypatch.setattr(features_module, "mfcc_batch", real)
    entries = list((p.cache_dir / "features").rglob("*.npy"))
    assert len(entries) == 1 and not list(p.cache_dir.rglob("*.tmp"))
    result = FeatureCache(p).mfcc(segs, progress=False)
    assert all(f.shape == (49, 23) for f in result)


def test_queries(tmp_path):
    p = new_project(tmp_path)
    md = Metadata()
    segs = []
    for i, (set_name, speaker) in enumerate([("Train", "ann"), ("Validate", "bob"), ("Test", "cy"), ("Train", "bob")]):
        write(p.recording_path(f"r{i}.wav"), np.zeros(40000))
        md.set(f"r{i}.wav", {"Set": set_name, "speaker": speaker})
        segs += [Segment(f"r{i}.wav", 0, 20000, "yes"), Segment(f"r{i}.wav", 20000, 40000, "Unknown")]
    p.save_metadata(md)
    session = p.load_session("Training Session")
    session.add(segs)
    p.save_session(session)
    pick = select(p, Query.from_strings(where=["Set in [Train, Validate]"]))
    assert sorted({s.segment.file for s in pick}) == ["r0.wav", "r1.wav", "r3.wav"]
    assert len(select(p, Query.from_strings(labels=["yes"], where=["speaker = bob", "Set != Validate"]))) == 1
    assert len(select(p, Query.from_strings(where=["speaker not in [ann, bob]"]))) == 2
    assert str(parse_condition("Set in [Train,  Validate]")) == "Set in [Train, Validate]"
    with pytest.raises(KwsgenError, match="no column 'mic'"):
        select(p, Query.from_strings(where=["mic = pdm"]))
    with pytest.raises(KwsgenError, match="go in brackets"):
        parse_condition("Set in Train")
    with pytest.raises(KwsgenError, match="not in the project"):
        select(p, Query.from_strings(labels=["maybe"]))


def test_review_page(tmp_path):
    p = new_project(tmp_path)
    apply_plan(p, plan_audio(p, [write(tmp_path / "a.wav", clip(RNG, 2.0))], label="yes"))
    s = p.load_session("Model Testing", create=True)
    s.add([Segment("a.wav", 0, 16000, "no")])
    p.save_session(s)
    out = tmp_path / "review.html"
    assert main(["label", "review", "-p", str(p.root), "-o", str(out)]) == 0
    page = out.read_text()
    assert page.count("data:image/png;base64,") == 1
    assert "Model Testing" in page and "Training Session" in page and "<h2>a.wav</h2>" in page


def test_init_example_project(tmp_path, capsys):
    target = tmp_path / "ex"
    assert main(["init", str(target), "--example"]) == 0
    project = Project.open(target)
    report = check_session(project, "Training Session")
    assert report.issues == []
    counts = report.counts(project.labels)
    for label in project.labels:
        assert all(counts[label][s] > 0 for s in ("Train", "Validate", "Test"))
    md = project.load_metadata()
    speakers = {row["speaker"]: row["Set"] for row in md.rows.values() if row["speaker"] != "noise"}
    sets_of = defaultdict(set)
    for _file, row in md.rows.items():
        sets_of[row["speaker"]].add(row["Set"])
    assert all(len(v) == 1 for k, v in sets_of.items() if k != "noise"), "split by speaker"
    assert len(speakers) >= 12
    size = sum(f.stat().st_size for f in example_project_dir().rglob("*") if f.is_file())
    assert size < 10_500_000  # 28 voices x 5 recordings: enough unheard-voice coverage for >= 95 % (bench/transfer.py)
    assert main(["init", str(target), "--example"]) == 1
    assert "is not empty" in capsys.readouterr().err
