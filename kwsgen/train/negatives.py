"""The negative bank: real speech that holds no keyword, shipped with kwsgen for transfer learning.

A user brings a few hundred clips; a detector that must stay quiet through
hours of conversation needs far more "not a keyword" than that. The bank
(kwsgen/data/negative_bank.npz, made by host_tools/scripts/make_negative_bank.py from
../shared/data) holds long *streams* of real speech as the front end's int8
features, one row per hop: Speech Commands words said one after another,
spoken sentences and wake phrases, some over noise. Training cuts model
inputs from these streams at random offsets, so Unknown sees partial words
and word pairs, not only centred words; calibration and hard-negative mining
run the model along them hop by hop.

Every hop carries a tag (the word, phrase or "sentence" under it). Windows
that touch a word a project uses as a keyword are left out automatically: a
project whose keyword is "up" never trains "up" as Unknown; its clips of
"up" join the project's Train inputs of "up" instead (word_windows), so a
user's few speakers are joined by a hundred others.

Each stream belongs to one part: ``train`` (Unknown inputs and mining) or
``calibrate`` (choosing the operating point; never trained on). Audio that
measures kwsgen (Speech Commands speakers held out of pretraining and a third
of the sentences) is in neither: ``data_part`` below decides, and
bench/detection.py uses the same rule for its held-out streams.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..errors import KwsgenError
from ..frontend import FrontendConfig, MinMax
from ..project.features import config_digest
from ..resources import package_data

BANK_FILE = "negative_bank.npz"
PARTS = ("train", "calibrate")
NO_TAG = 0  # hops between clips: noise only


def _bucket(key: str) -> int:
    return int(hashlib.sha1(key.encode()).hexdigest(), 16) % 100


def speaker_part(speaker_bucket: int) -> str:
    """Speech Commands speakers, by pretraining's speaker bucket (kwsgen.train.pretrain.speaker_bucket).

    Buckets 70-99 are held out of pretraining; they are the users and the
    measurements of the benchmarks, so the bank never holds them.
    """
    if speaker_bucket >= 70:
        return "held_out"
    return "calibrate" if speaker_bucket >= 60 else "train"


def sentence_part(path: Path) -> str:
    """Spoken sentences carry no speaker, so they are split by file: half train, 15% calibrate, 35% held out."""
    b = _bucket(f"kwsgen-sentence:{path.stem}")
    return "train" if b < 50 else "calibrate" if b < 65 else "held_out"


def kept_out_of_pretraining(path: Path) -> bool:
    """Sentences that calibrate or measure kwsgen (all but the bank's train part) never pretrain a base."""
    return path.parent.name == "sentences" and sentence_part(path) != "train"


def wake_phrase_part(path: Path) -> str:
    """15% of the wake-phrase clips train, 7% calibrate; the rest stay out to keep the bank small."""
    b = _bucket(f"kwsgen-wake:{path.parent.name}/{path.stem}")
    return "train" if b < 15 else "calibrate" if b < 22 else "unused"


def words_of(tag: str) -> set[str]:
    """The words of a tag, lowercased ("smart_mirror" -> {"smart", "mirror"})."""
    return {w for w in re.split(r"[\s_\-]+", tag.lower()) if w}


@dataclass
class NegativeBank:
    features: np.ndarray  # int8 [hops, n_coeffs], all streams one after another
    peaks: np.ndarray  # uint16 [hops]: max |sample| of each hop's window (for the energy filter)
    tags: np.ndarray  # uint8 [hops]: index into `tag_names`; 0 = no word (noise between clips)
    tag_names: list[str]
    streams: np.ndarray  # int64 [n, 2]: first hop, end hop
    stream_parts: list[str]
    stream_kinds: list[str]  # words, sentences, wake phrases
    minmax: MinMax
    frontend: str  # config_digest of the front end the features were made with

    @property
    def hours(self) -> float:
        return len(self.features) * 320 / 16000 / 3600

    def excluded_tags(self, keywords: list[str]) -> np.ndarray:
        """bool per tag: the tag holds one of the keywords (case-insensitive, word by word)."""
        wanted = set().union(*(words_of(k) for k in keywords)) if keywords else set()
        return np.array([i != NO_TAG and bool(words_of(name) & wanted) for i, name in enumerate(self.tag_names)])

    def keyword_hops(self, keywords: list[str]) -> np.ndarray:
        """bool per hop: a keyword (or a phrase holding one) is under it."""
        return self.excluded_tags(keywords)[self.tags]

    def window_starts(self, cascade_len: int, part: str, keywords: list[str], step: int = 1) -> np.ndarray:
        """First hops of every `step`-th window of `cascade_len` hops inside one stream of `part`, no keyword in it."""
        bad = self.keyword_hops(keywords).astype(np.int64)
        bad_before = np.concatenate([[0], np.cumsum(bad)])
        starts = []
        for (first, end), p in zip(self.streams, self.stream_parts, strict=True):
            if p != part or end - first < cascade_len:
                continue
            s = np.arange(first, end - cascade_len + 1, step)
            clean = bad_before[s + cascade_len] - bad_before[s] == 0
            starts.append(s[clean])
        return np.concatenate(starts) if starts else np.zeros(0, np.int64)

    def word_windows(self, word: str, cascade_len: int, part: str) -> np.ndarray:
        """First hops of a window of `cascade_len` hops centred on each clip of `word` (a tag of its own) in `part`."""
        if word.lower() not in self.tag_names:
            return np.zeros(0, np.int64)
        on = np.concatenate([[0], (self.tags == self.tag_names.index(word.lower())).astype(np.int8), [0]])
        firsts, ends = np.flatnonzero(np.diff(on) == 1), np.flatnonzero(np.diff(on) == -1)
        starts = []
        for (first, end), p in zip(self.streams, self.stream_parts, strict=True):
            if p != part:
                continue
            inside = (firsts >= first) & (ends <= end)
            s = firsts[inside] + (ends[inside] - firsts[inside] - cascade_len) // 2
            starts.append(s[(s >= first) & (s + cascade_len <= end)])
        return np.concatenate(starts) if starts else np.zeros(0, np.int64)

    def windows(self, starts: np.ndarray, cascade_len: int) -> np.ndarray:
        """int8 model inputs [n, cascade_len, n_coeffs] beginning at `starts`."""
        idx = np.asarray(starts, np.int64)[:, None] + np.arange(cascade_len)
        return self.features[idx]

    def rescaled(self, minmax: MinMax) -> NegativeBank:
        """The same bank for another min/max scaling, approximately (each int8 step taken at its centre)."""
        if np.array_equal(minmax.min, self.minmax.min) and np.array_equal(minmax.max, self.minmax.max):
            return self
        lo, hi = self.minmax.min.astype(np.float64), self.minmax.max.astype(np.float64)
        mfcc = lo + (self.features.astype(np.float64) + 128) * (hi - lo) / 255
        features = minmax.scale(np.round(mfcc).astype(np.int64))
        return NegativeBank(
            features,
            self.peaks,
            self.tags,
            self.tag_names,
            self.streams,
            self.stream_parts,
            self.stream_kinds,
            minmax,
            self.frontend,
        )

    def save(self, path: Path) -> None:
        from ..fsutil import atomic_open

        with atomic_open(path, "wb", encoding=None) as f:
            np.savez_compressed(
                f,
                features=self.features,
                peaks=self.peaks,
                tags=self.tags,
                tag_names=np.array(self.tag_names),
                streams=self.streams,
                stream_parts=np.array(self.stream_parts),
                stream_kinds=np.array(self.stream_kinds),
                minmax_min=self.minmax.min,
                minmax_max=self.minmax.max,
                frontend=np.array(self.frontend),
            )

    @classmethod
    def load(cls, path: Path) -> NegativeBank:
        try:
            d = np.load(path)
            return cls(
                features=d["features"],
                peaks=d["peaks"],
                tags=d["tags"],
                tag_names=[str(t) for t in d["tag_names"]],
                streams=d["streams"].astype(np.int64),
                stream_parts=[str(p) for p in d["stream_parts"]],
                stream_kinds=[str(k) for k in d["stream_kinds"]],
                minmax=MinMax(d["minmax_min"], d["minmax_max"]),
                frontend=str(d["frontend"]),
            )
        except (OSError, KeyError, ValueError) as exc:
            raise KwsgenError(f"not a kwsgen negative bank ({exc})", path) from None


def shipped_bank(config: FrontendConfig, minmax: MinMax) -> NegativeBank:
    """The bank shipped with kwsgen, scaled for `minmax`; only for the default front end."""
    bank = NegativeBank.load(package_data(BANK_FILE))
    if bank.frontend != config_digest(config):
        raise KwsgenError(
            "the shipped negative bank is made for the default front end, and this project's [frontend] differs: "
            'set [negatives] source = "none" (or pretrain a base and rebuild the bank with '
            "host_tools/scripts/make_negative_bank.py)"
        )
    return bank.rescaled(minmax)


def sample_windows(
    bank: NegativeBank, n: int, cascade_len: int, keywords: list[str], rng: np.random.Generator, part: str = "train"
) -> np.ndarray:
    """`n` int8 inputs cut at random offsets from the bank's `part`, none touching a keyword."""
    starts = bank.window_starts(cascade_len, part, keywords)
    if n <= 0 or not len(starts):
        return np.zeros((0, cascade_len, bank.features.shape[1]), np.int8)
    return bank.windows(rng.choice(starts, n, replace=True), cascade_len)
