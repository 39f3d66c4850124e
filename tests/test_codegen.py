"""Generated C against TensorFlow Lite Micro: every operator's output, on the host (ASan/UBSan) and the Cortex-M4."""

from __future__ import annotations

import functools

import flatbuffers
import numpy as np
import pytest

from kwsgen.check import verify
from kwsgen.check.footprint import fits_board
from kwsgen.check.verify import probe_inputs, tflm_run
from kwsgen.codegen.emit import export_c, generate_c
from kwsgen.codegen.model import read_tflite
from kwsgen.errors import KwsgenError

from . import nn_models

pytestmark = pytest.mark.slow


def _mutate(data: bytes, change) -> bytes:
    from tensorflow.lite.python import schema_py_generated as schema

    model = schema.ModelT.InitFromObj(schema.Model.GetRootAsModel(data, 0))
    change(model, schema)
    builder = flatbuffers.Builder(1024)
    builder.Finish(model.Pack(builder), file_identifier=b"TFL3")
    return bytes(builder.Output())


def _mean_same_quantisation(model, schema):
    # TFLite Micro has a separate integer path for a MEAN whose output keeps the input's quantisation.
    sg = model.subgraphs[0]
    for op in sg.operators:
        if model.operatorCodes[op.opcodeIndex].builtinCode == schema.BuiltinOperator.MEAN:
            src, dst = sg.tensors[op.inputs[0]], sg.tensors[op.outputs[0]]
            dst.quantization.scale = np.array(src.quantization.scale)
            dst.quantization.zeroPoint = np.array(src.quantization.zeroPoint)


def _relu6_everywhere(model, schema):
    # With wide output ranges, RELU6 clamps inside int8: the kernels' clamped requantisation mode.
    for op in model.subgraphs[0].operators:
        options = op.builtinOptions
        if hasattr(options, "fusedActivationFunction"):
            options.fusedActivationFunction = schema.ActivationFunctionType.RELU6


@functools.cache
def model_bytes(name: str) -> bytes:
    """Converted test models, made once per session (conversion takes seconds)."""
    from kwsgen.train.quantize import to_int8_tflite
    from kwsgen.train.templates import build_base, get_template
    from kwsgen.train.tfutil import tf

    tf().keras.utils.set_random_seed(7)
    if name in ("kws10k", "kws25k", "kws50k"):
        model = build_base(get_template(name), (49, 23), 12)
        nn_models._init(model, seed=len(name))
        rep = np.random.default_rng(0).integers(-128, 128, (40, 49, 23)).astype(np.int8)
        return to_int8_tflite(model, rep, samples=40)
    if name.startswith("trained_"):
        from kwsgen.train.basemodel import base_keras_model, load_base, shipped_base_dir

        base = load_base(shipped_base_dir() / name.removeprefix("trained_"))
        rep = np.random.default_rng(1).integers(-128, 128, (40, *base.input_shape)).astype(np.int8)
        return to_int8_tflite(base_keras_model(base), rep, samples=40)
    if name == "mean_same_quantisation":
        return _mutate(model_bytes("kws10k"), _mean_same_quantisation)
    if name == "relu6_wide_ranges":
        return _mutate(model_bytes("huge_inputs"), _relu6_everywhere)
    if name == "relu6_odd_convolutions":
        return _mutate(model_bytes("odd_convolutions"), _relu6_everywhere)
    builders = {
        "odd_convolutions": lambda: (nn_models.odd_convolutions(), 1.0),
        "in_place_layers": lambda: (nn_models.in_place_layers(), 1.0),
        "in_place_short_image": lambda: (nn_models.in_place_layers(rows=2), 1.0),
        "planar_even_width": lambda: (nn_models.planar_depthwise(width=8), 1.0),
        "planar_odd_width": lambda: (nn_models.planar_depthwise(width=9), 1.0),
        "pools_and_dense": lambda: (nn_models.pools_and_dense(), 1.0),
        "residual_mean": lambda: (nn_models.residual_mean(), 1.0),
        "tiny_weights": lambda: (nn_models.extreme(weight_scale=1e-4, bias_scale=50.0), 1.0),
        "huge_weights": lambda: (nn_models.extreme(seed=5, weight_scale=300.0, bias_scale=1e-3), 1.0),
        "huge_inputs": lambda: (nn_models.extreme(seed=6, weight_scale=1.0, bias_scale=0.1), 5000.0),
        "tiny_inputs": lambda: (nn_models.extreme(seed=8, weight_scale=1.0, bias_scale=1e-4), 1e-4),
    }
    model, scale = builders[name]()
    return nn_models.quantize(model, nn_models.representative(model, scale=scale))


def check_against_tflm(name: str, engine: str, **kwargs) -> None:
    data = model_bytes(name)
    graph = read_tflite(data, name)
    gen = generate_c(graph)
    [result] = verify.check_against_tflm(data, graph, gen, [engine], probe_inputs(gen.input_size), **kwargs)
    assert not result.mismatches, "\n".join(map(str, result.mismatches[:10]))


ALL_MODELS = [
    "kws10k",
    "kws25k",
    "kws50k",
    "odd_convolutions",
    "in_place_layers",
    "in_place_short_image",
    "planar_even_width",
    "planar_odd_width",
    "pools_and_dense",
    "residual_mean",
    "tiny_weights",
    "huge_weights",
    "huge_inputs",
    "tiny_inputs",
    "mean_same_quantisation",
    "relu6_wide_ranges",
    "relu6_odd_convolutions",
]


@pytest.mark.parametrize("name", ALL_MODELS)
def test_every_tensor_matches_tflm_on_host_under_sanitizers(name):
    check_against_tflm(name, "host", sanitize=True)


def shipped_bases() -> list[str]:
    from kwsgen.train.basemodel import shipped_base_dir

    return sorted(p.name for p in shipped_base_dir().iterdir() if (p / "base.json").exists())


@pytest.mark.parametrize("template", shipped_bases())
def test_trained_base_models_match_tflm_on_host_and_cortex_m4(template):
    check_against_tflm(f"trained_{template}", "host", sanitize=True)
    check_against_tflm(f"trained_{template}", "qemu", dsp=True)


@pytest.mark.parametrize("dsp", [True, False], ids=["dsp", "portable"])
@pytest.mark.parametrize(
    "name",
    [
        "kws25k",
        "odd_convolutions",
        "planar_even_width",
        "planar_odd_width",
        "in_place_layers",
        "in_place_short_image",
        "pools_and_dense",
        "residual_mean",
        "huge_weights",
        "relu6_wide_ranges",
        "relu6_odd_convolutions",
    ],
)
def test_every_tensor_matches_tflm_on_cortex_m4(name, dsp):
    check_against_tflm(name, "qemu", dsp=dsp)


@pytest.mark.parametrize(
    "name", ["kws25k", "planar_even_width", "planar_odd_width", "odd_convolutions", "relu6_wide_ranges"]
)
def test_the_dsp_paths_c_twins_of_its_assembly_loops_match_tflm_on_cortex_m4(name):
    # Built with KWS_NN_NO_ASM, as clang or a compiler other than GCC builds it.
    check_against_tflm(name, "qemu", dsp=True, asm=False)


def test_models_cover_every_supported_op_and_activation():
    from kwsgen.codegen.model import ACTIVATIONS, SUPPORTED_OPS

    ops, acts = set(), set()
    for name in ALL_MODELS:
        for op in read_tflite(model_bytes(name)).operators:
            ops.add(op.op)
            acts.add(ACTIVATIONS[op.options.get("FusedActivationFunction", 0)])
    assert ops == set(SUPPORTED_OPS)
    assert acts == {"NONE", "RELU", "RELU6"}


def test_models_cover_every_requantisation_mode_of_every_accumulating_kernel():
    import re

    seen = set()
    for name in ALL_MODELS:
        for layer in generate_c(read_tflite(model_bytes(name))).layers:
            mode = re.search(r"requant_mode = (\d)", "\n".join(layer.declarations))
            if mode:
                seen.add((layer.op, int(mode.group(1))))
    ops = ("CONV_2D", "DEPTHWISE_CONV_2D", "FULLY_CONNECTED")
    assert seen == {(op, mode) for op in ops for mode in (0, 1, 2)}


@pytest.mark.parametrize("flags", [("-O0",), ("-Og",), ("-O2", "-fno-omit-frame-pointer"), ("-Os",)])
def test_the_assembly_kernels_build_at_any_optimisation_and_beside_a_frame_pointer(flags, tmp_path):
    # Their loops need all 14 registers; as naked functions they never compete with the compiler's own.
    import subprocess

    from kwsgen.hosttools.build import M4_CPU_FLAGS, WARNINGS, arm_gcc, arm_tool, runtime_dir

    nn = runtime_dir() / "nn"
    for source in ("kws_nn_conv.c", "kws_nn_depthwise_conv.c"):
        cmd = [arm_gcc(), "-std=c99", "-pedantic", *M4_CPU_FLAGS, *flags, *WARNINGS, "-DKWS_USE_DSP=1"]
        cmd += ["-I", str(runtime_dir()), "-I", str(nn), "-c", str(nn / source), "-o", str(tmp_path / "k.o")]
        proc = subprocess.run(cmd, capture_output=True, text=True, timeout=300)
        assert proc.returncode == 0, proc.stderr[-2000:]
        symbols = subprocess.run([arm_tool("nm"), str(tmp_path / "k.o")], capture_output=True, text=True).stdout
        assert ("planar_channel_int8" if "depthwise" in source else "pixel_block_int8") in symbols


def test_models_cover_both_depthwise_layouts_in_every_mode_they_take():
    import re

    from kwsgen.codegen.emit import DW_PLANAR_3X3, DW_TAP_PAIRS, REQUANT_EXACT, REQUANT_FAST, REQUANT_FAST_INT8

    seen = set()
    for name in ALL_MODELS:
        for layer in generate_c(read_tflite(model_bytes(name))).layers:
            text = "\n".join(layer.declarations)
            if layer.op == "DEPTHWISE_CONV_2D":
                fields = (re.search(rf"{k} = (\d)", text).group(1) for k in ("filter_layout", "requant_mode"))
                seen.add(tuple(map(int, fields)))
    # The planar layout never takes the exact mode: its kernels accumulate 2 * acc.
    assert seen == {(DW_PLANAR_3X3, REQUANT_FAST), (DW_PLANAR_3X3, REQUANT_FAST_INT8)} | {
        (DW_TAP_PAIRS, mode) for mode in (REQUANT_EXACT, REQUANT_FAST, REQUANT_FAST_INT8)
    }


def test_odd_shapes_really_are_odd():
    graph = read_tflite(model_bytes("odd_convolutions"))
    convs = [op for op in graph.operators if op.op in ("CONV_2D", "DEPTHWISE_CONV_2D")]
    kernels = {graph.tensor(op.inputs[1]).shape[1:3] for op in convs}
    assert any(h != w for h, w in kernels)
    assert {op.options["Padding"] for op in convs} == {0, 1}
    assert any(op.options.get("DepthMultiplier", 1) == 2 for op in convs)
    assert any(op.options.get("DilationHFactor", 1) == 2 for op in convs)
    assert any(graph.tensor(op.outputs[0]).shape[-1] % 4 for op in convs)


def test_memory_plan_never_overlaps_live_buffers():
    graph = read_tflite(model_bytes("residual_mean"))
    plan = generate_c(graph).plan
    for a in plan.buffers:
        assert a.offset % 8 == 0 and a.end <= plan.arena_size
        for b in plan.buffers:
            if a is not b and a.overlaps_in_time(b):
                assert a.end <= b.offset or b.end <= a.offset, (a, b)


def test_layers_run_in_place_where_the_kernels_allow_it():
    # Every depthwise and 1x1 layer of the in-place model writes over its input: one activation buffer.
    for name in ("in_place_layers", "in_place_short_image"):
        graph = read_tflite(model_bytes(name))
        plan = generate_c(graph).plan
        assert plan.in_place == set(range(len(graph.operators))), name
    kws25k = generate_c(read_tflite(model_bytes("kws25k"))).plan
    assert kws25k.in_place == set(range(1, 9))  # not the strided first convolution, the mean or the dense head
    assert kws25k.arena_size < 12_500  # one 25x12x36 activation buffer, the input and scratch (23,120 without)


def test_generated_code_is_readable_with_one_commented_call_per_layer():
    gen = generate_c(read_tflite(model_bytes("kws25k")))
    invoke = gen.source[gen.source.index("_invoke(void)") :]
    assert invoke.count("kws_conv_s8(") == 5 and invoke.count("kws_depthwise_conv_s8(") == 4
    assert "/* 0: CONV_2D 1x49x23x1 -> 1x25x12x36, kernel 10x4, stride 2x2, SAME, RELU */" in invoke
    assert "malloc" not in gen.source and "float" not in gen.source.split("#include")[-1]


def test_export_c_builds_on_its_own_and_refuses_to_overwrite_changes(tmp_path):
    import subprocess

    model = tmp_path / "model.tflite"
    model.write_bytes(model_bytes("pools_and_dense"))
    out = tmp_path / "c"
    gen, _ = export_c(model, out, prefix="my_net")
    main = out / "main.c"
    main.write_text(
        '#include <stdio.h>\n#include "my_net.h"\n'
        "int main(void) { int i; my_net_init();\n"
        "  for (i = 0; i < MY_NET_INPUT_SIZE; i++) my_net_input()[i] = (int8_t)(i * 7);\n"
        "  my_net_invoke();\n"
        '  for (i = 0; i < MY_NET_OUTPUT_SIZE; i++) printf("%d ", my_net_output()[i]);\n'
        "  return 0; }\n"
    )
    exe = tmp_path / "net"
    subprocess.run(
        [
            "cc",
            "-std=c99",
            "-Wall",
            "-Wextra",
            "-Werror",
            "-pedantic",
            "-O1",
            f"-I{out}",
            *map(str, out.glob("*.c")),
            "-o",
            str(exe),
        ],
        check=True,
    )
    printed = np.array(subprocess.run([str(exe)], capture_output=True, text=True, check=True).stdout.split(), int)
    x = (np.arange(gen.input_size) * 7).astype(np.int64).astype(np.int8)
    graph = read_tflite(model)
    expected = tflm_run(model.read_bytes(), graph, x[None])[0][graph.operators[-1].index]
    assert np.array_equal(printed, expected)
    export_c(model, out, prefix="my_net")  # identical files: fine
    (out / "my_net.c").write_text("/* my change */\n")
    with pytest.raises(KwsgenError, match="--force"):
        export_c(model, out, prefix="my_net")
    export_c(model, out, prefix="my_net", force=True)
    assert "my change" not in (out / "my_net.c").read_text()


def test_export_c_refuses_a_model_too_large_for_the_board_and_writes_nothing(tmp_path):
    import dataclasses

    from kwsgen.boards import get_board

    model = tmp_path / "model.tflite"
    model.write_bytes(model_bytes("kws25k"))
    small = dataclasses.replace(get_board("nano33"), flash_kb=64, reserved_flash_kb=0, ram_kb=72, reserved_ram_kb=64)
    with pytest.raises(KwsgenError, match=r"needs [\d,]+ bytes of RAM.*8,192 bytes available") as err:
        export_c(model, tmp_path / "out", before_writing=fits_board(small, "model.tflite"))
    assert "model.tflite on nano33" in str(err.value)
    assert not (tmp_path / "out").exists()
    export_c(
        model, tmp_path / "out", before_writing=fits_board(get_board("nano33"), "model.tflite")
    )  # the real board has room


# ---------------------------------------------------------------- bad models


def _uint8_input(model, schema):
    sg = model.subgraphs[0]
    sg.tensors[sg.inputs[0]].type = schema.TensorType.UINT8


def _dynamic_shape(model, schema):
    sg = model.subgraphs[0]
    t = sg.tensors[sg.inputs[0]]
    t.shapeSignature = np.array([1, -1, *t.shape[2:]], np.int32)


def _unsupported_op(model, schema):
    for code in model.operatorCodes:
        if code.builtinCode == schema.BuiltinOperator.SOFTMAX:
            code.builtinCode = schema.BuiltinOperator.TANH
            code.deprecatedBuiltinCode = schema.BuiltinOperator.TANH


def _tanh_activation(model, schema):
    for op in model.subgraphs[0].operators:
        if isinstance(op.builtinOptions, schema.FullyConnectedOptionsT):
            op.builtinOptions.fusedActivationFunction = schema.ActivationFunctionType.TANH


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (_uint8_input, "its input is uint8; kwsgen compiles int8 models"),
        (_dynamic_shape, "has a dynamic shape"),
        (_unsupported_op, "uses operator TANH"),
        (_tanh_activation, "fused activation TANH"),
    ],
)
def test_unsuitable_models_get_a_clear_error(change, message):
    bad = _mutate(model_bytes("pools_and_dense"), change)
    with pytest.raises(KwsgenError, match=message) as err:
        generate_c(read_tflite(bad, "bad.tflite"))
    assert str(err.value).startswith("bad.tflite")


def test_float_model_is_refused_with_a_hint(tmp_path):
    from kwsgen.train.tfutil import tf

    model = nn_models.pools_and_dense()
    converter = tf().lite.TFLiteConverter.from_keras_model(model)
    import contextlib
    import io

    with contextlib.redirect_stdout(io.StringIO()):
        data = converter.convert()
    with pytest.raises(KwsgenError, match="float32.*quantise it to full int8"):
        read_tflite(data, "float.tflite")


@pytest.mark.parametrize("cut", [0.1, 0.5, 0.9, 0.999])
def test_truncated_flatbuffers_are_refused(cut, tmp_path):
    data = model_bytes("pools_and_dense")
    path = tmp_path / "cut.tflite"
    path.write_bytes(data[: int(len(data) * cut)])
    with pytest.raises(KwsgenError, match=r"cut\.tflite: .*(truncated|corrupted)"):
        read_tflite(path)


def test_corrupted_and_foreign_files_are_refused(tmp_path):
    rng = np.random.default_rng(3)
    data = bytearray(model_bytes("pools_and_dense"))
    for seed in range(20):
        bad = bytearray(data)
        idx = np.random.default_rng(seed).integers(8, len(bad), 40)
        for i in idx:
            bad[i] = int(rng.integers(256))
        with pytest.raises(KwsgenError, match=r"^bad\.tflite"):  # refused, naming the file; never half-compiled
            generate_c(read_tflite(bytes(bad), "bad.tflite"))
    (tmp_path / "x.tflite").write_bytes(b"RIFF....WAVEfmt ")
    with pytest.raises(KwsgenError, match="not a TFLite flatbuffer"):
        read_tflite(tmp_path / "x.tflite")
    with pytest.raises(KwsgenError, match="model file not found"):
        read_tflite(tmp_path / "missing.tflite")


def test_export_c_check_compares_every_tensor_with_tflite_micro(tmp_path):
    import re
    import subprocess
    import sys

    model = tmp_path / "model.tflite"
    model.write_bytes(model_bytes("pools_and_dense"))
    proc = subprocess.run(
        [sys.executable, "-m", "kwsgen", "export-c", str(model), "--out", str(tmp_path / "c"), "--check", "3"],
        capture_output=True,
        text=True,
    )
    assert proc.returncode == 0, proc.stderr
    assert re.search(r"host \(ASan, UBSan\): all \d+ tensors of 7 inputs identical to TFLite Micro", proc.stdout)
    # The check can fail: one changed weight is found, and named.
    graph = read_tflite(model)
    gen = generate_c(graph)
    first = re.search(r"static const int32_t op(\d+)_bias\[\d+\] = \{\s*(-?\d+)", gen.source)
    gen.source = gen.source[: first.start(2)] + str(int(first[2]) + 5000) + gen.source[first.end(2) :]
    [result] = verify.check_against_tflm(model.read_bytes(), graph, gen, ["host"], probe_inputs(gen.input_size, 2))
    assert result.mismatches and result.mismatches[0].op_index == int(first[1])


def test_cycle_costs_follow_the_cortex_m4_manual():
    from kwsgen.hosttools.cycles import REFILL, Instruction, classify

    def ins(mnemonic, operands="", address=0):
        return Instruction(address, mnemonic, operands, address + 2)

    ldr = ins("ldr", "r1, [r0, #4]")
    assert classify(ldr, ins("adds"))[:2] == ("load", 2.0)
    assert classify(ins("ldr"), ldr)[:2] == ("load", 1.0)  # pipelined behind a load
    assert classify(ins("str"), ldr)[:2] == ("store", 1.0)
    assert classify(ins("push", "{r4, r5, r6, r7, lr}"), None)[1] == 6.0
    assert classify(ins("pop", "{r4-r7, pc}"), None)[1] == 1 + 5 + REFILL
    assert classify(ins("ldrd"), None)[1] == 3.0
    assert classify(ins("smlad", "r0, r1, r2, r0"), None)[:2] == ("multiply-accumulate", 1.0)
    assert classify(ins("mla"), None)[1] == 2.0 and classify(ins("sdiv"), None)[1] == 7.0
    assert classify(ins("addeq"), None)[:2] == ("data processing", 1.0)  # inside an IT block
    assert classify(ins("bne"), None)[2] and classify(ins("cbz"), None)[2]
    assert classify(ins("bl"), None)[1] == 1 + REFILL and not classify(ins("b"), None)[2]
    assert classify(ins("qadd16"), None)[0] == classify(ins("ssat"), None)[0] == "SIMD and saturation"
