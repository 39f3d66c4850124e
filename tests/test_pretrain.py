"""kwsgen pretrain's pieces that need no real speech: the split by speaker, the epoch mix, the options."""

from __future__ import annotations

import numpy as np
import pytest

from kwsgen.cli.main import main
from kwsgen.frontend import FrontendConfig, MinMax
from kwsgen.train.pretrain import SILENCE_CLASS, UNKNOWN_CLASS, Clip, Epochs, PretrainConfig, split

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
