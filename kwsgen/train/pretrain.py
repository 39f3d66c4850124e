"""kwsgen pretrain: a base model trained on real speech, shipped for transfer learning.

The data are folders in Speech Commands layout (one folder per word,
``_unknown_``, ``_silence_``, ``_background_noise_``) plus optional folders of
extra words (every clip is an "unknown" word) and of noise. Twelve classes by
default: ten command words, "unknown" and "silence".

Speakers, never clips, are split: a hash of each speaker id puts it in the
pretraining pool or the held-out pool (``held_out_percent``). Pretraining
picks its early-stopping speakers from its own pool; the held-out speakers are
used once, at the end, for the accuracy in the model card, and transfer
learning benchmarks draw their users from them too.
"""

from __future__ import annotations

import hashlib
import json
import re
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np
import soundfile as sf

from ..errors import KwsgenError
from ..frontend import FrontendConfig, MinMax, mfcc_batch
from ..fsutil import atomic_write_text
from ..progress import progress_bar
from .augment import AudioAugment, augment_clip, augment_features, speed_variants, to_int16
from .basemodel import BaseModel, save_base
from .distill import load_teachers, soft_targets, teacher_probabilities
from .negatives import kept_out_of_pretraining, sentence_part
from .templates import build_base, count_macs, get_template
from .tfutil import environment, predict, seed_everything, tf, to_model_input

COMMAND_WORDS = ("yes", "no", "up", "down", "left", "right", "on", "off", "stop", "go")
UNKNOWN_CLASS, SILENCE_CLASS = "unknown", "silence"
SYNTHETIC = "synthetic"  # Clip.source of espeak-ng clips: they only ever train
_SPEAKER = re.compile(r"^(?:[a-z]+_)?([0-9a-f]{8})_nohash_\d+$")
SAMPLES = 16000
TAUGHT = -1  # the label of an input whose target is the teachers' probabilities alone


@dataclass
class PretrainConfig:
    template: str = "kws25k"
    words: tuple[str, ...] = COMMAND_WORDS
    epochs: int = 100
    batch_size: int = 64
    learning_rate: float = 0.002
    per_class: int = 400  # training inputs per class and epoch, drawn with replacement
    unknown_weight: float = 1.0  # the unknown class gets this many times per_class: it holds every other word
    unknown_mix: str = "clips"  # clips: every unknown clip alike; sources: each source of unknown speech alike
    unknown_fragments: float = 0.0  # share of --extra-words inputs cut to a short piece alone in a quiet second
    unknown_reversed: float = 0.0  # share of unknown inputs that are a command word's clip played backwards
    word_classes: bool = False  # train each unknown word with enough clips as a class of its own, then fold them
    held_out_percent: int = 30
    validate_percent: int = 10  # of the pretraining speakers, for watching progress and calibrating int8
    label_smoothing: float = 0.1
    synthetic: int = 0  # per command word: clips said by espeak-ng voices (kwsgen.train.synthetic); 0: none
    synthetic_share: float = 0.3  # of each class's inputs per epoch drawn from its synthetic clips
    synthetic_confusables: int = 15  # phonetic neighbours per command word, said the same way, as unknown
    select_from: float = 1.0  # candidate checkpoints from this share of the epochs on (1: the final weights)
    select_every: int = 5  # epochs between candidates
    dev_keywords: tuple[str, ...] = ()  # what the development stream detects (empty: every command word)
    dev_miss_rate: float = 0.1  # candidates are compared at the threshold that misses this share of them
    teachers: tuple[str, ...] = ()  # finished bases whose mean outputs are soft targets (kwsgen.train.distill)
    teacher_weight: float = 0.5  # share of each target given to the teachers' probabilities
    teacher_pairs: float = 0.0  # extra inputs per epoch, as a share: a second across two joined clips, taught only
    seed: int = 1
    feature_rates: dict[str, float] = field(
        default_factory=lambda: {"time_mask": 0.3, "coefficient_mask": 0.3, "bias_noise": 0.2}
    )

    @property
    def detected_words(self) -> tuple[str, ...]:
        """The development stream's keywords: a base serves any of its words, so by default all of them count."""
        return self.dev_keywords or self.words


@dataclass
class Clip:
    audio: np.ndarray  # int16
    label: int
    speaker: str
    source: str
    word: str = ""  # what an unknown clip says, where its file tells ("eight", "alexa"); "" when unknown


def unknown_source(clip: Clip) -> str:
    """Where an unknown clip comes from: other words of the --data folders, or one --extra-words folder."""
    return clip.source if clip.speaker.startswith("extra:") else "words"


def speaker_of(path: Path) -> str:
    m = _SPEAKER.match(path.stem)
    return m.group(1) if m else f"{path.parent.name}/{path.stem}"


def speaker_bucket(speaker: str) -> int:
    """0..99, stable for a speaker across runs, machines and kwsgen versions."""
    return int(hashlib.sha1(f"kwsgen-speaker:{speaker}".encode()).hexdigest(), 16) % 100


def _read(path: Path) -> np.ndarray:
    try:
        data, rate = sf.read(str(path), dtype="int16")
    except Exception as exc:
        raise KwsgenError(f"cannot read: {exc}", path) from None
    if rate != SAMPLES or data.ndim != 1:
        raise KwsgenError(f"pretraining needs 16 kHz mono clips, found {rate} Hz with shape {data.shape}", path)
    return data


def word_of(path: Path, label: int, unknown: int) -> str:
    """The word an unknown clip of a --data folder says: its folder (another word's folder), or the file-name
    prefix in _unknown_ ("eight_0a7c2a8d_nohash_0")."""
    if label != unknown:
        return ""
    if path.parent.name != "_unknown_":
        return path.parent.name
    prefix = path.stem.split("_")[0]
    return prefix if prefix.isalpha() else ""


WORD_CLASS_MIN_CLIPS = 5  # fewer training clips than this cannot make a class; the word stays plain unknown


def word_classes(train: list[Clip], unknown: int) -> list[str]:
    """Unknown words with enough training clips to be classes of their own while pretraining."""
    counts: dict[str, int] = {}
    for c in train:
        if c.label == unknown and c.word:
            counts[c.word] = counts.get(c.word, 0) + 1
    return sorted(w for w, n in counts.items() if n >= WORD_CLASS_MIN_CLIPS)


def relabel_words(clips: list[Clip], words: list[str], unknown: int, first: int) -> list[Clip]:
    """Unknown clips of `words` get labels first, first + 1, ...; every other clip is kept as it is."""
    index = {w: first + i for i, w in enumerate(words)}
    return [
        Clip(c.audio, index[c.word], c.speaker, c.source, c.word) if c.label == unknown and c.word in index else c
        for c in clips
    ]


def widen_to_words(taught: np.ndarray, y: np.ndarray, n_classes: int, n_words: int, unknown: int) -> np.ndarray:
    """Teachers' probabilities over the classes -> over classes and word classes: what a teacher calls unknown
    goes to the input's own word class where it has one, and stays unknown elsewhere."""
    wide = np.zeros((len(taught), n_classes + n_words), dtype=np.float32)
    wide[:, :n_classes] = taught
    worded = np.flatnonzero(y >= n_classes)
    wide[worded, y[worded]] = taught[worded, unknown]
    wide[worded, unknown] = 0
    return wide


def fold_words(p: np.ndarray, n_classes: int, unknown: int) -> np.ndarray:
    """Probabilities over classes and word classes -> over the classes: every word class counts as unknown."""
    folded = p[:, :n_classes].copy()
    folded[:, unknown] += p[:, n_classes:].sum(axis=1)
    return folded


def collect(
    data_dirs: list[Path], extra_word_dirs: list[Path], noise_dirs: list[Path], words: tuple[str, ...]
) -> tuple[list[Clip], list[np.ndarray], list[str]]:
    classes = [*words, UNKNOWN_CLASS, SILENCE_CLASS]
    unknown, silence = classes.index(UNKNOWN_CLASS), classes.index(SILENCE_CLASS)
    clips: list[Clip] = []
    noises: list[np.ndarray] = []
    for root in data_dirs:
        if not root.is_dir():
            raise KwsgenError("is not a folder", root)
        for folder in sorted(p for p in root.iterdir() if p.is_dir()):
            files = sorted(folder.glob("*.wav")) + sorted(folder.glob("*.flac"))
            if folder.name == "_background_noise_":
                noises += [_read(f).astype(np.float32) / 32768.0 for f in files]
                continue
            label = (
                classes.index(folder.name)
                if folder.name in words
                else silence
                if folder.name == "_silence_"
                else unknown
            )
            clips += [Clip(_read(f), label, speaker_of(f), root.name, word_of(f, label, unknown)) for f in files]
    for root in extra_word_dirs:
        files = sorted(root.rglob("*.wav")) + sorted(root.rglob("*.flac"))
        files = [f for f in files if not kept_out_of_pretraining(f)]
        clips += [
            Clip(
                _read(f),
                unknown,
                f"extra:{f.parent.name}/{f.stem}",
                root.name,
                f.parent.name if f.parent != root else "",
            )
            for f in files
        ]
    for root in noise_dirs:
        noises += [
            _read(f).astype(np.float32) / 32768.0 for f in sorted(root.glob("*.wav")) + sorted(root.glob("*.flac"))
        ]
    if not clips:
        raise KwsgenError("found no clips: give folders in Speech Commands layout with --data")
    missing = [w for i, w in enumerate(words) if not any(c.label == i for c in clips)]
    if missing:
        raise KwsgenError(f"no clips for the word(s) {', '.join(missing)} in the --data folders")
    if not noises and not any(c.label == silence for c in clips):
        raise KwsgenError("nothing for the 'silence' class: give a _silence_ folder in --data, or --noise")
    return clips, noises, classes


def split(clips: list[Clip], cfg: PretrainConfig) -> tuple[list[Clip], list[Clip], list[Clip]]:
    """(train, validate, held out): held-out speakers are never seen by pretraining."""
    train, validate, held = [], [], []
    for c in clips:
        bucket = speaker_bucket(c.speaker)
        if c.source != "extra" and not c.speaker.startswith("extra:") and bucket >= 100 - cfg.held_out_percent:
            held.append(c)
        elif bucket < cfg.validate_percent:
            validate.append(c)
        else:
            train.append(c)
    return train, validate, held


def synthetic_clips(cfg: PretrainConfig, classes: list[str], rng: np.random.Generator, log) -> list[Clip]:
    """espeak-ng voices saying the command words, and their phonetic neighbours as unknown (train only)."""
    if cfg.synthetic <= 0:
        return []
    from .synthetic import synthetic_words

    said, near = synthetic_words(cfg.words, cfg.synthetic, cfg.synthetic_confusables, rng)
    if not said:
        log("espeak-ng not found: pretraining without synthetic speakers (apt-get install espeak-ng)")
        return []
    clips = [Clip(a, classes.index(w), f"synthetic:{w}", SYNTHETIC) for w, audio in said.items() for a in audio]
    clips += [Clip(a, classes.index(UNKNOWN_CLASS), "synthetic:near", SYNTHETIC) for a in near]
    log(f"{len(clips)} synthetic clips ({cfg.synthetic} per command word, {len(near)} of their neighbours)")
    return clips


def development_sentences(extra_word_dirs: list[Path]) -> list[np.ndarray]:
    """The sentences the negative bank keeps for calibration: never trained on, so they can pick a checkpoint."""
    files = [f for root in extra_word_dirs for f in sorted(root.rglob("*.flac")) + sorted(root.rglob("*.wav"))]
    return [_read(f) for f in files if f.parent.name == "sentences" and sentence_part(f) == "calibrate"]


def candidate_epochs(cfg: PretrainConfig) -> list[int]:
    """Epochs (1-based) whose weights are scored on the development stream; the last is always one."""
    first = max(1, int(np.ceil(cfg.select_from * cfg.epochs)))
    return sorted({*range(first, cfg.epochs + 1, cfg.select_every), cfg.epochs})


def selection_key(entry: dict, target: float) -> tuple:
    """Fewest false alarms per hour at the target miss rate first (a candidate that cannot reach the target
    ranks by how far it stays from it), then validate accuracy, then the later epoch."""
    dev = entry["development"]
    return (
        max(0.0, dev["miss_rate"] - target),
        dev["false_alarms_per_hour"],
        -entry["validate_accuracy"],
        -entry["epoch"],
    )


def fixed_length(audio: np.ndarray, rng: np.random.Generator | None = None) -> np.ndarray:
    """One second: a random (or the middle) second of longer clips, zero-padded shorter ones."""
    if len(audio) >= SAMPLES:
        start = int(rng.integers(0, len(audio) - SAMPLES + 1)) if rng is not None else (len(audio) - SAMPLES) // 2
        return audio[start : start + SAMPLES]
    out = np.zeros(SAMPLES, dtype=np.int16)
    out[(SAMPLES - len(audio)) // 2 :][: len(audio)] = audio
    return out


FRAGMENT_SECONDS = (0.25, 0.8)  # a syllable to a short word
FRAGMENT_FADE = 320  # 20 ms raised-cosine edges: a cut must not click like a consonant


def fragment(audio: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """A short voiced piece of a long recording alone in a quiet second, near its middle: a stand-in for an
    isolated short word. Held-out "unknown" clips are isolated words (eight, six, happy...), while a random
    second of a wake phrase or a sentence is mostly a phrase; too few real isolated words exist to teach them."""
    length = int(rng.uniform(*FRAGMENT_SECONDS) * SAMPLES)
    if len(audio) <= length:
        return fixed_length(audio)
    level = np.abs(audio.astype(np.int32))
    loud = np.flatnonzero(level >= 0.3 * np.percentile(level, 99))  # speech, not the pauses around it
    centre = int(loud[rng.integers(len(loud))]) + int(rng.integers(-length // 4, length // 4 + 1))
    start = min(max(centre - length // 2, 0), len(audio) - length)
    piece = audio[start : start + length]
    edge = 0.5 - 0.5 * np.cos(np.linspace(0, np.pi, FRAGMENT_FADE, dtype=np.float32))
    shaped = piece.astype(np.float32)
    shaped[:FRAGMENT_FADE] *= edge
    shaped[-FRAGMENT_FADE:] *= edge[::-1]
    out = np.zeros(SAMPLES, dtype=np.float32)
    start = (SAMPLES - length) // 2 + int(rng.integers(-SAMPLES // 10, SAMPLES // 10 + 1))
    start = min(max(start, 0), SAMPLES - length)
    out[start : start + length] = shaped
    return np.round(out).astype(np.int16)


def features_of(audio: list[np.ndarray], config: FrontendConfig, minmax: MinMax) -> np.ndarray:
    feats = mfcc_batch([fixed_length(a) for a in audio], config)
    return np.stack([minmax.scale(f[: config.cascade_len]) for f in feats])


class Epochs:
    """Class-balanced, freshly augmented training inputs for every epoch."""

    def __init__(
        self,
        clips: list[Clip],
        noises: list[np.ndarray],
        n_classes: int,
        silence: int,
        unknown: int,
        config: FrontendConfig,
        minmax: MinMax,
        cfg: PretrainConfig,
    ):
        # word classes (labels from n_classes on) are drawn as unknown clips and keep their own label
        group = [unknown if c.label >= n_classes else c.label for c in clips]
        self.by_class = [
            [c for c, g in zip(clips, group, strict=True) if g == k and c.source != SYNTHETIC] for k in range(n_classes)
        ]
        self.synthetic = [
            [c for c, g in zip(clips, group, strict=True) if g == k and c.source == SYNTHETIC] for k in range(n_classes)
        ]
        self.aug = AudioAugment()
        self.variants = {id(c): speed_variants(c.audio, self.aug.speeds) for c in clips if len(c.audio) <= SAMPLES}
        self.noises, self.silence, self.config, self.minmax, self.cfg = noises, silence, config, minmax, cfg
        self.unknown = unknown
        # "no" backwards is near "on" and "on" near "no": a word whose spelling reversed is another command word
        # is not played backwards
        words = list(cfg.words)
        self.reversible = (
            [k for k, w in enumerate(words) if w[::-1] not in words and k < len(self.by_class) and self.by_class[k]]
            if cfg.unknown_reversed
            else []
        )  # off: no draw, so the default's random stream stays as it was
        sources: dict[str, list[Clip]] = {}
        for c in self.by_class[unknown] if cfg.unknown_mix == "sources" else []:
            sources.setdefault(unknown_source(c), []).append(c)
        self.unknown_sources = [sources[k] for k in sorted(sources)]

    def draw(self, label: int, rng: np.random.Generator) -> Clip:
        """One clip of `label`: a synthetic one at the configured share (if it has any), else a real one; with
        unknown_mix "sources", an unknown clip comes from each source (other words, each extra-words folder)
        equally often, so that a few thousand wake phrases do not make "unknown" mean six phrases."""
        synthetic = self.synthetic[label]
        if synthetic and rng.random() < self.cfg.synthetic_share:
            pool = synthetic
        elif label == self.unknown and self.unknown_sources:
            pool = self.unknown_sources[int(rng.integers(len(self.unknown_sources)))]
        else:
            pool = self.by_class[label]
        return pool[int(rng.integers(len(pool)))]

    def second_of(self, clip: Clip, rng: np.random.Generator) -> np.ndarray:
        """One second of a clip longer than that: a random second, or a short fragment of an extra-words clip."""
        share = self.cfg.unknown_fragments
        if clip.speaker.startswith("extra:") and share and rng.random() < share:
            return fragment(clip.audio, rng)
        return fixed_length(clip.audio, rng)

    def reversed_word(self, rng: np.random.Generator) -> np.ndarray:
        """A command word's clip played backwards: speech of a real training speaker, the word's sounds in the
        wrong order. It teaches that a keyword is its order of sounds, not its spectrum alone."""
        pool = self.by_class[self.reversible[int(rng.integers(len(self.reversible)))]]
        clip = pool[int(rng.integers(len(pool)))]
        variants = self.variants.get(id(clip)) or [fixed_length(clip.audio, rng).astype(np.float32) / 32768]
        return to_int16(augment_clip([v[::-1].copy() for v in variants], self.noises, SAMPLES, self.aug, rng))

    def straddle(self, rng: np.random.Generator) -> np.ndarray:
        """A second across the join of two clips of any classes but silence: the end of one word and the start
        of the next, where a stream's false alarms come from. No label fits it; only teachers can say."""
        spoken = [k for k, pool in enumerate(self.by_class) if pool and k != self.silence]
        first, second = (self.draw(spoken[int(rng.integers(len(spoken)))], rng) for _ in range(2))
        joined = np.concatenate([fixed_length(first.audio, rng), fixed_length(second.audio, rng)])
        start = int(rng.integers(SAMPLES // 5, SAMPLES * 4 // 5 + 1))
        window = joined[start : start + SAMPLES].astype(np.float32) / 32768
        return to_int16(augment_clip([window], self.noises, SAMPLES, self.aug, rng))

    def make(self, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
        audio, labels = [], []
        for label, pool in enumerate(self.by_class):
            count = round(self.cfg.per_class * self.cfg.unknown_weight) if label == self.unknown else self.cfg.per_class
            for _ in range(count):
                if label == self.silence and self.noises and (not pool or rng.random() < 0.5):
                    gain = 10 ** rng.uniform(-4, -0.5)
                    bed = self.noises[int(rng.integers(len(self.noises)))]
                    start = int(rng.integers(0, max(1, len(bed) - SAMPLES)))
                    audio.append(to_int16(np.resize(bed[start:], SAMPLES) * gain))
                elif label == self.unknown and self.reversible and rng.random() < self.cfg.unknown_reversed:
                    audio.append(self.reversed_word(rng))
                else:
                    clip = self.draw(label, rng)
                    variants = self.variants.get(id(clip)) or [self.second_of(clip, rng).astype(np.float32) / 32768]
                    audio.append(to_int16(augment_clip(variants, self.noises, SAMPLES, self.aug, rng)))
                    labels.append(clip.label)  # its word class, where an unknown clip has one
                    continue
                labels.append(label)
        for _ in range(round(self.cfg.teacher_pairs * len(labels))):
            audio.append(self.straddle(rng))
            labels.append(TAUGHT)
        x = features_of(audio, self.config, self.minmax)
        y = np.array(labels)
        x, y = augment_features(x, y, self.cfg.feature_rates, rng)
        order = rng.permutation(len(x))
        return x[order], y[order]


def float_outputs(model) -> Callable[[np.ndarray], np.ndarray]:
    """The float model as calibrate.Outputs: int8 inputs -> probabilities on the int8 output's scale (q + 128)."""

    def run(x: np.ndarray) -> np.ndarray:
        p = predict(model, x)
        return np.clip(np.round(p * 256), 0, 255).astype(np.int64)

    return run


def accuracy(model, x: np.ndarray, y: np.ndarray, n_classes: int = 0, unknown: int = 0) -> float:
    """Top-1 accuracy; with n_classes, outputs beyond the classes (word classes) count as unknown."""
    if len(x) == 0:
        return float("nan")
    p = predict(model, x)
    if n_classes and p.shape[1] > n_classes:
        p = fold_words(p, n_classes, unknown)
    return float(np.mean(np.argmax(p, axis=1) == y))


FOLD_EPOCHS = 4  # fresh epochs to fit the classes-only head on the finished core


def fold_word_classes(model, template, frontend, classes: list[str], epochs, rng, cfg: PretrainConfig, log):
    """The base the rest of kwsgen knows: the trained core under a new head over the classes alone, fitted on
    fresh epochs with every word class read as unknown (a softmax cannot be summed into a softmax exactly)."""
    tfm = tf()
    folded = build_base(template, (frontend.cascade_len, frontend.n_coeffs), len(classes))
    for layer in folded.layers:
        if layer.get_weights() and layer.name != "base_classes":
            layer.set_weights(model.get_layer(layer.name).get_weights())
            layer.trainable = False
    folded.compile(
        optimizer=tfm.keras.optimizers.Adam(cfg.learning_rate),
        loss=tfm.keras.losses.CategoricalCrossentropy(label_smoothing=cfg.label_smoothing),
        metrics=["accuracy"],
    )
    unknown = classes.index(UNKNOWN_CLASS)
    for _ in range(FOLD_EPOCHS):
        x, y = epochs.make(rng)
        y = np.where(y >= len(classes), unknown, y)
        folded.fit(to_model_input(x), soft_targets(y, len(classes), None, 0.0), batch_size=cfg.batch_size, verbose=0)
    log(f"word classes folded into unknown: a new {len(classes)}-class head, {FOLD_EPOCHS} epochs on the core")
    return folded


def pretrain(
    data_dirs: list[Path],
    out: Path,
    cfg: PretrainConfig,
    extra_word_dirs: list[Path] | None = None,
    noise_dirs: list[Path] | None = None,
    frontend: FrontendConfig | None = None,
    progress: bool = True,
    log=print,
) -> dict:
    """Train, evaluate on held-out speakers, and write the base model and its model card to `out`."""
    if cfg.teacher_pairs and not cfg.teachers:
        raise KwsgenError("inputs across two joined clips (teacher pairs) need teachers to say what they are")
    if cfg.word_classes and cfg.select_from < 1:
        raise KwsgenError("word classes and --select-from below 1 do not mix: the development stream knows the classes")
    frontend = frontend or FrontendConfig()
    template = get_template(cfg.template)
    seed_everything(cfg.seed)
    rng = np.random.default_rng(cfg.seed)
    clips, noises, classes = collect(data_dirs, extra_word_dirs or [], noise_dirs or [], cfg.words)
    train, validate, held = split(clips, cfg)
    train += synthetic_clips(cfg, classes, rng, log)
    unknown = classes.index(UNKNOWN_CLASS)
    words = word_classes(train, unknown) if cfg.word_classes else []
    if words:
        train = relabel_words(train, words, unknown, len(classes))
        log(f"{len(words)} unknown words train as classes of their own: {', '.join(words)}")
    log(
        f"{len(clips)} clips, {len({c.speaker for c in clips if not c.speaker.startswith('extra:')})} speakers: "
        f"{len(train)} train, {len(validate)} validate, {len(held)} held out"
    )
    # the scale comes from real speech only: the device hears people, not espeak-ng
    real = [c for c in train if c.source != SYNTHETIC]
    minmax = MinMax.fit(np.concatenate(mfcc_batch([fixed_length(c.audio) for c in real], frontend)))
    x_val, y_val = features_of([c.audio for c in validate], frontend, minmax), np.array([c.label for c in validate])
    x_held, y_held = features_of([c.audio for c in held], frontend, minmax), np.array([c.label for c in held])
    epochs = Epochs(train, noises, len(classes), classes.index(SILENCE_CLASS), unknown, frontend, minmax, cfg)
    teachers = load_teachers(cfg.teachers, classes, frontend)
    if teachers:
        log(f"teachers: {', '.join(cfg.teachers)} (weight {cfg.teacher_weight:g}, pairs {cfg.teacher_pairs:g})")
    teaching = bool(teachers) and (cfg.teacher_weight > 0 or cfg.teacher_pairs > 0)
    dev = development(validate, classes, extra_word_dirs or [], noises, cfg, log)
    candidates = candidate_epochs(cfg) if dev is not None else [cfg.epochs]
    snapshots: dict[int, list[np.ndarray]] = {}

    tfm = tf()
    model = build_base(template, (frontend.cascade_len, frontend.n_coeffs), len(classes) + len(words))
    per_epoch = round(cfg.per_class * (len(classes) - 1 + cfg.unknown_weight))
    steps = cfg.epochs * (per_epoch * 2 // cfg.batch_size)
    schedule = tfm.keras.optimizers.schedules.CosineDecay(cfg.learning_rate, steps, alpha=0.02)
    model.compile(
        optimizer=tfm.keras.optimizers.Adam(schedule),
        loss=tfm.keras.losses.CategoricalCrossentropy(label_smoothing=cfg.label_smoothing),
        metrics=["accuracy"],
    )
    best, history = -1.0, []
    started = time.time()
    with progress_bar(progress) as bar:
        task = bar.add_task(f"pretraining {template.name}", total=cfg.epochs)
        for epoch in range(cfg.epochs):
            x, y = epochs.make(rng)
            taught = teacher_probabilities(teachers, x, minmax) if teaching else None
            if taught is not None and words:
                taught = widen_to_words(taught, y, len(classes), len(words), unknown)
            fit = model.fit(
                to_model_input(x),
                soft_targets(y, len(classes) + len(words), taught, cfg.teacher_weight),
                batch_size=cfg.batch_size,
                epochs=1,
                verbose=0,
                shuffle=False,
            )
            val = accuracy(model, x_val, y_val, len(classes), unknown)
            history.append(
                {
                    "epoch": epoch + 1,
                    # Keras counts a soft target by its top class: the label for labelled inputs (at teacher
                    # weight 0.5 or less the label always stays on top), the teachers' choice on pairs.
                    "train_accuracy": round(float(fit.history["accuracy"][0]), 4),
                    "validate_accuracy": round(val, 4),
                }
            )
            if epoch + 1 in candidates:
                snapshots[epoch + 1] = model.get_weights()
                if dev is not None:
                    history[-1]["development"] = score_candidate(model, dev, classes, cfg, frontend, minmax)
                    # recorded to show whether the choice carries over to unheard speakers; never used to choose
                    history[-1]["held_out_accuracy_float"] = round(
                        accuracy(model, x_held, y_held, len(classes), unknown), 4
                    )
            best = max(best, val)
            bar.update(task, advance=1, description=f"pretraining {template.name}: validate {val:.3f}")
            if (epoch + 1) % 10 == 0 or epoch + 1 == cfg.epochs:
                log(
                    f"epoch {epoch + 1}/{cfg.epochs}: train {history[-1]['train_accuracy']:.3f}"
                    + (" (pairs: agreement with the teachers)" if teaching and cfg.teacher_pairs > 0 else "")
                    + ", "
                    f"validate {val:.3f} (best {best:.3f}), {time.time() - started:.0f} s"
                )
    kept = choose_epoch(history, candidates, cfg)
    model.set_weights(snapshots[kept])
    if kept != cfg.epochs:
        log(f"kept epoch {kept}: fewest false alarms per hour on the development stream")
    if words:
        model = fold_word_classes(model, template, frontend, classes, epochs, rng, cfg, log)
    held_float = accuracy(model, x_held, y_held)
    base = BaseModel(
        template=template.name,
        classes=classes,
        frontend=frontend,
        minmax=minmax,
        weights={w.name: w.get_weights() for w in model.layers if w.get_weights()},
    )
    from .quantize import int8_predict, to_int8_tflite

    tflite_bytes = to_int8_tflite(model, x_val)
    held_pred = int8_predict(tflite_bytes, x_held).argmax(axis=1) if len(x_held) else np.zeros(0, int)
    held_int8 = float(np.mean(held_pred == y_held)) if len(x_held) else float("nan")
    card = {
        "template": template.name,
        "description": template.description,
        "classes": classes,
        "parameters": int(model.count_params()),
        "macs": count_macs(template, (frontend.cascade_len, frontend.n_coeffs), len(classes)),
        "int8_tflite_bytes": len(tflite_bytes),
        "data": sorted(
            {
                *(str(d) for d in data_dirs),
                *(str(d) for d in extra_word_dirs or []),
                *(str(d) for d in noise_dirs or []),
            }
        ),
        "clips": {
            "train": len(train),
            "validate": len(validate),
            "held_out": len(held),
            "synthetic": sum(c.source == SYNTHETIC for c in train),
        },
        "speakers": {
            "train": len({c.speaker for c in train if not c.speaker.startswith(("extra:", "synthetic:"))}),
            "validate": len({c.speaker for c in validate if not c.speaker.startswith("extra:")}),
            "held_out": len({c.speaker for c in held}),
        },
        "split": f"by speaker: sha1('kwsgen-speaker:' + id) % 100 >= {100 - cfg.held_out_percent} held out, "
        f"< {cfg.validate_percent} validate, the rest train; extra words and noise are never held out",
        "epochs": cfg.epochs,
        "best_validate_epoch": int(np.argmax([h["validate_accuracy"] for h in history]) + 1),
        "kept_epoch": kept,
        "selection": selection_text(cfg, dev),
        "seed": cfg.seed,
        "word_classes": words,
        "config": {k: v for k, v in asdict(cfg).items()},
        "validate_accuracy": history[-1]["validate_accuracy"],
        "best_validate_accuracy": round(best, 4),
        "held_out_accuracy_float": round(held_float, 4),
        "held_out_accuracy_int8": round(held_int8, 4),
        "held_out_per_class_int8": per_class_accuracy(held_pred, y_held, classes),
        "held_out_confusions_int8": commonest_confusions(held_pred, y_held, classes),
        "training_seconds": round(time.time() - started),
        "environment": environment(),
        "history": history,
    }
    save_base(out, base, card)
    log(f"held-out speakers: {held_float:.3f} float, {held_int8:.3f} int8 ({len(held)} clips)")
    return card


def development(validate: list[Clip], classes: list[str], extra_word_dirs: list[Path], noises, cfg, log):
    """The development stream from the validate speakers and the calibration sentences; None when it would
    choose nothing (selection off, or no dev keyword among the validate clips)."""
    from .devstream import development_stream

    if cfg.select_from >= 1 or not any(classes[c.label] in cfg.detected_words for c in validate):
        return None
    sentences = development_sentences(extra_word_dirs)
    clips = [(c.audio, classes[c.label]) for c in validate]
    stream = development_stream(clips, sentences, cfg.detected_words, noises, np.random.default_rng(cfg.seed + 1))
    log(
        f"development stream: {len(stream.audio) / 16000 / 60:.1f} min, {len(stream.truth)} keywords, "
        f"{len(sentences)} sentences, {stream.negative_seconds / 60:.1f} min without a keyword"
    )
    return stream


def score_candidate(model, dev, classes: list[str], cfg: PretrainConfig, frontend, minmax) -> dict:
    from .devstream import score

    outputs = float_outputs(model)
    return score(dev, outputs, classes, cfg.detected_words, cfg.dev_miss_rate, frontend, minmax).as_dict()


def choose_epoch(history: list[dict], candidates: list[int], cfg: PretrainConfig) -> int:
    scored = [h for h in history if h["epoch"] in candidates and "development" in h]
    if not scored:
        return cfg.epochs
    return min(scored, key=lambda h: selection_key(h, cfg.dev_miss_rate))["epoch"]


def selection_text(cfg: PretrainConfig, dev) -> str:
    if dev is None:
        return "the final weights"
    return (
        f"of the weights every {cfg.select_every} epochs from epoch {candidate_epochs(cfg)[0]}, the fewest false "
        f"alarms per hour on the development stream at {cfg.dev_miss_rate:.0%} of {'/'.join(cfg.detected_words)} "
        f"missed, then the best validate accuracy ({len(dev.truth)} keywords, {dev.negative_seconds / 60:.1f} min "
        f"without one, {dev.sentences} calibration sentences)"
    )


def per_class_accuracy(pred: np.ndarray, y: np.ndarray, classes: list[str]) -> dict[str, float]:
    return {name: round(float(np.mean(pred[y == k] == k)), 4) for k, name in enumerate(classes) if np.any(y == k)}


CONFUSIONS_ON_CARD = 8


def commonest_confusions(pred: np.ndarray, y: np.ndarray, classes: list[str]) -> list[dict]:
    """The most frequent (said, taken for) pairs among the errors, most first: where a base's accuracy goes."""
    pairs: dict[tuple[int, int], int] = {}
    for said, taken in zip(y.tolist(), pred.tolist(), strict=True):
        if said != taken:
            pairs[(said, taken)] = pairs.get((said, taken), 0) + 1
    ranked = sorted(pairs.items(), key=lambda item: (-item[1], item[0]))[:CONFUSIONS_ON_CARD]
    return [{"said": classes[a], "taken_for": classes[b], "clips": n} for (a, b), n in ranked]


def teacher_lines(card: dict) -> list[str]:
    config = card.get("config", {})
    if not config.get("teachers"):
        return []
    share = config.get("teacher_weight", 0.5)
    line = f"- Teachers: {', '.join(config['teachers'])} (their mean probabilities are {share:g} of every target"
    if pairs := config.get("teacher_pairs", 0.0):
        line += f"; {pairs:g} x the labelled inputs more per epoch across the join of two clips, taught alone"
    return [line + ")"]


def confusion_lines(card: dict) -> list[str]:
    confusions = card.get("held_out_confusions_int8")
    if not confusions:
        return []
    text = ", ".join(f"{c['said']} taken for {c['taken_for']} {c['clips']}" for c in confusions)
    return [f"- Commonest errors on held-out speakers (int8, clips): {text}"]


def word_class_lines(card: dict) -> list[str]:
    words = card.get("word_classes")
    return [f"- Trained with word classes inside unknown, folded away: {', '.join(words)}"] if words else []


def write_card_markdown(path: Path, card: dict) -> None:
    lines = [
        f"# Base model {card['template']}",
        "",
        f"{card['description']}. {card['parameters']} parameters, {card['macs']:,} multiply-accumulates per "
        f"inference, {card['int8_tflite_bytes']:,} bytes as int8 TFLite.",
        "",
        f"- Classes: {', '.join(card['classes'])}",
        f"- Data: {', '.join(card['data'])}",
        f"- Split: {card['split']}",
        f"- Clips: {card['clips']}; speakers: {card['speakers']}",
        f"- Epochs: {card['epochs']} (cosine learning-rate decay), seed {card['seed']}; kept: epoch "
        f"{card['kept_epoch']}, {card.get('selection', 'the final weights')}",
        *teacher_lines(card),
        f"- Accuracy on held-out speakers: {card['held_out_accuracy_float']:.3f} float, "
        f"{card['held_out_accuracy_int8']:.3f} int8",
        f"- Per class (int8): {json.dumps(card['held_out_per_class_int8'])}",
        *confusion_lines(card),
        *word_class_lines(card),
    ]
    atomic_write_text(path, "\n".join(lines) + "\n")
