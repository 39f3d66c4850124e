"""Full-integer int8 TFLite conversion, and int8 inference with TFLite's reference kernels."""

from __future__ import annotations

import numpy as np

from .tfutil import quiet_native, tf


def to_int8_tflite(model, representative: np.ndarray, samples: int = 300, seed: int = 0) -> bytes:
    """Convert with int8 weights, activations, input and output.

    The representative data are int8 features; two extra inputs at -128 and
    +127 pin the input quantisation to scale 1/128 and zero point 0, so the
    model takes kwsgen's int8 features exactly as they are.
    """
    tfm = tf()
    rng = np.random.default_rng(seed)
    pick = representative[rng.permutation(len(representative))[:samples]]
    shape = (1, *representative.shape[1:], 1)

    def data():
        yield [np.full(shape, -1.0, dtype=np.float32)]
        yield [np.full(shape, 127 / 128, dtype=np.float32)]
        for x in pick:
            yield [(x.astype(np.float32) / 128.0).reshape(shape)]

    # A batch of exactly 1 fixes every shape, as microcontroller runtimes need.
    fixed_input = tfm.keras.Input(batch_shape=shape, name="features")
    fixed = tfm.keras.Model(fixed_input, model(fixed_input, training=False), name=model.name)
    converter = tfm.lite.TFLiteConverter.from_keras_model(fixed)
    converter.optimizations = [tfm.lite.Optimize.DEFAULT]
    converter.representative_dataset = data
    converter.target_spec.supported_ops = [tfm.lite.OpsSet.TFLITE_BUILTINS_INT8]
    converter.inference_input_type = tfm.int8
    converter.inference_output_type = tfm.int8
    with quiet_native():  # Keras prints its export's signature; the converter logs in C++
        return converter.convert()


def int8_predict(tflite_bytes: bytes, x: np.ndarray) -> np.ndarray:
    """int8 outputs [n, classes] for int8 features [n, windows, coeffs] (TFLite reference kernels)."""
    tfm = tf()
    with quiet_native():  # a deprecation notice for tf.lite.Interpreter
        interp = tfm.lite.Interpreter(
            model_content=tflite_bytes,
            experimental_op_resolver_type=tfm.lite.experimental.OpResolverType.BUILTIN_REF,
        )
    interp.allocate_tensors()
    inp, out = interp.get_input_details()[0], interp.get_output_details()[0]
    scale, zero = inp["quantization"]
    if abs(scale - 1 / 128) > 1e-9 or zero != 0:
        raise ValueError(f"model input quantisation is scale {scale}, zero point {zero}; kwsgen needs 1/128 and 0")
    outputs = np.zeros((len(x), out["shape"][-1]), dtype=np.int8)
    for i, item in enumerate(x):
        interp.set_tensor(inp["index"], item.reshape(inp["shape"]).astype(np.int8))
        interp.invoke()
        outputs[i] = interp.get_tensor(out["index"]).reshape(-1)
    return outputs


def int8_accuracy(tflite_bytes: bytes, x: np.ndarray, y: np.ndarray) -> float:
    if len(x) == 0:
        return float("nan")
    return float(np.mean(int8_predict(tflite_bytes, x).argmax(axis=1) == y))


def dequantize_scores(tflite_bytes: bytes, outputs: np.ndarray) -> np.ndarray:
    tfm = tf()
    with quiet_native():
        interp = tfm.lite.Interpreter(model_content=tflite_bytes)
    scale, zero = interp.get_output_details()[0]["quantization"]
    return (outputs.astype(np.float32) - zero) * scale


def _quantisation(tflite_bytes: bytes, which: str) -> tuple[float, int]:
    tfm = tf()
    with quiet_native():
        interp = tfm.lite.Interpreter(model_content=tflite_bytes)
    details = interp.get_input_details()[0] if which == "input" else interp.get_output_details()[0]
    scale, zero = details["quantization"]
    return float(scale), int(zero)


def input_quantisation(tflite_bytes: bytes) -> tuple[float, int]:
    """(scale, zero point) of the model's int8 input."""
    return _quantisation(tflite_bytes, "input")


def output_quantisation(tflite_bytes: bytes) -> tuple[float, int]:
    """(scale, zero point) of the model's int8 output."""
    return _quantisation(tflite_bytes, "output")
