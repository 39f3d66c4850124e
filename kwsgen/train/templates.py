"""DS-CNN model templates, named by their int8 flash size.

Each is a depthwise-separable CNN in the style of "Hello Edge" (Zhang et
al., 2017): a first convolution over time and frequency with stride 2, then
blocks of a 3x3 depthwise and a 1x1 pointwise convolution, each followed by
batch normalisation and ReLU, then global average pooling. The *core* is
everything up to the pooled embedding; a base model adds one softmax layer
for its pretraining classes, and transfer learning replaces that layer with
a new head. Batch normalisation folds into the convolutions when the model
is quantised, so the int8 network holds only convolutions, a mean, fully
connected layers and a softmax.
"""

from __future__ import annotations

from dataclasses import dataclass

from ..errors import KwsgenError
from .tfutil import tf


@dataclass(frozen=True)
class Template:
    name: str
    filters: int
    blocks: int
    first_kernel: tuple[int, int] = (10, 4)
    first_stride: tuple[int, int] = (2, 2)
    description: str = ""


TEMPLATES = {
    "kws10k": Template("kws10k", 24, 3, description="24 channels, 3 separable blocks: the smallest"),
    "kws25k": Template("kws25k", 36, 4, description="36 channels, 4 separable blocks: the default"),
    "kws50k": Template("kws50k", 60, 4, description="60 channels, 4 separable blocks: the most accurate"),
}
DEFAULT_TEMPLATE = "kws25k"
EMBEDDING_LAYER = "embedding"


def get_template(name: str) -> Template:
    if name not in TEMPLATES:
        raise KwsgenError(f"unknown model template {name!r}; the templates are: {', '.join(TEMPLATES)}")
    return TEMPLATES[name]


def build_core(template: Template, input_shape: tuple[int, int]):
    """Input [windows, coefficients] (int8 features / 128) -> pooled embedding."""
    keras = tf().keras
    layers = keras.layers
    inputs = keras.Input(shape=(*input_shape, 1), name="features")
    x = layers.Conv2D(
        template.filters,
        template.first_kernel,
        strides=template.first_stride,
        padding="same",
        use_bias=False,
        name="conv0",
    )(inputs)
    x = layers.BatchNormalization(name="conv0_bn")(x)
    x = layers.ReLU(name="conv0_relu")(x)
    for i in range(1, template.blocks + 1):
        x = layers.DepthwiseConv2D((3, 3), padding="same", use_bias=False, name=f"dw{i}")(x)
        x = layers.BatchNormalization(name=f"dw{i}_bn")(x)
        x = layers.ReLU(name=f"dw{i}_relu")(x)
        x = layers.Conv2D(template.filters, (1, 1), use_bias=False, name=f"pw{i}")(x)
        x = layers.BatchNormalization(name=f"pw{i}_bn")(x)
        x = layers.ReLU(name=f"pw{i}_relu")(x)
    x = layers.GlobalAveragePooling2D(name=EMBEDDING_LAYER)(x)
    return keras.Model(inputs, x, name=f"{template.name}_core")


def build_base(template: Template, input_shape: tuple[int, int], n_classes: int, dropout: float = 0.2):
    """The core plus dropout and one softmax layer: what pretraining trains."""
    keras = tf().keras
    core = build_core(template, input_shape)
    x = keras.layers.Dropout(dropout, name="base_dropout")(core.output)
    outputs = keras.layers.Dense(n_classes, activation="softmax", name="base_classes")(x)
    return keras.Model(core.input, outputs, name=f"{template.name}_base")


def core_layer_names(template: Template) -> list[str]:
    names = ["conv0", "conv0_bn"]
    for i in range(1, template.blocks + 1):
        names += [f"dw{i}", f"dw{i}_bn", f"pw{i}", f"pw{i}_bn"]
    return names


def block_layer_names(template: Template, block: int) -> list[str]:
    """Layers of separable block `block` (1-based); block 0 is the first convolution."""
    if block == 0:
        return ["conv0", "conv0_bn"]
    return [f"dw{block}", f"dw{block}_bn", f"pw{block}", f"pw{block}_bn"]


def count_macs(template: Template, input_shape: tuple[int, int], n_classes: int) -> int:
    """Multiply-accumulates of one inference of the base model."""
    h, w = (-(-input_shape[0] // template.first_stride[0]), -(-input_shape[1] // template.first_stride[1]))
    f = template.filters
    macs = h * w * f * template.first_kernel[0] * template.first_kernel[1]
    macs += template.blocks * (h * w * f * 9 + h * w * f * f)
    return macs + h * w * f + f * n_classes  # mean, then the dense layer
