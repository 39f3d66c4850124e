"""The transfer model: the base's core with a new head, which layers fine-tuning unfreezes, its input."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from ..errors import KwsgenError
from ..project import Project
from ..project.settings import TrainingSection
from .basemodel import BaseModel
from .templates import EMBEDDING_LAYER, block_layer_names, build_core, get_template
from .tfutil import predict, tf


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


def pretrained_core(base: BaseModel):
    """The base's core, its pretrained weights loaded."""
    core = build_core(get_template(base.template), base.input_shape)
    for layer in core.layers:
        if layer.get_weights():
            if layer.name not in base.weights:
                raise KwsgenError(f"base model {base.template} lacks weights for layer {layer.name}")
            layer.set_weights(base.weights[layer.name])
    return core


def build_transfer_model(base: BaseModel, n_classes: int, t: TrainingSection):
    """The base's core with its pretrained weights, then the new head."""
    keras = tf().keras
    layers = keras.layers
    core = pretrained_core(base)
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


# Inputs whose outputs a CachedOutputs keeps (about 1.2 KB each for a 49 x 23 input): the inputs that recur are in
# the first epochs' cache already, and a large project's fresh augmented copies would otherwise fill memory.
CACHE_LIMIT = 200_000


@dataclass
class CachedOutputs:
    """A model that does not change while it is used, run on int8 inputs, its outputs cached by input.

    Why: most of an epoch's inputs recur unchanged from epoch to epoch (the Train segments, their noise and
    speed copies, the bank's keyword clips, mined windows, confusable words); only fresh bank windows and
    augmented copies are new.
    """

    model: object
    cache: dict[bytes, np.ndarray] = field(default_factory=dict)  # input bytes -> the model's outputs

    def __call__(self, x: np.ndarray) -> np.ndarray:
        keys = [row.tobytes() for row in np.ascontiguousarray(x, dtype=np.int8)]
        first: dict[bytes, int] = {}  # each input the cache lacks, once
        for i, key in enumerate(keys):
            if key not in self.cache and key not in first:
                first[key] = i
        if not first:
            return np.stack([self.cache[key] for key in keys])
        fresh = dict(zip(first, predict(self.model, x[list(first.values())]), strict=True))
        if len(self.cache) + len(fresh) <= CACHE_LIMIT:
            self.cache.update(fresh)
        return np.stack([self.cache[key] if key in self.cache else fresh[key] for key in keys])


@dataclass
class FrozenCore:
    """The head phase's shortcut: while the core is frozen it is only a function of the input, so it runs once
    per input (cached across epochs), in inference batches, and the head alone fits on the embeddings.

    The head model shares the transfer model's head layers, so fitting it trains the transfer model's head,
    with the same arithmetic and the same dropout draws as fitting the whole model; it skips running the core
    inside every training step (the example project's 30 head epochs: 16 s, not 37 s).
    """

    embed: CachedOutputs  # transfer model input -> embedding
    head: object  # embedding -> class probabilities, the transfer model's own head layers


def frozen_core(model) -> FrozenCore:
    """The FrozenCore of a transfer model built by build_transfer_model (its head a chain after the embedding)."""
    keras = tf().keras
    embedding = model.get_layer(EMBEDDING_LAYER)
    x = inputs = keras.Input(shape=tuple(embedding.output.shape[1:]), name="embedding_input")
    for layer in model.layers[model.layers.index(embedding) + 1 :]:
        x = layer(x)
    return FrozenCore(CachedOutputs(keras.Model(model.input, embedding.output)), keras.Model(inputs, x, name="head"))


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


@dataclass
class BaseMemory:
    """Learning without forgetting (Li and Hoiem, 2016): while the core is fine-tuned, its embedding also feeds
    the base's own pretrained softmax (frozen), trained towards what the untouched base says on each input.

    Why: a few hundred of a user's inputs would otherwise pull the core away from what hours of real speech
    taught it, and it is that knowledge which tells the user's keywords from other words of unseen speakers.
    """

    trainer: object  # the transfer model with a second output: the base's softmax on the shared core
    original: CachedOutputs  # the untouched base: core and softmax, frozen, the source of the targets
    weight: float  # loss weight of the second output

    def targets(self, x: np.ndarray) -> np.ndarray:
        """The untouched base's probabilities on each input (running it costs about a third of a training step)."""
        return self.original(x)


def base_memory(model, base: BaseModel, weight: float) -> BaseMemory | None:
    """The BaseMemory of a transfer model built by build_transfer_model (None: weight 0 or no base softmax)."""
    if weight <= 0 or "base_classes" not in base.weights:
        return None
    keras = tf().keras
    template = get_template(base.template)
    n_base = len(base.classes)

    def base_softmax(name: str):
        layer = keras.layers.Dense(n_base, activation="softmax", name=name, trainable=False)
        layer.build((None, template.filters))
        layer.set_weights(base.weights["base_classes"])
        return layer

    embedding = model.get_layer(EMBEDDING_LAYER).output
    trainer = keras.Model(model.input, {"classes": model.output, "base": base_softmax("base_classes")(embedding)})
    core = pretrained_core(base)
    core.trainable = False
    original = keras.Model(core.input, base_softmax("original_classes")(core.output))
    return BaseMemory(trainer, CachedOutputs(original), weight)
