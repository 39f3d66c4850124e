"""The firmware application: what a trained model and a project's settings make of the C runtime.

`FirmwareSpec` gathers everything the device needs (labels, UNK threshold,
front end, energy filter, Min/Max scaling, the int8 model, the [device]
mode). `core_files` renders the portable core every board project shares:
the runtime, the front end's tables, the compiled model and the application
configuration, as one flat folder of C files.
"""

from __future__ import annotations

import json
import math
import re
from dataclasses import asdict, dataclass, replace
from functools import cached_property
from pathlib import Path

from .. import __version__
from ..codegen.emit import GeneratedModel, generate_c
from ..codegen.model import Graph, read_tflite
from ..errors import KwsgenError
from ..frontend import MinMax
from ..frontend.cgen import config_header, tables_source
from ..frontend.config import EnergyFilterConfig, FrontendConfig
from ..project import UNKNOWN, Project
from ..project.settings import DeviceSection
from ..resources import resource_dir, runtime_dir, runtime_files

FRONTEND_FILES = (
    "kws_fixed.h",
    "kws_dsp.h",
    "kws_fft.h",
    "kws_fft.c",
    "kws_mfcc.h",
    "kws_mfcc.c",
    "kws_fe_tables.h",
    "kws_scale.h",
    "kws_scale.c",
    "kws_energy_filter.h",
    "kws_energy_filter.c",
    "kws_frontend.h",
    "kws_frontend.c",
    "kws_pipeline.h",
    "kws_pipeline.c",
    "kws_capture.h",
    "kws_capture.c",
)
MODEL_PREFIX = "kws_model"
# TFLite's int8 softmax always outputs probability (q + 128) / 256; kwsgen's input is features / 128.
OUTPUT_QUANTISATION = (1 / 256, -128)
INPUT_QUANTISATION = (1 / 128, 0)
# Thresholds are written as probabilities to this many decimals (model.json, reports) and compared at it.
DECIMALS = 4


def threshold_probability(q: int) -> float:
    """How kwsgen writes threshold q (q + 128 of the int8 output): DetectionRule.q_min reads it back as q."""
    return round(q / 256, DECIMALS)


@dataclass(frozen=True)
class DetectionRule:
    """When a classification counts as a keyword: kws_pipeline.c's rule, in both modes.

    thresholds[k] is the smallest q + 128 (q the int8 output) at which class k
    counts: probability (q + 128) / 256 >= threshold. 256 never counts.
    """

    thresholds: tuple[int, ...]
    holdoff: int = 50  # filter mode
    every: int = 4  # continuous mode, and below
    average: int = 3
    hits: int = 1
    suppress: int = 50

    def __post_init__(self) -> None:
        if any(not 0 <= t <= 256 for t in self.thresholds):
            raise KwsgenError(f"detection thresholds must be 0..256 (q + 128), got {list(self.thresholds)}")

    @staticmethod
    def q_min(probability: float) -> int:
        """Smallest q + 128 whose probability (q + 128) / 256, to the four decimals kwsgen writes, is not below
        `probability` (rounded alike).

        Why four decimals: model.json, reports and `kwsgen test` write a threshold q as round(q / 256, 4), and
        reading that back must give q again. Compared exactly, 249 / 256 = 0.97265625 is written 0.9727, whose
        smallest q is 250: half of all calibrated thresholds came back a step stricter, and 255 (0.9961) came
        back as 256, "never", switching every keyword off.
        """
        wanted = round(probability, DECIMALS)
        return next((q for q in range(257) if threshold_probability(q) >= wanted), 256)

    def probabilities(self, labels: list[str]) -> dict[str, float]:
        return {label: threshold_probability(t) for label, t in zip(labels, self.thresholds, strict=True)}

    def to_dict(self, labels: list[str]) -> dict:
        return {
            "thresholds": self.probabilities(labels),
            **{k: v for k, v in asdict(self).items() if k != "thresholds"},
        }

    @classmethod
    def from_dict(cls, data: dict, labels: list[str], default: float) -> DetectionRule:
        probs = data.get("thresholds", {})
        return cls(
            tuple(cls.q_min(float(probs.get(label, default))) for label in labels),
            **{k: int(v) for k, v in data.items() if k in ("holdoff", "every", "average", "hits", "suppress")},
        )


def settings_rule(project: Project, labels: list[str], unk_threshold: float) -> DetectionRule:
    """The rule kwsgen.toml writes out: [detection] thresholds (else unk_threshold) and [device]."""
    device = asdict(project.settings.device)
    return DetectionRule.from_dict(
        {**device, "thresholds": project.settings.detection.thresholds}, labels, unk_threshold
    )


@dataclass
class FirmwareSpec:
    model_name: str
    labels: list[str]
    unk_threshold: float
    frontend: FrontendConfig
    energy_filter: EnergyFilterConfig
    minmax: MinMax
    device: DeviceSection
    tflite: bytes
    graph: Graph
    rule: DetectionRule
    rule_source: str = "settings"  # or "calibrated" (by kwsgen train, in model.json)

    @property
    def unknown_class(self) -> int:
        return self.labels.index(UNKNOWN) + 1 if UNKNOWN in self.labels else 0

    @property
    def continuous(self) -> bool:
        return self.device.mode == "continuous"

    def class_label(self, classification: int) -> str:
        return "UNK" if classification == 0 else self.labels[classification - 1]

    @cached_property
    def model(self) -> GeneratedModel:
        """The compiled model (computed once per spec: every engine run and board needs it)."""
        return generate_c(self.graph, MODEL_PREFIX, source_name=f"models/{self.model_name}/model.tflite")

    @cached_property
    def core(self) -> dict[str, str]:
        """The portable core's files (see core_files), computed once per spec."""
        return core_files(self)


def load_spec(project: Project, model: str | None = None, mode: str | None = None) -> FirmwareSpec:
    """The firmware for a trained model of `project`, with clear errors when they no longer match; `mode`
    (filter or continuous) overrides [device] mode."""
    from ..train.artifacts import load_trained

    name = model or project.settings.training.model
    info, tflite, folder = load_trained(project, name)
    fe = project.settings.frontend
    if info.get("frontend") != fe.to_dict():
        raise KwsgenError(
            f"model {name!r} was trained with another [frontend] than the project's now; train it again", folder
        )
    if info["labels"] != project.labels:
        raise KwsgenError(
            f"model {name!r} was trained for labels {info['labels']}, the project now has {project.labels}; "
            "train it again",
            folder,
        )
    graph = read_tflite(tflite, str(folder / "model.tflite"))
    check_model_fits(graph, fe, len(project.labels), folder / "model.tflite")
    try:
        minmax = MinMax(info["minmax"]["min"], info["minmax"]["max"])
    except (KeyError, TypeError) as exc:
        raise KwsgenError(f"model.json has no usable minmax ({exc}); train again", folder) from None
    labels, unk_threshold = list(info["labels"]), float(info["unk_threshold"])
    device = project.settings.device if mode is None else replace(project.settings.device, mode=mode)
    rule, source = settings_rule(project, labels, unk_threshold), "settings"
    calibrated = info.get("detection", {}).get(device.mode)
    if project.settings.detection.operating_point == "calibrated" and calibrated:
        # Calibration chooses thresholds (and continuous mode's smoothing); how often to classify stays the user's.
        rule = DetectionRule.from_dict({**calibrated, "every": device.every}, labels, unk_threshold)
        source = "calibrated"
    return FirmwareSpec(
        model_name=name,
        labels=labels,
        unk_threshold=unk_threshold,
        frontend=fe,
        energy_filter=project.settings.energy_filter,
        minmax=minmax,
        device=device,
        tflite=tflite,
        graph=graph,
        rule=rule,
        rule_source=source,
    )


def check_model_fits(graph: Graph, fe: FrontendConfig, n_labels: int, where: Path) -> None:
    inp, out = graph.tensor(graph.inputs[0]), graph.tensor(graph.outputs[0])
    if inp.size != fe.cascade_len * fe.n_coeffs:
        raise KwsgenError(
            f"the model takes {inp.size} inputs, the front end gives {fe.cascade_len} x {fe.n_coeffs}; train again",
            where,
        )
    if out.size != n_labels:
        raise KwsgenError(f"the model has {out.size} outputs for {n_labels} labels; train again", where)
    for what, tensor, (scale, zero) in (("input", inp, INPUT_QUANTISATION), ("output", out, OUTPUT_QUANTISATION)):
        if tensor.zero_point != zero or not math.isclose(tensor.scale, scale, rel_tol=1e-6):
            raise KwsgenError(
                f"the model's {what} quantisation is scale {tensor.scale:g}, zero point {tensor.zero_point}; "
                f"kwsgen firmware needs {scale:g} and {zero} (models from kwsgen train have them)",
                where,
            )


# ---- labels in C ---------------------------------------------------------------------------------


def json_label(label: str) -> str:
    """The label as it appears between the quotes of a JSON line: ASCII, escaped."""
    return json.dumps(label, ensure_ascii=True)[1:-1]


def c_string(text: str) -> str:
    """A C string literal holding `text` (ASCII): quotes, backslashes and '?' (trigraphs) escaped."""
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"').replace("?", "\\?") + '"'


def class_macros(labels: list[str]) -> list[dict]:
    """KWS_CLASS_<NAME> for UNK and each label: valid C identifiers, unique, with the label in a safe comment."""
    used: set[str] = set()
    macros = []
    for number, label in enumerate(["UNK", *labels]):
        stem = re.sub(r"[^A-Za-z0-9]+", "_", label).strip("_").upper() or "LABEL"
        macro = f"KWS_CLASS_{stem}"
        tries = 1
        while macro in used:  # finite `used`, and every try is new: always ends
            tries += 1
            macro = f"KWS_CLASS_{stem}_{number}" + (f"_{tries}" if tries > 2 else "")
        used.add(macro)
        comment = json_label(label).replace("*/", "* /")
        macros.append({"macro": macro, "number": number, "comment": comment})
    return macros


# ---- the shared core ----------------------------------------------------------------------------


def _env(folder: str):
    from jinja2 import Environment, FileSystemLoader, StrictUndefined

    return Environment(
        loader=FileSystemLoader(str(resource_dir("firmware_templates") / folder)),
        undefined=StrictUndefined,
        keep_trailing_newline=True,
        trim_blocks=True,
        lstrip_blocks=True,
    )


def app_config_files(spec: FirmwareSpec) -> dict[str, str]:
    labels = [json_label(s) for s in ["UNK", *spec.labels]]
    context = {
        "version": __version__,
        "model_name": spec.model_name.replace("*/", "* /"),
        "model_number": spec.device.model_number,
        "labels": spec.labels,
        "unknown_class": spec.unknown_class,
        "continuous": spec.continuous,
        "every": spec.rule.every,
        "average": spec.rule.average,
        "suppress": spec.rule.suppress,
        "hits": spec.rule.hits,
        "holdoff": spec.rule.holdoff,
        "thresholds": list(spec.rule.thresholds),
        "threshold_comments": [
            f"{json_label(k).replace('*/', '* /')} {t / 256:.4f}"
            for k, t in zip(spec.labels, spec.rule.thresholds, strict=True)
        ],
        "label_max": max(len(s) for s in labels),
        "class_macros": class_macros(spec.labels),
        "label_literals": [c_string(s) for s in labels],
        "minmax_min": [int(v) for v in spec.minmax.min],
        "minmax_max": [int(v) for v in spec.minmax.max],
    }
    env = _env("app")
    return {
        "kws_app_config.h": env.get_template("kws_app_config.h.j2").render(**context),
        "kws_app_config.c": env.get_template("kws_app_config.c.j2").render(**context),
    }


def _flat(text: str) -> str:
    """Kernel sources include ../kws_fixed.h; in a flat folder it is beside them."""
    return text.replace('#include "../', '#include "')


def core_files(spec: FirmwareSpec) -> dict[str, str]:
    """Every C file of the portable core, by file name: one flat folder any build system can compile."""
    rt = runtime_dir()
    files = {name: _flat((rt / name).read_text()) for name in FRONTEND_FILES}
    files["kws_fe_config.h"] = config_header(spec.frontend, spec.energy_filter)
    files["kws_fe_tables.c"] = tables_source(spec.frontend)
    for path in runtime_files():
        files[path.name] = _flat(path.read_text())
    files[f"{MODEL_PREFIX}.h"] = spec.model.header
    files[f"{MODEL_PREFIX}.c"] = spec.model.source
    files.update(app_config_files(spec))
    return files
