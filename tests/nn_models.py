"""Small int8 test networks for the C code generator: odd shapes, every supported op, extreme quantisation.

Each builder returns a Keras model with random weights; :func:`quantize`
converts it to a full-int8 TFLite flatbuffer with TensorFlow's converter, as
users' models are made.
"""

from __future__ import annotations

import contextlib
import io
import warnings

import numpy as np

from kwsgen.train.tfutil import tf


def quantize(model, rep: np.ndarray) -> bytes:
    """Full int8 conversion (input and output int8) calibrated on float inputs `rep`."""
    tfm = tf()
    shape = (1, *model.input_shape[1:])
    fixed_input = tfm.keras.Input(batch_shape=shape)
    fixed = tfm.keras.Model(fixed_input, model(fixed_input))

    def data():
        for x in rep:
            yield [x.reshape(shape).astype(np.float32)]

    converter = tfm.lite.TFLiteConverter.from_keras_model(fixed)
    converter.optimizations = [tfm.lite.Optimize.DEFAULT]
    converter.representative_dataset = data
    converter.target_spec.supported_ops = [tfm.lite.OpsSet.TFLITE_BUILTINS_INT8]
    converter.inference_input_type = tfm.int8
    converter.inference_output_type = tfm.int8
    with contextlib.redirect_stdout(io.StringIO()), warnings.catch_warnings():
        warnings.filterwarnings("ignore", "Statistics for quantized inputs")
        return converter.convert()


def _init(model, seed: int, weight_scale: float = 1.0, bias_scale: float = 0.1) -> None:
    """Random weights, including batch-norm statistics, so nothing is the identity."""
    rng = np.random.default_rng(seed)
    for layer in model.layers:
        weights = layer.get_weights()
        if not weights:
            continue
        new = []
        for w in weights:
            if w.ndim == 1:
                new.append((rng.standard_normal(w.shape) * bias_scale).astype(np.float32))
            else:
                fan_in = int(np.prod(w.shape[:-1])) or 1
                new.append((rng.standard_normal(w.shape) * weight_scale / np.sqrt(fan_in)).astype(np.float32))
        if "batch_normalization" in layer.name or layer.__class__.__name__ == "BatchNormalization":
            gamma, beta, mean, var = weights
            new = [
                rng.uniform(0.5, 1.5, gamma.shape),
                rng.normal(0, 0.1, beta.shape),
                rng.normal(0, 0.1, mean.shape),
                rng.uniform(0.5, 1.5, var.shape),
            ]
            new = [a.astype(np.float32) for a in new]
        layer.set_weights(new)


def odd_convolutions(seed: int = 1):
    """Non-square kernels, strides, SAME and VALID, dilation, channel counts not a multiple of 4."""
    keras = tf().keras
    L = keras.layers
    x_in = keras.Input((13, 11, 3))
    x = L.Conv2D(5, (3, 5), strides=(2, 1), padding="same", activation="relu6")(x_in)
    x = L.Conv2D(7, (2, 2), padding="valid", dilation_rate=(2, 2), activation="relu")(x)
    x = L.DepthwiseConv2D((2, 3), strides=(2, 2), padding="valid", depth_multiplier=2)(x)
    x = L.DepthwiseConv2D((3, 3), padding="same", activation="relu")(x)
    x = L.Conv2D(3, (1, 1), activation="relu")(x)
    x = L.Conv2D(6, (1, 3), strides=(1, 2), padding="same")(x)
    model = keras.Model(x_in, x)
    _init(model, seed)
    return model


def in_place_layers(seed: int = 9, rows: int = 9):
    """Layers the generated code runs in place, at every edge of the rule (kws_nn.h): depthwise kernels
    padding 2, 1 and 0 rows (5x5, dilated 3x3, 4x2, 1x3), channel counts not a multiple of 4, 1x1
    convolutions keeping and reducing the depth; rows=2 makes the image shorter than the padding."""
    keras = tf().keras
    L = keras.layers
    x_in = keras.Input((rows, 7, 5))
    x = L.DepthwiseConv2D((5, 5), padding="same", activation="relu")(x_in)
    x = L.DepthwiseConv2D((3, 3), padding="same", dilation_rate=(2, 2))(x)
    x = L.DepthwiseConv2D((4, 2), padding="same", activation="relu6")(x)
    x = L.DepthwiseConv2D((1, 3), padding="same")(x)
    x = L.Conv2D(5, (1, 1), activation="relu")(x)
    x = L.Conv2D(3, (1, 1))(x)
    model = keras.Model(x_in, x)
    _init(model, seed)
    return model


def planar_depthwise(width: int, seed: int = 10):
    """3x3 depthwise layers of the planar kernels (kws_nn.h) at their edges: VALID and SAME padding,
    an odd channel count (the DSP path gathers channels two at a time), a layer whose input stays
    live (not in place, as its input feeds the ADD) and one in place, and a single output row.
    An even `width` gives even output widths (the assembly loop), an odd one odd widths."""
    keras = tf().keras
    L = keras.layers
    x_in = keras.Input((5, width, 5))
    a = L.DepthwiseConv2D((3, 3), padding="valid", activation="relu")(x_in)
    b = L.DepthwiseConv2D((3, 3), padding="same", activation="relu")(a)
    x = L.Add()([a, b])
    x = L.DepthwiseConv2D((3, 3), padding="valid")(x)
    x = L.DepthwiseConv2D((3, 3), padding="same", activation="relu")(x)
    model = keras.Model(x_in, x)
    _init(model, seed)
    return model


def pools_and_dense(seed: int = 2):
    """Average and max pooling (SAME and VALID), flatten (RESHAPE), dense layers, softmax."""
    keras = tf().keras
    L = keras.layers
    x_in = keras.Input((9, 10, 6))
    x = L.AveragePooling2D((3, 2), strides=(2, 2), padding="same")(x_in)
    x = L.MaxPooling2D((2, 2), strides=(1, 2), padding="valid")(x)
    x = L.Flatten()(x)
    x = L.Dense(13, activation="relu")(x)
    x = L.Dense(5)(x)
    x = L.Softmax()(x)
    model = keras.Model(x_in, x)
    _init(model, seed)
    return model


def residual_mean(seed: int = 3):
    """ADD of two branches, MEAN with keep_dims, batch normalisation folded in."""
    keras = tf().keras
    L = keras.layers
    x_in = keras.Input((8, 6, 4))
    a = L.Conv2D(8, (3, 3), padding="same", activation="relu")(x_in)
    b = L.Conv2D(8, (1, 1))(x_in)
    b = L.BatchNormalization()(b)
    x = L.Add()([a, b])
    x = L.GlobalAveragePooling2D(keepdims=True)(x)
    x = L.Conv2D(4, (1, 1))(x)
    x = L.Flatten()(x)
    x = L.Softmax()(x)
    model = keras.Model(x_in, x)
    _init(model, seed)
    return model


def extreme(seed: int = 4, weight_scale: float = 1e-4, bias_scale: float = 50.0):
    """Tiny weights against large biases (or the reverse): multipliers far from 1 and saturating outputs."""
    keras = tf().keras
    L = keras.layers
    x_in = keras.Input((7, 5, 2))
    x = L.Conv2D(6, (3, 3), padding="same")(x_in)
    x = L.DepthwiseConv2D((3, 3), padding="same", activation="relu")(x)
    x = L.GlobalAveragePooling2D()(x)
    x = L.Dense(4)(x)
    model = keras.Model(x_in, x)
    _init(model, seed, weight_scale=weight_scale, bias_scale=bias_scale)
    return model


def representative(model, n: int = 64, scale: float = 1.0, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    return (rng.standard_normal((n, *model.input_shape[1:])) * scale).astype(np.float32)
