"""Pretraining with teachers (kwsgen.train.distill): soft targets, the scale mapping, the checks on teachers."""

from __future__ import annotations

import numpy as np

from kwsgen.cli.main import main
from kwsgen.frontend import FrontendConfig, MinMax
from kwsgen.train.distill import rescale, soft_targets

from .test_pretrain import speakers_in

WORDS = ("yes", "no")


def test_rescale_keeps_equal_bounds_and_maps_other_bounds_within_one_step():
    rng = np.random.default_rng(3)
    mfcc = rng.integers(-30_000, 30_000, size=(500, 4))
    source = MinMax(np.full(4, -30_000), np.full(4, 30_000))
    target = MinMax(np.array([-20_000, -30_000, -40_000, 0]), np.array([25_000, 30_000, 10_000, 30_000]))
    x = source.scale(mfcc).astype(np.int8)
    assert rescale(x, source, source) is x
    mapped = rescale(x, source, target)
    assert mapped.dtype == np.int8
    assert np.abs(mapped.astype(int) - target.scale(mfcc).astype(int)).max() <= 1
    assert np.array_equal(rescale(x, source, MinMax(source.min.copy(), source.max.copy())), x)


def test_soft_targets_mix_the_label_with_the_teachers():
    teacher = np.array([[0.1, 0.7, 0.2], [0.3, 0.3, 0.4]], dtype=np.float32)
    y = np.array([0, 2])
    assert np.array_equal(soft_targets(y, 3, None, 0.5), np.eye(3, dtype=np.float32)[y])
    assert np.array_equal(soft_targets(y, 3, teacher, 0.0), np.eye(3, dtype=np.float32)[y])
    mixed = soft_targets(y, 3, teacher, 0.25)
    assert np.allclose(mixed, [[0.775, 0.175, 0.05], [0.075, 0.075, 0.85]])
    assert np.allclose(mixed.sum(axis=1), 1)
    assert np.allclose(soft_targets(y, 3, teacher, 1.0), teacher)


def tiny_data(root, rng) -> None:
    import soundfile as sf

    for word, level in (("yes", 6000), ("no", 3000), ("_unknown_", 800), ("_silence_", 20)):
        (root / word).mkdir(parents=True)
        for speaker in speakers_in(range(0, 10), 2) + speakers_in(range(10, 70), 4) + speakers_in(range(70, 100), 2):
            audio = (rng.standard_normal(16000) * level).astype(np.int16)
            sf.write(root / word / f"{speaker}_nohash_0.wav", audio, 16000)


def save_teacher(folder, classes: list[str], says: str, minmax: MinMax) -> None:
    """A kws10k base whose head gives `says` whatever it hears (its last layer: no weights, one large bias)."""
    from kwsgen.train.basemodel import BaseModel, save_base
    from kwsgen.train.templates import build_base, get_template

    frontend = FrontendConfig()
    model = build_base(get_template("kws10k"), (frontend.cascade_len, frontend.n_coeffs), len(classes))
    last = model.layers[-1]
    kernel, bias = last.get_weights()
    bias[:] = 0
    bias[classes.index(says)] = 8.0
    last.set_weights([np.zeros_like(kernel), bias])
    weights = {layer.name: layer.get_weights() for layer in model.layers if layer.get_weights()}
    card = {
        "template": "kws10k",
        "description": "test teacher",
        "parameters": 0,
        "macs": 0,
        "int8_tflite_bytes": 0,
        "classes": classes,
        "data": [],
        "split": "",
        "clips": {},
        "speakers": {},
        "epochs": 0,
        "seed": 0,
        "kept_epoch": 0,
        "held_out_accuracy_float": 0.0,
        "held_out_accuracy_int8": 0.0,
        "held_out_per_class_int8": {},
    }
    save_base(folder, BaseModel("kws10k", classes, frontend, minmax, weights), card)


def test_a_student_learns_what_its_teacher_says(tmp_path):
    """A teacher that always says "yes", at weight 1: the student's held-out clips all come out "yes";
    at weight 0 the same run (same seed and inputs) does not."""
    from kwsgen.train.pretrain import SILENCE_CLASS, UNKNOWN_CLASS, PretrainConfig, pretrain

    tiny_data(tmp_path / "data", np.random.default_rng(0))
    classes = [*WORDS, UNKNOWN_CLASS, SILENCE_CLASS]
    # bounds unlike the student's own, so the teacher's inputs go through rescale
    save_teacher(tmp_path / "teacher", classes, "yes", MinMax(np.full(23, -50_000), np.full(23, 60_000)))
    cards = {}
    for weight in (0.0, 1.0):
        cfg = PretrainConfig(
            template="kws10k",
            words=WORDS,
            epochs=8,
            per_class=16,
            learning_rate=0.05,
            feature_rates={},
            teachers=(str(tmp_path / "teacher"),),
            teacher_weight=weight,
        )
        cards[weight] = pretrain([tmp_path / "data"], tmp_path / f"student{weight}", cfg, progress=False, log=print)
    assert cards[1.0]["held_out_per_class_int8"] == {"yes": 1.0, "no": 0.0, "unknown": 0.0, "silence": 0.0}
    assert cards[0.0]["held_out_per_class_int8"] != cards[1.0]["held_out_per_class_int8"]
    assert list(cards[1.0]["config"]["teachers"]) == [str(tmp_path / "teacher")]
    assert (
        f"- Teachers: {tmp_path / 'teacher'} (their mean probabilities are 1 of every target)"
        in (tmp_path / "student1.0" / "card.md").read_text()
    )


def test_a_teacher_with_other_classes_gets_one_line(tmp_path, capsys):
    tiny_data(tmp_path / "data", np.random.default_rng(0))
    save_teacher(
        tmp_path / "teacher",
        ["yes", "up", "unknown", "silence"],
        "silence",
        MinMax(np.full(23, -50_000), np.full(23, 60_000)),
    )
    args = ["pretrain", "--data", str(tmp_path / "data"), "--out", str(tmp_path / "out"), "--words", "yes,no"]
    assert main([*args, "--teacher", str(tmp_path / "teacher"), "--template", "kws10k"]) != 0
    err = capsys.readouterr().err
    assert f"teacher {tmp_path / 'teacher'}" in err and "are not the pretraining's" in err
    assert "Traceback" not in err and len(err.strip().splitlines()) == 1
    assert not (tmp_path / "out").exists()


def test_a_missing_teacher_or_a_bad_weight_gets_one_line(tmp_path, capsys):
    tiny_data(tmp_path / "data", np.random.default_rng(0))
    args = ["pretrain", "--data", str(tmp_path / "data"), "--out", str(tmp_path / "out"), "--words", "yes,no"]
    assert main([*args, "--teacher", "kws99k"]) != 0
    assert "no base model 'kws99k'" in capsys.readouterr().err
    assert main([*args, "--teacher", "kws10k", "--teacher-weight", "1.5"]) != 0
    err = capsys.readouterr().err
    assert "--teacher-weight must be within 0..1" in err and len(err.strip().splitlines()) == 1
    assert main([*args, "--teacher-pairs", "0.3"]) != 0
    err = capsys.readouterr().err
    assert "--teacher-pairs needs --teacher" in err and len(err.strip().splitlines()) == 1
    assert not (tmp_path / "out").exists()


def test_taught_inputs_straddle_two_spoken_clips_and_add_their_share():
    """Every clip is one constant level (silence: 0): a taught input holds two levels and no silence."""
    from kwsgen.train.pretrain import SILENCE_CLASS, TAUGHT, UNKNOWN_CLASS, Clip, Epochs, PretrainConfig

    classes = [*WORDS, UNKNOWN_CLASS, SILENCE_CLASS]
    silence = classes.index(SILENCE_CLASS)
    clips = [
        Clip(np.full(16000, 0 if label == silence else 100 * (20 * label + i + 1), np.int16), label, f"{i:08x}", "t")
        for label in range(len(classes))
        for i in range(20)
    ]
    cfg = PretrainConfig(words=WORDS, per_class=10, feature_rates={}, teacher_pairs=0.5)
    config = FrontendConfig()
    minmax = MinMax(np.full(config.n_coeffs, -150_000), np.full(config.n_coeffs, 150_000))
    epochs = Epochs(clips, [], len(classes), silence, classes.index(UNKNOWN_CLASS), config, minmax, cfg)
    _, y = epochs.make(np.random.default_rng(2))
    assert np.sum(y == TAUGHT) == 20 and np.sum(y >= 0) == 40
    rng = np.random.default_rng(5)
    windows = [epochs.straddle(rng) for _ in range(60)]
    middle = [w[1600:-1600] for w in windows]  # beyond the largest time shift
    assert all(np.all(m != 0) for m in middle)
    assert sum(len(np.unique(m)) == 2 for m in middle) >= 54


def test_the_card_says_how_the_base_was_taught():
    from kwsgen.train.pretrain import teacher_lines

    assert teacher_lines({"config": {"teachers": []}}) == []
    taught = {"config": {"teachers": ["kws10k", "kws50k"], "teacher_weight": 0.5, "teacher_pairs": 0.25}}
    assert teacher_lines(taught) == [
        "- Teachers: kws10k, kws50k (their mean probabilities are 0.5 of every target; 0.25 x the labelled inputs"
        " more per epoch across the join of two clips, taught alone)"
    ]
