"""Firmware: the three engines (Python simulation, host firmware, Cortex-M4 firmware under QEMU) print
identical lines in both modes, on project, real and long mixed audio; board projects render, build and
lint; labels are escaped; user files are safe."""

from __future__ import annotations

import dataclasses
import itertools
import json
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from kwsgen.audio import read_audio
from kwsgen.boards import get_board
from kwsgen.errors import KwsgenError
from kwsgen.firmware.app import c_string, class_macros, json_label, load_spec
from kwsgen.firmware.build import render_board
from kwsgen.firmware.engines import build_host_firmware, run_host, run_python, run_qemu
from kwsgen.firmware.verify import verify_engines

pytestmark = pytest.mark.slow

LINE = re.compile(
    r'^\{"ModelNumber":0,"Classification":(\d+),"label":"([^"\\]|\\.)*","score":[01]\.\d\d,"sample":\d+\}$'
)


def continuous(spec, **kw):
    return dataclasses.replace(
        spec, device=dataclasses.replace(spec.device, mode="continuous"), rule=dataclasses.replace(spec.rule, **kw)
    )


def with_rule(spec, **kw):
    return dataclasses.replace(spec, rule=dataclasses.replace(spec.rule, **kw))


def agree(spec, audio, sanitize=False, chunk=512, keywords=True):
    """The three engines print the same lines; an empty comparison proves nothing, so lines (and, unless told
    otherwise, keyword detections) must be there."""
    python = run_python(spec, audio).lines
    assert python, "no lines: nothing to compare"
    if keywords:
        assert any(json.loads(line)["Classification"] not in (0, spec.unknown_class) for line in python)
    assert run_host(spec, audio, chunk=chunk, sanitize=sanitize).lines == python
    assert run_qemu(spec, audio).lines == python
    return python


def low_thresholds(spec, keyword_threshold=64):
    """Keywords count at a quarter probability: the small fixture model then detects in every setting."""
    return tuple(256 if label == "Unknown" else keyword_threshold for label in spec.labels)


def test_engines_agree_on_every_test_recording_and_one_long_stream(project, spec):
    report = verify_engines(project, spec, progress=False)
    assert not report.differences, report.differences[:3]
    assert report.lines > report.recordings  # several words per recording
    # Instruction counts under QEMU are exact and repeatable, so they are gated: the front end's hop
    # must stay within issue 16's target of 25,000 (measured 24,943 with this firmware's pipeline), and
    # inference within a few percent of 1.59 per MAC with kws25k (the target is 2.0).
    assert 24_000 <= report.instructions_per_hop <= 25_000, report.instructions_per_hop
    macs = sum(layer.macs for layer in spec.model.layers)
    assert 1.5 <= report.instructions_per_inference / macs <= 1.65, report.instructions_per_inference / macs


def test_lines_are_json_with_classes_in_model_order(project, spec):
    audio = read_audio(project.recording_path("espeak-us-f5/yes.flac"))
    lines = run_python(spec, audio).lines
    assert lines and all(LINE.match(line) for line in lines)
    for line in lines:
        d = json.loads(line)
        assert d["label"] == spec.class_label(d["Classification"])
        assert (d["sample"] + 1 - 480) % 320 == 0


@pytest.mark.parametrize(
    "every,average,suppress,hits", [(4, 3, 50, 1), (1, 1, 0, 1), (7, 5, 10, 1), (2, 2, 25, 3), (1, 4, 0, 2)]
)
def test_continuous_mode_agrees_and_reports_each_keyword_once(project, spec, every, average, suppress, hits):
    cont = continuous(spec, every=every, average=average, suppress=suppress, hits=hits, thresholds=low_thresholds(spec))
    audio = np.concatenate([read_audio(project.recording_path(f"espeak-us-f5/{w}.flac")) for w in ("yes", "off")])
    lines = agree(cont, audio)
    samples = [json.loads(line)["sample"] for line in lines]
    assert all(json.loads(line)["Classification"] not in (0, cont.unknown_class) for line in lines)
    assert all(b - a >= max(suppress, 1) * 320 for a, b in itertools.pairwise(samples))


SCRIPTED_MODEL = """/* A stand-in for kws_model.c: each invoke returns the next row of outputs.bin. */
#include <stdio.h>
#include <stdlib.h>
#include "kws_model.h"
static int8_t input[KWS_MODEL_INPUT_SIZE], output[KWS_MODEL_OUTPUT_SIZE];
static FILE *rows;
void kws_model_init(void) { if (!rows) rows = fopen("outputs.bin", "rb"); }
int8_t *kws_model_input(void) { return input; }
void kws_model_invoke(void)
{
    if (fread(output, 1, sizeof(output), rows) != sizeof(output)) { fputs("out of rows\\n", stderr); exit(3); }
}
const int8_t *kws_model_output(void) { return output; }
"""

SCRIPTED_MAIN = """#include <stdio.h>
#include <stdlib.h>
#include "kws_pipeline.h"
static void show(const kws_result_t *r, void *user)
{
    (void)user;
    printf("%u %u %u\\n", (unsigned)r->frame, (unsigned)r->classification, (unsigned)r->score);
}
int main(int argc, char **argv)
{
    static kws_pipeline_t p;
    static const int16_t silence[100] = {0};
    long left = atol(argv[1]);
    (void)argc;
    kws_pipeline_init(&p, show, 0);
    while (left > 0) {
        const long n = left < 100 ? left : 100;
        kws_pipeline_process(&p, silence, (size_t)n);
        left -= n;
    }
    return 0;
}
"""


def scripted_outputs(rng, n, n_classes, unknown):
    """Model outputs in bursts: a keyword (or Unknown) strong for a few classifications, then noise."""
    out = rng.integers(-128, -60, (n, n_classes))
    i = 0
    while i < n:
        length = int(rng.integers(1, 8))
        winner = int(rng.integers(n_classes)) if rng.random() < 0.8 else unknown - 1
        out[i : i + length, winner] = rng.integers(40, 128, min(length, n - i))
        i += length + int(rng.integers(0, 6))
    return out.astype(np.int8)


@pytest.mark.parametrize(
    "every,average,suppress,hits", [(1, 1, 2, 1), (1, 3, 3, 2), (2, 2, 5, 1), (3, 4, 4, 3), (1, 2, 0, 1)]
)
def test_continuous_rule_in_c_equals_python_on_scripted_outputs(spec, tmp_path, every, average, suppress, hits):
    """kws_pipeline.c's averaging, streaks and suppression against apply_rule, exactly, on 600 scripted model
    outputs whose bursts land on every edge of the rule (the model is replaced; the front end runs on silence)."""
    from kwsgen.firmware.engines import core_dir, host_program
    from kwsgen.firmware.simulate import apply_rule

    cont = continuous(spec, every=every, average=average, suppress=suppress, hits=hits, thresholds=low_thresholds(spec))
    n_out, cl = 600, cont.frontend.cascade_len
    outputs = scripted_outputs(
        np.random.default_rng(every * 100 + average * 10 + suppress), n_out, len(cont.labels), cont.unknown_class
    )
    frames = (cl - 1) + every * np.arange(n_out)
    samples = cont.frontend.window_size + cont.frontend.hop_size * int(frames[-1])
    core = core_dir(cont)
    (tmp_path / "model.c").write_text(SCRIPTED_MODEL)
    (tmp_path / "main.c").write_text(SCRIPTED_MAIN)
    sources = (
        *sorted(c for c in core.glob("*.c") if c.name != "kws_model.c"),
        tmp_path / "model.c",
        tmp_path / "main.c",
    )
    exe = host_program(sources, core, "scripted", "scripted-rule", sanitize=True)
    (tmp_path / "outputs.bin").write_bytes(outputs.tobytes())
    run = subprocess.run([str(exe), str(samples)], cwd=tmp_path, capture_output=True, text=True, check=True)
    got = [tuple(int(v) for v in line.split()) for line in run.stdout.splitlines()]
    want = [(r.frame, r.classification, r.score) for r in apply_rule(cont, frames, outputs)]
    assert len(want) > 20  # the bursts do fire
    assert got == want


@pytest.mark.parametrize("holdoff", [0, 30, 200])
def test_filter_mode_holdoff_and_per_class_thresholds_agree(project, spec, holdoff):
    thresholds = list(low_thresholds(spec, 80))
    thresholds[spec.labels.index("off")] = 200  # one keyword much stricter than the others
    thresholds[spec.labels.index("Unknown")] = 128
    rule_spec = with_rule(spec, holdoff=holdoff, thresholds=tuple(thresholds))
    words = ("yes", "no", "off", "on", "other")
    audio = np.concatenate([read_audio(project.recording_path(f"espeak-us-f5/{w}.flac")) for w in words])
    lines = [json.loads(line) for line in agree(rule_spec, audio)]
    kept = [d for d in lines if d["Classification"] not in (0, rule_spec.unknown_class)]
    assert all(b["sample"] - a["sample"] >= holdoff * 320 for a, b in itertools.pairwise(kept))
    assert all(d["score"] >= thresholds[d["Classification"] - 1] / 256 - 0.005 for d in kept)


def test_engines_agree_on_real_speech_noise_and_extremes_under_sanitizers(spec, shared_data):
    data = shared_data
    rng = np.random.default_rng(5)
    clips = sorted((data / "speech_commands_v2").glob("*/*.flac"))
    picks = [read_audio(clips[i]) for i in rng.choice(len(clips), 12, replace=False)]
    noise = read_audio(data / "background_noise" / "doing_the_dishes.flac")[:48000]
    extremes = [
        np.zeros(8000, np.int16),
        np.full(4000, 32767, np.int16),
        np.resize(np.array([-32768, 32767], np.int16), 6000),
        rng.integers(-32768, 32768, 9000).astype(np.int16),
    ]
    audio = np.concatenate([*picks, noise, *extremes])
    for s in (spec, continuous(spec, hits=2, thresholds=low_thresholds(spec))):
        lines = agree(s, audio, sanitize=True, chunk=97, keywords=s is not spec)
        assert lines


def test_chunk_size_does_not_change_the_lines(project, spec):
    audio = read_audio(project.recording_path("espeak-us-f5/no.flac"))
    expected = run_python(spec, audio).lines
    for chunk in (1, 319, 320, 4096):
        assert run_host(spec, audio, chunk=chunk).lines == expected


def test_awkward_labels_are_escaped_in_c_and_json(spec):
    labels = ['say "hi"', "back\\slash", "été?", "a*/b", "Unknown"]
    assert [json_label(s) for s in labels[:3]] == ['say \\"hi\\"', "back\\\\slash", "\\u00e9t\\u00e9?"]
    assert c_string('a"b\\c??=') == '"a\\"b\\\\c\\?\\?="'
    macros = [m["macro"] for m in class_macros(["yes", "YES", "1st word", "*/"])]
    assert len(set(macros)) == len(macros) and all(re.fullmatch(r"[A-Z_][A-Z0-9_]*", m) for m in macros)
    weird = dataclasses.replace(spec, labels=labels)
    rng = np.random.default_rng(1)
    audio = (rng.standard_normal(40000) * 3000).astype(np.int16)
    lines = run_python(weird, audio).lines
    assert run_host(weird, audio).lines == lines
    for line in lines:
        assert json.loads(line)["label"] in ["UNK", *labels]


@pytest.mark.parametrize("board", ["host", "qemu", "nano33", "esp32s3", "quickfeather"])
def test_every_board_renders_and_platformio_projects_lint_clean(project, spec, board, tmp_path):
    out = tmp_path / board
    files = render_board(spec, get_board(board), out, project.root, {})
    assert "README.md" in files and (out / "README.md").read_text().count("kws_pipeline_process") >= 2
    if (out / "platformio.ini").exists():
        from platformio.project.config import ProjectConfig

        assert ProjectConfig.lint(str(out / "platformio.ini")) == {"errors": [], "warnings": []}
    text = "\n".join(
        (out / f).read_text() for f in files if f.endswith((".c", ".cpp", ".h", ".ini", ".txt", "Makefile"))
    )
    assert "{{" not in text and "{%" not in text


def test_the_host_project_builds_with_cmake_and_reads_wav(project, spec, tmp_path):
    out = tmp_path / "host"
    render_board(spec, get_board("host"), out, project.root, {})
    subprocess.run(["cmake", "-S", str(out), "-B", str(tmp_path / "b")], check=True, capture_output=True)
    subprocess.run(["cmake", "--build", str(tmp_path / "b")], check=True, capture_output=True)
    import soundfile as sf

    audio = read_audio(project.recording_path("espeak-us-f5/on.flac"))
    sf.write(tmp_path / "on.wav", audio, 16000, subtype="PCM_16")
    with open(tmp_path / "on.wav", "rb") as f:
        got = subprocess.run([str(tmp_path / "b" / "kws_host")], stdin=f, capture_output=True, text=True, check=True)
    assert got.stdout.splitlines() == run_python(spec, audio).lines
    bad = subprocess.run([str(tmp_path / "b" / "kws_host")], input=b"RIFF\x24\x00\x00\x00WAVEfmt ", capture_output=True)
    assert bad.returncode == 3 and b"stdin:" in bad.stderr


def test_the_board_cores_compile_for_each_cortex_m_cpu_with_werror(spec, tmp_path):
    from kwsgen.firmware.engines import core_dir
    from kwsgen.hosttools.build import arm_gcc

    core = core_dir(spec)
    for board in ("nano33", "quickfeather", "qemu"):
        flags = get_board(board).cpu_flags
        for src in sorted(core.glob("*.c")):
            subprocess.run(
                [
                    arm_gcc(),
                    "-std=c99",
                    *flags,
                    "-O2",
                    "-Wall",
                    "-Wextra",
                    "-Werror",
                    f"-I{core}",
                    "-c",
                    str(src),
                    "-o",
                    str(tmp_path / "x.o"),
                ],
                check=True,
            )


def test_build_refuses_changed_folders_and_bad_options(project, spec, tmp_path):
    out = tmp_path / "nano"
    board = get_board("nano33")
    render_board(spec, board, out, project.root, {})
    render_board(spec, board, out, project.root, {})  # unchanged: fine
    (out / "src" / "main.cpp").write_text("// my edits\n")
    (out / "notes.txt").write_text("mine\n")
    with pytest.raises(KwsgenError, match="--force"):
        render_board(spec, board, out, project.root, {})
    assert (out / "src" / "main.cpp").read_text() == "// my edits\n"
    render_board(spec, board, out, project.root, {}, force=True)
    assert (out / "notes.txt").read_text() == "mine\n"  # never deleted
    with pytest.raises(KwsgenError, match="has no option 'gain'"):
        render_board(spec, board, tmp_path / "x", project.root, {"gain": "3"})
    with pytest.raises(KwsgenError, match="must be one of pdm, i2s, not 'usb'"):
        render_board(spec, get_board("esp32s3"), tmp_path / "y", project.root, {"mic": "usb"})
    for board, option, value, says in (
        ("esp32s3", "baud", "0", "must be one of 9600, "),
        ("esp32s3", "pdm_clk", "999", "must be one of 1, 2, 4,"),
        ("esp32s3", "i2s_din", "20", "must be one of"),  # a USB pin
        ("nano33", "pdm_gain", "-5", "must be 0..80, not -5"),
        ("quickfeather", "uart", "spi", "must be one of usbserial, hw"),
    ):
        with pytest.raises(KwsgenError, match=re.escape(f"option {option} of board {board} {says}")):
            render_board(spec, get_board(board), tmp_path / "bad", project.root, {option: value})
    assert not (tmp_path / "bad").exists()
    i2s = render_board(spec, get_board("esp32s3"), tmp_path / "z", project.root, {"mic": "i2s", "i2s_din": "4"})
    assert "i2s_channel_init_std_mode" in (tmp_path / "z" / "src" / "main.c").read_text() and i2s


def test_a_one_second_clip_is_classified_in_silence_by_every_engine(project, spec, tmp_path):
    """A Speech Commands clip is shorter than the firmware needs from reset: run plays it in silence."""
    from kwsgen.firmware.events import in_silence, samples_needed

    word = read_audio(project.recording_path("espeak-us-f5/off.flac"))
    segment = next(s for s in project.load_session("Training Session").segments if s.file == "espeak-us-f5/off.flac")
    clip = word[segment.centre - 8000 : segment.centre + 8000]
    assert len(clip) < samples_needed(spec)
    played, lead = in_silence(spec, clip)
    assert lead == spec.frontend.cascade_samples and not played[:lead].any()
    assert np.array_equal(played[lead : lead + len(clip)], clip)
    lines = agree(with_rule(spec, thresholds=low_thresholds(spec)), played)
    assert any(json.loads(line)["label"] == "off" for line in lines)
    long_enough = np.zeros(samples_needed(spec), np.int16)
    assert in_silence(spec, long_enough) == (long_enough, 0)
    path = tmp_path / "clip.wav"
    import soundfile as sf

    sf.write(path, clip, 16000, subtype="PCM_16")
    got = subprocess.run(
        [sys.executable, "-m", "kwsgen", "run", str(path), "-p", str(project.root)], capture_output=True, text=True
    )
    assert got.returncode == 0 and got.stdout.strip(), got.stderr
    assert f"played after {lead} samples of silence" in got.stderr
    sf.write(tmp_path / "clip8k.wav", clip[::2], 8000, subtype="PCM_16")
    got = subprocess.run(
        [sys.executable, "-m", "kwsgen", "run", str(tmp_path / "clip8k.wav"), "-p", str(project.root)],
        capture_output=True,
        text=True,
    )
    assert "use --resample" in got.stderr and got.returncode == 1
    got = subprocess.run(
        [sys.executable, "-m", "kwsgen", "run", str(tmp_path / "clip8k.wav"), "-p", str(project.root), "--resample"],
        capture_output=True,
        text=True,
    )
    assert got.returncode == 0 and got.stdout.strip(), got.stderr


def test_run_truth_detects_words_in_one_second_clips(project, spec, tmp_path):
    """One-second clips (what a Speech Commands import gives) are scored, not all missed."""
    import shutil

    import soundfile as sf

    from kwsgen.firmware.events import evaluate_files
    from kwsgen.project import Session
    from kwsgen.project.store import Segment

    root = tmp_path / "clips"
    shutil.copytree(project.root, root)
    clipped = type(project).open(root)
    keywords = [
        s
        for s in clipped.load_session("Training Session").segments
        if s.label != "Unknown" and clipped.load_metadata().get(s.file, "Set") == "Test"
    ]
    truth = Session("clips")
    for i, seg in enumerate(keywords):
        audio = read_audio(clipped.recording_path(seg.file))
        name = f"clips/{i}.wav"
        clipped.recording_path(name).parent.mkdir(parents=True, exist_ok=True)
        sf.write(clipped.recording_path(name), audio[max(0, seg.centre - 8000) : seg.centre + 8000], 16000)
        truth.segments.append(Segment(name, 0, 16000, seg.label))
    clipped.save_session(truth)
    keen = with_rule(spec, thresholds=low_thresholds(spec))
    report, _ = evaluate_files(clipped, keen, "clips", progress=False)
    assert report.events == len(keywords) >= 8
    assert report.hits >= report.events // 2, report.table()


@given(st.lists(st.text(alphabet="aA_3!?-", min_size=1, max_size=5), min_size=1, max_size=8))
@settings(max_examples=300, deadline=None)
def test_class_macros_are_unique_identifiers_for_any_labels(labels):
    macros = [m["macro"] for m in class_macros(labels)]
    assert len(set(macros)) == len(macros) == len(labels) + 1
    assert all(re.fullmatch(r"KWS_CLASS_[A-Z0-9_]+", m) for m in macros)


def test_labels_that_once_hung_the_macro_naming():
    assert [m["macro"] for m in class_macros(["a_3", "a", "a!"])] == [
        "KWS_CLASS_UNK",
        "KWS_CLASS_A_3",
        "KWS_CLASS_A",
        "KWS_CLASS_A_3_3",
    ]


def test_cli_build_run_and_their_errors(project, tmp_path):
    def cli(*args):
        return subprocess.run([sys.executable, "-m", "kwsgen", *args], capture_output=True, text=True)

    got = cli("build", "--board", "nosuch", "-p", str(project.root))
    assert got.returncode != 0 and "the boards are:" in got.stderr and "Traceback" not in got.stderr
    got = cli("build", "--board", "qemu", "-p", str(project.root), "--model", "absent")
    assert got.returncode != 0 and "no trained model 'absent'" in got.stderr
    got = cli("build", "--board", "qemu", "-p", str(project.root), "--out", str(tmp_path / "q"))
    assert got.returncode == 0 and "next:" in got.stdout
    rec = str(project.recording_path("espeak-us-f5/off.flac"))
    lines = {e: cli("run", rec, "-p", str(project.root), "--engine", e).stdout for e in ("python", "host", "qemu")}
    assert lines["python"] and lines["python"] == lines["host"] == lines["qemu"]


def test_host_firmware_builds_under_sanitizers(spec):
    assert build_host_firmware(spec, sanitize=True).exists()


def fake_qorc_sdk(root):
    """The parts of qorc-sdk's qf_ssi_ai_app (d61d0641) that kwsgen's QuickFeather Makefile relies on: its
    folder layout, Fw_global_config.h's FEATURE_USBSERIAL line, the UART API's declaration, the Knowledge
    Pack hook's caller, and three habits of the SDK's make: config.mk derives APP_DIR by removing every
    "/GCC_Project" from the folder's path, Makefile_generated compiles
    $(PROJ_ROOT)/qf_apps/$(PROJ_NAME)/knowledgepack/src/sml_recognition_run.c, and that Knowledge Pack
    source defines sml_recognition_run_batch/_single. Its 'build' compiles every source with the SDK's
    CPU flags and -Werror, then links them (relocatably), so a duplicate definition fails as it does."""
    app = root / "qf_apps" / "qf_ssi_ai_app"
    for folder in ("GCC_Project", "src", "inc", "sensor_audio/inc", "knowledgepack/src", "knowledgepack/inc"):
        (app / folder).mkdir(parents=True)
    (app / "GCC_Project" / "config.mk").write_text("# qorc-sdk configuration\n")
    flags = " ".join(get_board("quickfeather").cpu_flags)
    (app / "GCC_Project" / "Makefile").write_text(
        "PROJ_DIR := $(shell pwd)\n"
        "APP_DIR = $(subst /GCC_Project,,$(PROJ_DIR))\n"
        "PROJ_NAME = $(lastword $(subst /, ,$(APP_DIR)))\n"
        "GENERATED_DIR = $(PROJ_ROOT)/qf_apps/$(PROJ_NAME)/knowledgepack/src\n"
        "all:\n"
        '\ttest -n "$(PROJ_ROOT)"\n'
        "\tmkdir -p output/bin\n"
        f"\tfor f in $(APP_DIR)/src/*.c $(GENERATED_DIR)/sml_recognition_run.c; do arm-none-eabi-gcc -std=c99 {flags} "
        "-Os -Wall -Wextra -Werror -I$(APP_DIR)/inc -I$(APP_DIR)/sensor_audio/inc -c $$f "
        "-o output/$$(basename $$f).o || exit 1; done\n"
        f"\tarm-none-eabi-gcc {flags} -r -nostdlib output/*.o -o output/app.o\n"
        "\tcat output/app.o > output/bin/$(PROJ_NAME).bin\n"
    )
    (app / "knowledgepack" / "src" / "sml_recognition_run.c").write_text(
        "#include <stdint.h>\n"
        "int sml_recognition_run_batch(signed short *d, int n, uint8_t ch, uint32_t id);\n"
        "int sml_recognition_run_single(signed short *d, uint32_t id);\n"
        "int sml_recognition_run_batch(signed short *d, int n, uint8_t ch, uint32_t id)\n"
        "{ (void)d; (void)n; (void)ch; (void)id; return 0; }\n"
        "int sml_recognition_run_single(signed short *d, uint32_t id) { (void)d; (void)id; return 0; }\n"
    )
    (app / "inc" / "Fw_global_config.h").write_text(
        "#include <stdint.h>\n#define FEATURE_USBSERIAL   0       // USBSERIAL port is present\n"
        "#define DEBUG_UART  (UART_ID_USBSERIAL)  // Set the output of debug messages\n"
    )
    (app / "inc" / "eoss3_hal_uart.h").write_text(
        "#include <stddef.h>\n#include <stdint.h>\n#define UART_ID_HW 1\n#define UART_ID_USBSERIAL 6\n"
        "void uart_tx_raw_buf(int uartid, const uint8_t *data, size_t len);\n"
        "extern int uart_tx_get_fifo_space_available(int uartid);\n"
    )
    (app / "src" / "main.c").write_text(
        '#include "Fw_global_config.h"\n#include "eoss3_hal_uart.h"\n#include "app_config.h"\n#include "sensor_audio_config_user.h"\n'
        "#if SENSOR_AUDIO_RECOG_ENABLED != 1 || SENSOR_AUDIO_LIVESTREAM_ENABLED != 0\n#error not recognition\n#endif\n"
        "int sml_recognition_run_batch(signed short *d, int n, uint8_t ch, uint32_t id);\n"
        "void uart_tx_raw_buf(int uartid, const uint8_t *data, size_t len) { (void)uartid; (void)data; (void)len; }\n"
        "int uart_tx_get_fifo_space_available(int uartid) { return uartid; }\n"
        "int main(void) { static signed short a[256]; return sml_recognition_run_batch(a, 256, 1, 0x4155444F); }\n"
    )
    (app / "src" / "sml_output.c").write_text("#error the Knowledge Pack's output must be replaced\n")
    return root


def test_quickfeather_app_stages_on_the_sdk_and_its_glue_compiles_with_the_sdk_flags(project, spec, tmp_path):
    out = tmp_path / "qf"
    render_board(spec, get_board("quickfeather"), out, project.root, {})
    gcc = out / "GCC_Project"
    unset = subprocess.run(["make", "-C", str(gcc)], capture_output=True, text=True, env={"PATH": "/usr/bin:/bin"})
    assert unset.returncode != 0 and "QORC_SDK_PATH is not set" in unset.stderr
    wrong = subprocess.run(["make", "-C", str(gcc), f"QORC_SDK_PATH={tmp_path}"], capture_output=True, text=True)
    assert wrong.returncode != 0 and "is not a qorc-sdk checkout" in wrong.stderr
    sdk = fake_qorc_sdk(tmp_path / "sdk")
    built = subprocess.run(["make", "-C", str(gcc), f"QORC_SDK_PATH={sdk}"], capture_output=True, text=True)
    assert built.returncode == 0, built.stderr[-2000:]
    stage = gcc / "output" / "stage" / "qf_kwsgen"
    assert (gcc / "output" / "bin" / "qf_kwsgen.bin").stat().st_size > 10_000
    assert not (stage / "src" / "sml_output.c").exists() and (stage / "src" / "kws_pipeline.c").exists()
    config = (stage / "inc" / "Fw_global_config.h").read_text()
    assert "#define FEATURE_USBSERIAL   1" in config
    assert "#define DEBUG_UART  (UART_ID_HW)" in config  # the SDK's chatter stays off the JSON port
    assert "uart_tx_get_fifo_space_available" in (stage / "src" / "kws_qf_glue.c").read_text()
    assert "#define CONST_FREQ (1)" in (stage / "inc" / "app_config.h").read_text()
    assert "UART_ID_USBSERIAL" in (stage / "inc" / "kws_qf_config.h").read_text()
    render_board(spec, get_board("quickfeather"), out, project.root, {})  # its build output is not a user change
    hw = tmp_path / "qf_hw"
    render_board(spec, get_board("quickfeather"), hw, project.root, {"uart": "hw"})
    assert "UART_ID_HW" in (hw / "inc" / "kws_qf_config.h").read_text()
    with pytest.raises(KwsgenError, match="must be one of usbserial, hw"):
        render_board(spec, get_board("quickfeather"), tmp_path / "bad", project.root, {"uart": "spi"})


def test_flash_runs_the_boards_own_tools_or_says_what_to_install(project, tmp_path, monkeypatch):
    import os

    from kwsgen.firmware import flash as flash_mod

    spec = load_spec(project)
    nano, qf = tmp_path / "nano", tmp_path / "qf"
    render_board(spec, get_board("nano33"), nano, project.root, {})
    render_board(spec, get_board("quickfeather"), qf, project.root, {})
    tools, log = tmp_path / "bin", tmp_path / "calls.txt"
    tools.mkdir()
    for name in ("pio", "qfprog"):
        (tools / name).write_text(f'#!/bin/sh\necho {name} "$@" >> {log}\n')
        (tools / name).chmod(0o755)

    def cli(*args, **env):
        full = {**os.environ, "PATH": f"{tools}:{os.environ['PATH']}", **env}
        return subprocess.run([sys.executable, "-m", "kwsgen", *args], capture_output=True, text=True, env=full)

    got = cli("flash", "--board", "nano33", "--out", str(nano), "--port", "/dev/ttyACM7")
    assert got.returncode == 0, got.stderr
    assert log.read_text().split() == ["pio", "run", "-d", str(nano), "-t", "upload", "--upload-port", "/dev/ttyACM7"]
    sdk = fake_qorc_sdk(tmp_path / "sdk")
    got = cli("flash", "--board", "quickfeather", "--out", str(qf), "--port", "/dev/ttyUSB0", QORC_SDK_PATH=str(sdk))
    assert got.returncode == 0, got.stderr
    binary = qf / "GCC_Project" / "output" / "bin" / "qf_kwsgen.bin"
    assert log.read_text().splitlines()[-1].split() == [
        "qfprog",
        "--port",
        "/dev/ttyUSB0",
        "--m4app",
        str(binary),
        "--mode",
        "m4",
    ]
    got = cli("flash", "--board", "quickfeather", "--out", str(qf), "--port", "/dev/ttyUSB0", QORC_SDK_PATH="")
    assert got.returncode != 0 and "QORC_SDK_PATH is not set" in got.stdout + got.stderr
    for board, folder, hint in (("nano33", nano, "pip install platformio"), ("quickfeather", qf, "TinyFPGA")):
        monkeypatch.setattr(flash_mod, "find_tool", lambda name: None)
        with pytest.raises(KwsgenError, match=hint):
            flash_mod.flash_steps(get_board(board), folder, "/dev/ttyACM0")
    monkeypatch.undo()
    with pytest.raises(KwsgenError, match="run: kwsgen build --board nano33"):
        flash_mod.flash_steps(get_board("nano33"), tmp_path / "nothing", None)
    with pytest.raises(KwsgenError, match="needs --port"):
        flash_mod.flash_steps(get_board("quickfeather"), qf, None)
    with pytest.raises(KwsgenError, match="nothing to flash"):
        flash_mod.flash_steps(get_board("host"), nano, None)


def test_scores_round_halves_up_at_the_tie_values():
    """160/256 = 0.625 and 224/256 = 0.875 are exact ties in hundredths: they print as 0.63 and 0.88, as
    kws_pipeline.c's report() computes them; an average over 3 classifications ties the same way."""
    from kwsgen.firmware.simulate import pipeline_score

    assert (pipeline_score(160, 1), pipeline_score(224, 1)) == (63, 88)
    assert (pipeline_score(3 * 160, 3), pipeline_score(3 * 224, 3)) == (63, 88)
    assert [pipeline_score(total, 1) for total in (159, 161, 255, 0)] == [62, 63, 100, 0]


SCORE_TABLE_MAIN = """#include <stdio.h>
#include "kws_pipeline.h"
int main(void)
{
    uint32_t n, sum;
    for (n = 1; n <= 8; n++) {
        for (sum = 0; sum <= 255u * n; sum++) {
            printf("%u ", (unsigned)kws_pipeline_score(sum, n));
        }
    }
    return 0;
}
"""


def test_the_c_score_equals_the_python_one_for_every_sum_including_the_ties(spec, tmp_path):
    """kws_pipeline_score on the host, under the sanitizers, for every sum of up to 8 classifications."""
    from kwsgen.firmware.engines import core_dir, host_program
    from kwsgen.firmware.simulate import pipeline_score

    core = core_dir(spec)
    main = tmp_path / "score_table.c"
    main.write_text(SCORE_TABLE_MAIN)
    exe = host_program((*sorted(core.glob("*.c")), main), core, "score_table", "score-table", sanitize=True)
    got = [int(v) for v in subprocess.run([str(exe)], capture_output=True, text=True, check=True).stdout.split()]
    want = [pipeline_score(total, n) for n in range(1, 9) for total in range(255 * n + 1)]
    assert got == want
    assert (got[160], got[224]) == (63, 88)  # n = 1: the ties 0.625 and 0.875 round up


ESP_IDF_STUBS = {
    # Declarations as ESP-IDF 5.5.3 has them (checked against its headers), enough to compile the glue.
    "esp_err.h": "typedef int esp_err_t;\n#define ESP_ERROR_CHECK(x) ((void)(x))\n",
    "freertos/FreeRTOS.h": "#include <stdint.h>\n#include <stddef.h>\ntypedef uint32_t TickType_t;\n"
    "typedef long BaseType_t;\ntypedef unsigned long UBaseType_t;\n#define portMAX_DELAY ((TickType_t)0xffffffffUL)\n"
    "#define configMAX_PRIORITIES 25\n#define configASSERT(x) ((void)(x))\n",
    "freertos/task.h": "typedef void (*TaskFunction_t)(void *);\ntypedef void *TaskHandle_t;\n"
    "BaseType_t xTaskCreate(TaskFunction_t f, const char *name, uint32_t stack, void *arg, UBaseType_t prio, "
    "TaskHandle_t *out);\n",
    "freertos/stream_buffer.h": "typedef struct StreamBufferDef_t *StreamBufferHandle_t;\n"
    "StreamBufferHandle_t xStreamBufferCreate(size_t size, size_t trigger);\n"
    "size_t xStreamBufferSend(StreamBufferHandle_t b, const void *data, size_t n, TickType_t wait);\n"
    "size_t xStreamBufferReceive(StreamBufferHandle_t b, void *data, size_t n, TickType_t wait);\n",
    "driver/usb_serial_jtag.h": "typedef struct { uint32_t tx_buffer_size; uint32_t rx_buffer_size; } "
    "usb_serial_jtag_driver_config_t;\n#define USB_SERIAL_JTAG_DRIVER_CONFIG_DEFAULT() "
    "(usb_serial_jtag_driver_config_t){ .tx_buffer_size = 256, .rx_buffer_size = 256 }\n"
    "esp_err_t usb_serial_jtag_driver_install(usb_serial_jtag_driver_config_t *c);\n"
    "int usb_serial_jtag_write_bytes(const void *src, size_t size, TickType_t ticks_to_wait);\n"
    "int usb_serial_jtag_read_bytes(void *buf, uint32_t length, TickType_t ticks_to_wait);\n",
    "driver/i2s_common.h": "typedef struct i2s_channel_obj_t *i2s_chan_handle_t;\ntypedef int gpio_num_t;\n"
    "typedef struct { int id, role; } i2s_chan_config_t;\n#define I2S_NUM_0 0\n#define I2S_ROLE_MASTER 0\n"
    "#define I2S_GPIO_UNUSED (-1)\n#define I2S_CHANNEL_DEFAULT_CONFIG(i, r) { .id = (i), .role = (r) }\n"
    "esp_err_t i2s_new_channel(const i2s_chan_config_t *c, i2s_chan_handle_t *tx, i2s_chan_handle_t *rx);\n"
    "esp_err_t i2s_channel_enable(i2s_chan_handle_t h);\n"
    "esp_err_t i2s_channel_read(i2s_chan_handle_t h, void *dest, size_t size, size_t *read, uint32_t timeout);\n"
    "#define I2S_DATA_BIT_WIDTH_16BIT 16\n#define I2S_DATA_BIT_WIDTH_32BIT 32\n#define I2S_SLOT_MODE_MONO 1\n",
    "driver/i2s_pdm.h": '#include "driver/i2s_common.h"\ntypedef struct { uint32_t rate; } i2s_pdm_rx_clk_config_t;\n'
    "typedef struct { int bits, mode; } i2s_pdm_rx_slot_config_t;\ntypedef struct { gpio_num_t clk, din; } "
    "i2s_pdm_rx_gpio_config_t;\ntypedef struct { i2s_pdm_rx_clk_config_t clk_cfg; i2s_pdm_rx_slot_config_t "
    "slot_cfg; i2s_pdm_rx_gpio_config_t gpio_cfg; } i2s_pdm_rx_config_t;\n"
    "#define I2S_PDM_RX_CLK_DEFAULT_CONFIG(r) { .rate = (r) }\n"
    "#define I2S_PDM_RX_SLOT_DEFAULT_CONFIG(b, m) { .bits = (b), .mode = (m) }\n"
    "esp_err_t i2s_channel_init_pdm_rx_mode(i2s_chan_handle_t h, const i2s_pdm_rx_config_t *c);\n",
    "driver/i2s_std.h": '#include "driver/i2s_common.h"\ntypedef struct { uint32_t rate; } i2s_std_clk_config_t;\n'
    "typedef struct { int bits, mode; } i2s_std_slot_config_t;\ntypedef struct { gpio_num_t mclk, bclk, ws, dout, "
    "din; } i2s_std_gpio_config_t;\ntypedef struct { i2s_std_clk_config_t clk_cfg; i2s_std_slot_config_t "
    "slot_cfg; i2s_std_gpio_config_t gpio_cfg; } i2s_std_config_t;\n"
    "#define I2S_STD_CLK_DEFAULT_CONFIG(r) { .rate = (r) }\n"
    "#define I2S_STD_PHILIPS_SLOT_DEFAULT_CONFIG(b, m) { .bits = (b), .mode = (m) }\n"
    "esp_err_t i2s_channel_init_std_mode(i2s_chan_handle_t h, const i2s_std_config_t *c);\n",
}


@pytest.mark.parametrize(("mic", "capture"), [("pdm", False), ("i2s", False), ("pdm", True)])
def test_the_esp32s3_glue_compiles_against_the_esp_idf_declarations(project, spec, tmp_path, mic, capture):
    out = tmp_path / "esp"
    render_board(spec, get_board("esp32s3"), out, project.root, {"mic": mic}, capture=capture, audio_buffer=3072)
    stubs = tmp_path / "stubs"
    for name, text in ESP_IDF_STUBS.items():
        (stubs / name).parent.mkdir(parents=True, exist_ok=True)
        deps = (
            ""
            if name in ("esp_err.h", "freertos/FreeRTOS.h")
            else '#include "esp_err.h"\n#include "freertos/FreeRTOS.h"\n'
        )
        (stubs / name).write_text("#pragma once\n#include <stddef.h>\n#include <stdint.h>\n" + deps + text)
    main = (out / "src" / "main.c").read_text()
    if not capture:
        assert "#define RING_SAMPLES 3072" in main and "audio lost" in main and "xStreamBufferSend" in main
    assert "CONFIG_ESP_DEFAULT_CPU_FREQ_MHZ_240=y" in (out / "sdkconfig.defaults").read_text()
    got = subprocess.run(
        [
            "gcc",
            "-std=c99",
            "-fsyntax-only",
            "-Wall",
            "-Wextra",
            "-Werror",
            f"-I{stubs}",
            f"-I{out / 'src' / 'kws'}",
            str(out / "src" / "main.c"),
        ],
        capture_output=True,
        text=True,
    )
    assert got.returncode == 0, got.stderr


def test_the_real_time_budget_refuses_what_cannot_keep_up(project, spec, tmp_path):
    from kwsgen.firmware.realtime import Counts, budget, measured_counts, refuse_if_too_slow

    counts = measured_counts(spec, tmp_path / "cache")
    assert counts.measured and 20_000 < counts.per_hop < 60_000 and counts.per_inference > 100_000
    assert 1.1 < counts.cycles_per_instruction < 1.5  # the executed mix, costed by the Cortex-M4 manual
    # the front end's own mix (FFT, MFCC) is not the kernels'
    assert 1.1 < counts.hop_cycles_per_instruction < 1.5
    assert abs(counts.hop_cycles_per_instruction - counts.cycles_per_instruction) > 0.02
    assert measured_counts(spec, tmp_path / "cache") == counts  # cached by content
    assert budget(spec, get_board("host"), counts) is None and budget(spec, get_board("qemu"), counts) is None
    kws25k = Counts(35_656, 5_947_110, True)  # the example project's model, measured
    nano = get_board("nano33")
    delay25 = dataclasses.replace(spec, energy_filter=dataclasses.replace(spec.energy_filter, delay=25))
    filtered = budget(delay25, nano, kws25k)
    # 121 ms per inference at 64 MHz x 1.3; filter mode infers once per 26 hops (520 ms) at worst
    assert abs(filtered.inference_ms - 5_947_110 * 1.3 / 64e3) < 0.01 and filtered.fits
    assert abs(filtered.load - (35_656 * 1.3 / 64e6 + 5_947_110 * 1.3 / 64e6 / 26) / 0.02) < 1e-9
    assert filtered.buffer_samples % 512 == 0 and filtered.buffer_samples >= 121 * 16 + 480 + 320
    # measured mixes: the hop's cycles at its own factor, the inference's at its own
    mixes = budget(delay25, nano, Counts(35_656, 5_947_110, True, 1.404, 1.277))
    assert (mixes.cycles_per_instruction, mixes.hop_cycles_per_instruction) == (1.4, 1.28)
    assert abs(mixes.load - (35_656 * 1.28 / 64e6 + 5_947_110 * 1.4 / 64e6 / 26) / 0.02) < 1e-9
    assert (
        "x 1.28 cycles each in the hop, 1.4 in the inference, estimated from the executed instruction mixes"
        in mixes.text()
    )
    assert budget(delay25, get_board("esp32s3"), mixes.counts).hop_cycles_per_instruction == 1.6
    fast = continuous(spec, every=4)
    too_slow = budget(fast, nano, kws25k)
    assert too_slow.load > 1.5 and not too_slow.fits
    with pytest.raises(
        KwsgenError,
        match=r"continuous mode cannot keep up on Arduino Nano 33 BLE Sense: worst-case "
        r"CPU load 155% .* What would fit: \[device\] every = 8 or more; \[device\] mode = \"filter\"",
    ):
        refuse_if_too_slow(too_slow, fast)
    assert budget(continuous(spec, every=8), nano, kws25k).fits
    esp = budget(fast, get_board("esp32s3"), kws25k)
    assert esp.fits and esp.cycles_per_instruction == 1.6


def test_the_readme_export_c_sizes_are_what_export_c_prints_for_the_example_projects_model(project, tmp_path):
    """The README's `make demo` transcript gives `kwsgen export-c`'s sizes for the example project's model.
    Sizes depend on the layers, not on what training learnt, and the fixture model has the same layers
    (the kws25k base, the default head, five labels), so it must print the same line."""
    readme = Path(__file__).resolve().parents[1] / "README.md"
    readme_line = next(
        line for line in readme.read_text().splitlines() if " operators, " in line and "; flash " in line
    )
    assert ", RAM " in readme_line, readme_line
    model = project.model_dir("model") / "model.tflite"
    run = subprocess.run(
        [sys.executable, "-m", "kwsgen", "export-c", str(model), "--out", str(tmp_path / "c"), "--board", "nano33"],
        capture_output=True,
        text=True,
    )
    assert run.returncode == 0, run.stderr
    printed = next(line for line in run.stdout.splitlines() if " operators, " in line)
    assert "measured with arm-none-eabi-gcc" in printed, printed
    assert printed.startswith(readme_line.removesuffix(" ...")), f"README: {readme_line}\nexport-c: {printed}"
