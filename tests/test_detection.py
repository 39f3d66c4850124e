"""Detection quality machinery: the negative bank's keyword exclusion, hard-negative mining, the calibration of
the operating point, its agreement with the firmware's rule, and [detection] / [negatives] settings errors."""

from __future__ import annotations

import dataclasses
import math

import numpy as np
import pytest

from kwsgen.errors import KwsgenError
from kwsgen.firmware.app import DetectionRule, threshold_probability
from kwsgen.frontend import FrontendConfig, MinMax
from kwsgen.project.settings import load_settings
from kwsgen.project.store import Segment
from kwsgen.resources import package_data
from kwsgen.train import calibrate as cal
from kwsgen.train.fitting import mine
from kwsgen.train.negatives import BANK_FILE, NegativeBank, sample_windows, shipped_bank
from kwsgen.train.sampling import Negatives

from .conftest import in_ci
from .project_helpers import new_project

CL = 5  # a short cascade keeps the tiny banks readable


def tiny_bank(tags_per_hop: list[int], names: list[str], streams: list[tuple[int, int]], parts=None) -> NegativeBank:
    n = len(tags_per_hop)
    features = np.arange(n * 2, dtype=np.int64).reshape(n, 2).astype(np.int8)
    return NegativeBank(
        features=features,
        peaks=np.full(n, 1000, np.uint16),
        tags=np.array(tags_per_hop, np.uint8),
        tag_names=["", *names],
        streams=np.array(streams, np.int64),
        stream_parts=parts or ["train"] * len(streams),
        stream_kinds=["words"] * len(streams),
        minmax=MinMax([-100, -100], [100, 100]),
        frontend="test",
    )


def test_bank_leaves_out_every_window_touching_a_keyword():
    # hops: 0-4 "up", 5-9 gap, 10-14 "smart mirror", 15-19 "down"
    tags = [1] * 5 + [0] * 5 + [2] * 5 + [3] * 5
    bank = tiny_bank(tags, ["up", "smart mirror", "down"], [(0, 20)])
    everything = bank.window_starts(CL, "train", [])
    assert list(everything) == list(range(16))
    no_up = bank.window_starts(CL, "train", ["UP"])  # case does not matter
    assert list(no_up) == list(range(5, 16))
    no_mirror = bank.window_starts(CL, "train", ["mirror", "up"])  # a word of a phrase removes the phrase
    assert list(no_mirror) == [5, 15]
    assert bank.excluded_tags(["Down"]).tolist() == [False, False, False, True]


def test_bank_windows_stay_inside_one_stream_and_part():
    bank = tiny_bank([0] * 12, [], [(0, 6), (6, 12)], parts=["train", "calibrate"])
    assert list(bank.window_starts(CL, "train", [])) == [0, 1]
    assert list(bank.window_starts(CL, "calibrate", [])) == [6, 7]
    windows = bank.windows(np.array([1]), CL)
    assert windows.shape == (1, CL, 2) and np.array_equal(windows[0], bank.features[1:6])
    rng = np.random.default_rng(1)
    drawn = sample_windows(bank, 50, CL, [], rng)
    assert drawn.shape == (50, CL, 2)
    assert {int(w[0, 0]) for w in drawn} <= {0, 2}  # rows 0 and 1 begin with features 0 and 2
    assert sample_windows(bank, 5, 13, [], rng).shape == (0, 13, 2)  # no window that long


def test_shipped_bank_loads_for_the_default_front_end_without_the_projects_keywords():
    config = FrontendConfig()
    raw = NegativeBank.load(package_data(BANK_FILE))
    bank = shipped_bank(config, raw.minmax)
    assert bank is not None and bank.hours > 1.0
    assert {"yes", "no", "up", "sentence"} <= set(bank.tag_names)
    assert set(bank.stream_parts) == {"train", "calibrate"}
    keywords = ["yes", "no", "on", "off"]
    starts = bank.window_starts(config.cascade_len, "train", keywords)
    excluded = bank.excluded_tags(keywords)
    touched = excluded[bank.tags[starts[:, None] + np.arange(config.cascade_len)]]
    assert len(starts) > 100_000 and not touched.any()
    # Another scaling (projects with minmax = train): there and back again loses at most a step or two.
    assert raw.rescaled(raw.minmax) is raw
    other = MinMax(raw.minmax.min - 1000, raw.minmax.max + 1000)
    back = shipped_bank(config, other).rescaled(raw.minmax)
    assert np.abs(back.features.astype(int) - raw.features.astype(int)).max() <= 2


class FiresOnHighFeatures:
    """A stand-in model: the keyword "yes" fires on windows whose first feature is high."""

    def predict(self, x, verbose=0, batch_size=None):
        first = x[:, 0, 0, 0]
        yes = np.clip(first, 0, 1)
        return np.stack([yes, 1 - yes], axis=1)


def test_mining_adds_the_windows_that_fire_and_only_those():
    n = 40
    features = np.zeros((n, 2), np.int8)
    features[[8, 20, 24], 0] = 127  # windows starting there "fire"
    bank = dataclasses.replace(tiny_bank([0] * n, [], [(0, n)]), features=features)
    negatives = Negatives(bank, bank.window_starts(CL, "train", []), share=1.0)
    found = mine(FiresOnHighFeatures(), negatives, ["yes", "Unknown"], CL)
    # Mining runs on every 4th window: starts 0, 4, ..., 32; 8, 20 and 24 fire.
    assert found == {"windows": 9, "fired": 3, "kept": 3}
    assert sorted(int(w[0, 0]) for w in negatives.hard) == [127, 127, 127]
    rng = np.random.default_rng(0)
    drawn = negatives.draw(10, CL, rng)
    # Up to half from the 3 mined windows, the rest from the bank.
    assert drawn.shape == (10, CL, 2) and (drawn[:, 0, 0] == 127).sum() >= 3


def test_keyword_clips_are_windows_centred_on_each_clip_of_the_word_in_the_part():
    # stream 1 (train): hops 0-1 gap, 2-8 "yes" (7 hops), 9 gap, 10-14 "up", 15-17 gap;
    # stream 2 (calibrate): hops 18-24 "yes", 25 gap.
    tags = [0, 0] + [1] * 7 + [0] + [2] * 5 + [0] * 3 + [1] * 7 + [0]
    bank = tiny_bank(tags, ["yes", "up"], [(0, 18), (18, 26)], parts=["train", "calibrate"])
    assert list(bank.word_windows("Yes", CL, "train")) == [3]  # (7 - 5) // 2 hops into the clip
    assert list(bank.word_windows("up", CL, "train")) == [10]
    assert list(bank.word_windows("yes", CL, "calibrate")) == [19]
    assert len(bank.word_windows("hey", CL, "train")) == 0  # not a word of the bank
    assert len(bank.word_windows("up", 19, "train")) == 0  # the window would leave the stream


def test_keyword_clips_join_each_epoch_per_keyword_and_none_for_a_word_the_bank_lacks():
    from kwsgen.train.sampling import add_keyword_clips, with_keyword_clips

    tags = [0, 0] + [1] * 7 + [0] + [2] * 5 + [0] * 3 + [1] * 7 + [0]  # "yes" twice, "up" once
    bank = tiny_bank(tags, ["yes", "up"], [(0, len(tags))])
    negatives = Negatives(bank)
    said: list[str] = []
    add_keyword_clips(negatives, bank, ["yes", "hey", "Unknown"], CL, 1.0, said.append)
    assert said == ["keyword clips from the bank: yes 2 (none of hey: not a word the bank holds)"]
    assert negatives.keyword_y.tolist() == [0, 0]
    clips = [bank.features[3:8], bank.features[19:24]]
    assert all(np.array_equal(w, c) for w, c in zip(negatives.keyword_x, clips, strict=True))
    x = np.zeros((9, CL, 2), np.int8)
    y = np.repeat([0, 1, 2], 3)  # three resampled inputs per label
    rng = np.random.default_rng(0)
    x1, y1 = with_keyword_clips(x, y, negatives, 1.0, rng)  # 1 x 1 per label: one of the two clips
    assert np.bincount(y1).tolist() == [4, 3, 3] and any(np.array_equal(x1[9], c) for c in clips)
    x3, y3 = with_keyword_clips(x, y, negatives, 3.0, rng)  # 3 wanted, the bank has 2: each once
    assert np.bincount(y3).tolist() == [5, 3, 3]  # none of "hey" or Unknown
    assert sorted(int(w[0, 0]) for w in x3[9:]) == sorted(int(c[0, 0]) for c in clips)
    nothing = Negatives(bank)
    add_keyword_clips(nothing, bank, ["hey", "Unknown"], CL, 2.0, said.append)
    assert nothing.keyword_y is None and said[-1].startswith("keyword clips from the bank: none")


def test_choose_thresholds_buys_most_hits_within_the_budget():
    q = cal.Q_GRID
    n = len(q)
    # keyword 0: hits rise as the threshold falls; false alarms appear below index 20.
    hits0 = n - np.arange(n)
    fa0 = np.where(np.arange(n) < 20, 20 - np.arange(n), 0)
    # keyword 1: costs a false alarm per hit below index 60, free above.
    hits1 = 2 * (n - np.arange(n))
    fa1 = np.where(np.arange(n) < 60, 60 - np.arange(n), 0)
    curves = {0: cal.Curve(fa0, hits0, n), 1: cal.Curve(fa1, hits1, 2 * n)}
    chosen, spent, found = cal.choose_thresholds(curves, budget=0)
    assert spent == 0
    assert chosen == {0: int(q[20]), 1: int(q[60])}  # the lowest thresholds without a false alarm
    assert found == hits0[20] + hits1[60]
    chosen, spent, found = cal.choose_thresholds(curves, budget=5)
    assert spent <= 5 and found > hits0[20] + hits1[60]
    floor = np.searchsorted(q, int(np.ceil(cal.THRESHOLD_FLOOR * 256)))
    chosen, spent, _ = cal.choose_thresholds(curves, budget=10_000)
    assert chosen == {0: int(q[floor]), 1: int(q[floor])}  # never below the floor, however large the budget


def random_stream(rng, n_frames: int, n_classes: int, truth=()) -> cal.Stream:
    probs = rng.integers(0, 256, (n_frames, n_classes))
    probs[rng.random(n_frames) < 0.3, 0] = 250  # runs of confident keyword 0 so that streaks happen
    frames = np.sort(rng.choice(np.arange(48, 48 + 4 * n_frames), n_frames, replace=False))
    return cal.Stream(frames, probs, np.ones(n_frames, bool), list(truth))


@pytest.mark.parametrize(
    "continuous,average,hits,quiet",
    [(False, 1, 1, 50), (False, 1, 1, 0), (True, 3, 2, 25), (True, 1, 3, 0), (True, 5, 1, 10)],
)
def test_calibration_counts_detections_exactly_as_the_firmware_rule(continuous, average, hits, quiet):
    """The search's single-keyword evaluator gives the firmware's detections when only that keyword may fire."""
    from types import SimpleNamespace

    from kwsgen.firmware.simulate import apply_rule

    rng = np.random.default_rng(average * 10 + hits)
    labels = ["yes", "no", "Unknown"]
    stream = random_stream(rng, 400, 3)
    spec = SimpleNamespace(
        continuous=continuous,
        unknown_class=3,
        frontend=FrontendConfig(),
    )
    for keyword in (0, 1):
        for q in (120, 180, 240):
            thresholds = tuple(q if k == keyword else 256 for k in range(3))
            rule = DetectionRule(thresholds, holdoff=quiet, every=1, average=average, hits=hits, suppress=quiet)
            results = apply_rule(spec, stream.frames, stream.probs - 128, rule)
            expected = [r.frame for r in results if r.classification == keyword + 1]
            got = stream.frames[cal.fired(stream, keyword, q, cal.Rule(average, hits, quiet))].tolist()
            assert got == expected, (labels[keyword], q)


def test_search_picks_the_threshold_above_every_negative_and_below_the_keywords():
    """A synthetic DET: keywords score 200-230, negative speech up to 190, so the rule lands in between."""
    rng = np.random.default_rng(3)
    n = 300
    frames = np.arange(48, 48 + n * 30, 30)
    negative = np.zeros((n, 2), np.int64)
    negative[:, 1] = 255  # Unknown on top ...
    loud = rng.choice(n, 40, replace=False)
    negative[loud] = np.stack([rng.integers(150, 191, 40), np.full(40, 100)], axis=1)  # ... but for 40 near misses
    neg_stream = cal.Stream(frames, negative, np.ones(n, bool), [])
    positive = np.zeros((n, 2), np.int64)
    positive[:, 1] = 255
    hit = np.arange(5, n, 10)
    positive[hit] = np.stack([rng.integers(200, 231, len(hit)), np.full(len(hit), 20)], axis=1)
    truth = [Segment("validate", f * 320 + 480 - 7920 - 100, f * 320 + 480 - 7920 + 100, "yes") for f in frames[hit]]
    pos_stream = cal.Stream(frames, positive, np.ones(n, bool), truth)

    def centre(f):
        return f * 320 + 480 - 7920

    choice = cal.search(
        [neg_stream, pos_stream], ["yes", "Unknown"], False, 0, negative_hours=1.0, target=0.5, centre=centre
    )
    assert 190 < choice.thresholds["yes"] <= positive[hit, 0].min()
    assert choice.validate_hits == len(hit) and choice.false_alarms == 0
    # A budget of 10 false alarms in that hour lets the threshold fall into the near misses, no further.
    loose = cal.search([neg_stream, pos_stream], ["yes", "Unknown"], False, 0, 1.0, target=10, centre=centre)
    assert loose.thresholds["yes"] <= choice.thresholds["yes"] and loose.false_alarms <= 10


def test_continuous_rule_is_chosen_along_the_ladder_of_budgets_not_at_the_target_alone(monkeypatch):
    """A synthetic DET per rule: one hit in a row finds one keyword more at the target, where no false alarm is
    allowed, but three in a row find far more as soon as a few are: the steadier rule wins."""
    n = len(cal.Q_GRID)
    j = np.arange(n)
    false_alarms = np.maximum(0, 40 - j)

    def curve(rule_hits: int) -> cal.Curve:
        grows = {1: (40 - j) // 20, 3: (40 - j) // 2}.get(rule_hits)
        if grows is None:
            return cal.Curve(np.zeros(n, np.int64), np.zeros(n, np.int64), 10)
        start = 5 if rule_hits == 1 else 4
        hits = np.where(j >= 40, start, np.minimum(start + grows, 10))
        hits[-1] = 0  # "never"
        return cal.Curve(false_alarms, hits, 10)

    monkeypatch.setattr(cal, "keyword_curve", lambda streams, k, label, rule, centre: curve(rule.hits))
    labels = ["yes", "Unknown"]
    choice = cal.search([], labels, True, 50, negative_hours=1.0, target=0.5, centre=None)
    assert (choice.rule.average, choice.rule.hits) == (1, 3)
    assert choice.validate_hits == 4 and choice.false_alarms == 0  # the threshold still keeps the target
    at_target_only = cal.choose_shared_threshold({0: curve(1)}, 0.5)
    assert at_target_only[2] == 5  # what the old choice, at the target alone, would have preferred
    filter_choice = cal.search([], labels, False, 50, negative_hours=1.0, target=0.5, centre=None)
    assert (filter_choice.rule.average, filter_choice.rule.hits) == (1, 1)


@pytest.mark.parametrize(
    "setting,message",
    [
        (
            "[detection]\ntarget_false_alarms_per_hour = 0",
            r"\[detection\] target_false_alarms_per_hour must be above 0",
        ),
        (
            "[detection]\ntarget_false_alarms_per_hour = -1.5",
            r"\[detection\] target_false_alarms_per_hour must be above 0",
        ),
        (
            '[detection]\ntarget_false_alarms_per_hour = "low"',
            r"\[detection\] target_false_alarms_per_hour must be a float",
        ),
        (
            "[detection]\nthresholds = { yes = 1.5 }",
            r"\[detection\] thresholds: yes must be a number in \[0, 1\), got 1.5",
        ),
        (
            "[detection]\nthresholds = { maybe = 0.5 }",
            r"\[detection\] thresholds: 'maybe' is not a keyword of this project",
        ),
        ("[detection]\nthresholds = 0.7", r"\[detection\] thresholds must be a table, got 0.7"),
        ('[detection]\noperating_point = "best"', r"\[detection\] operating_point must be calibrated or settings"),
        ("[negatives]\nweight = 0", r"\[negatives\] weight must be above 0"),
        ('[negatives]\nsource = "internet"', r"\[negatives\] source must be shipped or none"),
        ("[negatives]\nmining_rounds = 11", r"\[negatives\] mining_rounds must be 0..10"),
        ("[negatives]\nkeyword_clips = -1", r"\[negatives\] keyword_clips must be in \[0, 10\]"),
        ('[training]\nresample_to = "mean"', r"\[training\] resample_to must be one of median, smallest, largest"),
        ("[training]\nkeep_base_outputs = -1", r"\[training\] keep_base_outputs must be in \[0, 100\]"),
        ("[device]\nhits = 0", r"\[device\] hits must be 1..50 and holdoff 0..100000"),
        ("[augmentation]\nnoise = 5.0", r"\[augmentation\] noise must be a share in \[0, 4\]"),
        ("[augmentation]\nnoise_snr_db = [20, 0]", r"\[augmentation\] noise_snr_db must be \[from, to\] in dB"),
    ],
)
def test_detection_settings_errors_are_one_clear_line(tmp_path, setting, message):
    project = new_project(tmp_path)
    toml = project.root / "kwsgen.toml"
    section = setting.split("\n")[0]
    text = toml.read_text()
    key = setting.split("\n")[1].split(" = ")[0]
    lines = [
        line for line in text.splitlines() if not (line.startswith(f"{key} = ") and in_section(text, line, section))
    ]
    toml.write_text("\n".join(lines).replace(section, setting, 1) + "\n")
    with pytest.raises(KwsgenError, match=message) as err:
        load_settings(toml)
    assert "\n" not in str(err.value) and "kwsgen.toml" in str(err.value)


def in_section(text: str, line: str, section: str) -> bool:
    """Whether `line` (first occurrence) sits in `section` of the TOML text."""
    current = None
    for candidate in text.splitlines():
        if candidate.startswith("["):
            current = candidate.strip()
        if candidate == line:
            return current == section
    return False


def test_thresholds_in_settings_reach_the_rule(tmp_path):
    project = new_project(tmp_path)
    toml = project.root / "kwsgen.toml"
    text = toml.read_text().replace("thresholds = {}", 'thresholds = { "yes" = 0.85 }')
    toml.write_text(text)
    settings = load_settings(toml)
    assert settings.detection.thresholds == {"yes": 0.85}
    assert DetectionRule.q_min(0.85) == 218 and DetectionRule.q_min(0.6) == 154 and DetectionRule.q_min(1.0) == 256
    with pytest.raises(KwsgenError, match="0..256"):
        DetectionRule((257,))


def test_a_threshold_as_written_reads_back_as_the_same_step():
    """model.json and the reports write threshold q as a four-decimal probability; reading it must give q.

    The exact comparison this replaced read 249 / 256, written 0.9727, as 250, and 255 (0.9961) as 256, which
    never fires: a calibrated detector that detected nothing."""
    labels = ["Unknown", "yes"]
    for q in range(257):
        assert DetectionRule.q_min(threshold_probability(q)) == q
        assert DetectionRule.q_min(q / 256) == q  # the exact probability too
        rule = DetectionRule((154, q), average=2, hits=3)
        assert DetectionRule.from_dict(rule.to_dict(labels), labels, 0.6) == rule
    assert threshold_probability(255) == 0.9961 and DetectionRule.q_min(0.9961) == 255
    # A threshold between two steps still needs the step above it.
    assert DetectionRule.q_min(0.97) == 249 and DetectionRule.q_min(0.9727) == 249 and DetectionRule.q_min(0.973) == 250


def test_noise_copies_are_mixed_at_the_asked_snr():
    from kwsgen.train.dataset import mix_noise

    rng = np.random.default_rng(4)
    t = np.arange(16000) / 16000
    clip = np.round(8000 * np.sin(2 * np.pi * 440 * t)).astype(np.int16)
    noise = rng.standard_normal(40000) * 1000
    for snr in (0.0, 10.0, 20.0):
        mixed = mix_noise(clip.astype(np.float64), noise, snr, rng).astype(np.float64)
        added = mixed - clip
        measured = 20 * np.log10(np.sqrt(np.mean(clip.astype(np.float64) ** 2)) / np.sqrt(np.mean(added**2)))
        assert abs(measured - snr) < 0.5, (snr, measured)


def test_noise_source_errors_name_the_folder(tmp_path):
    from kwsgen.train.dataset import noise_recordings

    assert noise_recordings("none", tmp_path) == []
    assert len(noise_recordings("shipped", tmp_path)) >= 5
    with pytest.raises(KwsgenError, match="noise_source is not shipped, none, or an existing folder"):
        noise_recordings("missing", tmp_path)
    (tmp_path / "empty").mkdir()
    with pytest.raises(KwsgenError, match="holds no audio files"):
        noise_recordings("empty", tmp_path)


def test_confusable_words_are_phonetic_neighbours_never_homophones_or_labels():
    from kwsgen.train.confusables import neighbours, one_phone_away

    assert one_phone_away(("Y", "EH", "S"), ("Y", "EH", "T"))  # yes / yet: a phone changed
    assert one_phone_away(("AO", "F"), ("AO", "F", "T"))  # off / oft: a phone added
    assert not one_phone_away(("N", "OW"), ("N", "OW"))  # the same sounds: a homophone, not a neighbour
    assert not one_phone_away(("AH", "P"), ("AO", "F"))  # up / off: two phones apart
    words = neighbours("no", 200, avoid={"no", "go"})
    assert words and "know" not in words and "no" not in words and "go" not in words
    assert "new" in words or "now" in words
    assert neighbours("no", 5, avoid=set()) == neighbours("no", 5, avoid=set())  # stable
    assert neighbours("xqzt", 5, avoid=set()) == []  # not in the dictionary: none


def test_training_without_espeak_says_so_and_goes_on(tmp_path, monkeypatch):
    from kwsgen.train import confusables

    monkeypatch.setattr(confusables, "espeak_available", lambda: False)
    said = []
    mfcc, words = confusables.confusable_mfcc(
        ["yes"], ["yes", "Unknown"], 3, 2, FrontendConfig(), tmp_path, [], said.append
    )
    assert len(mfcc) == 0 and words == []
    assert said == ["espeak-ng not found: training without synthetic confusable words (apt-get install espeak-ng)"]


@pytest.mark.skipif(not __import__("shutil").which("espeak-ng") and not in_ci(), reason="espeak-ng is not installed")
def test_confusable_clips_are_synthesised_once_then_cached(tmp_path):
    from kwsgen.train import confusables

    config = FrontendConfig()
    mfcc, words = confusables.confusable_mfcc(["off"], ["off", "Unknown"], 3, 2, config, tmp_path, [], print)
    assert mfcc.shape == (6, config.cascade_len, config.n_coeffs) and len(set(words)) == 3
    assert len(list(tmp_path.glob("*.npz"))) == 1
    again, _ = confusables.confusable_mfcc(["off"], ["off", "Unknown"], 3, 2, config, tmp_path, [], print)
    assert np.array_equal(again, mfcc)


def test_shared_threshold_is_the_lowest_whose_summed_false_alarms_fit():
    n = len(cal.Q_GRID)
    hits = n - np.arange(n)
    fa0 = np.where(np.arange(n) < 30, 30 - np.arange(n), 0)  # keyword 0 fires on negatives below index 30
    fa1 = np.where(np.arange(n) < 10, 10 - np.arange(n), 0)
    curves = {0: cal.Curve(fa0, hits, n), 1: cal.Curve(fa1, hits, n)}
    chosen, spent, found = cal.choose_shared_threshold(curves, budget=0)
    assert chosen == {0: int(cal.Q_GRID[30]), 1: int(cal.Q_GRID[30])} and spent == 0 and found == 2 * hits[30]
    chosen, spent, _ = cal.choose_shared_threshold(curves, budget=3)
    assert chosen[0] == chosen[1] == int(cal.Q_GRID[27]) and spent == 3


def test_a_budget_that_switches_every_keyword_off_gives_way_to_the_first_larger_one_that_finds_some(monkeypatch):
    """Every threshold below "never" fires at least once on the negatives, so a budget that allows none would
    ship a detector that never detects; the calibration takes the first rung of the ladder that finds keywords,
    and says which. A budget that finds keywords is kept as it is."""
    n = len(cal.Q_GRID)
    j = np.arange(n)
    false_alarms = np.where(j < n - 1, np.maximum(1, 40 - j), 0)  # even 0.996 fires once
    hits = np.where(j < n - 1, np.minimum(10, np.maximum(1, (n - j) // 4)), 0)
    monkeypatch.setattr(cal, "keyword_curve", lambda *_: cal.Curve(false_alarms, hits, 10))
    labels = ["yes", "Unknown"]
    strict = cal.search([], labels, False, 50, negative_hours=1.0, target=0.5, centre=None)
    assert strict.budget_multiple == 2 and strict.as_dict()["target_multiple"] == 2
    # Within 2 x 0.5 per hour: the most hits at one false alarm (indices 39-42), the highest such threshold.
    assert strict.false_alarms == 1 and strict.validate_hits == hits[39] == hits[42] > hits[43]
    assert strict.thresholds["yes"] == int(cal.Q_GRID[42])
    loose = cal.search([], labels, False, 50, negative_hours=1.0, target=3, centre=None)
    assert loose.budget_multiple == 1 and loose.false_alarms <= 3
    assert cal.first_rung_that_finds([({}, 0, 0)] * 6, events=0) == 0  # nothing to find: the target stays
    assert cal.first_rung_that_finds([({}, 0, 0)] * 6, events=5) == 0  # nothing found anywhere: the target stays


def test_the_report_says_when_the_operating_point_needed_a_larger_budget():
    from kwsgen.train.report import detection_html

    point = {"thresholds": {"yes": 0.99}, "validate_miss_rate": 0.5, "validate_keywords": 10, "false_alarms": 1}
    point |= {"negative_hours": 0.4, "false_alarms_per_hour": 2.5, "holdoff": 50, "det": [], "target_multiple": 4}
    page = "".join(detection_html({"target_false_alarms_per_hour": 1.0, "filter": point}))
    assert "1 in 24 min (no threshold within the target found a Validate keyword: 4 times it)" in page
    page = "".join(
        detection_html({"target_false_alarms_per_hour": 1.0, "filter": point | {"false_alarms_per_hour_95": 11.86}})
    )
    assert "1 in 24 min, at most 11.9 per hour (no threshold" in page
    page = "".join(detection_html({"target_false_alarms_per_hour": 1.0, "filter": point | {"target_multiple": 1}}))
    assert "times it" not in page


def test_the_log_line_of_an_operating_point_shows_the_highest_threshold_as_it_is():
    from kwsgen.train.transfer import operating_point_line

    point = {"thresholds": {"yes": 0.9961, "no": 0.9961}, "validate_miss_rate": 0.712, "false_alarms": 1}
    point |= {"negative_hours": 0.37, "target_multiple": 4}
    line = operating_point_line({"target_false_alarms_per_hour": 1.0, "filter": point}, "filter")
    assert line.startswith("operating point (filter mode): thresholds yes 0.9961, no 0.9961; Validate miss rate 71.2%")
    assert "1 false alarm in 22 min" in line and line.endswith("this one is within 4 times it)")
    point |= {"average": 3, "hits": 2, "false_alarms": 0, "target_multiple": 1}
    line = operating_point_line({"target_false_alarms_per_hour": 1.0, "continuous": point}, "continuous")
    assert "average 3, hits 2; " in line and line.endswith("0 false alarms in 22 min of negative speech")
    none = operating_point_line({"filter": {"validate_miss_rate": None}}, "filter")
    assert none == "operating point (filter mode): no Validate keywords to calibrate on"
    point |= {"false_alarms_per_hour_95": 8.17}  # model.json gives the bound since it is computed
    line = operating_point_line({"target_false_alarms_per_hour": 1.0, "continuous": point}, "continuous")
    assert line.endswith("0 false alarms in 22 min of negative speech, at most 8.2 per hour at 95% confidence")


def test_the_false_alarm_bound_is_the_poisson_upper_confidence_limit():
    """Minutes of negatives cannot show 1 per hour: the bound says what they do show. The reference values are
    half the chi-square quantiles, 0.5 x chi2(0.95, 2k + 2), as statistics tables give them."""
    for count, mean in [(0, 2.9957), (1, 4.7439), (2, 6.2958), (5, 10.5130), (10, 16.9622), (40, 52.0694)]:
        assert cal.poisson_upper_bound(count) == pytest.approx(mean, abs=5e-4)
    assert cal.poisson_upper_bound(0, confidence=0.9) == pytest.approx(math.log(10), abs=1e-6)
    assert cal.false_alarms_per_hour_bound(0, 0.375) == 7.99
    assert cal.false_alarms_per_hour_bound(0, 0.0) is None
    choice = cal.ModeChoice({"yes": 255}, cal.Rule(1, 1, 50), 10, 5, 1, 0.5, [])
    assert choice.as_dict()["false_alarms_per_hour_95"] == 9.49


def test_bench_det_summary_is_the_fewest_missed_averaged_over_the_budget_band(monkeypatch):
    import importlib.util
    from pathlib import Path

    bench_dir = Path(__file__).parents[1] / "bench"
    monkeypatch.syspath_prepend(str(bench_dir))  # bench/detection.py imports bench/results.py
    spec = importlib.util.spec_from_file_location("bench_detection", bench_dir / "detection.py")
    bench = importlib.util.module_from_spec(spec)
    monkeypatch.setitem(__import__("sys").modules, "bench_detection", bench)  # its dataclasses look it up
    spec.loader.exec_module(bench)

    def curve(points):
        return [{"threshold": t, "false_alarms_per_hour": f, "miss_rate": m} for t, f, m in points]

    steps = curve([(0.5, 60.0, 0.10), (0.7, 30.0, 0.20), (0.9, 5.0, 0.40)])
    # budgets 10-27.3 (six of nine) only reach the 5-per-hour point, 33.4-50 the 30-per-hour one
    assert bench.det_mean_miss(steps) == round((6 * 0.40 + 3 * 0.20) / 9, 4)
    # one false alarm across the 20-per-hour budget moves "fewest missed at 20" by 20 points, the mean by 2.2
    moved = curve([(0.5, 60.0, 0.10), (0.7, 19.0, 0.20), (0.9, 5.0, 0.40)])
    assert bench.det_at_most(steps, 20.0)["miss_rate"] - bench.det_at_most(moved, 20.0)["miss_rate"] == 0.2
    assert bench.det_mean_miss(steps) - bench.det_mean_miss(moved) < 0.1
    assert bench.det_mean_miss(curve([(0.9, 12.0, 0.4)])) is None  # no point within 10 per hour
