"""kwsgen.toml: every pipeline parameter of a project, with its default and a comment.

Each section is a dataclass whose fields carry a one-line ``doc``. The same
schema writes a fresh, commented kwsgen.toml (``kwsgen init``) and reads one
back with precise errors for unknown keys and wrong types.
"""

from __future__ import annotations

import dataclasses
import json
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..errors import ConfigError, KwsgenError
from ..frontend.config import WINDOW_TYPES, EnergyFilterConfig, FrontendConfig

SETS = ("Train", "Validate", "Test")
UNKNOWN = "Unknown"
RESAMPLE_TO = ("median", "smallest", "largest")


def doc(text: str, default: Any) -> Any:
    """A dataclass field with a default and the comment kwsgen.toml shows for it."""
    if isinstance(default, list):
        return field(default_factory=lambda: list(default), metadata={"doc": text})
    if isinstance(default, dict):
        return field(default_factory=lambda: dict(default), metadata={"doc": text})
    return field(default=default, metadata={"doc": text})


@dataclass(frozen=True)
class ProjectSection:
    labels: list[str] = doc("class labels; must include Unknown (noise, other words, knocks)", [UNKNOWN])
    sample_rate: int = doc("samples per second of every recording (kwsgen works at 16 kHz)", 16000)


@dataclass(frozen=True)
class SegmentsSection:
    length: int = doc("samples in a labelled segment, centred on the word", 20000)
    min_length: int = doc("segments shorter than this are skipped from training", 16000)
    max_overlap: int = doc("samples two segments may overlap at their edges", 4000)
    cascade_step: int = doc("windows between model inputs cut from one segment (49: no overlap)", 49)


@dataclass(frozen=True)
class AutolabelSection:
    frame_ms: int = doc("energy frame length for finding utterances, in milliseconds", 10)
    threshold_db: float = doc("speech frames rise this far above the noise (mean dB over 250 Hz-4 kHz)", 8.0)
    min_peak_db: float = doc("and come within this of the recording's loudest frame (dB)", -40.0)
    min_word_ms: int = doc("shorter bursts (clicks) are ignored", 80)
    max_gap_ms: int = doc("louder regions closer than this belong to one utterance", 150)
    noise_step: int = doc("step between Unknown segments cut from noise recordings, in samples", 20000)


@dataclass(frozen=True)
class TrainingSection:
    base: str = doc("base model: a shipped template (kws10k, kws25k, kws50k) or a base model folder", "kws25k")
    model: str = doc("name of the trained model: it is written to models/<model>/", "model")
    dense_layers: list[int] = doc("units of each hidden dense layer of the new head (Dense, BN, ReLU, Dropout)", [32])
    batch_norm: bool = doc("batch normalisation after each hidden dense layer", True)
    dropout: float = doc("dropout after each hidden dense layer", 0.1)
    epochs: int = doc("at most this many epochs training the head, with the base frozen", 30)
    learning_rate: float = doc("Adam learning rate for the head", 0.001)
    unfreeze_blocks: int = doc(
        "then fine-tune this many base blocks too, counted from the last; the first convolution is a block "
        "(0: no fine-tuning; -1: the whole core)",
        -1,
    )
    fine_tune_epochs: int = doc("at most this many fine-tuning epochs", 20)
    fine_tune_learning_rate: float = doc("Adam learning rate for fine-tuning", 0.0003)
    keep_base_outputs: float = doc(
        "fine-tuning and mining also train the base's own pretrained softmax, frozen, towards what the untouched "
        "base says on each input, with this loss weight (learning without forgetting; 0: off)",
        1.0,
    )
    batch_size: int = doc("inputs per training step", 32)
    unk_threshold: float = doc("a top probability below this is classified UNK (class 0)", 0.6)
    early_stopping_threshold: float = doc("validation accuracy counted as good enough", 0.9)
    early_stopping_patience: int = doc("stop after this many consecutive good epochs (0: never stop early)", 3)
    resample_to: str = doc(
        "each epoch draws every label, with replacement, to the count of its median label (median), "
        "its smallest (smallest) or its largest (largest)",
        "median",
    )
    max_train_per_label: int = doc("and to at most this many inputs", 10000)
    max_validate_per_label: int = doc(
        "Validate scores at most this many inputs of each label every epoch (a fixed random subset)", 5000
    )
    minmax: str = doc("feature scaling: base (the base model's, recommended) or train (fitted to this project)", "base")
    seed: int = doc("random seed: the same seed gives the same model on one machine", 1)


@dataclass(frozen=True)
class AugmentationSection:
    sparse_noise: float = doc("share of training inputs copied with up to 128 random elements offset", 0.3)
    bias_noise: float = doc("share copied with up to 16 whole windows or coefficients offset", 0.3)
    time_mask: float = doc("share copied with up to 8 consecutive windows masked", 0.3)
    coefficient_mask: float = doc("share copied with up to 8 consecutive MFCC coefficients masked", 0.3)
    speed: float = doc("share added as copies played 0.9 or 1.1 times as fast (speed perturbation)", 0.3)
    noise: float = doc("copies mixed with background noise, per training input (see noise_source, noise_snr_db)", 2.0)
    noise_snr_db: list[int] = doc("signal-to-noise ratios of those copies: from, to (dB)", [0, 20])
    noise_source: str = doc(
        "noise for them: shipped (pink, brown, hum, fan and knock recordings in the package), a folder of audio, "
        "or none",
        "shipped",
    )
    auxiliary: float = doc("Unknown inputs added each epoch, as a share of the training inputs", 0.3)
    auxiliary_source: str = doc(
        "where those come from: shipped (other words and noise), a folder of audio, or none", "shipped"
    )


@dataclass(frozen=True)
class DeviceSection:
    mode: str = doc(
        "filter: classify when the energy filter asks, and report every classification; "
        "continuous: classify every `every` hops and report each keyword once",
        "filter",
    )
    every: int = doc("continuous mode: hops between classifications", 4)
    average: int = doc("continuous mode: the outputs of this many classifications are averaged", 3)
    suppress: int = doc("continuous mode: hops after a detection in which no other is reported (50: one second)", 50)
    hits: int = doc("continuous mode: a keyword must lead this many classifications in a row", 1)
    holdoff: int = doc(
        "filter mode: hops after a reported keyword in which keyword classifications report UNK (50: one second)", 50
    )
    model_number: int = doc("the ModelNumber of every result line (SensiML Open Gateway)", 0)


OPERATING_POINTS = ("calibrated", "settings")


@dataclass(frozen=True)
class DetectionSection:
    operating_point: str = doc(
        "calibrated: the firmware uses the per-keyword thresholds (and in continuous mode average, hits and "
        "suppress) that kwsgen train chose for the false-alarm target; settings: unk_threshold, thresholds and "
        "[device] as written",
        "calibrated",
    )
    target_false_alarms_per_hour: float = doc(
        "kwsgen train picks the rule with the fewest misses on Validate under this many false alarms per hour "
        "of negative speech",
        1.0,
    )
    per_keyword_thresholds: bool = doc(
        "calibrated: one threshold for every keyword (false, more robust on a little audio) or one each (true)",
        False,
    )
    thresholds: dict = doc(
        "per-keyword thresholds for operating_point = settings, e.g. { yes = 0.8 }; others use unk_threshold", {}
    )


@dataclass(frozen=True)
class NegativesSection:
    source: str = doc(
        "non-keyword speech added to Unknown: shipped (kwsgen's bank of real words, sentences and wake phrases, "
        "cut at random offsets, the project's keywords left out) or none",
        "shipped",
    )
    share: float = doc("bank inputs added each epoch, as a share of the training inputs", 0.5)
    weight: float = doc("loss weight of Unknown inputs against keyword inputs (higher: fewer false alarms)", 1.0)
    exclude: list[str] = doc("words left out of the bank besides the project's labels (e.g. near-homophones)", [])
    confusables: int = doc(
        "per keyword: words one phone away (CMU dictionary, homophones left out) said by espeak-ng voices, as "
        "Unknown (0: none)",
        15,
    )
    mining_rounds: int = doc(
        "rounds of hard-negative mining: run the model along the bank, add the windows that fire, train again", 2
    )
    mining_epochs: int = doc("fine-tuning epochs per mining round", 5)
    keyword_clips: float = doc(
        "the bank's own clips of the project's keywords (real Speech Commands speakers) added to Train each "
        "epoch, as a multiple of each keyword's resampled inputs (0: none; keywords the bank lacks get none)",
        3.0,
    )


SECTION_TYPES: dict[str, type] = {
    "project": ProjectSection,
    "segments": SegmentsSection,
    "frontend": FrontendConfig,
    "energy_filter": EnergyFilterConfig,
    "autolabel": AutolabelSection,
    "training": TrainingSection,
    "augmentation": AugmentationSection,
    "device": DeviceSection,
    "detection": DetectionSection,
    "negatives": NegativesSection,
}

SECTION_TITLES = {
    "project": "The project",
    "segments": "Labelled segments",
    "frontend": "Fixed-point front end (docs/frontend.md); change only before training",
    "energy_filter": "Segment Energy Threshold Filter in front of the classifier",
    "autolabel": "kwsgen label auto: finding utterances by energy",
    "training": "kwsgen train: transfer learning from a base model pretrained on real speech",
    "augmentation": "kwsgen train: augmentation in int8 feature space, each a share of the training inputs per epoch",
    "device": "kwsgen build: what the firmware reports",
    "detection": "The operating point: when a keyword counts as detected",
    "negatives": "kwsgen train: the shipped bank of real speech: other words, so that they do not fire, and clips "
    "of the keywords",
}

FRONTEND_DOCS = {
    "window_size": "samples per analysis window",
    "hop_size": "samples between windows",
    "n_mels": "mel filterbank bands",
    "n_coeffs": "cepstral coefficients per window",
    "f_low": "lowest mel band edge, Hz",
    "f_high": "highest mel band edge, Hz",
    "preemphasis": "pre-emphasis coefficient",
    "window": f"window shape: {', '.join(WINDOW_TYPES)}",
    "cascade_len": "windows per model input (49 x 320 + 160 samples = 1 s)",
    "sample_rate": "sample rate the tables are built for",
}

FILTER_DOCS = {
    "enabled": "false: classify every hop (training then uses every window)",
    "threshold": "a window with any |sample| above this triggers the filter",
    "delay": "hops to wait after a trigger before classifying",
    "backoff": "extra classifications, one per hop, after the first",
    "disable_train": "true: training ignores the filter; false: keeps only windows it would pass",
}


def _field_doc(section: str, f: dataclasses.Field) -> str:
    if section == "frontend":
        return FRONTEND_DOCS[f.name]
    if section == "energy_filter":
        return FILTER_DOCS[f.name]
    return f.metadata["doc"]


@dataclass(frozen=True)
class ProjectSettings:
    project: ProjectSection = field(default_factory=ProjectSection)
    segments: SegmentsSection = field(default_factory=SegmentsSection)
    frontend: FrontendConfig = field(default_factory=FrontendConfig)
    energy_filter: EnergyFilterConfig = field(default_factory=EnergyFilterConfig)
    autolabel: AutolabelSection = field(default_factory=AutolabelSection)
    training: TrainingSection = field(default_factory=TrainingSection)
    augmentation: AugmentationSection = field(default_factory=AugmentationSection)
    device: DeviceSection = field(default_factory=DeviceSection)
    detection: DetectionSection = field(default_factory=DetectionSection)
    negatives: NegativesSection = field(default_factory=NegativesSection)

    @property
    def labels(self) -> list[str]:
        return list(self.project.labels)

    def validate(self) -> ProjectSettings:
        self.frontend.validate()
        self.energy_filter.validate()
        s = self.segments
        if s.length < self.frontend.window_size:
            raise ConfigError(f"[segments] length must be at least one window ({self.frontend.window_size} samples)")
        if not s.min_length > 0:
            raise ConfigError("[segments] min_length must be positive")
        if not 0 <= s.max_overlap < s.length:
            raise ConfigError("[segments] max_overlap must be 0 or more and below length")
        if s.cascade_step < 1:
            raise ConfigError("[segments] cascade_step must be at least 1")
        if self.project.sample_rate != 16000:
            raise ConfigError("[project] sample_rate must be 16000")
        self._validate_training()
        self._validate_autolabel()
        d = self.device
        if d.mode not in ("filter", "continuous"):
            raise ConfigError("[device] mode must be filter or continuous")
        if not (1 <= d.every <= 1000 and 1 <= d.average <= 50 and 0 <= d.suppress <= 100000):
            raise ConfigError("[device] every must be 1..1000, average 1..50 and suppress 0..100000")
        if not (1 <= d.hits <= 50 and 0 <= d.holdoff <= 100000):
            raise ConfigError("[device] hits must be 1..50 and holdoff 0..100000")
        if not 0 <= d.model_number <= 65535:
            raise ConfigError("[device] model_number must be 0..65535")
        self._validate_detection()
        return self

    def _validate_autolabel(self) -> None:
        a = self.autolabel
        if not 1 <= a.frame_ms <= 100:
            raise ConfigError("[autolabel] frame_ms must be 1..100 (milliseconds)")
        if not 0 < a.threshold_db <= 60:
            raise ConfigError("[autolabel] threshold_db must be above 0 and at most 60 (dB)")
        if not -120 <= a.min_peak_db <= 0:
            raise ConfigError("[autolabel] min_peak_db must be -120..0 (dB below the loudest frame)")
        if not 0 <= a.min_word_ms <= 5000 or not 0 <= a.max_gap_ms <= 5000:
            raise ConfigError("[autolabel] min_word_ms and max_gap_ms must be 0..5000 (milliseconds)")
        if not 1 <= a.noise_step <= 10 * 16000:
            raise ConfigError("[autolabel] noise_step must be 1..160000 (samples)")

    def _validate_detection(self) -> None:
        det, neg = self.detection, self.negatives
        if det.operating_point not in OPERATING_POINTS:
            raise ConfigError(f"[detection] operating_point must be {' or '.join(OPERATING_POINTS)}")
        if not 0 < det.target_false_alarms_per_hour <= 3600:
            raise ConfigError("[detection] target_false_alarms_per_hour must be above 0 and at most 3600")
        keywords = [label for label in self.labels if label != UNKNOWN]
        for label, value in det.thresholds.items():
            if label not in keywords:
                raise ConfigError(
                    f"[detection] thresholds: {label!r} is not a keyword of this project ({', '.join(keywords)})"
                )
            if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0 <= value < 1:
                raise ConfigError(f"[detection] thresholds: {label} must be a number in [0, 1), got {value!r}")
        if neg.source not in ("shipped", "none"):
            raise ConfigError("[negatives] source must be shipped or none")
        if not 0 <= neg.share <= 10:
            raise ConfigError("[negatives] share must be in [0, 10]")
        if not 0 < neg.weight <= 100:
            raise ConfigError("[negatives] weight must be above 0 and at most 100")
        if not 0 <= neg.confusables <= 200:
            raise ConfigError("[negatives] confusables must be 0..200 words per keyword")
        if not (0 <= neg.mining_rounds <= 10 and 1 <= neg.mining_epochs <= 100):
            raise ConfigError("[negatives] mining_rounds must be 0..10 and mining_epochs 1..100")
        if not 0 <= neg.keyword_clips <= 10:
            raise ConfigError("[negatives] keyword_clips must be in [0, 10] (a multiple of each keyword's inputs)")

    def _validate_training(self) -> None:
        t, a = self.training, self.augmentation
        from .store import check_model_name  # store imports this module

        try:
            check_model_name(t.model)
        except KwsgenError as exc:
            raise ConfigError(f"[training] {exc}") from None
        if any(u < 1 for u in t.dense_layers):
            raise ConfigError("[training] dense_layers must hold positive unit counts")
        checks = [
            (0 <= t.dropout < 1, "dropout must be in [0, 1)"),
            (t.unfreeze_blocks >= -1, "unfreeze_blocks must be -1 (all), 0 (none) or a block count"),
            (t.epochs >= 1, "epochs must be at least 1"),
            (t.fine_tune_epochs >= 0, "fine_tune_epochs must be 0 or more"),
            (0 < t.fine_tune_learning_rate < 1, "fine_tune_learning_rate must be in (0, 1)"),
            (0 <= t.keep_base_outputs <= 100, "keep_base_outputs must be in [0, 100]"),
            (t.batch_size >= 1, "batch_size must be at least 1"),
            (0 < t.learning_rate < 1, "learning_rate must be in (0, 1)"),
            (0 <= t.unk_threshold < 1, "unk_threshold must be in [0, 1)"),
            (0 < t.early_stopping_threshold <= 1, "early_stopping_threshold must be in (0, 1]"),
            (t.early_stopping_patience >= 0, "early_stopping_patience must be 0 or more"),
            (t.max_train_per_label >= 1 and t.max_validate_per_label >= 1, "the per-label limits must be positive"),
            (t.minmax in ("base", "train"), "minmax must be base or train"),
            (t.resample_to in RESAMPLE_TO, f"resample_to must be one of {', '.join(RESAMPLE_TO)}"),
        ]
        for ok, message in checks:
            if not ok:
                raise ConfigError(f"[training] {message}")
        snr = a.noise_snr_db
        if len(snr) != 2 or snr[0] > snr[1] or snr[0] < -20 or snr[1] > 60:
            raise ConfigError("[augmentation] noise_snr_db must be [from, to] in dB, from <= to, within -20..60")
        if not 0 <= a.noise <= 4:
            raise ConfigError("[augmentation] noise must be a share in [0, 4] (copies per training input)")
        if a.noise_source not in ("shipped", "none") and not a.noise_source.strip():
            raise ConfigError("[augmentation] noise_source must be shipped, none or a folder")
        for name in ("sparse_noise", "bias_noise", "time_mask", "coefficient_mask", "speed", "auxiliary"):
            if not 0 <= getattr(a, name) <= 1:
                raise ConfigError(f"[augmentation] {name} must be a share in [0, 1]")


def _value_toml(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return repr(value)
    if isinstance(value, str):
        return json.dumps(value)
    if isinstance(value, (list, tuple)):
        return "[" + ", ".join(_value_toml(v) for v in value) + "]"
    if isinstance(value, dict):
        return "{" + ", ".join(f"{json.dumps(k)} = {_value_toml(v)}" for k, v in value.items()) + "}"
    raise TypeError(f"cannot write {value!r} to TOML")


def settings_toml(settings: ProjectSettings) -> str:
    """A complete kwsgen.toml: every parameter, its value and a one-line comment."""
    lines = [
        "# kwsgen project settings. Every pipeline parameter is listed with its default;",
        "# edit values here. docs/project.md describes the project format.",
    ]
    for section, cls in SECTION_TYPES.items():
        values = getattr(settings, section)
        lines += ["", f"# {SECTION_TITLES[section]}", f"[{section}]"]
        for f in dataclasses.fields(cls):
            default = f.default if f.default is not dataclasses.MISSING else f.default_factory()  # type: ignore[misc]
            value = getattr(values, f.name)
            note = _field_doc(section, f)
            if value != default and not isinstance(default, (list, dict)):
                note += f" (default {_value_toml(default)})"
            lines.append(f"{f.name} = {_value_toml(value)}  # {note}")
    return "\n".join(lines) + "\n"


def _coerce(section: str, cls: type, values: Any, where: Path) -> Any:
    if not isinstance(values, dict):
        raise KwsgenError(f"[{section}] must be a table", where)
    fields = {f.name: f for f in dataclasses.fields(cls)}
    unknown = sorted(set(values) - set(fields))
    if unknown:
        raise KwsgenError(f"[{section}] unknown setting(s): {', '.join(unknown)}", where)
    kwargs = {}
    for name, value in values.items():
        f = fields[name]
        default = f.default if f.default is not dataclasses.MISSING else f.default_factory()  # type: ignore[misc]
        kwargs[name] = _check_type(section, name, value, default, where)
    return cls(**kwargs)


def _check_type(section: str, name: str, value: Any, default: Any, where: Path) -> Any:
    what = f"[{section}] {name}"
    if isinstance(default, bool):
        ok = isinstance(value, bool)
    elif isinstance(default, int):
        ok = isinstance(value, int) and not isinstance(value, bool)
    elif isinstance(default, float):
        ok = isinstance(value, (int, float)) and not isinstance(value, bool)
        value = float(value) if ok else value
    elif isinstance(default, str):
        ok = isinstance(value, str)
    elif isinstance(default, list) and default and isinstance(default[0], int):
        ok = isinstance(value, list) and all(isinstance(v, int) and not isinstance(v, bool) for v in value)
    elif isinstance(default, list):
        ok = isinstance(value, list) and all(isinstance(v, str) for v in value)
    elif isinstance(default, dict):
        ok = isinstance(value, dict)
    else:
        ok = True
    if not ok:
        kind = type(default).__name__.replace("str", "string").replace("dict", "table")
        if isinstance(default, list):
            kind = "list of integers" if default and isinstance(default[0], int) else "list of strings"
        raise KwsgenError(f"{what} must be a {kind}, got {value!r}", where)
    return value


def load_settings(path: Path) -> ProjectSettings:
    data = read_toml(path)
    unknown = sorted(set(data) - set(SECTION_TYPES))
    if unknown:
        raise KwsgenError(f"unknown section(s) [{'], ['.join(unknown)}] (known: {', '.join(SECTION_TYPES)})", path)
    sections = {name: _coerce(name, cls, data.get(name, {}), path) for name, cls in SECTION_TYPES.items()}
    settings = ProjectSettings(**sections)
    try:
        return settings.validate()
    except ConfigError as exc:
        raise KwsgenError(str(exc), path) from None


# ---- the TOML reader, and the front-end part alone (kwsgen features --config) ----------------------


@dataclass(frozen=True)
class FrontendSettings:
    frontend: FrontendConfig
    energy_filter: EnergyFilterConfig


def read_toml(path: str | Path) -> dict[str, Any]:
    path = Path(path)
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        raise KwsgenError("file not found", path) from None
    except IsADirectoryError:
        raise KwsgenError("is a folder, not a TOML file", path) from None
    try:
        return tomllib.loads(raw.decode("utf-8"))
    except UnicodeDecodeError as exc:
        raise KwsgenError(f"is not UTF-8 text (byte {exc.start})", path) from None
    except tomllib.TOMLDecodeError as exc:
        raise KwsgenError(f"is not valid TOML: {exc}", path) from None


def frontend_settings(data: dict[str, Any], path: str | Path | None = None) -> FrontendSettings:
    try:
        fe = data.get("frontend", {})
        ef = data.get("energy_filter", {})
        for name, section in (("frontend", fe), ("energy_filter", ef)):
            if not isinstance(section, dict):
                raise ConfigError(f"[{name}] must be a table")
        return FrontendSettings(FrontendConfig.from_dict(fe), EnergyFilterConfig.from_dict(ef))
    except ConfigError as exc:
        if path is None:
            raise
        raise ConfigError(str(exc), path) from None


def load_frontend_settings(path: str | Path | None) -> FrontendSettings:
    if path is None:
        return FrontendSettings(FrontendConfig(), EnergyFilterConfig())
    return frontend_settings(read_toml(path), path)
