"""The README's measured figures come from runs on record: bench/results/<name>.json.

Each check names the figure as the README prints it and where it comes from
in the saved run, so a README edited by hand, or a benchmark run that was not
copied over, fails here.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from kwsgen.cli.train import summary_table

REPO = Path(__file__).resolve().parents[1]
README = (REPO / "README.md").read_text()


def results(name: str) -> dict:
    path = REPO / "bench" / "results" / f"{name}.json"
    assert path.is_file(), f"{path} is missing: run python bench/{name}.py"
    data = json.loads(path.read_text())
    assert data["commit"] and data["measured_at"]
    return data


def quoted(figure: str, where: str) -> None:
    assert figure in README, f"the README does not quote {figure} ({where})"


def test_inference_figures_are_quoted_from_the_saved_run():
    kws25k = results("inference")["templates"]["kws25k"]["cortex_m4"]
    dsp, portable = kws25k["dsp"], kws25k["portable"]
    quoted(f"{dsp['instructions_per_inference']:,} ({dsp['instructions_per_mac']:.2f} per MAC)", "kws25k DSP path")
    quoted(f"**{dsp['estimated_cycles_per_mac']:.2f}**", "kws25k estimated cycles per MAC")
    quoted(f"{dsp['flash_bytes']:,} B | {dsp['ram_bytes']:,} B", "kws25k flash and RAM")
    quoted(f"{portable['instructions_per_inference']:,} ({portable['instructions_per_mac']:.2f} per MAC)", "portable")
    layers = dsp["instructions_by_layer"]
    by_kind = {
        "first convolution": layers[0]["instructions"],
        "depthwise (4 layers)": sum(x["instructions"] for x in layers if x["op"] == "DEPTHWISE_CONV_2D"),
        "pointwise (4 layers)": sum(x["instructions"] for x in layers[1:] if x["op"] == "CONV_2D"),
        "mean": sum(x["instructions"] for x in layers if x["op"] == "MEAN"),
    }
    for kind, count in by_kind.items():
        quoted(f"| {kind} | ", f"kws25k per-layer row {kind}")
        quoted(f" | {count / 1e6:.2f} M |", f"kws25k per-layer figure {kind}")
    for template in ("kws10k", "kws50k"):
        other = results("inference")["templates"][template]["cortex_m4"]["dsp"]
        figure = f"{other['instructions_per_inference']:,} instructions ({other['instructions_per_mac']:.2f} per MAC)"
        quoted(figure, template)


@pytest.mark.parametrize("path", ["dsp_path", "portable_path"])
def test_front_end_instruction_counts_are_quoted_from_the_saved_run(path):
    m4 = results("frontend")["cortex_m4"]
    quoted(f"{m4[path]['instructions_per_hop_median']:,}", f"front end, {path}")


def test_front_end_memory_is_quoted_from_the_saved_run():
    m4 = results("frontend")["cortex_m4"]
    quoted(f"**{m4['ram_state_bytes']:,} B state**", "front-end state")
    quoted(f"**+ {m4['ram_stack_bytes']:,} B stack = {m4['ram_total_bytes']:,} B RAM**", "front-end stack and RAM")
    quoted(f"flash {m4['flash_code_bytes']:,} B code + {m4['flash_tables_bytes']:,} B tables", "front-end flash")


def test_cmsis_reference_figures_are_quoted_from_the_saved_run():
    for ref in results("frontend")["cortex_m4"]["reference_cmsis_dsp_arm_mfcc_q15"]:
        assert ref["mfcc_max_error_vs_float"] <= 0.1  # the reference computed real MFCCs
        quoted(f"{ref['instructions_per_frame_median']:,} per frame", f"CMSIS-DSP, {ref['n_mels']} mels")


def realtime_table(data: dict) -> str:
    """The README's per-board load table, as bench/results/realtime.json gives it."""
    heads = {"nano33": "Nano 33 (64 MHz)", "quickfeather": "QuickFeather (72 MHz)", "esp32s3": "ESP32-S3 (240 MHz)"}
    lines = ["| base model, mode | " + " | ".join(heads.values()) + " |", "|---|---|---|---|"]
    rows: dict[str, dict[str, str]] = {}
    for entry in data["table"].values():
        cell = f"{entry['load']:.0%}" + ("" if entry["keeps_up"] else ", too slow")
        rows.setdefault(f"{entry['template']}, {entry['mode']}", {})[entry["board"]] = cell
    for name, cells in rows.items():
        lines.append(f"| {name} | " + " | ".join(cells[b] for b in heads) + " |")
    return "\n".join(lines)


def test_the_real_time_table_is_quoted_from_the_saved_run():
    data = results("realtime")
    assert data["from"]["inference"] == results("inference")["commit"]
    assert data["from"]["frontend"] == results("frontend")["commit"]
    quoted(realtime_table(data), "the per-board load table")
    nano = data["table"]["kws25k nano33 filter"]
    quoted(f"({nano['buffer_samples']:,} samples for kws25k in filter mode on the Nano)", "the Nano's audio buffer")


def test_auto_labelling_figures_are_quoted_from_the_saved_run():
    data = results("autolabel")
    runs = [
        data["example_project_synthetic_speech"],
        data["speech_commands_composed"],
        data["speech_commands_composed"]["steady_noise_snr_15_plus"],
    ]
    for run in runs:
        row = f"{run['recall']:.1%} | {run['extra_detections']} | {run['centre_error_ms_max']:.1f} ms |"
        assert row.replace("**", "") in README.replace("**", ""), f"the README does not quote {row}"


def test_detection_figures_are_quoted_from_the_saved_run():
    projects = results("detection")["projects"]
    for name, project in projects.items():
        for mode, m in project["modes"].items():
            point = f"{m['false_alarms_per_hour']:.1f} / {m['miss_rate']:.1%}"
            at_20, at_50 = (m[f"det_at_most_{n}_per_hour"] for n in (20, 50))
            det = " | ".join(
                f"{p['miss_rate']:.1%} ({p['false_alarms_per_hour']:.1f} per hour)" for p in (at_20, at_50)
            )
            mean = f"{m['det_mean_miss_10_to_50_per_hour']:.1%}"
            quoted(f"{point} | {det} | {mean} |", f"{name} {mode}")
        for model in project["models"]:
            quoted(f"{model['test_int8_accuracy']:.1%}", f"{name} 5-class Test accuracy")


def test_base_model_accuracies_are_quoted_from_their_model_cards():
    """The 12-class figures come from each base's pretraining run, recorded in its card.json."""
    bases = REPO / "kwsgen" / "data" / "base_models"
    for template in ("kws25k", "kws50k"):
        card = json.loads((bases / template / "card.json").read_text())
        quoted(f"{template} base, 12 classes, {card['speakers']['held_out']} held-out speakers", template)
        quoted(f"**{card['held_out_accuracy_int8']:.1%}** (card", f"{template} held-out int8 accuracy")
    training = (REPO / "docs" / "training.md").read_text()
    for template in ("kws10k", "kws25k", "kws50k"):
        card = json.loads((bases / template / "card.json").read_text())
        row = next(line for line in training.splitlines() if line.startswith(f"| `{template}`"))
        assert f"{card['held_out_accuracy_int8']:.1%}" in row, (template, row)
        assert f"{card['macs']:,}" in row and f"{card['parameters']:,}" in row, (template, row)


def test_transfer_figures_are_quoted_from_the_saved_run():
    data = results("transfer")
    for key in ("example_project", "speech_commands_held_out"):
        run = data[key]
        mean, worst = run["test_int8_accuracy_mean"], run["test_int8_accuracy_min"]
        quoted(f"**mean {mean:.1%}, worst {worst:.1%}** over {len(run['runs'])} seeds", f"{key} accuracy")
        quoted(f"| {run['reference_base_model_without_training']:.1%} |", f"{key} reference")
    seconds = [r["seconds"] for r in data["example_project"]["runs"]]
    quoted(f"training {min(seconds):.0f}-{max(seconds):.0f} s on 2 cores", "training time")


def test_front_end_speed_and_accuracy_are_quoted_from_the_saved_run():
    data = results("frontend")
    py, acc = data["python_reference"], data["accuracy_vs_float"]
    quoted(f"| {py['kwsgen_fixed_point_s']:.2f} | **{py['kwsgen_x_realtime']:.0f}x**", "Python front end")
    quoted(f"| {py['reference_s']:.2f} | {py['reference_x_realtime']:.0f}x |", "float64 reference")
    for depth, figure in acc["log_mel_error_db_99th_percentile"].items():
        quoted(f"{figure:.2f} dB", f"log-mel error, {depth}")
    quoted(f"median error of {acc['mfcc_median_error_log2']:.4f} log2 units", "MFCC error")


def test_host_inference_timing_is_quoted_from_the_saved_run():
    host = results("inference")["templates"]["kws25k"]["host_invoke_us"]
    quoted(
        f"one inference takes {host['generated_c']:,.0f} us against {host['tflite_micro_reference']:,.0f} us",
        "host inference timing",
    )


def test_studio_figures_are_quoted_from_the_saved_run():
    run = results("studio")
    api, browser = run["api"], run["browser"]
    assert run["recordings"] >= 10000 and "skipped" not in browser
    quoted(f"{api['recordings_table_cold_s']:.3f} / {api['recordings_table_warm_s']:.3f}", "studio recordings table")
    quoted(f"| {api['reference_kwsgen_data_summary_s']:.3f} |", "kwsgen data reference")
    quoted(f"| {browser['page_to_table_s']:.3f} |", "studio page to table")
    quoted(f"**{browser['ten_minute_recording_shown_s']:.3f}**", "studio 10-minute recording")


def test_base_detection_figures_are_quoted_from_the_saved_run():
    for base in results("base_detection")["bases"]:
        at_20, at_50 = base["fewest_missed_at_most_20_per_hour"], base["fewest_missed_at_most_50_per_hour"]
        accuracy = base["held_out_accuracy_int8"]
        held_out = f"{accuracy:.1%}" if accuracy is not None else "none (an ensemble)"
        mean = base["mean_missed_10_to_50_per_hour"]
        row = f"| {base['base']} | {held_out} | {at_20['miss_rate']:.1%} | {at_50['miss_rate']:.1%} | {mean:.1%} |"
        quoted(row, f"{base['base']} alone")


def demo_transcript() -> list[str]:
    """The lines of the README's code block after "`make demo` ends with"."""
    after = README.split("`make demo` ends with", 1)[1]
    block = after.split("```", 2)[1]
    return block.strip("\n").splitlines()


def test_the_demo_transcript_is_the_recorded_seed_1_training():
    """`make demo` trains the example project with kwsgen.toml's defaults, seed 1: bench/transfer.py's
    first example run, which records what `kwsgen train` printed last."""
    run = next(r for r in results("transfer")["example_project"]["runs"] if r["seed"] == 1)
    lines = demo_transcript()
    expected = [*run["log_tail"], *rendered(summary_table(run["summary"]))]
    assert lines[: len(expected)] == expected, "the README's `make demo` transcript is not bench/transfer.py's seed 1"
    assert lines[len(expected)].startswith("wrote 16 files to build/demo/model_c: kws_model.h, kws_model.c")


def rendered(table) -> list[str]:
    """The lines kwsgen's own console (kwsgen/cli/main.py) prints for `table`, without colour."""
    from rich.text import Text

    from kwsgen.cli.main import console

    with console.capture() as captured:
        console.print(table)
    return [line.rstrip() for line in Text.from_ansi(captured.get()).plain.splitlines()]


def test_the_readmes_det_curves_are_drawn_from_the_saved_detection_run():
    """docs/images/detection_det.png names the run it was drawn from; a rerun that was not redrawn fails."""
    from PIL import Image

    run = results("detection")
    quoted("(docs/images/detection_det.png)", "the DET curves")
    drawn = Image.open(REPO / "docs" / "images" / "detection_det.png").info.get("Source", "")
    assert drawn == f"bench/results/detection.json {run['measured_at']} {run['commit']}", (
        "docs/images/detection_det.png is not drawn from bench/results/detection.json: "
        "run python bench/detection.py --replot"
    )
