"""What each training epoch sees: resampled Train inputs, augmented copies, negatives from the bank, noise."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from ..project import UNKNOWN, Project
from ..project.settings import AugmentationSection, TrainingSection
from .augment import augment_features
from .dataset import ProjectData, SplitData
from .negatives import NegativeBank, shipped_bank


def resample_balanced(
    split: SplitData, n_labels: int, limit: int, rng: np.random.Generator, to: str
) -> tuple[np.ndarray, np.ndarray]:
    """Every label present, drawn with replacement to min(limit, the median, smallest or largest label's count).

    Why the median: a user's smallest label sets the pace under "smallest" (9 clips of "off" showed only 9 of
    each keyword an epoch), and a large Unknown would set it under "largest"; the median uses most of what the
    user recorded while the augmented copies vary the repeated inputs.
    """
    counts = np.bincount(split.y, minlength=n_labels)
    present = counts[counts > 0]
    target = {"median": np.median(present), "smallest": present.min(), "largest": present.max()}[to]
    per = int(min(limit, target))
    idx = np.concatenate(
        [rng.choice(np.flatnonzero(split.y == k), per, replace=True) for k in range(n_labels) if counts[k]]
    )
    return split.x[idx], split.y[idx]


def capped_per_label(split: SplitData, n_labels: int, limit: int, seed: int) -> SplitData:
    """At most limit inputs of each label, a fixed random subset (without replacement): what Validate scores
    each epoch. Why a cap: a large project's Validate would otherwise cost more per epoch than its training."""
    rng = np.random.default_rng(seed)
    keep = []
    for k in range(n_labels):
        idx = np.flatnonzero(split.y == k)
        keep.append(idx if len(idx) <= limit else np.sort(rng.choice(idx, limit, replace=False)))
    idx = np.concatenate(keep) if keep else np.zeros(0, np.int64)
    if len(idx) == len(split):
        return split
    return SplitData(split.x[idx], split.y[idx], [split.sources[i] for i in idx] if split.sources else [])


@dataclass
class Negatives:
    """Unknown inputs beyond the project's own: windows of the negative bank, and mined hard negatives."""

    bank: NegativeBank | None = None
    starts: np.ndarray = field(default_factory=lambda: np.zeros(0, np.int64))  # bank windows free of keywords
    share: float = 0.0  # bank windows per epoch, as a share of the resampled training inputs
    weight: float = 1.0  # loss weight of every Unknown input
    hard: np.ndarray | None = None  # int8 inputs that fired in mining
    confusable: np.ndarray | None = None  # int8 inputs: the keywords' phonetic neighbours, synthesised
    keyword_x: np.ndarray | None = None  # int8 inputs: the bank's own clips of the project's keywords
    keyword_y: np.ndarray | None = None  # their labels
    keyword_share: float = 0.0  # per keyword and epoch, as a multiple of its resampled inputs

    def draw(self, n: int, cascade_len: int, rng: np.random.Generator) -> np.ndarray:
        """n inputs: up to half mined ones (once there are some), up to a quarter confusable words, the rest
        bank windows at random offsets."""
        n_hard = min(n // 2, 0 if self.hard is None else len(self.hard))
        n_confusable = min(n // 4, 0 if self.confusable is None else len(self.confusable))
        parts = []
        if n_hard:
            parts.append(self.hard[rng.integers(0, len(self.hard), n_hard)])
        if n_confusable:
            parts.append(self.confusable[rng.integers(0, len(self.confusable), n_confusable)])
        rest = n - n_hard - n_confusable
        if self.bank is not None and len(self.starts) and rest > 0:
            parts.append(self.bank.windows(rng.choice(self.starts, rest), cascade_len))
        return np.concatenate(parts) if parts else np.zeros((0, cascade_len, 0), np.int8)


def project_negatives(project: Project, minmax, labels: list[str], log) -> Negatives:
    """The [negatives] of a project: the shipped bank scaled for its min/max, its keywords left out."""
    n = project.settings.negatives
    if n.source == "none" or UNKNOWN not in labels:
        return Negatives(weight=n.weight)
    fe = project.settings.frontend
    bank = shipped_bank(fe, minmax)
    keywords = [label for label in labels if label != UNKNOWN] + list(n.exclude)
    starts = bank.window_starts(fe.cascade_len, "train", keywords)
    left_out = [name for name, out in zip(bank.tag_names, bank.excluded_tags(keywords), strict=True) if out]
    log(
        f"negative bank: {len(starts):,} windows of {bank.hours:.1f} h of real speech"
        + (f" (left out: {', '.join(left_out)})" if left_out else "")
    )
    negatives = Negatives(bank, starts, n.share, n.weight)
    if n.keyword_clips > 0:
        add_keyword_clips(negatives, bank, labels, fe.cascade_len, n.keyword_clips, log)
    if n.confusables:
        from .confusables import confusable_mfcc
        from .dataset import noise_recordings

        noises = noise_recordings(project.settings.augmentation.noise_source, project.root)
        mfcc, words = confusable_mfcc(
            [label for label in labels if label != UNKNOWN],
            labels,
            n.confusables,
            8,
            fe,
            project.cache_dir / "confusables",
            noises,
            log,
        )
        if len(mfcc):
            negatives.confusable = np.stack([minmax.scale(m) for m in mfcc])
            log(f"confusable words: {len(set(words))} ({', '.join(sorted(set(words))[:12])}, ...), {len(mfcc)} clips")
    return negatives


def add_keyword_clips(
    negatives: Negatives, bank: NegativeBank, labels: list[str], cascade_len: int, share: float, log
) -> None:
    """The bank's clips of the project's keywords, one input centred on each, as extra Train inputs.

    Why: a user's few dozen clips per keyword come from a few speakers; the bank holds each Speech Commands
    word said by about 130 other real people (its train part, never the speakers that measure kwsgen).
    """
    xs, ys, found, missing = [], [], [], []
    for k, label in enumerate(labels):
        if label == UNKNOWN:
            continue
        starts = bank.word_windows(label, cascade_len, "train")
        if len(starts):
            xs.append(bank.windows(starts, cascade_len))
            ys.append(np.full(len(starts), k))
            found.append(f"{label} {len(starts)}")
        else:
            missing.append(label)
    if xs:
        negatives.keyword_x, negatives.keyword_y = np.concatenate(xs), np.concatenate(ys)
        negatives.keyword_share = share
    log(
        "keyword clips from the bank: "
        + (", ".join(found) if found else "none")
        + (f" (none of {', '.join(missing)}: not a word the bank holds)" if missing else "")
    )


def with_keyword_clips(x: np.ndarray, y: np.ndarray, negatives: Negatives, per_label: float, rng: np.random.Generator):
    """The inputs plus keyword_share x per_label (each label's resampled count) bank clips of every keyword it has."""
    per = round(negatives.keyword_share * per_label)
    kinds = np.unique(negatives.keyword_y)
    if not per or not len(kinds):
        return x, y
    # At most as many as the bank has of a word: more would repeat clips within an epoch and only cost time.
    clips = [np.flatnonzero(negatives.keyword_y == k) for k in kinds]
    pick = np.concatenate([rng.choice(c, min(per, len(c)), replace=False) for c in clips])
    return np.concatenate([x, negatives.keyword_x[pick]]), np.concatenate([y, negatives.keyword_y[pick]])


def epoch_inputs(
    data: SplitData,
    aux: np.ndarray,
    labels: list[str],
    t: TrainingSection,
    a: AugmentationSection,
    rng: np.random.Generator,
    speed_pool: SplitData | None = None,
    negatives: Negatives | None = None,
    noise_pool: SplitData | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    x, y = resample_balanced(data, len(labels), t.max_train_per_label, rng, t.resample_to)
    resampled = len(y)
    rates = {k: getattr(a, k) for k in ("sparse_noise", "bias_noise", "time_mask", "coefficient_mask")}
    extra = [pool_copies(speed_pool, a.speed, y, rng), pool_copies(noise_pool, a.noise, y, rng)]
    x, y = augment_features(x, y, rates, rng)
    x = np.concatenate([x, *(e[0] for e in extra if e)])
    y = np.concatenate([y, *(e[1] for e in extra if e)])
    if negatives is not None and negatives.keyword_y is not None:
        # After the copies: the bank's clips are many voices already, and copying them too would double an
        # epoch's time (the example project's training must stay within 3 minutes).
        before = len(y)
        x, y = with_keyword_clips(x, y, negatives, resampled / len(labels), rng)
        resampled += len(y) - before
    n_negative = round(negatives.share * resampled) if negatives is not None and UNKNOWN in labels else 0
    n_aux = round(a.auxiliary * len(y))
    if n_aux and len(aux) and UNKNOWN in labels:
        pick = rng.integers(0, len(aux), n_aux)
        x = np.concatenate([x, aux[pick]])
        y = np.concatenate([y, np.full(n_aux, labels.index(UNKNOWN))])
    drawn = negatives.draw(n_negative, data.x.shape[1], rng) if n_negative else None
    if drawn is not None and len(drawn):
        x = np.concatenate([x, drawn])
        y = np.concatenate([y, np.full(len(drawn), labels.index(UNKNOWN))])
    order = rng.permutation(len(y))
    return x[order], y[order]


def pool_copies(pool: SplitData | None, rate: float, y: np.ndarray, rng: np.random.Generator):
    """rate x the resampled inputs drawn from a pool of augmented copies, the same number for every label."""
    if pool is None or not len(pool) or rate <= 0:
        return None
    per = round(rate * len(y) / max(1, len(np.unique(y))))
    picks = [rng.choice(np.flatnonzero(pool.y == k), per, replace=True) for k in np.unique(y) if np.any(pool.y == k)]
    if not picks or not per:
        return None
    pick = np.concatenate(picks)
    return pool.x[pick], pool.y[pick]


def unknown_weights(y: np.ndarray, labels: list[str], negatives: Negatives | None) -> np.ndarray:
    """Loss weight per input: [negatives] weight for Unknown, 1 for keywords (a false alarm costs more)."""
    weight = negatives.weight if negatives is not None else 1.0
    if UNKNOWN not in labels:
        return np.ones(len(y), np.float32)
    return np.where(y == labels.index(UNKNOWN), weight, 1.0).astype(np.float32)


def training_noise_pool(project: Project, data: ProjectData, minmax, a: AugmentationSection) -> SplitData | None:
    """Train segments mixed with [augmentation] noise_source at noise_snr_db: keywords heard over noise."""
    from .dataset import noise_pool, noise_recordings

    if a.noise <= 0:
        return None
    noises = noise_recordings(a.noise_source, project.root)
    train = [s for s in sorted(data.report.usable) if data.report.sets[s.file] == "Train"]
    rng = np.random.default_rng(project.settings.training.seed + 7919)
    return noise_pool(project, train, minmax, data.labels, noises, tuple(a.noise_snr_db), rng)
