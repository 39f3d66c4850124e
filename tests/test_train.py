"""kwsgen train and kwsgen test on a small slice of the example project: outputs, determinism,
early stopping, every bad input, and the trained int8 model compiled to C, equal to TFLite Micro."""

from __future__ import annotations

import dataclasses
import json
import shutil

import numpy as np
import pytest

from kwsgen.cli.main import main
from kwsgen.errors import KwsgenError
from kwsgen.firmware.app import DetectionRule, load_spec, threshold_probability
from kwsgen.project import Project
from kwsgen.train.transfer import train_project

from .conftest import FAST, SMALL, example_subset

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    root = tmp_path_factory.mktemp("small")
    project = example_subset(root / "p", SMALL)
    result = train_project(project, progress=False, log=lambda *_: None, **FAST)
    return project, result


def test_train_writes_every_output(trained):
    project, result = trained
    folder = result.folder
    assert folder == project.models_dir / "model"
    for name in (
        "model.keras",
        "model.tflite",
        "model.json",
        "metrics.json",
        "training_curves.png",
        "report.html",
        "confusion_train.txt",
        "confusion_validate.txt",
        "confusion_test.txt",
        "confusion_train.png",
        "confusion_validate.png",
        "confusion_test.png",
    ):
        assert (folder / name).stat().st_size > 0, name
    text = (folder / "confusion_test.txt").read_text()
    assert "UNK" in text and "Support" in text and "Sens. %" in text and "Pos. pred. %" in text
    assert "int8 model" in text and "float model" in text
    metrics = json.loads((folder / "metrics.json").read_text())
    assert set(metrics["summary"]) == {"Train", "Validate", "Test"}
    phases = [h["phase"] for h in metrics["history"]]
    assert phases[:3] == ["head", "head", "fine-tune"] and phases[3:] in ([], ["mining 1"], ["mining 1", "mining 2"])
    assert metrics["epochs_run"] == len(phases)
    # Fine-tuning and mining keep the base's outputs (keep_base_outputs); the head phase has no core to keep.
    assert [("base_memory_loss" in h) for h in metrics["history"]] == [p != "head" for p in phases]
    assert metrics["negative_bank_windows"] > 100_000
    # what the seed's promise holds on: the same model only where these match
    env = metrics["environment"]
    assert env["tensorflow"] and env["cpu"] and env["onednn"] in (True, False) and isinstance(env["cpu_isa"], list)
    info = json.loads((folder / "model.json").read_text())
    for mode in ("filter", "continuous"):
        point = info["detection"][mode]
        assert set(point["thresholds"]) == {"yes", "no", "on", "off"}
        assert all(0.4 <= t <= 1.0 for t in point["thresholds"].values())
        assert point["negative_hours"] > 0.3 and point["false_alarms"] <= point["negative_hours"] * 1.0
        # the firmware is built with the very thresholds the calibration chose
        spec = load_spec(project, mode=mode)
        assert {k: threshold_probability(q) for k, q in zip(spec.labels, spec.rule.thresholds, strict=True)} == {
            **point["thresholds"],
            "Unknown": threshold_probability(DetectionRule.q_min(info["unk_threshold"])),
        }
    assert metrics["calibration"] == info["detection"]
    assert info["classes"]["0"] == "UNK" and info["labels"] == project.labels
    assert info["input_quantisation"] == {"scale": 1 / 128, "zero_point": 0}
    html = (folder / "report.html").read_text()
    assert html.count("data:image/png;base64,") == 5  # curves, DET and three confusion matrices


def test_same_seed_gives_the_same_model(trained, tmp_path):
    project, result = trained
    again = train_project(project, progress=False, log=lambda *_: None, model="again", **FAST)
    assert (again.folder / "model.tflite").read_bytes() == (result.folder / "model.tflite").read_bytes()
    other = train_project(project, progress=False, log=lambda *_: None, model="other", seed=2, **FAST)
    assert (other.folder / "model.tflite").read_bytes() != (result.folder / "model.tflite").read_bytes()


def test_trained_model_compiles_to_c_equal_to_tflite_micro(trained):
    from kwsgen.check.verify import compare_traces, run_generated, tflm_run
    from kwsgen.codegen.emit import generate_c
    from kwsgen.codegen.model import read_tflite

    _, result = trained
    data = (result.folder / "model.tflite").read_bytes()
    graph = read_tflite(data)
    gen = generate_c(graph)
    x = np.random.default_rng(0).integers(-128, 128, (3, gen.input_size)).astype(np.int8)
    assert not compare_traces(graph, tflm_run(data, graph, x), run_generated(gen, x, "host", trace=True).traces)


def test_early_stopping_stops_after_patience_good_epochs(trained):
    project, _ = trained
    kept = project.settings
    project.settings = dataclasses.replace(kept, negatives=dataclasses.replace(kept.negatives, mining_rounds=0))
    try:
        result = train_project(
            project,
            progress=False,
            log=lambda *_: None,
            model="early",
            epochs=6,
            fine_tune_epochs=5,
            early_stopping_threshold=0.0001,
            early_stopping_patience=2,
        )
    finally:
        project.settings = kept
    m = result.metrics
    assert [h["phase"] for h in m["history"]] == ["head", "head", "fine-tune", "fine-tune"] and m["early_stopped"]
    losses = [h["validate_loss"] for h in m["history"]]
    assert losses[m["best_epoch"] - 1] == min(losses)  # the kept epoch: lowest validation loss


def test_kwsgen_test_writes_the_test_tables(trained, capsys):
    project, _ = trained
    assert main(["test", "-p", str(project.root)]) == 0
    out = capsys.readouterr().out
    assert "Test: int8" in out and "UNK" in out
    folder = project.models_dir / "model"
    assert (folder / "test_confusion_test.txt").exists() and (folder / "test_metrics.json").exists()
    assert main(["test", "-p", str(project.root), "--model", "nothing"]) == 1
    assert "no trained model 'nothing'" in capsys.readouterr().err


def test_kwsgen_test_still_tests_when_nothing_can_be_written(trained, capsys, monkeypatch):
    """A read-only project (every write fails, the feature cache too): the results print, with a warning."""
    import kwsgen.fsutil

    project, _ = trained
    before = (
        (project.models_dir / "model" / "test_metrics.json").read_bytes()
        if (project.models_dir / "model" / "test_metrics.json").exists()
        else None
    )
    monkeypatch.setattr(kwsgen.fsutil, "fault_point", _always_fails)
    monkeypatch.setattr("kwsgen.project.transaction.fault_point", _always_fails)
    assert main(["test", "-p", str(project.root)]) == 0
    captured = capsys.readouterr()
    assert "Test: int8" in captured.out
    assert "warning: results not saved beside the model" in captured.err and "Read-only" in captured.err
    after = project.models_dir / "model" / "test_metrics.json"
    assert (after.read_bytes() if after.exists() else None) == before


def _always_fails(path):
    import errno

    raise OSError(errno.EROFS, "Read-only file system (test)", str(path))


def test_a_changed_model_folder_is_not_overwritten_without_force(trained):
    project, _ = trained
    folder = project.models_dir / "mine"
    train_project(project, progress=False, log=lambda *_: None, model="mine", **FAST)
    (folder / "notes.txt").write_text("my notes")
    with pytest.raises(KwsgenError, match="notes.txt.*--force"):
        train_project(project, progress=False, log=lambda *_: None, model="mine", **FAST)
    assert (folder / "notes.txt").read_text() == "my notes"
    train_project(project, force=True, progress=False, log=lambda *_: None, model="mine", **FAST)


def test_the_head_trains_first_then_the_last_blocks_unfreeze():
    from kwsgen.project.settings import TrainingSection
    from kwsgen.train.basemodel import find_base, load_base
    from kwsgen.train.head import build_transfer_model, fine_tune_layers

    base = load_base(find_base("kws25k"))

    def trainable(n):
        model = build_transfer_model(base, 5, TrainingSection())
        if n is not None:
            fine_tune_layers(model, base.template, n)
        return {layer.name for layer in model.layers if layer.trainable and layer.weights}

    head, last, everything = trainable(None), trainable(1), trainable(-1)
    assert head == {"head_dense1", "head_bn1", "classes"}
    assert last - head == {"dw4", "pw4"}  # batch normalisation stays frozen
    assert everything - head == {"conv0", "dw1", "pw1", "dw2", "pw2", "dw3", "pw3", "dw4", "pw4"}


def test_fine_tuning_keeps_the_base_outputs_it_is_told_to():
    """Learning without forgetting: the trainer's second output is the base's softmax on the shared core; before
    any step it says what the untouched base says, and fitting moves the core but never that softmax."""
    from kwsgen.project.settings import TrainingSection
    from kwsgen.train.basemodel import find_base, load_base
    from kwsgen.train.fitting import compile_for
    from kwsgen.train.head import base_memory, build_transfer_model, fine_tune_layers
    from kwsgen.train.tfutil import seed_everything, to_model_input

    seed_everything(1)  # dropout in the head draws random numbers
    base = load_base(find_base("kws25k"))
    model = build_transfer_model(base, 5, TrainingSection())
    assert base_memory(model, base, 0.0) is None
    memory = base_memory(model, base, 1.0)
    x = np.random.default_rng(0).integers(-128, 128, (16, *base.input_shape), dtype=np.int64).astype(np.int8)
    before = memory.trainer.predict(to_model_input(x), verbose=0)
    np.testing.assert_allclose(before["base"], memory.targets(x), atol=1e-6)
    assert len(memory.original.cache) == 16  # the targets are cached (CachedOutputs, tested on its own)
    np.testing.assert_allclose(before["classes"], model.predict(to_model_input(x), verbose=0), atol=1e-6)
    head_weights = [w.copy() for w in memory.trainer.get_layer("base_classes").get_weights()]
    fine_tune_layers(model, base.template, -1)
    compile_for(model, memory, 0.01).fit(
        to_model_input(x),
        {"classes": np.eye(5)[np.arange(16) % 5], "base": memory.targets(x)},
        epochs=2,
        verbose=0,
    )
    for kept, now in zip(head_weights, memory.trainer.get_layer("base_classes").get_weights(), strict=True):
        np.testing.assert_array_equal(kept, now)
    after = memory.trainer.predict(to_model_input(x), verbose=0)
    assert np.abs(after["base"] - before["base"]).max() > 1e-4  # the shared core moved
    np.testing.assert_allclose(memory.targets(x), before["base"], atol=1e-6)  # the original did not
    np.testing.assert_allclose(after["classes"], model.predict(to_model_input(x), verbose=0), atol=1e-6)


def test_cached_outputs_run_the_model_once_per_distinct_input_and_stop_caching_when_full(monkeypatch):
    from kwsgen.train import head as head_module
    from kwsgen.train.head import CachedOutputs

    class Recorder:  # stands for a Keras model: the sum of each input, and every batch it was given
        def __init__(self):
            self.batches: list[int] = []

        def predict(self, x, verbose, batch_size):
            self.batches.append(len(x))
            return x.reshape(len(x), -1).sum(axis=1, keepdims=True)

    x = np.random.default_rng(0).integers(-128, 128, (16, 49, 23)).astype(np.int8)
    want = (x.astype(np.float32) / 128).reshape(16, -1).sum(axis=1, keepdims=True)
    recorder = Recorder()
    outputs = CachedOutputs(recorder)
    np.testing.assert_allclose(outputs(np.concatenate([x[::-1], x])), np.concatenate([want[::-1], want]), rtol=1e-6)
    assert recorder.batches == [16] and len(outputs.cache) == 16  # each distinct input ran once
    np.testing.assert_allclose(outputs(x[:4]), want[:4], rtol=1e-6)
    assert recorder.batches == [16]  # all cached: the model did not run
    monkeypatch.setattr(head_module, "CACHE_LIMIT", 20)
    fresh = np.random.default_rng(1).integers(-128, 128, (8, 49, 23)).astype(np.int8)
    np.testing.assert_allclose(
        outputs(fresh)[:, 0], (fresh.astype(np.float32) / 128).reshape(8, -1).sum(axis=1), rtol=1e-6
    )
    assert len(outputs.cache) == 16  # answered, but not cached: 16 + 8 would pass the limit


def test_the_head_phase_fits_the_transfer_models_head_on_its_frozen_cores_embeddings():
    """FrozenCore's head model shares the transfer model's head layers: fitting it on cached embeddings trains
    the transfer model's head and leaves the core as it was, and the two models agree on every input."""
    from kwsgen.project.settings import TrainingSection
    from kwsgen.train.basemodel import find_base, load_base
    from kwsgen.train.fitting import compile_for
    from kwsgen.train.head import build_transfer_model, frozen_core
    from kwsgen.train.tfutil import predict, seed_everything

    seed_everything(1)
    base = load_base(find_base("kws25k"))
    model = build_transfer_model(base, 5, TrainingSection())
    core_before = [w.copy() for w in model.get_layer("pw4").get_weights()]
    head_before = [w.copy() for w in model.get_layer("classes").get_weights()]
    frozen = frozen_core(model)
    x = np.random.default_rng(0).integers(-128, 128, (64, *base.input_shape)).astype(np.int8)
    np.testing.assert_allclose(frozen.head.predict(frozen.embed(x), verbose=0), predict(model, x), atol=1e-6)
    compile_for(model, None, 0.01, frozen).fit(frozen.embed(x), np.eye(5)[np.arange(64) % 5], epochs=3, verbose=0)
    for kept, now in zip(core_before, model.get_layer("pw4").get_weights(), strict=True):
        np.testing.assert_array_equal(kept, now)
    assert np.abs(model.get_layer("classes").get_weights()[0] - head_before[0]).max() > 1e-4
    embeddings = frozen.embed(x)
    assert len(frozen.embed.cache) == 64
    np.testing.assert_allclose(frozen.head.predict(embeddings, verbose=0), predict(model, x), atol=1e-6)


def test_resampling_balances_every_epoch():
    from kwsgen.train.dataset import SplitData
    from kwsgen.train.sampling import resample_balanced

    split = SplitData(np.zeros((13, 49, 23), np.int8), np.array([0] * 10 + [1] * 3))
    _, y = resample_balanced(split, 2, 100, np.random.default_rng(0), "smallest")
    assert np.bincount(y).tolist() == [3, 3]
    _, y = resample_balanced(split, 2, 2, np.random.default_rng(0), "smallest")
    assert np.bincount(y).tolist() == [2, 2]
    _, y = resample_balanced(split, 2, 100, np.random.default_rng(0), "largest")
    assert np.bincount(y).tolist() == [10, 10]


def test_resampling_to_the_largest_or_median_label_uses_more_of_a_small_project():
    """Five labels, the smallest with 9 clips: the median (17, the default) or the largest (109) sets every
    label's count, not the 9."""
    from kwsgen.train.dataset import SplitData
    from kwsgen.train.sampling import resample_balanced

    counts = [17, 17, 20, 9, 109]
    y_all = np.repeat(np.arange(5), counts)
    x_all = np.repeat(np.arange(5, dtype=np.int8), counts)[:, None, None] * np.ones((1, 49, 23), np.int8)
    x, y = resample_balanced(SplitData(x_all, y_all), 5, 10000, np.random.default_rng(0), "median")
    assert np.bincount(y).tolist() == [17] * 5
    assert np.all(x[:, 0, 0] == y)  # every input keeps its own label
    _, y = resample_balanced(SplitData(x_all, y_all), 5, 12, np.random.default_rng(0), "median")
    assert np.bincount(y).tolist() == [12] * 5
    x, y = resample_balanced(SplitData(x_all, y_all), 5, 10000, np.random.default_rng(0), "largest")
    assert np.bincount(y).tolist() == [109] * 5
    assert np.all(x[:, 0, 0] == y)


def test_validate_is_capped_per_label_to_one_fixed_subset():
    from kwsgen.train.dataset import SplitData
    from kwsgen.train.sampling import capped_per_label

    y = np.array([0] * 7 + [1] * 2 + [2] * 5)
    split = SplitData(np.arange(14, dtype=np.int8)[:, None, None] * np.ones((1, 49, 23), np.int8), y)
    capped = capped_per_label(split, 3, 3, seed=1)
    assert np.bincount(capped.y).tolist() == [3, 2, 3]
    assert np.all(y[capped.x[:, 0, 0].astype(int)] == capped.y)  # each input keeps its label
    assert len(set(capped.x[:, 0, 0].tolist())) == 8  # without repeats
    again = capped_per_label(split, 3, 3, seed=1)
    assert np.array_equal(again.x, capped.x)  # the same subset every epoch
    assert capped_per_label(split, 3, 7, seed=1) is split  # under the cap: Validate as it is


# ---------------------------------------------------------------- bad input


def _error(project: Project, **kw) -> str:
    with pytest.raises(KwsgenError) as err:
        train_project(project, progress=False, log=lambda *_: None, **FAST, **kw)
    return str(err.value)


def test_a_label_without_data(tmp_path):
    project = example_subset(tmp_path / "p", SMALL)
    toml = (project.root / "kwsgen.toml").read_text().replace('"Unknown"]', '"Unknown", "maybe"]')
    (project.root / "kwsgen.toml").write_text(toml)
    assert "label 'maybe' has no usable Train segments" in _error(Project.open(project.root))


def test_only_one_class(tmp_path):
    project = example_subset(tmp_path / "p", SMALL)
    session = project.load_session("Training Session")
    session.segments = [s for s in session.segments if s.label == "yes"]
    project.save_session(session)
    assert "at least two labels" in _error(project)


def test_all_segments_too_short(tmp_path):
    project = example_subset(tmp_path / "p", SMALL)
    toml = (project.root / "kwsgen.toml").read_text().replace("min_length = 16000", "min_length = 19999")
    (project.root / "kwsgen.toml").write_text(toml)
    session = project.load_session("Training Session")
    from kwsgen.project import Segment

    session.segments = [Segment(s.file, s.start, s.start + 17000, s.label) for s in session.segments]
    project = Project.open(project.root)
    project.save_session(session)
    assert "all" in _error(project) and "shorter than min_length" in _error(project)


def test_no_validate_set_says_what_to_do(tmp_path):
    project = example_subset(tmp_path / "p", {k: "Train" if v == "Validate" else v for k, v in SMALL.items()})
    md = project.load_metadata()
    for file in md.rows:
        if md.get(file, "Set") == "Validate":
            md.set(file, {"Set": "Train"})
    project.save_metadata(md)
    message = _error(project)
    assert "no Validate segments" in message and "Set = Validate" in message


def test_missing_and_corrupted_base_models(tmp_path):
    project = example_subset(tmp_path / "p", SMALL)
    assert "no base model 'kws99k'" in _error(project, base="kws99k")
    from kwsgen.train.basemodel import find_base

    broken = tmp_path / "broken"
    shutil.copytree(find_base("kws25k"), broken)
    data = bytearray((broken / "weights.npz").read_bytes())
    data[len(data) // 2] ^= 0xFF
    (broken / "weights.npz").write_bytes(bytes(data))
    assert "corrupted or edited" in _error(project, base=str(broken))
    (broken / "base.json").unlink()
    assert "not a base model" in _error(project, base=str(broken))


def test_front_end_that_does_not_match_the_base(tmp_path):
    project = example_subset(tmp_path / "p", SMALL)
    toml = (project.root / "kwsgen.toml").read_text().replace("n_coeffs = 23", "n_coeffs = 16")
    (project.root / "kwsgen.toml").write_text(toml)
    message = _error(Project.open(project.root))
    assert "takes 49x23 inputs but this project's [frontend] gives 49x16" in message
