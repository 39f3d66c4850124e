"""Synthetic speakers for pretraining: espeak-ng accents x voice variants saying the command words.

Speech Commands gives a base model about 150 real speakers per command word
here, too few to learn what a word sounds like across voices. espeak-ng can
say every word in hundreds of voices (8 English accents x about 85 voice
variants, each at a random speed and pitch): not real people, but more
variety of pitch, timbre and timing than the real clips hold. Pretraining
mixes them in at a fixed share of each word's inputs, so real speech still
leads. The phonetic neighbours of the command words (kwsgen.train.confusables)
said the same way go to the unknown class: the words a keyword is mistaken
for.

Measured (docs/training.md): at a share of 0.3 the base got worse on real
held-out speakers, at 0.1 no better, so the shipped bases use none; the
option is there to try again with more real data or several seeds.

The example project's Validate and Test voices
(host_tools/scripts/make_example_project.py) are never used, so its
measurements stay on voices nothing heard.
"""

from __future__ import annotations

import re
import subprocess
from functools import lru_cache

import numpy as np

from .confusables import espeak_available, neighbours, synthesise

ACCENTS = (
    "en-us",
    "en-gb",
    "en-gb-scotland",
    "en-gb-x-gbclan",
    "en-gb-x-rp",
    "en-gb-x-gbcwmd",
    "en-029",
    "en-us-nyc",
)
# accent + variant of the example project's Validate and Test speakers, by the variant's name or file
RESERVED = {
    ("en-gb-x-rp", "f4"),
    ("en-gb-x-gbcwmd", "m2"),
    ("en-us", "robert"),
    ("en-us", "female3"),
    ("en-029", "m5"),
    ("en-us", "f5"),
    ("en-gb", "steph"),
    ("en-gb-scotland", "zac"),
}
# variants that sound like no person: whispering, robots, effects
UNNATURAL = re.compile(r"whisper|robo|demonic|fast|announcer|croak|half-life", re.IGNORECASE)


@lru_cache(maxsize=1)
def voice_variants() -> list[tuple[str, str]]:
    """(name, file) of every espeak-ng voice variant that sounds like a person."""
    listing = subprocess.run(
        ["espeak-ng", "--voices=variant"], capture_output=True, text=True, check=True, timeout=30
    ).stdout
    out = []
    for line in listing.splitlines()[1:]:
        fields = line.split()
        # a file name with a space ("Mr serious") splits into six fields: left out, espeak-ng cannot take it
        if len(fields) == 5 and fields[4].startswith("!v/") and not UNNATURAL.search(fields[3] + fields[4]):
            out.append((fields[3], fields[4][3:]))
    return out


def pretraining_voices(rng: np.random.Generator) -> list[str]:
    """Every accent x variant, the reserved ones left out, in a random order (voices cycle through it)."""
    voices = [
        f"{accent}+{file}"
        for accent in ACCENTS
        for name, file in voice_variants()
        if (accent, name.lower()) not in RESERVED and (accent, file.lower()) not in RESERVED
    ]
    return [voices[i] for i in rng.permutation(len(voices))]


def synthetic_words(
    words: tuple[str, ...], per_word: int, confusables: int, rng: np.random.Generator
) -> tuple[dict[str, list[np.ndarray]], list[np.ndarray]]:
    """({word: int16 one-second clips}, clips of the words' phonetic neighbours); empty without espeak-ng."""
    if per_word <= 0 or not espeak_available():
        return {}, []
    voices = pretraining_voices(rng)
    said = {w: synthesise([w], per_word, rng, [], voices) for w in words}
    avoid = {w.lower() for w in words}
    near = sorted({n for w in words for n in neighbours(w, confusables, avoid)})
    # each neighbour in a fiftieth as many voices: ~150 neighbours would otherwise outnumber the words threefold
    return said, synthesise(near, max(1, per_word // 50), rng, [], voices) if near else []
