"""kwsgen train: transfer learning from a pretrained base model, then int8 quantisation and evaluation.

The base model's convolutional core is kept and a new head is trained on the
project's Train segments: one Dense -> BatchNorm -> ReLU -> Dropout per entry
of dense_layers, then a softmax over the project's labels. Training has two
phases: the head alone with the core frozen, then (unless unfreeze_blocks is
0) the last N core blocks too, at a lower learning rate, with the core's batch
norm statistics still frozen. Every epoch the Train inputs are resampled with
replacement to min(max_train_per_label, smallest label) per label, copies
augmented in int8 feature space are added, and auxiliary Unknown inputs too.
Each phase stops after early_stopping_patience consecutive epochs at or above
early_stopping_threshold on Validate, and the weights of the epoch with the
lowest Validate loss are restored. The result is quantised to a full-int8
TFLite model with int8 input and output, and both are evaluated on every Set.
"""

from __future__ import annotations

import json
import time
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path

import numpy as np

from .. import __version__
from ..errors import KwsgenError
from ..fsutil import GeneratedFolder
from ..progress import progress_bar
from ..project import UNKNOWN, Project
from ..project.settings import AugmentationSection, TrainingSection
from .artifacts import load_trained
from .augment import augment_features
from .auxiliary import auxiliary_features
from .basemodel import BaseModel, find_base, load_base
from .dataset import SPEEDS, ProjectData, SplitData, project_data
from .evaluate import Confusion, classify, int8_probabilities
from .negatives import NegativeBank, shipped_bank
from .templates import block_layer_names, build_core, get_template
from .tfutil import seed_everything, tf

SETS = ("Train", "Validate", "Test")


@dataclass
class TrainResult:
    folder: Path
    metrics: dict


def check_base_fits(base: BaseModel, project: Project, base_name: str) -> None:
    fe = project.settings.frontend
    if (fe.cascade_len, fe.n_coeffs) != base.input_shape:
        raise KwsgenError(
            f"base model {base_name} takes {base.input_shape[0]}x{base.input_shape[1]} inputs but this project's "
            f"[frontend] gives {fe.cascade_len}x{fe.n_coeffs}; use the front end the base was pretrained with, or "
            "pretrain a base for yours (kwsgen pretrain)"
        )
    if fe.to_dict() != base.frontend.to_dict():
        changed = sorted(k for k, v in fe.to_dict().items() if base.frontend.to_dict().get(k) != v)
        raise KwsgenError(
            f"base model {base_name} was pretrained on another front end ({', '.join(changed)} differ), so its "
            "features would mean something else; use its [frontend] settings, or pretrain a base (kwsgen pretrain)"
        )


def build_transfer_model(base: BaseModel, n_classes: int, t: TrainingSection):
    """The base's core with its pretrained weights, then the new head."""
    keras = tf().keras
    layers = keras.layers
    template = get_template(base.template)
    core = build_core(template, base.input_shape)
    for layer in core.layers:
        if layer.get_weights():
            if layer.name not in base.weights:
                raise KwsgenError(f"base model {base.template} lacks weights for layer {layer.name}")
            layer.set_weights(base.weights[layer.name])
    for layer in core.layers:
        layer.trainable = False  # the head trains first; fine_tune_layers() unfreezes blocks afterwards
    x = core.output
    for i, units in enumerate(t.dense_layers, start=1):
        x = layers.Dense(units, use_bias=not t.batch_norm, name=f"head_dense{i}")(x)
        if t.batch_norm:
            # Keras' default momentum (0.99) needs hundreds of steps for its moving statistics to settle, more
            # than a small project's whole training; at 0.9 inference matches training within a few epochs.
            x = layers.BatchNormalization(momentum=0.9, name=f"head_bn{i}")(x)
        x = layers.ReLU(name=f"head_relu{i}")(x)
        if t.dropout > 0:
            x = layers.Dropout(t.dropout, name=f"head_dropout{i}")(x)
    outputs = layers.Dense(n_classes, activation="softmax", name="classes")(x)
    return keras.Model(core.input, outputs, name=f"{base.template}_transfer")


def fine_tune_layers(model, template_name: str, unfreeze_blocks: int) -> list[str]:
    """Make the last `unfreeze_blocks` core blocks trainable (-1: all); returns their layer names.

    Batch normalisation stays frozen even in unfrozen blocks: re-estimating its statistics from a few
    hundred inputs undoes pretraining (the usual fine-tuning practice).
    """
    template = get_template(template_name)
    n_blocks = template.blocks + 1  # the first convolution counts as block 0
    unfrozen = n_blocks if unfreeze_blocks < 0 else min(unfreeze_blocks, n_blocks)
    names = [name for b in range(n_blocks - unfrozen, n_blocks) for name in block_layer_names(template, b)]
    bn = tf().keras.layers.BatchNormalization
    trained = []
    for name in names:
        layer = model.get_layer(name)
        if not isinstance(layer, bn):
            layer.trainable = True
            trained.append(name)
    return trained


def resample_balanced(
    split: SplitData, n_labels: int, limit: int, rng: np.random.Generator
) -> tuple[np.ndarray, np.ndarray]:
    """Every label present, drawn with replacement to min(limit, smallest label's count)."""
    counts = np.bincount(split.y, minlength=n_labels)
    per = int(min(limit, counts[counts > 0].min()))
    idx = np.concatenate(
        [rng.choice(np.flatnonzero(split.y == k), per, replace=True) for k in range(n_labels) if counts[k]]
    )
    return split.x[idx], split.y[idx]


def to_model_input(x: np.ndarray) -> np.ndarray:
    return (np.asarray(x, dtype=np.float32) / 128.0)[..., np.newaxis]


@dataclass
class Negatives:
    """Unknown inputs beyond the project's own: windows of the negative bank, and mined hard negatives."""

    bank: NegativeBank | None = None
    starts: np.ndarray = field(default_factory=lambda: np.zeros(0, np.int64))  # bank windows free of keywords
    share: float = 0.0  # bank windows per epoch, as a share of the resampled training inputs
    weight: float = 1.0  # loss weight of every Unknown input
    hard: np.ndarray | None = None  # int8 inputs that fired in mining
    confusable: np.ndarray | None = None  # int8 inputs: the keywords' phonetic neighbours, synthesised

    def draw(self, n: int, cascade_len: int, rng: np.random.Generator) -> np.ndarray:
        """n inputs: up to half mined ones (once there are some), up to a quarter confusable words, the rest
        bank windows at random offsets."""
        n_hard = min(n // 2, 0 if self.hard is None else len(self.hard))
        n_confusable = min(n // 4, 0 if self.confusable is None else len(self.confusable))
        parts = []
        if n_hard:
            parts.append(self.hard[rng.integers(0, len(self.hard), n_hard)])
        if n_confusable:
            parts.append(self.confusable[rng.integers(0, len(self.confusable), n_confusable)])
        rest = n - n_hard - n_confusable
        if self.bank is not None and len(self.starts) and rest > 0:
            parts.append(self.bank.windows(rng.choice(self.starts, rest), cascade_len))
        return np.concatenate(parts) if parts else np.zeros((0, cascade_len, 0), np.int8)


def project_negatives(project: Project, minmax, labels: list[str], log) -> Negatives:
    """The [negatives] of a project: the shipped bank scaled for its min/max, its keywords left out."""
    n = project.settings.negatives
    if n.source == "none" or UNKNOWN not in labels:
        return Negatives(weight=n.weight)
    fe = project.settings.frontend
    bank = shipped_bank(fe, minmax)
    keywords = [label for label in labels if label != UNKNOWN] + list(n.exclude)
    starts = bank.window_starts(fe.cascade_len, "train", keywords)
    left_out = [name for name, out in zip(bank.tag_names, bank.excluded_tags(keywords), strict=True) if out]
    log(
        f"negative bank: {len(starts):,} windows of {bank.hours:.1f} h of real speech"
        + (f" (left out: {', '.join(left_out)})" if left_out else "")
    )
    negatives = Negatives(bank, starts, n.share, n.weight)
    if n.confusables:
        from .confusables import confusable_mfcc
        from .dataset import noise_recordings

        noises = noise_recordings(project.settings.augmentation.noise_source, project.root)
        mfcc, words = confusable_mfcc(
            [label for label in labels if label != UNKNOWN],
            labels,
            n.confusables,
            8,
            fe,
            project.cache_dir / "confusables",
            noises,
            log,
        )
        if len(mfcc):
            negatives.confusable = np.stack([minmax.scale(m) for m in mfcc])
            log(f"confusable words: {len(set(words))} ({', '.join(sorted(set(words))[:12])}, ...), {len(mfcc)} clips")
    return negatives


def epoch_inputs(
    data: SplitData,
    aux: np.ndarray,
    labels: list[str],
    t: TrainingSection,
    a: AugmentationSection,
    rng: np.random.Generator,
    speed_pool: SplitData | None = None,
    negatives: Negatives | None = None,
    noise_pool: SplitData | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    x, y = resample_balanced(data, len(labels), t.max_train_per_label, rng)
    n_negative = round(negatives.share * len(y)) if negatives is not None and UNKNOWN in labels else 0
    rates = {k: getattr(a, k) for k in ("sparse_noise", "bias_noise", "time_mask", "coefficient_mask")}
    extra = [pool_copies(speed_pool, a.speed, y, rng), pool_copies(noise_pool, a.noise, y, rng)]
    x, y = augment_features(x, y, rates, rng)
    x = np.concatenate([x, *(e[0] for e in extra if e)])
    y = np.concatenate([y, *(e[1] for e in extra if e)])
    n_aux = round(a.auxiliary * len(y))
    if n_aux and len(aux) and UNKNOWN in labels:
        pick = rng.integers(0, len(aux), n_aux)
        x = np.concatenate([x, aux[pick]])
        y = np.concatenate([y, np.full(n_aux, labels.index(UNKNOWN))])
    drawn = negatives.draw(n_negative, data.x.shape[1], rng) if n_negative else None
    if drawn is not None and len(drawn):
        x = np.concatenate([x, drawn])
        y = np.concatenate([y, np.full(len(drawn), labels.index(UNKNOWN))])
    order = rng.permutation(len(y))
    return x[order], y[order]


def pool_copies(pool: SplitData | None, rate: float, y: np.ndarray, rng: np.random.Generator):
    """rate x the resampled inputs drawn from a pool of augmented copies, the same number for every label."""
    if pool is None or not len(pool) or rate <= 0:
        return None
    per = round(rate * len(y) / max(1, len(np.unique(y))))
    picks = [rng.choice(np.flatnonzero(pool.y == k), per, replace=True) for k in np.unique(y) if np.any(pool.y == k)]
    if not picks or not per:
        return None
    pick = np.concatenate(picks)
    return pool.x[pick], pool.y[pick]


def unknown_weights(y: np.ndarray, labels: list[str], negatives: Negatives | None) -> np.ndarray:
    """Loss weight per input: [negatives] weight for Unknown, 1 for keywords (a false alarm costs more)."""
    weight = negatives.weight if negatives is not None else 1.0
    if UNKNOWN not in labels:
        return np.ones(len(y), np.float32)
    return np.where(y == labels.index(UNKNOWN), weight, 1.0).astype(np.float32)


def validation_scores(model, split: SplitData, n_labels: int) -> tuple[float, float]:
    """Balanced accuracy (argmax) and class-balanced cross-entropy on a Set."""
    if not len(split):
        return float("nan"), float("nan")
    probs = model.predict(to_model_input(split.x), verbose=0, batch_size=256)
    acc = Confusion.from_predictions([str(i) for i in range(n_labels)], split.y, probs.argmax(axis=1))
    nll = -np.log(np.clip(probs[np.arange(len(split.y)), split.y], 1e-7, 1.0))
    per_class = [nll[split.y == k].mean() for k in range(n_labels) if np.any(split.y == k)]
    return acc.balanced_accuracy, float(np.mean(per_class))


def train_epoch(model, data: ProjectData, aux, t, a, rng, negatives: Negatives | None, phase: str, epoch: int) -> dict:
    """One epoch on freshly drawn inputs; the history entry, with its Validate scores."""
    keras = tf().keras
    labels = data.labels
    x, y = epoch_inputs(data.splits["Train"], aux, labels, t, a, rng, data.speed_pool, negatives, data.noise_pool)
    result = model.fit(
        to_model_input(x),
        keras.utils.to_categorical(y, len(labels)),
        sample_weight=unknown_weights(y, labels, negatives),
        epochs=1,
        batch_size=t.batch_size,
        shuffle=False,
        verbose=0,
    )
    val, val_loss = validation_scores(model, data.splits["Validate"], len(labels))
    return {
        "epoch": epoch,
        "phase": phase,
        "train_inputs": len(y),
        "train_accuracy": round(float(result.history["accuracy"][0]), 4),
        "train_loss": round(float(result.history["loss"][0]), 4),
        "validate_accuracy": round(val, 4),
        "validate_loss": round(val_loss, 4),
    }


def fit(
    model,
    data: ProjectData,
    aux: np.ndarray,
    t: TrainingSection,
    a: AugmentationSection,
    template: str,
    progress: bool,
    log,
    negatives: Negatives | None = None,
    mining_rounds: int = 0,
    mining_epochs: int = 0,
) -> tuple[list[dict], int, int]:
    """Train the head, fine-tune the unfrozen blocks, then mine; returns the history, the kept epoch and the last.

    Each phase stops after early_stopping_patience consecutive epochs at or above the threshold. The kept
    weights are those of the epoch with the lowest validation loss over both phases: on a few hundred
    inputs it moves smoothly, where accuracy jumps by whole inputs. Fine-tuning starts from the best head.
    Each mining round then runs the model along the negative bank, adds the windows that fire to Unknown
    and trains mining_epochs more epochs; its last weights are kept (Validate holds too few negatives to
    judge what mining is for).
    """
    keras = tf().keras
    rng = np.random.default_rng(t.seed)
    labels = data.labels
    phases = [("head", t.learning_rate, t.epochs)]
    if t.unfreeze_blocks != 0 and t.fine_tune_epochs > 0:
        phases.append(("fine-tune", t.fine_tune_learning_rate, t.fine_tune_epochs))
    mining = negatives is not None and negatives.bank is not None and UNKNOWN in labels
    rounds = mining_rounds if mining else 0
    history: list[dict] = []
    best_loss, best_epoch, best_weights = float("inf"), 0, model.get_weights()
    epoch = 0
    with progress_bar(progress) as bar:
        task = bar.add_task("training", total=sum(p[2] for p in phases) + rounds * mining_epochs)
        for phase, rate, n_epochs in phases:
            if phase == "fine-tune":
                model.set_weights(best_weights)
                names = fine_tune_layers(model, template, t.unfreeze_blocks)
                log(f"fine-tuning {len(names)} layers of the base ({', '.join(names)}) at learning rate {rate:g}")
            model.compile(optimizer=keras.optimizers.Adam(rate), loss="categorical_crossentropy", metrics=["accuracy"])
            good = 0
            for done in range(1, n_epochs + 1):
                epoch += 1
                history.append(train_epoch(model, data, aux, t, a, rng, negatives, phase, epoch))
                val, val_loss = history[-1]["validate_accuracy"], history[-1]["validate_loss"]
                good = good + 1 if val >= t.early_stopping_threshold else 0
                if val_loss <= best_loss:
                    best_loss, best_epoch, best_weights = val_loss, epoch, model.get_weights()
                log(
                    f"epoch {epoch} ({phase}): train {history[-1]['train_accuracy']:.3f} on "
                    f"{history[-1]['train_inputs']} inputs, validate top-1 {val:.3f} (loss {val_loss:.3f})"
                    + (f", {good}/{t.early_stopping_patience} good" if good and t.early_stopping_patience else "")
                )
                bar.update(task, advance=1, description=f"training ({phase}): validate {val:.3f}")
                if t.early_stopping_patience and good >= t.early_stopping_patience:
                    bar.update(task, advance=n_epochs - done)
                    break
        model.set_weights(best_weights)
        for r in range(1, rounds + 1):
            phase = f"mining {r}"
            bar.update(task, description=f"training ({phase}): running the model along the negative bank")
            found = mine(model, negatives, labels, data.splits["Train"].x.shape[1])
            log(f"{phase}: {found['fired']:,} of {found['windows']:,} bank windows fire; {found['kept']:,} added")
            if not found["fired"]:
                bar.update(task, advance=(rounds - r + 1) * mining_epochs)
                break
            model.compile(
                optimizer=keras.optimizers.Adam(t.fine_tune_learning_rate),
                loss="categorical_crossentropy",
                metrics=["accuracy"],
            )
            for _ in range(mining_epochs):
                epoch += 1
                history.append({**train_epoch(model, data, aux, t, a, rng, negatives, phase, epoch), **found})
                log(f"epoch {epoch} ({phase}): validate top-1 {history[-1]['validate_accuracy']:.3f}")
                bar.update(
                    task, advance=1, description=f"training ({phase}): validate {history[-1]['validate_accuracy']:.3f}"
                )
            best_epoch = epoch
    return history, best_epoch, epoch


MINING_STEP = 4  # hops between the bank windows the model is run on (every 80 ms, as continuous mode)
MINING_KEEP = 4000  # the strongest false alarms kept per round
MINING_THRESHOLD = 0.5  # a window fires when a keyword's probability reaches this


def mine(model, negatives: Negatives, labels: list[str], cascade_len: int) -> dict:
    """Run the model along the bank's training streams; add the windows where a keyword fires to negatives.hard."""
    starts = negatives.starts[negatives.starts % MINING_STEP == 0]
    keyword_columns = [i for i, label in enumerate(labels) if label != UNKNOWN]
    scores = np.zeros(len(starts), np.float32)
    for i in range(0, len(starts), 8192):
        x = negatives.bank.windows(starts[i : i + 8192], cascade_len)
        probs = model.predict(to_model_input(x), verbose=0, batch_size=1024)
        scores[i : i + len(x)] = probs[:, keyword_columns].max(axis=1)
    fired = np.flatnonzero(scores >= MINING_THRESHOLD)
    kept = fired[np.argsort(-scores[fired])][:MINING_KEEP]
    hard = negatives.bank.windows(starts[kept], cascade_len)
    negatives.hard = hard if negatives.hard is None else np.concatenate([negatives.hard, hard])
    return {"windows": len(starts), "fired": len(fired), "kept": len(kept)}


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
        float_probs = model.predict(to_model_input(split.x), verbose=0, batch_size=256)
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
    aux = auxiliary_features(a.auxiliary_source, project.root, project.settings.frontend, minmax, labels)
    negatives = project_negatives(project, minmax, labels, log)
    data.noise_pool = training_noise_pool(project, data, minmax, a)
    model = build_transfer_model(base, len(labels), t)
    n = project.settings.negatives
    history, best_epoch, stopped = fit(
        model, data, aux, t, a, base.template, progress, log, negatives, n.mining_rounds, n.mining_epochs
    )
    tflite = to_int8_tflite(model, data.splits["Train"].x, samples=300, seed=t.seed)
    summary, matrices = evaluate(model, tflite, data, t.unk_threshold)
    detection = operating_points(project, tflite, labels, minmax, negatives, data, progress)
    for mode in ("filter", "continuous"):
        d = detection[mode]
        log(
            f"operating point ({mode} mode): thresholds "
            + ", ".join(f"{k} {v:.2f}" for k, v in d["thresholds"].items())
            + (f", average {d['average']}, hits {d['hits']}" if mode == "continuous" else "")
            + f"; Validate miss rate {d['validate_miss_rate']:.1%}, {d['false_alarms']} false alarms in "
            f"{d['negative_hours'] * 60:.0f} min of negative speech"
            if d["validate_miss_rate"] is not None
            else f"operating point ({mode} mode): no Validate keywords to calibrate on"
        )
    seconds = round(time.time() - started, 1)
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


def operating_points(project: Project, tflite: bytes, labels, minmax, negatives: Negatives, data, progress) -> dict:
    """Calibrate the detection rule of both device modes on Validate and the bank's calibrate part."""
    from .calibrate import calibrate, segment_reader

    validate = [s for s in sorted(data.report.usable) if data.report.sets[s.file] == "Validate"]
    audio_of = segment_reader(project)
    excluded = [label for label in labels if label != UNKNOWN] + list(project.settings.negatives.exclude)
    with progress_bar(progress) as bar:
        bar.add_task("choosing the operating point", total=None)
        return calibrate(tflite, labels, project.settings, minmax, negatives.bank, excluded, validate, audio_of)


def training_noise_pool(project: Project, data: ProjectData, minmax, a: AugmentationSection) -> SplitData | None:
    """Train segments mixed with [augmentation] noise_source at noise_snr_db: keywords heard over noise."""
    from .dataset import noise_pool, noise_recordings

    if a.noise <= 0:
        return None
    noises = noise_recordings(a.noise_source, project.root)
    train = [s for s in sorted(data.report.usable) if data.report.sets[s.file] == "Train"]
    rng = np.random.default_rng(project.settings.training.seed + 7919)
    return noise_pool(project, train, minmax, data.labels, noises, tuple(a.noise_snr_db), rng)


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
        probs = model.predict(to_model_input(split.x), verbose=0, batch_size=256)
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
