"""The transfer model: the base's core with a new head, which layers fine-tuning unfreezes, its input."""

from __future__ import annotations

import numpy as np

from ..errors import KwsgenError
from ..project import Project
from ..project.settings import TrainingSection
from .basemodel import BaseModel
from .templates import block_layer_names, build_core, get_template
from .tfutil import tf


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


def to_model_input(x: np.ndarray) -> np.ndarray:
    return (np.asarray(x, dtype=np.float32) / 128.0)[..., np.newaxis]
