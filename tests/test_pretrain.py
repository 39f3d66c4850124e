"""kwsgen pretrain's pieces that need no real speech: the split by speaker, the epoch mix, the options."""

from __future__ import annotations

import shutil

import numpy as np
import pytest

from kwsgen.cli.main import main
from kwsgen.frontend import FrontendConfig, MinMax
from kwsgen.train.devstream import development_stream, score
from kwsgen.train.pretrain import (
    SILENCE_CLASS,
    SYNTHETIC,
    UNKNOWN_CLASS,
    Clip,
    Epochs,
    PretrainConfig,
    candidate_epochs,
    choose_epoch,
    development_sentences,
    features_of,
    split,
    unknown_source,
)

from .conftest import in_ci

WORDS = ("yes", "no")
CLASSES = [*WORDS, UNKNOWN_CLASS, SILENCE_CLASS]


def clips(n_per_class: int = 3) -> list[Clip]:
    rng = np.random.default_rng(0)
    return [
        Clip((rng.standard_normal(16000) * 3000).astype(np.int16), label, f"{label:02d}{i:06d}", "test")
        for label in range(len(CLASSES))
        for i in range(n_per_class)
    ]


@pytest.mark.parametrize("weight", [1.0, 3.0, 0.5])
def test_each_epoch_draws_per_class_inputs_and_the_unknown_weight_times_as_many_unknown(weight):
    cfg = PretrainConfig(words=WORDS, per_class=6, unknown_weight=weight, feature_rates={})
    config = FrontendConfig()
    minmax = MinMax(np.full(config.n_coeffs, -150_000), np.full(config.n_coeffs, 150_000))
    noise = [np.random.default_rng(1).standard_normal(48000).astype(np.float32) * 0.1]
    epochs = Epochs(
        clips(), noise, len(CLASSES), CLASSES.index(SILENCE_CLASS), CLASSES.index(UNKNOWN_CLASS), config, minmax, cfg
    )
    x, y = epochs.make(np.random.default_rng(2))
    counts = np.bincount(y, minlength=len(CLASSES))
    assert counts.tolist() == [6, 6, round(6 * weight), 6]
    assert x.shape == (len(y), config.cascade_len, config.n_coeffs) and x.dtype == np.int8


def test_held_out_speakers_are_never_trained_on():
    train, validate, held = split(clips(40), PretrainConfig(words=WORDS))
    speakers = [{c.speaker for c in part} for part in (train, validate, held)]
    assert held and train and not (speakers[0] & speakers[2]) and not (speakers[1] & speakers[2])


@pytest.mark.parametrize(
    "option, message",
    [
        (["--unknown-weight", "0"], "--unknown-weight within (0, 20]"),
        (["--unknown-weight", "25"], "--unknown-weight within (0, 20]"),
        (["--epochs", "0"], "--epochs and --per-class must be positive"),
        (["--synthetic", "-1"], "--synthetic must be 0 or more"),
        (["--synthetic-share", "1.5"], "--synthetic must be 0 or more"),
        (["--select-from", "1.5"], "--select-from must be within 0..1"),
        (["--select-every", "0"], "--select-from must be within 0..1 and --select-every 1 or more"),
        (["--unknown-mix", "words"], "--unknown-mix must be clips or sources, not 'words'"),
        (["--label-smoothing", "1"], "--label-smoothing must be within 0..1 (1 excluded)"),
        (["--unknown-fragments", "1.5"], "--unknown-fragments must be within 0..1, not 1.5"),
        (["--unknown-reversed", "-0.1"], "--unknown-reversed must be within 0..1, not -0.1"),
        (["--word-classes", "--select-from", "0.5"], "word classes and --select-from below 1 do not mix"),
    ],
)
def test_bad_pretrain_options_get_one_line(tmp_path, capsys, option, message):
    assert main(["pretrain", "--data", str(tmp_path), "--out", str(tmp_path / "out"), *option]) != 0
    err = capsys.readouterr().err
    assert message in err and "Traceback" not in err and len(err.strip().splitlines()) == 1
    assert not (tmp_path / "out").exists()


def test_synthetic_clips_only_train_and_fill_their_share_of_each_class():
    cfg = PretrainConfig(words=WORDS, per_class=400, feature_rates={}, synthetic_share=0.25)
    real = clips()
    fake = [Clip(np.full(16000, 1000 * (label + 1), np.int16), label, "synthetic:x", SYNTHETIC) for label in (0, 2)]
    config = FrontendConfig()
    minmax = MinMax(np.full(config.n_coeffs, -150_000), np.full(config.n_coeffs, 150_000))
    epochs = Epochs(
        real + fake, [], len(CLASSES), CLASSES.index(SILENCE_CLASS), CLASSES.index(UNKNOWN_CLASS), config, minmax, cfg
    )
    drawn = []
    assert [len(p) for p in epochs.synthetic] == [1, 0, 1, 0]
    assert all(c.source != SYNTHETIC for pool in epochs.by_class for c in pool)
    rng = np.random.default_rng(3)
    for label in (0, 1, 2):
        picks = [epochs.draw(label, rng) for _ in range(2000)]
        drawn.append(np.mean([c.source == SYNTHETIC for c in picks]))
    assert abs(drawn[0] - 0.25) < 0.04 and drawn[1] == 0 and abs(drawn[2] - 0.25) < 0.04


@pytest.mark.skipif(not shutil.which("espeak-ng") and not in_ci(), reason="espeak-ng is not installed")
def test_synthetic_voices_leave_out_the_example_projects_test_voices_and_say_every_word():
    from kwsgen.train.synthetic import RESERVED, pretraining_voices, synthetic_words

    voices = pretraining_voices(np.random.default_rng(0))
    assert len(voices) > 300 and len(set(voices)) == len(voices)
    lowered = {v.lower() for v in voices}
    assert not any(f"{accent}+{variant}" in lowered for accent, variant in RESERVED)
    assert "en-us+f5" not in lowered and "en-gb+f5" in lowered  # reserved per accent, not everywhere
    assert not any("whisper" in v or "robo" in v for v in lowered)
    said, near = synthetic_words(("yes", "off"), 4, 3, np.random.default_rng(1))
    assert sorted(said) == ["off", "yes"] and all(len(c) == 4 for c in said.values())
    assert len(near) == 6 and all(c.dtype == np.int16 and len(c) == 16000 for c in near)
    assert all(np.abs(c).max() > 1000 for clips_ in said.values() for c in clips_)  # speech, not silence


def test_reserved_voices_are_the_example_projects_validate_and_test_voices():
    import re
    from pathlib import Path

    from kwsgen.train.synthetic import RESERVED

    script = (Path(__file__).parent.parent / "host_tools" / "scripts" / "make_example_project.py").read_text()
    held = re.findall(r'Speaker\("[^"]+", "espeak-ng", "([^"+]+)\+([^"]+)", [^)]*"(?:Validate|Test)"\)', script)
    assert len(held) == 8 and {(accent, variant.lower()) for accent, variant in held} == RESERVED


def test_candidates_are_every_select_every_epochs_from_select_from_and_always_the_last():
    assert candidate_epochs(PretrainConfig(epochs=100, select_from=0.6)) == list(range(60, 101, 5))
    assert candidate_epochs(PretrainConfig(epochs=12, select_from=0.5, select_every=4)) == [6, 10, 12]
    assert candidate_epochs(PretrainConfig(epochs=100, select_from=1)) == [100]
    assert candidate_epochs(PretrainConfig(epochs=3, select_from=0, select_every=1)) == [1, 2, 3]


def scored(epoch: int, miss: float, per_hour: float, validate: float) -> dict:
    development = {"miss_rate": miss, "false_alarms_per_hour": per_hour}
    return {"epoch": epoch, "validate_accuracy": validate, "development": development}


def test_the_kept_epoch_has_the_fewest_false_alarms_at_the_target_miss_rate_then_the_best_validate_accuracy():
    cfg = PretrainConfig(epochs=100, select_from=0.6)
    history = [scored(e, 0.1, 50.0, 0.8) for e in range(1, 101)]
    history[9] = scored(10, 0.05, 1.0, 0.9)  # better, but not a candidate
    history[69] = scored(70, 0.2, 5.0, 0.9)  # few false alarms only because it misses twice the target
    history[59] = scored(60, 0.1, 20.0, 0.7)
    assert choose_epoch(history, candidate_epochs(cfg), cfg) == 60
    history[79] = scored(80, 0.08, 20.0, 0.75)  # as few false alarms, better validate accuracy
    assert choose_epoch(history, candidate_epochs(cfg), cfg) == 80
    unscored = [{"epoch": e, "validate_accuracy": 0.5} for e in range(1, 101)]
    assert choose_epoch(unscored, [100], cfg) == 100


def loud_centre(x: np.ndarray) -> np.ndarray:
    """A perfect detector of loud clips: "yes" (class 0) when the middle of the cascade is loud, else unknown."""
    level = x[:, 22:27, 0].astype(np.float64).mean(axis=1)
    loud = level > (level.min() + level.max()) / 2
    out = np.zeros((len(x), len(CLASSES)), np.int64)
    out[loud, 0], out[~loud, CLASSES.index(UNKNOWN_CLASS)] = 250, 250
    return out


def always_yes(x: np.ndarray) -> np.ndarray:
    out = np.zeros((len(x), len(CLASSES)), np.int64)
    out[:, 0] = 250
    return out


def test_development_stream_counts_false_alarms_at_the_target_miss_rate():
    rng = np.random.default_rng(0)
    words = [((rng.standard_normal(16000) * 8000).astype(np.int16), "yes") for _ in range(8)]
    words += [((rng.standard_normal(16000) * 20).astype(np.int16), UNKNOWN_CLASS) for _ in range(8)]
    sentences = [(rng.standard_normal(64000) * 20).astype(np.int16) for _ in range(3)]
    stream = development_stream(words, sentences, ("yes",), [], rng)
    assert len(stream.truth) == 8 and all(t.label == "yes" and t.end - t.start == 20000 for t in stream.truth)
    assert all(
        a.end <= b.start for a, b in zip(stream.truth[:-1], stream.truth[1:], strict=True)
    )  # spans never overlap
    assert stream.negative_seconds == pytest.approx((len(stream.audio) - 8 * 20000) / 16000)
    config = FrontendConfig()
    minmax = MinMax(np.full(config.n_coeffs, -150_000), np.full(config.n_coeffs, 150_000))
    perfect = score(stream, loud_centre, CLASSES, ("yes",), 0.1, config, minmax, suppress=100)
    assert perfect.miss_rate == 0 and perfect.false_alarms == 0 and perfect.threshold > 0.9
    eager = score(stream, always_yes, CLASSES, ("yes",), 0.1, config, minmax, suppress=100)
    # one report per suppress period (2 s) wherever no keyword's span catches it
    assert eager.miss_rate < 0.5 and stream.negative_seconds / 2 * 0.5 < eager.false_alarms <= stream.negative_seconds
    assert eager.false_alarms_per_hour == pytest.approx(eager.false_alarms / stream.negative_seconds * 3600)


def test_only_the_calibration_sentences_pick_the_checkpoint(tmp_path):
    import soundfile as sf

    from kwsgen.train.negatives import sentence_part

    folder = tmp_path / "sentences"
    folder.mkdir()
    parts = {}
    for i in range(40):
        path = folder / f"s{i}.flac"
        sf.write(path, np.full(1600, i + 1, np.int16), 16000)
        parts[i + 1] = sentence_part(path)
    assert set(parts.values()) == {"train", "calibrate", "held_out"}
    picked = sorted(int(a[0]) for a in development_sentences([tmp_path]))
    assert picked == sorted(k for k, part in parts.items() if part == "calibrate")


def test_unknown_mix_sources_draws_each_source_of_unknown_speech_equally_often():
    unknown = CLASSES.index(UNKNOWN_CLASS)
    silent = np.zeros(16000, np.int16)
    pool = [Clip(silent, unknown, f"extra:wake/{i}", "wake_words") for i in range(60)]
    pool += [Clip(silent, unknown, f"extra:sentences/{i}", "sentences") for i in range(3)]
    pool += [Clip(silent, unknown, f"{i:08x}", "speech_commands_v2") for i in range(6)]
    config = FrontendConfig()
    minmax = MinMax(np.full(config.n_coeffs, -150_000), np.full(config.n_coeffs, 150_000))
    shares = {}
    for mix in ("clips", "sources"):
        cfg = PretrainConfig(words=WORDS, unknown_mix=mix, feature_rates={})
        epochs = Epochs(clips() + pool, [], len(CLASSES), CLASSES.index(SILENCE_CLASS), unknown, config, minmax, cfg)
        rng = np.random.default_rng(4)
        drawn = [unknown_source(epochs.draw(unknown, rng)) for _ in range(3000)]
        shares[mix] = {s: drawn.count(s) / len(drawn) for s in ("wake_words", "sentences", "words")}
        assert all(epochs.draw(0, rng).label == 0 for _ in range(50))  # other classes are drawn as before
    assert shares["clips"]["wake_words"] > 0.8  # 60 of 72 clips (the 3 of clips() count as words)
    assert all(abs(share - 1 / 3) < 0.04 for share in shares["sources"].values())


def test_a_fragment_is_a_short_loud_piece_alone_in_a_quiet_second_with_soft_edges():
    from kwsgen.train.pretrain import FRAGMENT_SECONDS, fragment

    recording = np.zeros(64000, np.int16)
    recording[30000:40000] = (8000 * np.sin(np.arange(10000) / 3)).astype(np.int16)  # one "word" in 4 s of pause
    rng = np.random.default_rng(0)
    for _ in range(40):
        piece = fragment(recording, rng)
        assert piece.shape == (16000,) and piece.dtype == np.int16
        sounding = np.nonzero(piece)[0]
        assert len(sounding) <= FRAGMENT_SECONDS[1] * 16000  # the piece may hold some of the pause around the word
        assert 1600 <= (sounding[0] + sounding[-1]) / 2 <= 14400  # near the middle, like a Speech Commands word
        assert np.abs(piece).max() > 4000  # the word, not the pause around it
    speech = (8000 * np.sin(np.arange(64000) / 3)).astype(np.int16)  # sound everywhere: every cut is mid-word
    for _ in range(20):
        piece = fragment(speech, rng)
        sounding = np.nonzero(piece)[0]
        edges = np.abs(piece[sounding[[0, 1, 2, -3, -2, -1]]].astype(int))
        assert edges.max() < 100 and np.abs(piece).max() > 7000  # faded in and out, no click
        assert FRAGMENT_SECONDS[0] * 16000 - 2 <= len(sounding) <= FRAGMENT_SECONDS[1] * 16000


def test_unknown_fragments_cut_only_extra_words_clips_at_their_share():
    unknown = CLASSES.index(UNKNOWN_CLASS)
    loud = (8000 * np.sin(np.arange(48000) / 3)).astype(np.int16)
    extra = Clip(loud, unknown, "extra:wake/0", "wake_words")
    word = Clip(loud, unknown, "0000abcd", "speech_commands_v2")  # a long clip of --data: never cut
    config = FrontendConfig()
    minmax = MinMax(np.full(config.n_coeffs, -150_000), np.full(config.n_coeffs, 150_000))
    for share in (0.0, 0.5, 1.0):
        cfg = PretrainConfig(words=WORDS, unknown_fragments=share, feature_rates={})
        epochs = Epochs([extra, word], [], len(CLASSES), CLASSES.index(SILENCE_CLASS), unknown, config, minmax, cfg)
        rng = np.random.default_rng(1)
        cut = np.mean([np.count_nonzero(epochs.second_of(extra, rng) == 0) > 1000 for _ in range(400)])
        assert abs(cut - share) < 0.08
        assert all(np.count_nonzero(epochs.second_of(word, rng) == 0) < 1000 for _ in range(20))


def test_unknown_reversed_plays_command_words_backwards_but_not_no_or_on():
    words = ("yes", "no", "on", "off")
    classes = [*words, UNKNOWN_CLASS, SILENCE_CLASS]
    unknown = classes.index(UNKNOWN_CLASS)
    rng = np.random.default_rng(0)
    first_half = np.concatenate([np.ones(8000), np.zeros(8000)])  # a "word" in the first half second only
    loud = [
        Clip((rng.standard_normal(16000) * 3000 * first_half).astype(np.int16), k, f"{k:02d}{i:06d}", "t")
        for k in range(len(words))
        for i in range(3)
    ]
    quiet = [
        Clip(np.zeros(16000, np.int16), k, f"{k:02d}{i:06d}", "t") for k in (unknown, unknown + 1) for i in range(3)
    ]
    config = FrontendConfig()
    minmax = MinMax(np.full(config.n_coeffs, -150_000), np.full(config.n_coeffs, 150_000))
    silent_features = features_of([np.zeros(16000, np.int16)], config, minmax)[0]
    sounding = {}
    for share in (0.0, 1.0):
        cfg = PretrainConfig(words=words, per_class=30, unknown_reversed=share, feature_rates={})
        epochs = Epochs(loud + quiet, [], len(classes), unknown + 1, unknown, config, minmax, cfg)
        assert epochs.reversible == ([0, 3] if share else [])  # yes and off; "no" and "on" are each other backwards
        x, y = epochs.make(np.random.default_rng(1))
        assert np.bincount(y).tolist() == [30] * len(classes)  # the unknown share is unchanged
        sounding[share] = (x[y == unknown] != silent_features).any(axis=(1, 2))
    assert not sounding[0.0].any() and sounding[1.0].all()  # silent unknown clips, or keywords played backwards
    early, late = slice(0, 15), slice(-15, None)  # windows well inside the first and the last half second
    backwards, forwards = x[y == unknown], x[y == 0]
    assert (backwards[:, early] == silent_features[early]).all() and (backwards[:, late] != silent_features[late]).any(
        axis=(1, 2)
    ).all()
    assert (forwards[:, late] == silent_features[late]).all()


def test_an_unknown_clip_says_its_folders_word_or_its_file_name_prefix(tmp_path):
    from kwsgen.train.pretrain import word_of

    unknown = CLASSES.index(UNKNOWN_CLASS)
    assert word_of(tmp_path / "_unknown_" / "eight_0a7c2a8d_nohash_0.flac", unknown, unknown) == "eight"
    assert word_of(tmp_path / "_unknown_" / "0a7c2a8d_nohash_0.flac", unknown, unknown) == ""
    assert word_of(tmp_path / "six" / "0a7c2a8d_nohash_0.wav", unknown, unknown) == "six"  # another word's folder
    assert word_of(tmp_path / "yes" / "0a7c2a8d_nohash_0.wav", 0, unknown) == ""


def test_word_classes_keep_the_unknown_share_and_label_each_drawn_word():
    from kwsgen.train.pretrain import WORD_CLASS_MIN_CLIPS, relabel_words, word_classes

    unknown = CLASSES.index(UNKNOWN_CLASS)
    silent = np.zeros(16000, np.int16)
    pool = [Clip(silent, unknown, f"{i:08x}", "sc", "eight") for i in range(WORD_CLASS_MIN_CLIPS)]
    pool += [Clip(silent, unknown, f"{i:08x}", "sc", "wow") for i in range(WORD_CLASS_MIN_CLIPS - 1)]  # too few
    pool += [Clip(silent, unknown, f"extra:sentences/{i}", "sentences") for i in range(5)]  # no word
    train = clips() + pool
    words = word_classes(train, unknown)
    assert words == ["eight"]
    train = relabel_words(train, words, unknown, len(CLASSES))
    assert sum(c.label == len(CLASSES) for c in train) == WORD_CLASS_MIN_CLIPS
    config = FrontendConfig()
    minmax = MinMax(np.full(config.n_coeffs, -150_000), np.full(config.n_coeffs, 150_000))
    cfg = PretrainConfig(words=WORDS, per_class=40, unknown_weight=2, feature_rates={})
    epochs = Epochs(train, [], len(CLASSES), CLASSES.index(SILENCE_CLASS), unknown, config, minmax, cfg)
    _, y = epochs.make(np.random.default_rng(3))
    counts = np.bincount(y, minlength=len(CLASSES) + 1)
    assert counts[:2].tolist() == [40, 40] and counts[CLASSES.index(SILENCE_CLASS)] == 40
    assert counts[unknown] + counts[len(CLASSES)] == 80  # the word class is drawn out of unknown's share
    assert 15 <= counts[len(CLASSES)] <= 45  # 5 of the 23 unknown clips say "eight"


def test_a_teachers_unknown_goes_to_the_inputs_word_class():
    from kwsgen.train.pretrain import widen_to_words

    taught = np.array([[0.1, 0.2, 0.6, 0.1], [0.3, 0.3, 0.3, 0.1]], dtype=np.float32)
    wide = widen_to_words(taught, np.array([5, 0]), n_classes=4, n_words=2, unknown=2)
    np.testing.assert_allclose(wide, [[0.1, 0.2, 0.0, 0.1, 0.0, 0.6], [0.3, 0.3, 0.3, 0.1, 0.0, 0.0]])
    np.testing.assert_allclose(wide.sum(axis=1), 1.0, rtol=1e-6)


def test_the_card_names_the_commonest_errors_most_first():
    from kwsgen.train.pretrain import CONFUSIONS_ON_CARD, commonest_confusions, confusion_lines

    y = np.array([2, 2, 2, 2, 1, 1, 0, 0, 3])
    pred = np.array([0, 0, 1, 2, 0, 1, 0, 0, 2])
    found = commonest_confusions(pred, y, CLASSES)
    assert found == [
        {"said": "unknown", "taken_for": "yes", "clips": 2},
        {"said": "no", "taken_for": "yes", "clips": 1},
        {"said": "unknown", "taken_for": "no", "clips": 1},
        {"said": "silence", "taken_for": "unknown", "clips": 1},
    ]
    assert confusion_lines({"held_out_confusions_int8": found})[0].endswith(
        "unknown taken for yes 2, no taken for yes 1, unknown taken for no 1, silence taken for unknown 1"
    )
    many = commonest_confusions(np.zeros(40, int), np.repeat(np.arange(1, 4), [10, 20, 10]), CLASSES)
    assert len(many) == 3 and many[0]["clips"] == 20
    assert len(commonest_confusions(np.arange(40) % 4, (np.arange(40) + 1) % 4, CLASSES)) <= CONFUSIONS_ON_CARD
    assert confusion_lines({}) == []


def test_word_classes_fold_into_unknown():
    from kwsgen.train.pretrain import fold_words

    p = np.array([[0.1, 0.2, 0.1, 0.0, 0.3, 0.3], [0.5, 0.1, 0.1, 0.2, 0.05, 0.05]])
    folded = fold_words(p, 4, unknown=2)
    np.testing.assert_allclose(folded, [[0.1, 0.2, 0.7, 0.0], [0.5, 0.1, 0.2, 0.2]])
    assert folded.argmax(axis=1).tolist() == [2, 0]


def speakers_in(buckets: range, n: int) -> list[str]:
    from kwsgen.train.pretrain import speaker_bucket

    found = (f"{i:08x}" for i in range(100_000) if speaker_bucket(f"{i:08x}") in buckets)
    return [next(found) for _ in range(n)]


def test_pretraining_with_a_development_stream_keeps_a_scored_epoch_and_says_so(tmp_path):
    """End to end on a few noise 'words': candidates scored, one kept, the card records all of it."""
    import json

    import soundfile as sf

    from kwsgen.train.negatives import sentence_part
    from kwsgen.train.pretrain import pretrain

    rng = np.random.default_rng(0)
    data = tmp_path / "data"
    for word, level in (("yes", 6000), ("no", 3000), ("_unknown_", 800), ("_silence_", 20)):
        (data / word).mkdir(parents=True)
        for speaker in speakers_in(range(0, 10), 2) + speakers_in(range(10, 70), 4) + speakers_in(range(70, 100), 2):
            sf.write(
                data / word / f"{speaker}_nohash_0.wav", (rng.standard_normal(16000) * level).astype(np.int16), 16000
            )
    sentences = tmp_path / "extra" / "sentences"
    sentences.mkdir(parents=True)
    for i in range(12):
        sf.write(sentences / f"s{i}.wav", (rng.standard_normal(32000) * 500).astype(np.int16), 16000)
    calibration = sum(sentence_part(p) == "calibrate" for p in sentences.iterdir())
    cfg = PretrainConfig(
        template="kws10k", words=WORDS, epochs=3, per_class=8, select_from=0, select_every=1, feature_rates={}
    )
    card = pretrain([data], tmp_path / "base", cfg, [tmp_path / "extra"], progress=False, log=lambda *_: None)
    scored = [h for h in card["history"] if "development" in h]
    assert [h["epoch"] for h in scored] == [1, 2, 3] and all("held_out_accuracy_float" in h for h in scored)
    assert card["kept_epoch"] == choose_epoch(card["history"], [1, 2, 3], cfg)
    assert f"{calibration} calibration sentences" in card["selection"] and "4 keywords" in card["selection"]
    saved = json.loads((tmp_path / "base" / "card.json").read_text())
    assert saved["kept_epoch"] == card["kept_epoch"]
    assert saved["environment"]["tensorflow"] and saved["environment"]["cpu"]
    assert (
        f"kept: epoch {card['kept_epoch']}, of the weights every 1 epochs"
        in (tmp_path / "base" / "card.md").read_text()
    )


def test_pretraining_with_word_classes_ends_as_a_base_over_the_classes_alone(tmp_path):
    import soundfile as sf

    from kwsgen.train.basemodel import load_base
    from kwsgen.train.pretrain import pretrain

    rng = np.random.default_rng(0)
    data = tmp_path / "data"
    for folder, prefix, level in (("yes", "", 6000), ("no", "", 3000), ("_unknown_", "eight_", 800)):
        (data / folder).mkdir(parents=True)
        for speaker in speakers_in(range(0, 10), 1) + speakers_in(range(10, 70), 6) + speakers_in(range(70, 100), 1):
            noise = (rng.standard_normal(16000) * level).astype(np.int16)
            sf.write(data / folder / f"{prefix}{speaker}_nohash_0.wav", noise, 16000)
    (data / "_silence_").mkdir()
    sf.write(data / "_silence_" / f"{speakers_in(range(10, 70), 1)[0]}_nohash_0.wav", np.zeros(16000, np.int16), 16000)
    cfg = PretrainConfig(template="kws10k", words=WORDS, epochs=2, per_class=8, word_classes=True, feature_rates={})
    lines: list[str] = []
    card = pretrain([data], tmp_path / "base", cfg, progress=False, log=lines.append)
    assert card["word_classes"] == ["eight"] and card["classes"] == CLASSES
    assert any("1 unknown words train as classes of their own: eight" in line for line in lines)
    kernel, bias = load_base(tmp_path / "base").weights["base_classes"]
    assert kernel.shape[1] == len(CLASSES) and bias.shape == (len(CLASSES),)  # the word class is folded away
    card_md = (tmp_path / "base" / "card.md").read_text()
    assert "- Trained with word classes inside unknown, folded away: eight" in card_md
    assert isinstance(card["held_out_confusions_int8"], list)
    assert 0 <= card["held_out_accuracy_int8"] <= 1


def test_pretraining_without_silence_or_noise_gets_one_line(tmp_path, capsys):
    import soundfile as sf

    (tmp_path / "yes").mkdir()
    sf.write(tmp_path / "yes" / "0a0b0c0d_nohash_0.wav", np.zeros(16000, np.int16), 16000)
    assert main(["pretrain", "--data", str(tmp_path), "--out", str(tmp_path / "out"), "--words", "yes"]) != 0
    err = capsys.readouterr().err
    assert "nothing for the 'silence' class" in err and "Traceback" not in err and len(err.strip().splitlines()) == 1
    assert not (tmp_path / "out").exists()
