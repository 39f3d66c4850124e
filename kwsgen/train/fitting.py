"""Fitting: epochs, early stopping on Validate, hard-negative mining."""

from __future__ import annotations

import numpy as np

from ..progress import progress_bar
from ..project import UNKNOWN
from ..project.settings import AugmentationSection, TrainingSection
from .dataset import ProjectData, SplitData
from .evaluate import Confusion
from .head import BaseMemory, FrozenCore, fine_tune_layers, frozen_core
from .sampling import (
    Negatives,
    capped_per_label,
    epoch_inputs,
    unknown_weights,
)
from .tfutil import predict, tf, to_model_input


def validation_scores(model, split: SplitData, n_labels: int) -> tuple[float, float]:
    """Balanced accuracy (argmax) and class-balanced cross-entropy on a Set."""
    if not len(split):
        return float("nan"), float("nan")
    probs = predict(model, split.x)
    acc = Confusion.from_predictions([str(i) for i in range(n_labels)], split.y, probs.argmax(axis=1))
    nll = -np.log(np.clip(probs[np.arange(len(split.y)), split.y], 1e-7, 1.0))
    per_class = [nll[split.y == k].mean() for k in range(n_labels) if np.any(split.y == k)]
    return acc.balanced_accuracy, float(np.mean(per_class))


def compile_for(model, memory: BaseMemory | None, rate: float, frozen: FrozenCore | None = None):
    """The model to fit this phase, compiled: the transfer model, its head alone on a frozen core's embeddings,
    or with memory its trainer (two losses)."""
    keras = tf().keras
    if memory is None:
        fitted = model if frozen is None else frozen.head
        fitted.compile(optimizer=keras.optimizers.Adam(rate), loss="categorical_crossentropy", metrics=["accuracy"])
        return fitted
    memory.trainer.compile(
        optimizer=keras.optimizers.Adam(rate),
        loss={"classes": "categorical_crossentropy", "base": "categorical_crossentropy"},
        loss_weights={"classes": 1.0, "base": memory.weight},
        metrics={"classes": ["accuracy"]},
    )
    return memory.trainer


def train_epoch(
    model,
    data: ProjectData,
    validate: SplitData,
    aux,
    t,
    a,
    rng,
    negatives: Negatives | None,
    phase: str,
    epoch: int,
    memory: BaseMemory | None = None,
    frozen: FrozenCore | None = None,
) -> dict:
    """One epoch on freshly drawn inputs; the history entry, with its scores on validate.

    With memory the trainer fits, its second output towards the untouched base's outputs on the same inputs.
    With a frozen core only the head fits, on the inputs' embeddings.
    """
    keras = tf().keras
    labels = data.labels
    x, y = epoch_inputs(data.splits["Train"], aux, labels, t, a, rng, data.speed_pool, negatives, data.noise_pool)
    targets = keras.utils.to_categorical(y, len(labels))
    if frozen is not None:
        inputs, fitted = frozen.embed(x), frozen.head
    else:
        inputs = to_model_input(x)
        fitted = model if memory is None else memory.trainer  # sample weights apply to both of its outputs
    if memory is not None:
        targets = {"classes": targets, "base": memory.targets(x)}
    result = fitted.fit(
        inputs,
        targets,
        sample_weight=unknown_weights(y, labels, negatives),
        epochs=1,
        batch_size=t.batch_size,
        shuffle=False,
        verbose=0,
    )
    scores = {k: float(v[0]) for k, v in result.history.items()}
    val, val_loss = validation_scores(model, validate, len(labels))
    entry = {
        "epoch": epoch,
        "phase": phase,
        "train_inputs": len(y),
        "train_accuracy": round(scores.get("accuracy", scores.get("classes_accuracy", float("nan"))), 4),
        "train_loss": round(scores.get("classes_loss", scores["loss"]), 4),
        "validate_accuracy": round(val, 4),
        "validate_loss": round(val_loss, 4),
    }
    if memory is not None:
        entry["base_memory_loss"] = round(scores["base_loss"], 4)
    return entry


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
    memory: BaseMemory | None = None,
) -> tuple[list[dict], int, int]:
    """Train the head, fine-tune the unfrozen blocks, then mine; returns the history, the kept epoch and the last.

    Each phase stops after early_stopping_patience consecutive epochs at or above the threshold. The kept
    weights are those of the epoch with the lowest validation loss over both phases: on a few hundred
    inputs it moves smoothly, where accuracy jumps by whole inputs. Fine-tuning starts from the best head.
    Each mining round then runs the model along the negative bank, adds the windows that fire to Unknown
    and trains mining_epochs more epochs; its last weights are kept (Validate holds too few negatives to
    judge what mining is for). With memory, fine-tuning and mining also keep the base's own outputs (BaseMemory).
    """
    rng = np.random.default_rng(t.seed)
    labels = data.labels
    validate = capped_per_label(data.splits["Validate"], len(labels), t.max_validate_per_label, t.seed)
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
            # The head phase trains no core weight, so there is nothing for the memory to keep.
            remembering = memory if phase == "fine-tune" else None
            frozen = frozen_core(model) if phase == "head" else None
            compile_for(model, remembering, rate, frozen)
            good = 0
            for done in range(1, n_epochs + 1):
                epoch += 1
                history.append(
                    train_epoch(model, data, validate, aux, t, a, rng, negatives, phase, epoch, remembering, frozen)
                )
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
            # Only a core that trained (a fine-tune phase ran) has anything for the memory to keep.
            remembering = memory if len(phases) > 1 else None
            compile_for(model, remembering, t.fine_tune_learning_rate)
            for _ in range(mining_epochs):
                epoch += 1
                entry = train_epoch(model, data, validate, aux, t, a, rng, negatives, phase, epoch, remembering)
                history.append({**entry, **found})
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
        probs = predict(model, x)
        scores[i : i + len(x)] = probs[:, keyword_columns].max(axis=1)
    fired = np.flatnonzero(scores >= MINING_THRESHOLD)
    kept = fired[np.argsort(-scores[fired])][:MINING_KEEP]
    hard = negatives.bank.windows(starts[kept], cascade_len)
    negatives.hard = hard if negatives.hard is None else np.concatenate([negatives.hard, hard])
    return {"windows": len(starts), "fired": len(fired), "kept": len(kept)}
