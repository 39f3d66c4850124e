"""kwsgen train: transfer learning from a pretrained base model, then int8 quantisation and evaluation.

The base model's convolutional core is kept and a new head is trained on the
project's Train segments: one Dense -> BatchNorm -> ReLU -> Dropout per entry
of dense_layers, then a softmax over the project's labels. Training has two
phases: the head alone with the core frozen, then (unless unfreeze_blocks is
0) the last N core blocks too, at a lower learning rate, with the core's batch
norm statistics still frozen. Every epoch the Train inputs are resampled with
replacement to min(max_train_per_label, the median label) per label, copies
augmented in int8 feature space are added, and auxiliary Unknown inputs too.
Each phase stops after early_stopping_patience consecutive epochs at or above
early_stopping_threshold on Validate, and the weights of the epoch with the
lowest Validate loss are restored. The result is quantised to a full-int8
TFLite model with int8 input and output, and both are evaluated on every Set.

This module runs it and writes the model folder; head.py builds the model,
sampling.py draws each epoch's inputs, fitting.py trains and mines, and
artifacts.py reads a trained model back.
"""

from __future__ import annotations

import json
import time
from dataclasses import asdict, dataclass, replace
from pathlib import Path

import numpy as np

from .. import __version__
from ..errors import KwsgenError
from ..fsutil import GeneratedFolder
from ..progress import progress_bar
from ..project import UNKNOWN, Project
from .artifacts import load_trained
from .auxiliary import auxiliary_features
from .basemodel import find_base, load_base
from .dataset import SPEEDS, ProjectData, project_data
from .evaluate import Confusion, classify, int8_probabilities
from .fitting import (
    fit,
)
from .head import (
    base_memory,
    build_transfer_model,
    check_base_fits,
)
from .sampling import (
    Negatives,
    project_negatives,
    training_noise_pool,
)
from .tfutil import environment, predict, seed_everything, tf

SETS = ("Train", "Validate", "Test")


@dataclass
class TrainResult:
    folder: Path
    metrics: dict


class StageClock:
    """Seconds spent in each stage of training, in order (metrics.json's stage_seconds)."""

    def __init__(self) -> None:
        self.seconds: dict[str, float] = {}
        self._since = time.time()

    def done(self, stage: str) -> None:
        now = time.time()
        self.seconds[stage] = round(now - self._since, 1)
        self._since = now


def evaluate(model, tflite: bytes, data: ProjectData, threshold: float) -> tuple[dict, dict[str, dict]]:
    """Float and int8 confusion matrices per Set with data."""
    from .quantize import int8_predict, output_quantisation

    scale, zero = output_quantisation(tflite)
    matrices: dict[str, dict] = {}
    summary: dict[str, dict] = {}
    for name in SETS:
        split = data.splits.get(name)
        if split is None or not len(split):
            continue
        float_probs = predict(model, split.x)
        int8_probs = int8_probabilities(int8_predict(tflite, split.x), scale, zero)
        cf = Confusion.from_predictions(data.labels, split.y, classify(float_probs, threshold))
        ci = Confusion.from_predictions(data.labels, split.y, classify(int8_probs, threshold))
        agree = float(np.mean(float_probs.argmax(axis=1) == int8_probs.argmax(axis=1)))
        matrices[name] = {"float": cf, "int8": ci}
        summary[name] = {
            "inputs": len(split),
            "float_accuracy": round(cf.accuracy, 4),
            "int8_accuracy": round(ci.accuracy, 4),
            "float_int8_top1_agreement": round(agree, 4),
        }
    return summary, matrices


def train_project(project: Project, force: bool = False, progress: bool = True, log=print, **overrides) -> TrainResult:
    """Train the project's model as its kwsgen.toml says (overrides: any [training] field)."""
    from . import report as report_mod
    from .quantize import input_quantisation, to_int8_tflite

    t = replace(project.settings.training, **{k: v for k, v in overrides.items() if v is not None})
    a = project.settings.augmentation
    out = GeneratedFolder(project.model_dir(t.model), force=force, project_root=project.root)
    out.check()  # before any work: never lose a user's changes, never train for nothing
    base_path = find_base(t.base)
    base = load_base(base_path)
    check_base_fits(base, project, t.base)
    started = time.time()
    stages = StageClock()
    seed_everything(t.seed)
    minmax = base.minmax if t.minmax == "base" else None
    speeds = SPEEDS if a.speed > 0 else ()
    data = project_data(project, minmax, progress=progress, speeds=speeds)
    if minmax is None:
        from ..frontend import MinMax

        minmax = MinMax.fit(data.mfcc_train)
        data = project_data(project, minmax, progress=progress, speeds=speeds)
    labels = data.labels
    for name in ("Train", "Validate"):
        log(
            f"{name}: {len(data.splits[name])} inputs "
            + ", ".join(f"{lab} {n}" for lab, n in zip(labels, data.splits[name].counts(len(labels)), strict=True))
        )
    stages.done("features")
    aux = auxiliary_features(a.auxiliary_source, project.root, project.settings.frontend, minmax, labels)
    negatives = project_negatives(project, minmax, labels, log)
    data.noise_pool = training_noise_pool(project, data, minmax, a)
    stages.done("negatives and noise")
    model = build_transfer_model(base, len(labels), t)
    n = project.settings.negatives
    memory = base_memory(model, base, t.keep_base_outputs) if t.unfreeze_blocks != 0 else None
    history, best_epoch, stopped = fit(
        model, data, aux, t, a, base.template, progress, log, negatives, n.mining_rounds, n.mining_epochs, memory
    )
    stages.done("fitting and mining")
    tflite = to_int8_tflite(model, data.splits["Train"].x, samples=300, seed=t.seed)
    summary, matrices = evaluate(model, tflite, data, t.unk_threshold)
    stages.done("quantisation and evaluation")
    detection = operating_points(project, tflite, labels, minmax, negatives, data, progress)
    stages.done("operating point")
    for mode in ("filter", "continuous"):
        log(operating_point_line(detection, mode))
    seconds = round(time.time() - started, 1)
    spent = ", ".join(f"{name} {secs:.0f} s" for name, secs in stages.seconds.items())
    log(f"time: {spent}; {seconds:.0f} s in all")
    in_scale, in_zero = input_quantisation(tflite)
    model_info = {
        "kwsgen_version": __version__,
        "labels": labels,
        "classes": {"0": "UNK", **{str(i + 1): lab for i, lab in enumerate(labels)}},
        "unk_threshold": t.unk_threshold,
        "base": t.base,
        "template": base.template,
        "input_shape": list(base.input_shape),
        "input_quantisation": {"scale": in_scale, "zero_point": in_zero},
        "frontend": project.settings.frontend.to_dict(),
        "energy_filter": asdict(project.settings.energy_filter),
        "minmax": minmax.to_dict(),
        "detection": detection,
    }
    metrics = {
        "model": t.model,
        "summary": summary,
        "confusion": {s: {k: m.to_dict() for k, m in v.items()} for s, v in matrices.items()},
        "epochs_run": stopped,
        "best_epoch": best_epoch,
        "early_stopped": sum(h["phase"] in ("head", "fine-tune") for h in history)
        < t.epochs + (t.fine_tune_epochs if t.unfreeze_blocks != 0 else 0),
        "history": history,
        "training": asdict(t),
        "augmentation": asdict(a),
        "auxiliary_inputs_available": len(aux),
        "negatives": asdict(project.settings.negatives),
        "negative_bank_windows": len(negatives.starts),
        "calibration": detection,
        "input_counts": {s: data.splits[s].counts(len(labels)) for s in SETS},
        "parameters": {
            "total": int(model.count_params()),
            "trainable": int(sum(np.prod(w.shape) for w in model.trainable_weights)),
        },
        "int8_tflite_bytes": len(tflite),
        "seconds": seconds,
        "stage_seconds": stages.seconds,
        "environment": environment(),
    }
    try:
        out.write_bytes("model.keras", _keras_bytes(model))
        out.write_bytes("model.tflite", tflite)
        out.write_text("model.json", json.dumps(model_info, indent=1) + "\n")
        out.write_text("metrics.json", json.dumps(metrics, indent=1) + "\n")
        report_mod.write_outputs(out, metrics, matrices, t)
        out.finish()
    finally:
        out.abandon()  # after finish() there is nothing left to drop
    return TrainResult(out.root, metrics)


def operating_point_line(detection: dict, mode: str) -> str:
    """The log line of one mode's chosen rule. Thresholds are as model.json writes them (four decimals: 0.9961,
    the highest step that fires, is not 1), so a value copied into kwsgen.toml is the same step."""
    d = detection[mode]
    if d["validate_miss_rate"] is None:
        return f"operating point ({mode} mode): no Validate keywords to calibrate on"
    n = d["false_alarms"]
    line = (
        f"operating point ({mode} mode): thresholds "
        + ", ".join(f"{k} {v:.4f}" for k, v in d["thresholds"].items())
        + (f", average {d['average']}, hits {d['hits']}" if mode == "continuous" else "")
        + f"; Validate miss rate {d['validate_miss_rate']:.1%}, {n} false alarm{'' if n == 1 else 's'} in "
        f"{d['negative_hours'] * 60:.0f} min of negative speech"
    )
    if d.get("false_alarms_per_hour_95") is not None:  # model.json files written before the bound lack it
        line += f", at most {d['false_alarms_per_hour_95']:.1f} per hour at 95% confidence"
    if d.get("target_multiple", 1) > 1:
        line += (
            f" (no threshold found a Validate keyword within the target, "
            f"{detection['target_false_alarms_per_hour']:g} per hour; this one is within {d['target_multiple']} "
            "times it)"
        )
    return line


def operating_points(project: Project, tflite: bytes, labels, minmax, negatives: Negatives, data, progress) -> dict:
    """Calibrate the detection rule of both device modes on Validate and the bank's calibrate part."""
    from .calibrate import calibrate, segment_reader

    validate = [s for s in sorted(data.report.usable) if data.report.sets[s.file] == "Validate"]
    audio_of = segment_reader(project)
    excluded = [label for label in labels if label != UNKNOWN] + list(project.settings.negatives.exclude)
    with progress_bar(progress) as bar:
        bar.add_task("choosing the operating point", total=None)
        return calibrate(tflite, labels, project.settings, minmax, negatives.bank, excluded, validate, audio_of)


def _keras_bytes(model) -> bytes:
    import tempfile

    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "model.keras"
        model.save(path)
        return path.read_bytes()


def evaluate_test_set(project: Project, name: str | None = None, progress: bool = True) -> dict:
    """Evaluate a trained model on the project's Test set; writes test_* tables beside it."""
    from ..frontend import MinMax
    from . import report as report_mod
    from .quantize import output_quantisation

    name = name or project.settings.training.model
    info, tflite, folder = load_trained(project, name)
    fe = project.settings.frontend
    if list(info.get("input_shape", [])) != [fe.cascade_len, fe.n_coeffs] or info.get("frontend") != fe.to_dict():
        raise KwsgenError(
            f"model {name!r} was trained with another front end than this project's [frontend] "
            "(its inputs would not match); train it again",
            folder,
        )
    if info["labels"] != project.labels:
        raise KwsgenError(
            f"model {name!r} was trained for labels {info['labels']}, the project now has "
            f"{project.labels}; train it again",
            folder,
        )
    minmax = MinMax(info["minmax"]["min"], info["minmax"]["max"])
    data = project_data(project, minmax, progress=progress)
    split = data.splits["Test"]
    if not len(split):
        raise KwsgenError(
            "no Test segments: give some recordings (speakers not in Train or Validate) Set = Test in metadata.csv",
            project.root,
        )
    from .quantize import int8_predict

    scale, zero = output_quantisation(tflite)
    cms: dict[str, Confusion] = {
        "int8": Confusion.from_predictions(
            data.labels,
            split.y,
            classify(int8_probabilities(int8_predict(tflite, split.x), scale, zero), info["unk_threshold"]),
        )
    }
    if (folder / "model.keras").is_file():
        model = tf().keras.models.load_model(folder / "model.keras", compile=False)
        probs = predict(model, split.x)
        cms["float"] = Confusion.from_predictions(data.labels, split.y, classify(probs, info["unk_threshold"]))
    from ..firmware.setstream import detection_on_segments

    test_segments = [seg for seg in data.report.usable if data.report.sets[seg.file] == "Test"]
    detection = detection_on_segments(project, name, test_segments)
    result = {
        "model": name,
        "inputs": len(split),
        "int8_accuracy": round(cms["int8"].accuracy, 4),
        "float_accuracy": round(cms["float"].accuracy, 4) if "float" in cms else None,
        "confusion": {k: v.to_dict() for k, v in cms.items()},
        "text": report_mod.confusion_text("Test", cms),
        "detection": detection,
    }
    result["saved"] = _save_test_outputs(project, folder, cms, result)
    return result


def _save_test_outputs(project: Project, folder: Path, cms: dict, result: dict) -> str | None:
    """Write test_* beside the model; a read-only project is still tested. Returns why not saved, or None."""
    from . import report as report_mod

    out = GeneratedFolder(folder, update=True, project_root=project.root)
    try:
        report_mod.write_confusions(out, {"Test": cms}, prefix="test_")
        metrics = {k: v for k, v in result.items() if k not in ("text", "saved")}
        out.write_text("test_metrics.json", json.dumps(metrics, indent=1) + "\n")
        out.finish()
    except (KwsgenError, OSError) as exc:
        return str(exc)
    finally:
        out.abandon()
    return None
