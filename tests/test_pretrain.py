"""kwsgen pretrain's pieces that need no real speech: the split by speaker, the epoch mix, the options."""

from __future__ import annotations

import shutil

import numpy as np
import pytest

from kwsgen.cli.main import main
from kwsgen.frontend import FrontendConfig, MinMax
from kwsgen.train.pretrain import SILENCE_CLASS, SYNTHETIC, UNKNOWN_CLASS, Clip, Epochs, PretrainConfig, split

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


@pytest.mark.parametrize("option", [["--unknown-weight", "0"], ["--unknown-weight", "25"], ["--epochs", "0"]])
def test_bad_pretrain_options_get_one_line(tmp_path, capsys, option):
    assert main(["pretrain", "--data", str(tmp_path), "--out", str(tmp_path / "out"), *option]) != 0
    err = capsys.readouterr().err
    assert "--unknown-weight within (0, 20]" in err and "Traceback" not in err and len(err.strip().splitlines()) == 1
    assert not (tmp_path / "out").exists()


@pytest.mark.parametrize("option", [["--synthetic", "-1"], ["--synthetic-share", "1.5"]])
def test_bad_synthetic_options_get_one_line(tmp_path, capsys, option):
    assert main(["pretrain", "--data", str(tmp_path), "--out", str(tmp_path / "out"), *option]) != 0
    err = capsys.readouterr().err
    assert "--synthetic must be 0 or more" in err and "Traceback" not in err and len(err.strip().splitlines()) == 1
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
