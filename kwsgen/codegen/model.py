"""Reading an int8 .tflite into a small graph description, refusing what kwsgen cannot compile.

The flatbuffer is parsed with the `tflite` package (generated from TFLite's
schema). Everything kwsgen needs is copied out into plain dataclasses, and
every way a model can be unsuitable gets a one-line error that names the
model and the problem: float or uint8 tensors, dynamic shapes, unsupported
ops or fused activations, and truncated or corrupted files.
"""

from __future__ import annotations

import contextlib
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from ..errors import KwsgenError

SUPPORTED_OPS = (
    "CONV_2D",
    "DEPTHWISE_CONV_2D",
    "FULLY_CONNECTED",
    "AVERAGE_POOL_2D",
    "MAX_POOL_2D",
    "MEAN",
    "SOFTMAX",
    "RESHAPE",
    "ADD",
)
ACTIVATIONS = {0: "NONE", 1: "RELU", 2: "RELU_N1_TO_1", 3: "RELU6", 4: "TANH", 5: "SIGN_BIT", 6: "SIGMOID"}
SUPPORTED_ACTIVATIONS = ("NONE", "RELU", "RELU6")
PADDING = {0: "SAME", 1: "VALID"}
DTYPES = {
    0: ("float32", 4),
    1: ("float16", 2),
    2: ("int32", 4),
    3: ("uint8", 1),
    4: ("int64", 8),
    7: ("int16", 2),
    9: ("int8", 1),
    10: ("float64", 8),
    17: ("int4", 1),
}
NUMPY = {
    "int8": np.int8,
    "int32": np.int32,
    "uint8": np.uint8,
    "int16": np.int16,
    "int64": np.int64,
    "float32": np.float32,
    "float16": np.float16,
    "float64": np.float64,
}


@dataclass
class Tensor:
    index: int
    name: str
    dtype: str
    shape: tuple[int, ...]
    scales: np.ndarray  # float32 [n] (empty when not quantised)
    zero_points: np.ndarray  # int64 [n]
    quantized_dimension: int
    data: np.ndarray | None  # constant data, or None for activations

    @property
    def size(self) -> int:
        return int(np.prod(self.shape, dtype=np.int64)) if self.shape else 1

    @property
    def scale(self) -> np.float32:
        return np.float32(self.scales[0])

    @property
    def zero_point(self) -> int:
        return int(self.zero_points[0]) if len(self.zero_points) else 0

    @property
    def is_constant(self) -> bool:
        return self.data is not None


@dataclass
class Operator:
    index: int
    op: str
    inputs: list[int]  # tensor indices, -1 for an omitted optional input
    outputs: list[int]
    options: dict = field(default_factory=dict)


@dataclass
class Graph:
    name: str
    tensors: list[Tensor]
    operators: list[Operator]
    inputs: list[int]
    outputs: list[int]

    def tensor(self, index: int) -> Tensor:
        return self.tensors[index]


def _fail(model: str, message: str) -> KwsgenError:
    return KwsgenError(message, model)


def _options(op_name: str, op) -> dict:
    import tflite

    table = op.BuiltinOptions()
    if table is None:
        return {}
    classes = {
        "CONV_2D": tflite.Conv2DOptions,
        "DEPTHWISE_CONV_2D": tflite.DepthwiseConv2DOptions,
        "FULLY_CONNECTED": tflite.FullyConnectedOptions,
        "AVERAGE_POOL_2D": tflite.Pool2DOptions,
        "MAX_POOL_2D": tflite.Pool2DOptions,
        "MEAN": tflite.ReducerOptions,
        "SOFTMAX": tflite.SoftmaxOptions,
        "ADD": tflite.AddOptions,
        "RESHAPE": tflite.ReshapeOptions,
    }
    cls = classes.get(op_name)
    if cls is None:
        return {}
    o = cls()
    o.Init(table.Bytes, table.Pos)
    out: dict = {}
    for attr in (
        "Padding",
        "StrideW",
        "StrideH",
        "DilationWFactor",
        "DilationHFactor",
        "DepthMultiplier",
        "FusedActivationFunction",
        "FilterWidth",
        "FilterHeight",
        "KeepDims",
        "Beta",
        "KeepNumDims",
        "WeightsFormat",
        "PotScaleInt16",
    ):
        if hasattr(o, attr):
            with contextlib.suppress(Exception):  # fields absent from this op's table read as defaults
                out[attr] = getattr(o, attr)()
    return out


def read_tflite(source: str | Path | bytes, name: str | None = None) -> Graph:
    """Parse an int8 model and check that kwsgen can compile it."""
    if isinstance(source, (str, Path)):
        path = Path(source)
        label = str(path)
        try:
            data = path.read_bytes()
        except FileNotFoundError:
            raise KwsgenError("model file not found", path) from None
    else:
        data, label = bytes(source), name or "model"
    if len(data) < 8 or data[4:8] != b"TFL3":
        raise _fail(label, "is not a TFLite flatbuffer (no TFL3 identifier): truncated, corrupted or another format")
    try:
        graph = _parse(data, label)
    except KwsgenError:
        raise
    except Exception as exc:  # the flatbuffer accessors fail in many ways on damaged files
        raise _fail(label, f"is a corrupted or truncated TFLite flatbuffer ({type(exc).__name__}: {exc})") from None
    _validate(graph, label)
    return graph


def _parse(data: bytes, label: str) -> Graph:
    import tflite

    model = tflite.Model.GetRootAsModel(data, 0)
    if model.SubgraphsLength() != 1:
        raise _fail(label, f"has {model.SubgraphsLength()} subgraphs; kwsgen compiles single-graph models")
    sg = model.Subgraphs(0)
    op_names = {v: k for k, v in tflite.BuiltinOperator.__dict__.items() if not k.startswith("_")}
    tensors = []
    for i in range(sg.TensorsLength()):
        t = sg.Tensors(i)
        dtype, itemsize = DTYPES.get(t.Type(), (f"type {t.Type()}", 0))
        shape = tuple(int(d) for d in t.ShapeAsNumpy()) if t.ShapeLength() else ()
        signature = tuple(int(d) for d in t.ShapeSignatureAsNumpy()) if t.ShapeSignatureLength() else shape
        if signature and signature[0] < 0 and shape and shape[0] == 1:
            signature = (1, *signature[1:])  # a batch left open at conversion: TFLite runs it as 1
        if any(d < 0 for d in signature):
            raise _fail(
                label,
                f"tensor {t.Name().decode(errors='replace')!r} has a dynamic shape {list(signature)}; "
                "kwsgen needs every shape fixed (convert with a fixed batch size of 1)",
            )
        q = t.Quantization()
        scales = np.zeros(0, np.float32)
        zps = np.zeros(0, np.int64)
        qdim = 0
        if q is not None and q.ScaleLength():
            scales = q.ScaleAsNumpy().astype(np.float32)
            zps = q.ZeroPointAsNumpy().astype(np.int64) if q.ZeroPointLength() else np.zeros(len(scales), np.int64)
            qdim = q.QuantizedDimension()
        buf = model.Buffers(t.Buffer()) if t.Buffer() < model.BuffersLength() else None
        const = None
        if buf is not None and buf.DataLength():
            raw = buf.DataAsNumpy().tobytes()
            need = int(np.prod(shape, dtype=np.int64)) * itemsize if shape else itemsize
            if itemsize == 0 or len(raw) != need:
                raise _fail(
                    label,
                    f"tensor {t.Name().decode(errors='replace')!r} holds {len(raw)} bytes but its "
                    f"shape {list(shape)} needs {need}: the file is truncated or corrupted",
                )
            const = np.frombuffer(raw, dtype=NUMPY[dtype]).reshape(shape).copy()
        elif buf is not None and buf.Offset() > 1:
            raise _fail(label, "stores weights outside the flatbuffer (a model over 2 GB); kwsgen cannot read it")
        tensors.append(Tensor(i, t.Name().decode(errors="replace"), dtype, shape, scales, zps, qdim, const))
    operators = []
    for i in range(sg.OperatorsLength()):
        op = sg.Operators(i)
        code = model.OperatorCodes(op.OpcodeIndex())
        builtin = max(code.BuiltinCode(), code.DeprecatedBuiltinCode())
        name = op_names.get(builtin, f"builtin {builtin}")
        if builtin == tflite.BuiltinOperator.CUSTOM:
            name = f"CUSTOM ({code.CustomCode().decode(errors='replace')})"
        ins = [int(x) for x in op.InputsAsNumpy()] if op.InputsLength() else []
        outs = [int(x) for x in op.OutputsAsNumpy()] if op.OutputsLength() else []
        for idx in (*ins, *outs):
            if idx >= len(tensors):
                raise _fail(label, f"operator {i} refers to tensor {idx} of {len(tensors)}: the file is corrupted")
        operators.append(Operator(i, name, ins, outs, _options(name, op)))
    return Graph(
        name=label,
        tensors=tensors,
        operators=operators,
        inputs=[int(x) for x in sg.InputsAsNumpy()],
        outputs=[int(x) for x in sg.OutputsAsNumpy()],
    )


def _validate(graph: Graph, label: str) -> None:
    if len(graph.inputs) != 1 or len(graph.outputs) != 1:
        raise _fail(label, f"has {len(graph.inputs)} inputs and {len(graph.outputs)} outputs; kwsgen needs one of each")
    for which, idx in (("input", graph.inputs[0]), ("output", graph.outputs[0])):
        t = graph.tensor(idx)
        if t.dtype != "int8":
            hint = (
                " (a float model: quantise it to full int8 first, e.g. kwsgen train does)"
                if t.dtype == "float32"
                else ""
            )
            raise _fail(label, f"its {which} is {t.dtype}; kwsgen compiles int8 models{hint}")
    if not graph.operators:
        raise _fail(label, "has no operators")
    for op in graph.operators:
        if op.op not in SUPPORTED_OPS:
            raise _fail(
                label,
                f"uses operator {op.op} (operator {op.index}), which kwsgen does not compile; "
                f"supported: {', '.join(SUPPORTED_OPS)}",
            )
        act = ACTIVATIONS.get(op.options.get("FusedActivationFunction", 0), "unknown")
        if act not in SUPPORTED_ACTIVATIONS:
            raise _fail(
                label,
                f"operator {op.index} ({op.op}) has fused activation {act}; kwsgen supports "
                f"{', '.join(SUPPORTED_ACTIVATIONS)}",
            )
        for idx in op.outputs:
            t = graph.tensor(idx)
            if t.dtype != "int8":
                raise _fail(label, f"tensor {t.name!r} (output of {op.op}) is {t.dtype}; kwsgen compiles int8 models")
            if not len(t.scales):
                raise _fail(label, f"tensor {t.name!r} has no quantisation parameters")
        for idx in op.inputs:
            if idx < 0:
                continue
            t = graph.tensor(idx)
            if t.dtype not in ("int8", "int32"):
                raise _fail(
                    label,
                    f"tensor {t.name!r} (input of {op.op}) is {t.dtype}; kwsgen compiles int8 models with int32 biases",
                )
