"""Teachers for pretraining: the averaged outputs of finished bases as soft targets (knowledge distillation).

Why: on bench/base_detection.py's held-out streams the average of the three
shipped bases' heads misses 40% of the keywords at 20 false alarms per hour
where each base alone misses 58-60% (every pair of them: 41-51%). Several
models disagree on different non-keywords, so their average fires less. The
device runs one model, so pretraining can instead teach one base to give the
average's outputs: the target of every training input is a mix of its label
and the teachers' mean probabilities on that very (augmented) input.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..errors import KwsgenError
from ..frontend import FrontendConfig, MinMax
from .basemodel import BaseModel, base_keras_model, find_base, load_base
from .tfutil import predict


@dataclass
class Teacher:
    base: BaseModel
    model: object  # the keras model with the base's own head


def load_teachers(names: tuple[str, ...], classes: list[str], frontend: FrontendConfig) -> list[Teacher]:
    """The named bases (shipped names or folders); they must share the student's classes and front end."""
    teachers = []
    for name in names:
        base = load_base(find_base(name))
        if base.classes != classes:
            raise KwsgenError(f"teacher {name}: its classes {base.classes} are not the pretraining's {classes}")
        if base.frontend != frontend:
            raise KwsgenError(f"teacher {name}: its front end settings differ from the pretraining's")
        teachers.append(Teacher(base, base_keras_model(base)))
    return teachers


def rescale(x: np.ndarray, source: MinMax, target: MinMax) -> np.ndarray:
    """int8 features scaled by `source` -> the same MFCCs as `target` scales them (each step's midpoint; the
    identity when the bounds are equal, as for bases pretrained on the same data)."""
    if np.array_equal(source.min, target.min) and np.array_equal(source.max, target.max):
        return x
    lo, span = source.min.astype(np.int64), source.max.astype(np.int64) - source.min.astype(np.int64)
    mfcc = lo + ((x.astype(np.int64) + 128) * span + 127) // 255
    return target.scale(mfcc).astype(np.int8)


def teacher_probabilities(teachers: list[Teacher], x: np.ndarray, minmax: MinMax) -> np.ndarray:
    """The teachers' mean probabilities [n, classes] on int8 features `x` scaled by the student's `minmax`."""
    total = None
    for t in teachers:
        p = predict(t.model, rescale(x, minmax, t.base.minmax))
        total = p if total is None else total + p
    return total / len(teachers)


def soft_targets(y: np.ndarray, n_classes: int, teacher: np.ndarray | None, weight: float) -> np.ndarray:
    """(1 - weight) x the one-hot label + weight x the teachers' probabilities (the label alone without them);
    an input labelled -1 (no class fits it) gets the teachers' probabilities alone."""
    taught = y < 0
    onehot = np.eye(n_classes, dtype=np.float32)[np.where(taught, 0, y)]
    if teacher is None:
        if taught.any():
            raise ValueError("inputs without a label need teachers")
        return onehot
    share = np.where(taught, 1.0, weight)[:, None]
    return ((1 - share) * onehot + share * teacher).astype(np.float32)
