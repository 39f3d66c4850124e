"""Per-operator integer parameters, derived exactly as TensorFlow Lite Micro derives them.

TFLM turns scales into (multiplier, shift) pairs and activation bounds when it
prepares a model, partly in float32 and partly in float64. kwsgen does the
same arithmetic here, once, at generation time, so the device only ever sees
integers, and the numbers match TFLM's to the bit. Where TFLM computes in
float32 (a product of two scales, 6.0 / scale), numpy float32 reproduces it.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from ..errors import KwsgenError
from .model import ACTIVATIONS, Graph, Operator, Tensor


def tflite_round(x: float) -> int:
    """std::round: half away from zero."""
    return math.floor(x + 0.5) if x >= 0 else -math.floor(-x + 0.5)


def quantize_multiplier(real: float) -> tuple[int, int]:
    """TFLite's QuantizeMultiplier (double rounding build): Q31 multiplier and exponent."""
    if real == 0.0:
        return 0, 0
    q, shift = math.frexp(real)
    q_fixed = tflite_round(q * (1 << 31))
    if q_fixed == 1 << 31:
        q_fixed //= 2
        shift += 1
    if shift < -31:
        shift, q_fixed = 0, 0
    if q_fixed > 2**31 - 1:
        raise KwsgenError(f"multiplier {real} does not fit the int8 kernels")
    return q_fixed, shift


def activation_range(act: str, out: Tensor) -> tuple[int, int]:
    """CalculateActivationRangeQuantized: float32 division and std::round, as TFLM."""
    scale, zp = np.float32(out.scale), out.zero_point

    def quantize(f: float) -> int:
        return zp + tflite_round(float(np.float32(f) / scale))

    if act == "RELU":
        return max(-128, quantize(0.0)), 127
    if act == "RELU6":
        return max(-128, quantize(0.0)), min(127, quantize(6.0))
    return -128, 127


def out_size(padding: str, size: int, filt: int, stride: int, dilation: int) -> int:
    eff = (filt - 1) * dilation + 1
    return (size + stride - 1) // stride if padding == "SAME" else (size + stride - eff) // stride


def pad_amount(stride: int, dilation: int, size: int, filt: int, out: int) -> int:
    """ComputePaddingWithOffset: the (floor) half of the total padding, before the data."""
    eff = (filt - 1) * dilation + 1
    total = max(0, (out - 1) * stride + eff - size)
    return total // 2


@dataclass
class OpParams:
    """Everything the C kernel call needs, as plain integers and arrays."""

    kind: str
    values: dict

    def __getitem__(self, key):
        return self.values[key]


def _scales(t: Tensor, n: int) -> np.ndarray:
    s = t.scales.astype(np.float32)
    return np.repeat(s, n) if len(s) == 1 else s


def _conv_like(g: Graph, op: Operator, depthwise: bool) -> OpParams:
    inp, filt, out = g.tensor(op.inputs[0]), g.tensor(op.inputs[1]), g.tensor(op.outputs[0])
    bias = g.tensor(op.inputs[2]) if len(op.inputs) > 2 and op.inputs[2] >= 0 else None
    o = op.options
    _, in_h, in_w, in_c = inp.shape
    _, out_h, out_w, out_c = out.shape
    if depthwise:
        _, k_h, k_w, f_c = filt.shape
        mult = o.get("DepthMultiplier", 1) or 1
        if f_c != out_c or in_c * mult != out_c:
            mult = out_c // in_c
    else:
        f_c, k_h, k_w, f_in = filt.shape
        if f_in != in_c:
            raise KwsgenError(
                f"{g.name}: CONV_2D operator {op.index} has grouped channels ({f_in} of {in_c}); "
                "kwsgen supports ungrouped convolutions"
            )
        mult = 1
    if inp.shape[0] != 1:
        raise KwsgenError(f"{g.name}: operator {op.index} ({op.op}) has batch {inp.shape[0]}; kwsgen needs batch 1")
    sh, sw = o.get("StrideH", 1), o.get("StrideW", 1)
    dh, dw = o.get("DilationHFactor", 1) or 1, o.get("DilationWFactor", 1) or 1
    scales_in = np.float32(inp.scale)
    scales_out = np.float32(out.scale)
    f_scales = _scales(filt, out_c)
    mults, shifts = [], []
    for c in range(out_c):
        eff = float(scales_in) * float(np.float32(f_scales[c])) / float(scales_out)
        m, s = quantize_multiplier(eff)
        mults.append(m)
        shifts.append(s)
    act_min, act_max = activation_range(ACTIVATIONS[o.get("FusedActivationFunction", 0)], out)
    return OpParams(
        "depthwise" if depthwise else "conv",
        {
            "in_h": in_h,
            "in_w": in_w,
            "in_c": in_c,
            "out_h": out_h,
            "out_w": out_w,
            "out_c": out_c,
            "k_h": k_h,
            "k_w": k_w,
            "stride_h": sh,
            "stride_w": sw,
            "dil_h": dh,
            "dil_w": dw,
            "pad_h": pad_amount(sh, dh, in_h, k_h, out_h),
            "pad_w": pad_amount(sw, dw, in_w, k_w, out_w),
            "depth_multiplier": mult,
            "input_offset": -inp.zero_point,
            "output_offset": out.zero_point,
            "act_min": act_min,
            "act_max": act_max,
            "filter": filt.data,
            "bias": bias.data if bias is not None else None,
            "multipliers": np.array(mults, np.int64),
            "shifts": np.array(shifts, np.int64),
        },
    )


def _fully_connected(g: Graph, op: Operator) -> OpParams:
    inp, filt, out = g.tensor(op.inputs[0]), g.tensor(op.inputs[1]), g.tensor(op.outputs[0])
    bias = g.tensor(op.inputs[2]) if len(op.inputs) > 2 and op.inputs[2] >= 0 else None
    units, depth = filt.shape
    if inp.size % depth:
        raise KwsgenError(
            f"{g.name}: FULLY_CONNECTED operator {op.index}: input size {inp.size} is not a multiple "
            f"of the weights' depth {depth}"
        )
    batches = inp.size // depth
    per_channel = len(filt.scales) > 1
    if per_channel:
        mults, shifts = zip(
            *(
                quantize_multiplier(float(np.float32(inp.scale)) * float(np.float32(s)) / float(np.float32(out.scale)))
                for s in filt.scales
            ),
            strict=True,
        )
    else:
        # GetQuantizedConvolutionMultipler: the product of the scales is a float32 product.
        product = np.float32(inp.scale) * np.float32(filt.scale)
        m, s = quantize_multiplier(float(product) / float(np.float32(out.scale)))
        mults, shifts = [m] * units, [s] * units
    act_min, act_max = activation_range(ACTIVATIONS[op.options.get("FusedActivationFunction", 0)], out)
    return OpParams(
        "fully_connected",
        {
            "batches": batches,
            "depth": depth,
            "units": units,
            "input_offset": -inp.zero_point,
            "filter_offset": -filt.zero_point,
            "output_offset": out.zero_point,
            "act_min": act_min,
            "act_max": act_max,
            "filter": filt.data,
            "bias": bias.data if bias is not None else None,
            "multipliers": np.array(mults, np.int64),
            "shifts": np.array(shifts, np.int64),
        },
    )


def _pool(g: Graph, op: Operator) -> OpParams:
    inp, out = g.tensor(op.inputs[0]), g.tensor(op.outputs[0])
    o = op.options
    _, in_h, in_w, c = inp.shape
    _, out_h, out_w, _ = out.shape
    kh, kw, sh, sw = o["FilterHeight"], o["FilterWidth"], o.get("StrideH", 1), o.get("StrideW", 1)
    act_min, act_max = activation_range(ACTIVATIONS[o.get("FusedActivationFunction", 0)], out)
    return OpParams(
        "avg_pool" if op.op == "AVERAGE_POOL_2D" else "max_pool",
        {
            "in_h": in_h,
            "in_w": in_w,
            "channels": c,
            "out_h": out_h,
            "out_w": out_w,
            "k_h": kh,
            "k_w": kw,
            "stride_h": sh,
            "stride_w": sw,
            "pad_h": pad_amount(sh, 1, in_h, kh, out_h),
            "pad_w": pad_amount(sw, 1, in_w, kw, out_w),
            "act_min": act_min,
            "act_max": act_max,
        },
    )


def _mean(g: Graph, op: Operator) -> OpParams:
    inp, axes_t, out = g.tensor(op.inputs[0]), g.tensor(op.inputs[1]), g.tensor(op.outputs[0])
    axes = sorted({int(a) % len(inp.shape) for a in np.atleast_1d(axes_t.data)})
    if len(inp.shape) != 4 or axes != [1, 2]:
        raise KwsgenError(
            f"{g.name}: MEAN operator {op.index} reduces axes {axes} of a {len(inp.shape)}-D tensor; "
            "kwsgen supports the mean over height and width of a 4-D tensor"
        )
    _, h, w, c = inp.shape
    count = h * w
    mult, shift = quantize_multiplier(float(np.float32(inp.scale)) / float(np.float32(out.scale)))
    # TFLite Micro's QuantizedMeanOrSum, which it uses even when the input and output
    # quantisation agree: 1/count is folded into the multiplier with integer arithmetic.
    fold = min(count.bit_length() - 1, 32, 31 + shift)
    mult = (mult << fold) // count
    shift -= fold
    return OpParams(
        "mean",
        {
            "spatial": count,
            "channels": c,
            "input_zero_point": inp.zero_point,
            "output_zero_point": out.zero_point,
            "multiplier": mult,
            "shift": shift,
        },
    )


def _softmax(g: Graph, op: Operator) -> OpParams:
    inp, out = g.tensor(op.inputs[0]), g.tensor(op.outputs[0])
    if out.zero_point != -128 or np.float32(out.scale) != np.float32(1 / 256):
        raise KwsgenError(
            f"{g.name}: SOFTMAX operator {op.index} must output scale 1/256 and zero point -128, "
            "as TFLite's converter makes it"
        )
    beta = float(np.float32(op.options.get("Beta", 1.0)))
    real = min(beta * float(np.float32(inp.scale)) * (1 << 26), float((1 << 31) - 1))
    if real <= 1.0:
        raise KwsgenError(f"{g.name}: SOFTMAX operator {op.index}: input scale {inp.scale} is too small")
    mult, left_shift = quantize_multiplier(real)
    diff_min = -math.floor(31.0 * (1 << 26) / (1 << left_shift))
    depth = inp.shape[-1]
    return OpParams(
        "softmax",
        {"rows": inp.size // depth, "depth": depth, "multiplier": mult, "left_shift": left_shift, "diff_min": diff_min},
    )


def _add(g: Graph, op: Operator) -> OpParams:
    a, b, out = g.tensor(op.inputs[0]), g.tensor(op.inputs[1]), g.tensor(op.outputs[0])
    if a.shape != b.shape or a.is_constant or b.is_constant:
        raise KwsgenError(
            f"{g.name}: ADD operator {op.index} adds shapes {list(a.shape)} and {list(b.shape)}; "
            "kwsgen supports adding two computed tensors of one shape"
        )
    left_shift = 20
    twice_max = 2 * float(max(np.float32(a.scale), np.float32(b.scale)))
    m1, s1 = quantize_multiplier(float(np.float32(a.scale)) / twice_max)
    m2, s2 = quantize_multiplier(float(np.float32(b.scale)) / twice_max)
    mo, so = quantize_multiplier(twice_max / ((1 << left_shift) * float(np.float32(out.scale))))
    act_min, act_max = activation_range(ACTIVATIONS[op.options.get("FusedActivationFunction", 0)], out)
    return OpParams(
        "add",
        {
            "size": out.size,
            "input1_offset": -a.zero_point,
            "input2_offset": -b.zero_point,
            "output_offset": out.zero_point,
            "left_shift": left_shift,
            "input1_multiplier": m1,
            "input1_shift": s1,
            "input2_multiplier": m2,
            "input2_shift": s2,
            "output_multiplier": mo,
            "output_shift": so,
            "act_min": act_min,
            "act_max": act_max,
        },
    )


def _reshape(g: Graph, op: Operator) -> OpParams:
    inp, out = g.tensor(op.inputs[0]), g.tensor(op.outputs[0])
    if inp.size != out.size or inp.zero_point != out.zero_point or np.float32(inp.scale) != np.float32(out.scale):
        raise KwsgenError(f"{g.name}: RESHAPE operator {op.index} changes size or quantisation")
    return OpParams("reshape", {"size": out.size})


def op_params(g: Graph, op: Operator) -> OpParams:
    if op.op == "CONV_2D":
        return _conv_like(g, op, depthwise=False)
    if op.op == "DEPTHWISE_CONV_2D":
        return _conv_like(g, op, depthwise=True)
    if op.op == "FULLY_CONNECTED":
        return _fully_connected(g, op)
    if op.op in ("AVERAGE_POOL_2D", "MAX_POOL_2D"):
        return _pool(g, op)
    if op.op == "MEAN":
        return _mean(g, op)
    if op.op == "SOFTMAX":
        return _softmax(g, op)
    if op.op == "ADD":
        return _add(g, op)
    if op.op == "RESHAPE":
        return _reshape(g, op)
    raise KwsgenError(f"{g.name}: operator {op.op} is not supported")
