"""Emit a model as C: constant weights, a static memory plan and one invoke function.

The output is two files, ``<prefix>.h`` (the API) and ``<prefix>.c`` (the
network), rendered from the Jinja2 templates in firmware_templates/model.
They call the int8 kernels in firmware_templates/runtime/nn, which
:func:`export_c` copies beside them so the folder builds on its own.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from .. import __version__
from ..errors import KwsgenError
from ..fsutil import atomic_write_bytes
from ..resources import resource_dir, runtime_files
from .model import ACTIVATIONS, PADDING, Graph, Operator, read_tflite
from .params import OpParams, op_params
from .plan import MemoryPlan, plan_memory


@dataclass
class LayerCode:
    """The C for one operator: its constant data and its call."""

    index: int
    op: str
    comment: str
    declarations: list[str] = field(default_factory=list)
    call: str | None = None
    output_offset: int = 0
    output_size: int = 0
    macs: int = 0
    const_bytes: int = 0


@dataclass
class GeneratedModel:
    prefix: str
    header: str
    source: str
    plan: MemoryPlan
    layers: list[LayerCode]
    input_size: int
    output_size: int

    @property
    def macs(self) -> int:
        return sum(layer.macs for layer in self.layers)

    @property
    def const_bytes(self) -> int:
        return sum(layer.const_bytes for layer in self.layers)

    @property
    def arena_size(self) -> int:
        return self.plan.arena_size


def _check_prefix(prefix: str) -> None:
    if not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]{0,40}", prefix):
        raise KwsgenError(f"C prefix {prefix!r} is not a valid C identifier (letters, digits, underscores)")


def _c_array(ctype: str, name: str, values: np.ndarray, per_line: int = 16) -> tuple[str, int]:
    vals = [str(int(v)) for v in np.asarray(values).ravel()]
    if ctype == "int32_t":  # INT32_MIN has no literal form in C
        vals = ["(-2147483647 - 1)" if v == "-2147483648" else v for v in vals]
    lines = [", ".join(vals[i : i + per_line]) for i in range(0, len(vals), per_line)]
    body = ",\n    ".join(lines)
    itemsize = {"int8_t": 1, "int16_t": 2, "int32_t": 4}[ctype]
    return f"static const {ctype} {name}[{len(vals)}] = {{\n    {body}\n}};", len(vals) * itemsize


def _wrap32(values) -> np.ndarray:
    v = np.asarray(values, dtype=np.int64) & 0xFFFFFFFF
    return np.where(v >= 1 << 31, v - (1 << 32), v).astype(np.int64)


def _struct(ctype: str, name: str, fields: dict) -> str:
    body = ",\n".join(f"    .{k} = {v}" for k, v in fields.items())
    return f"static const {ctype} {name} = {{\n{body}\n}};"


def _shape(graph: Graph, idx: int) -> str:
    return "x".join(str(d) for d in graph.tensor(idx).shape)


def scratch_bytes(p: OpParams, in_place: bool = False) -> int:
    """Scratch a kernel needs, for both the portable and the DSP path (see kws_nn.h)."""

    def a8(n: int) -> int:
        return (n + 7) // 8 * 8

    if p.kind == "conv":
        depth4 = (p["k_h"] * p["k_w"] * p["in_c"] + 3) // 4 * 4
        return a8(depth4) + 6 * depth4  # an int8 column, then the int16 columns of three pixels
    if p.kind == "depthwise" and depthwise_layout(p) == DW_PLANAR_3X3:
        return 2 * a8(2 * (p["out_h"] + 2) * planar_stride(p))  # two int16 channel planes, in place or not
    if p.kind == "depthwise":
        tables = a8(p["in_c"]) + 12 * p["k_h"] * p["k_w"]  # a padding row, (64-bit) tap pointers, int32 offsets
        if in_place:  # then the output rows held until no later row reads the input they overwrite
            return a8(tables) + (p["pad_h"] + 1) * p["out_w"] * p["out_c"]
        return tables
    return 0


def can_run_in_place(p: OpParams) -> bool:
    """Whether the kernel may write its output over its input (kws_nn.h says when)."""
    if p.kind == "conv":
        return (
            (p["k_h"], p["k_w"], p["stride_h"], p["stride_w"], p["pad_h"], p["pad_w"]) == (1, 1, 1, 1, 0, 0)
            and (p["out_h"], p["out_w"]) == (p["in_h"], p["in_w"])
            and p["out_c"] <= p["in_c"]
        )
    if p.kind == "depthwise":
        return (
            (p["stride_h"], p["stride_w"], p["depth_multiplier"]) == (1, 1, 1)
            and (p["out_h"], p["out_w"], p["out_c"]) == (p["in_h"], p["in_w"], p["in_c"])
            and p["pad_h"] >= 0
        )
    return False


def plan_layers(graph: Graph, params: list[OpParams]) -> MemoryPlan:
    """The memory plan, with every layer that can run in place over an input that dies with it doing so."""
    ops = list(zip(graph.operators, params, strict=True))
    plain = plan_memory(graph, {op.index: scratch_bytes(p) for op, p in ops})
    in_place = {op.index for op, p in ops if can_run_in_place(p) and plain.input_dies_at(graph, op.index)}
    scratch = {op.index: scratch_bytes(p, op.index in in_place) for op, p in ops}
    return plan_memory(graph, scratch, in_place)


REQUANT_EXACT, REQUANT_FAST, REQUANT_FAST_INT8 = 0, 1, 2


def requant_mode(p: OpParams, acc_bound: int) -> int:
    """The kernels' requantisation mode (kws_nn_requant.h): a fast form where it is provably exact.

    acc_bound is the largest magnitude any channel's accumulator can reach.
    """
    shifts, mults = p["shifts"], p["multipliers"]
    if not (np.all(shifts <= 0) and np.all(shifts >= -20) and np.all(mults >= 0) and acc_bound < 1 << 29):
        return REQUANT_EXACT
    return REQUANT_FAST_INT8 if (p["act_min"], p["act_max"]) == (-128, 127) else REQUANT_FAST


def accumulator_bound(folded_bias: np.ndarray, weights: np.ndarray, axis: int) -> int:
    """Largest |bias + sum(w * x)| over int8 inputs x (|x| <= 128)."""
    return int(np.max(np.abs(folded_bias) + 128 * np.abs(weights).sum(axis=axis)))


def shift_array(p: OpParams, mode: int) -> np.ndarray:
    """TFLite's signed shifts for the exact mode; right + 1 for the fast ones."""
    return p["shifts"] if mode == REQUANT_EXACT else 1 - p["shifts"]


def rounding_array(p: OpParams, mode: int) -> np.ndarray:
    """kws_requant_fast's per-channel constant 2^right + offset * 2^(right + 1); zeros for the exact mode."""
    if mode == REQUANT_EXACT:
        return np.zeros(len(p["shifts"]), np.int64)
    right = -p["shifts"].astype(np.int64)
    return (1 << right) + p["output_offset"] * (1 << (right + 1))


DW_TAP_PAIRS, DW_PLANAR_3X3 = 0, 1


def depthwise_layout(p: OpParams) -> int:
    """The depthwise filter layout (kws_nn.h): planar for 3x3, stride 1, undilated layers of depth
    multiplier 1 whose requantisation is fast (the planar kernels accumulate 2 * acc, which only the
    fast modes' bound keeps within int32)."""
    shape = tuple(p[k] for k in ("k_h", "k_w", "stride_h", "stride_w", "dil_h", "dil_w", "depth_multiplier"))
    if shape != (3, 3, 1, 1, 1, 1, 1) or min(p["pad_h"], p["pad_w"]) < 0:
        return DW_TAP_PAIRS
    filt, folded = _folded_filter(p, depthwise=True)
    return DW_TAP_PAIRS if requant_mode(p, accumulator_bound(folded, filt, axis=0)) == REQUANT_EXACT else DW_PLANAR_3X3


def planar_stride(p: OpParams) -> int:
    """int16 values per row of the planar kernels' channel plane (kws_nn_depthwise_conv.c)."""
    return (p["out_w"] + 1) // 2 * 2 + 2


def _folded_filter(p: OpParams, depthwise: bool) -> tuple[np.ndarray, np.ndarray]:
    """The filter as [taps, out_c] (depthwise) or [out_c, depth], and the bias with the input offset folded in."""
    filt = p["filter"].astype(np.int64)
    if depthwise:
        filt = filt.reshape(p["k_h"] * p["k_w"], p["out_c"])
        sums = filt.sum(axis=0)
    else:
        filt = filt.reshape(p["out_c"], -1)
        sums = filt.sum(axis=1)
    bias = p["bias"].astype(np.int64) if p["bias"] is not None else np.zeros(p["out_c"], np.int64)
    return filt, _wrap32(bias + p["input_offset"] * sums)


def pack_planar_depthwise_filter(filt: np.ndarray) -> np.ndarray:
    """[9 taps, out_c] -> the planar 3x3 layout of kws_nn.h: per channel, per kernel row,
    (w0, w1), (w1, w2), doubled."""
    w = 2 * filt.reshape(3, 3, -1).transpose(2, 0, 1)  # [channel, row, column]
    return np.stack([w[:, :, 0], w[:, :, 1], w[:, :, 1], w[:, :, 2]], axis=2).ravel()


def pack_conv_filter(filt: np.ndarray) -> np.ndarray:
    """[out_c, depth] -> the pair-packed layout of kws_nn.h: 4 weights of channel 2p, then 4 of 2p + 1."""
    out_c, depth = filt.shape
    depth4, pairs = (depth + 3) // 4 * 4, (out_c + 1) // 2
    full = np.zeros((pairs * 2, depth4), np.int64)
    full[:out_c, :depth] = filt
    # [pair, channel in pair, group, 4] -> [pair, group, channel in pair, 4]
    return full.reshape(pairs, 2, depth4 // 4, 4).transpose(0, 2, 1, 3).ravel()


def pack_depthwise_filter(filt: np.ndarray) -> np.ndarray:
    """[taps, out_c] -> the int16 layout of kws_nn.h: per group of four channels, per pair of taps,
    per channel, both taps' weights."""
    taps, out_c = filt.shape
    c4, pairs = (out_c + 3) // 4 * 4, (taps + 1) // 2
    full = np.zeros((pairs * 2, c4), np.int64)
    full[:taps, :out_c] = filt
    # [pair, tap in pair, group, channel in group] -> [group, pair, channel in group, tap in pair]
    return full.reshape(pairs, 2, c4 // 4, 4).transpose(2, 0, 3, 1).ravel()


def _weight_tables(
    name: str, filter_ctype: str, filt: np.ndarray, folded, mults, shifts, rounding
) -> tuple[list[tuple[str, int]], dict[str, str]]:
    """The const arrays of an accumulating layer (filter, folded bias, requantisation) and their struct fields."""
    tables = {"filter": filt, "bias": folded, "multiplier": mults, "shift": shifts, "rounding": rounding}
    ctypes = {
        "filter": filter_ctype,
        "bias": "int32_t",
        "multiplier": "int32_t",
        "shift": "int8_t",
        "rounding": "int32_t",
    }
    arrays = [_c_array(ctypes[k], f"{name}_{k}", v) for k, v in tables.items()]
    return arrays, {k: f"{name}_{k}" for k in tables}


def _conv_layer(layer: LayerCode, p: OpParams, depthwise: bool) -> None:
    name = f"op{layer.index}"
    filt, folded = _folded_filter(p, depthwise)
    mode = requant_mode(p, accumulator_bound(folded, filt, axis=0 if depthwise else 1))
    layout = depthwise_layout(p) if depthwise else DW_TAP_PAIRS
    if layout == DW_PLANAR_3X3:
        packed, folded = pack_planar_depthwise_filter(filt), 2 * folded  # |2 * bias| < 2^30 in a fast mode
    else:
        packed = pack_depthwise_filter(filt) if depthwise else pack_conv_filter(filt)
    mults, shifts, rounding = p["multipliers"], shift_array(p, mode), rounding_array(p, mode)
    if not depthwise and len(folded) % 2:  # the pair-packed kernel reads one channel past an odd count
        folded, mults, shifts, rounding = (np.append(a, a[-1]) for a in (folded, mults, shifts, rounding))
    arrays, refs = _weight_tables(name, "int16_t" if depthwise else "int8_t", packed, folded, mults, shifts, rounding)
    fields = {
        k: p[k]
        for k in (
            "in_h",
            "in_w",
            "in_c",
            "out_h",
            "out_w",
            "out_c",
            "k_h",
            "k_w",
            "stride_h",
            "stride_w",
            "dil_h",
            "dil_w",
            "pad_h",
            "pad_w",
            "depth_multiplier",
        )
    }
    fields.update(
        pad_value=-p["input_offset"],
        requant_mode=mode,
        filter_layout=layout,
        act_min=p["act_min"],
        act_max=p["act_max"],
        output_offset=p["output_offset"],
        **refs,
    )
    layer.declarations += [a for a, _ in arrays] + [_struct("kws_conv_params_t", name, fields)]
    layer.const_bytes += sum(n for _, n in arrays)
    per_output = p["k_h"] * p["k_w"] * (1 if depthwise else p["in_c"])
    layer.macs = p["out_h"] * p["out_w"] * p["out_c"] * per_output


def _fc_layer(layer: LayerCode, p: OpParams) -> None:
    name = f"op{layer.index}"
    if p["filter_offset"] != 0:
        raise KwsgenError(
            f"FULLY_CONNECTED operator {layer.index} has weights with zero point {-p['filter_offset']}; "
            "TFLite's int8 scheme (and kwsgen) needs symmetric weights"
        )
    filt = p["filter"].astype(np.int64)
    bias = p["bias"].astype(np.int64) if p["bias"] is not None else np.zeros(p["units"], np.int64)
    folded = _wrap32(bias + p["input_offset"] * filt.sum(axis=1))
    mode = requant_mode(p, accumulator_bound(folded, filt, axis=1))
    arrays, refs = _weight_tables(
        name, "int8_t", filt, folded, p["multipliers"], shift_array(p, mode), rounding_array(p, mode)
    )
    fields = {k: p[k] for k in ("batches", "depth", "units", "act_min", "act_max", "output_offset")}
    fields.update(requant_mode=mode, **refs)
    layer.declarations += [a for a, _ in arrays] + [_struct("kws_fc_params_t", name, fields)]
    layer.const_bytes += sum(n for _, n in arrays)
    layer.macs = p["batches"] * p["units"] * p["depth"]


def _simple_layer(layer: LayerCode, p: OpParams, ctype: str) -> None:
    fields = dict(p.values)
    layer.declarations.append(_struct(ctype, f"op{layer.index}", fields))


def _comment(graph: Graph, op: Operator) -> str:
    ins = [_shape(graph, i) for i in op.inputs if i >= 0 and not graph.tensor(i).is_constant]
    text = f"{op.op} {' + '.join(ins)} -> {_shape(graph, op.outputs[0])}"
    o = op.options
    if "FilterHeight" in o:
        text += f", window {o['FilterHeight']}x{o['FilterWidth']}"
    elif op.op in ("CONV_2D", "DEPTHWISE_CONV_2D"):
        shape = graph.tensor(op.inputs[1]).shape
        text += f", kernel {shape[1]}x{shape[2]}"
    if "StrideH" in o:
        text += f", stride {o['StrideH']}x{o['StrideW']}, {PADDING.get(o.get('Padding', 1), '?')}"
    if o.get("DilationHFactor", 1) > 1 or o.get("DilationWFactor", 1) > 1:
        text += f", dilation {o['DilationHFactor']}x{o['DilationWFactor']}"
    act = ACTIVATIONS.get(o.get("FusedActivationFunction", 0), "NONE")
    if act != "NONE":
        text += f", {act}"
    return text


def _layers(graph: Graph) -> tuple[list[LayerCode], list[OpParams], MemoryPlan]:
    params = [op_params(graph, op) for op in graph.operators]
    plan = plan_layers(graph, params)
    layers = []
    for op, p in zip(graph.operators, params, strict=True):
        layer = LayerCode(op.index, op.op, _comment(graph, op))
        out = op.outputs[0]
        layer.output_offset, layer.output_size = plan.tensor_offset[out], graph.tensor(out).size
        ins = [f"ARENA + {plan.tensor_offset[i]}" for i in op.inputs if i >= 0 and not graph.tensor(i).is_constant]
        dst = f"ARENA + {layer.output_offset}"
        name = f"op{op.index}"
        if p.kind in ("conv", "depthwise"):
            _conv_layer(layer, p, p.kind == "depthwise")
            fn = "kws_conv_s8" if p.kind == "conv" else "kws_depthwise_conv_s8"
            scratch = f"ARENA + {plan.scratch_offset[op.index]}"
            layer.call = f"{fn}(&{name}, {ins[0]}, {dst}, {scratch});"
        elif p.kind == "fully_connected":
            _fc_layer(layer, p)
            layer.call = f"kws_fully_connected_s8(&{name}, {ins[0]}, {dst});"
        elif p.kind in ("avg_pool", "max_pool"):
            _simple_layer(layer, p, "kws_pool_params_t")
            layer.call = f"kws_{p.kind}_s8(&{name}, {ins[0]}, {dst});"
            layer.macs = p["out_h"] * p["out_w"] * p["channels"] * p["k_h"] * p["k_w"]
        elif p.kind == "mean":
            _simple_layer(layer, p, "kws_mean_params_t")
            layer.call = f"kws_mean_s8(&{name}, {ins[0]}, {dst});"
            layer.macs = p["spatial"] * p["channels"]
        elif p.kind == "softmax":
            _simple_layer(layer, p, "kws_softmax_params_t")
            layer.call = f"kws_softmax_s8(&{name}, {ins[0]}, {dst});"
        elif p.kind == "add":
            _simple_layer(layer, p, "kws_add_params_t")
            layer.call = f"kws_add_s8(&{name}, {ins[0]}, {ins[1]}, {dst});"
        # RESHAPE: the output shares the input's bytes, so there is nothing to run.
        layers.append(layer)
    return layers, params, plan


def _float_literal(x: float) -> str:
    return f"{float(np.float32(x))!r}f"


def generate_c(graph: Graph, prefix: str = "kws_model", source_name: str | None = None) -> GeneratedModel:
    """The C for `graph`; raises KwsgenError for anything the kernels cannot run."""
    from jinja2 import Environment, FileSystemLoader, StrictUndefined

    _check_prefix(prefix)
    layers, _, plan = _layers(graph)
    inp, out = graph.tensor(graph.inputs[0]), graph.tensor(graph.outputs[0])
    env = Environment(
        loader=FileSystemLoader(str(resource_dir("firmware_templates") / "model")),
        undefined=StrictUndefined,
        keep_trailing_newline=True,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    context = {
        "prefix": prefix,
        "PREFIX": prefix.upper(),
        "version": __version__,
        "source": source_name or graph.name,
        "layers": layers,
        "plan": plan,
        "arena_size": max(plan.arena_size, 8),
        "input_offset": plan.tensor_offset[graph.inputs[0]],
        "output_offset": plan.tensor_offset[graph.outputs[0]],
        "input_size": inp.size,
        "output_size": out.size,
        "input_shape": list(inp.shape),
        "output_shape": list(out.shape),
        "input_scale": _float_literal(inp.scale),
        "input_zero_point": inp.zero_point,
        "output_scale": _float_literal(out.scale),
        "output_zero_point": out.zero_point,
        "macs": sum(la.macs for la in layers),
        "const_bytes": sum(la.const_bytes for la in layers),
        "n_ops": len(graph.operators),
    }
    header = env.get_template("model.h.j2").render(**context)
    source = env.get_template("model.c.j2").render(**context)
    return GeneratedModel(prefix, header, source, plan, layers, inp.size, out.size)


def export_c(
    model_path: str | Path,
    out_dir: str | Path,
    prefix: str = "kws_model",
    force: bool = False,
    before_writing: Callable[[GeneratedModel], None] | None = None,
) -> tuple[GeneratedModel, list[Path]]:
    """Write the model's C and the kernels it needs into `out_dir`, a self-contained folder.

    before_writing(gen) runs first and may refuse by raising (kwsgen.check.footprint.fits_board
    checks that the model fits a board): nothing is written then. Kernel sources that include
    ``../kws_fixed.h`` find it because the shared headers go into the same
    folder and the includes are rewritten to be local. Files that already
    exist with other contents are user changes: refused unless force.
    """
    graph = read_tflite(model_path)
    gen = generate_c(graph, prefix, source_name=Path(model_path).name)
    if before_writing is not None:
        before_writing(gen)
    out = Path(out_dir)
    files = {f"{prefix}.h": gen.header.encode(), f"{prefix}.c": gen.source.encode()}
    for path in runtime_files():
        text = path.read_text().replace('#include "../kws_fixed.h"', '#include "kws_fixed.h"')
        text = text.replace('#include "../kws_dsp.h"', '#include "kws_dsp.h"')
        files[path.name] = text.encode()
    if out.exists() and not force:
        clashing = [n for n, data in files.items() if (out / n).exists() and (out / n).read_bytes() != data]
        if clashing:
            raise KwsgenError(
                f"holds different versions of {', '.join(sorted(clashing)[:3])}"
                f"{' and others' if len(clashing) > 3 else ''}; "
                "they may be your changes: pass --force to overwrite them",
                out,
            )
    written = []
    for name, data in files.items():
        atomic_write_bytes(out / name, data)
        written.append(out / name)
    return gen, written
