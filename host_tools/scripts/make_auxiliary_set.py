"""Regenerate kwsgen's shipped auxiliary Unknown set (kwsgen/data/auxiliary_unknown.npz).

Transfer learning adds these as Unknown inputs every epoch ([augmentation]
auxiliary): one-second clips of other words said by the example project's
Train voices (text-to-speech, so nothing here comes from a person), and of
noise (pink, brown, hum, fan, knocks, near-silence) at several levels. They
are stored as the front end's int32 MFCCs for the default configuration, so
any min/max scaling applies to them; each carries its word, so training can
leave out the words a project uses as keywords.

Needs the same Debian packages as make_example_project.py. Run from the
repository root:

    python host_tools/scripts/make_auxiliary_set.py [--out kwsgen/data/auxiliary_unknown.npz]
"""

from __future__ import annotations

import argparse
import io
import sys
import tempfile
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))

from make_example_project import RATE, SPEAKERS, noise, synthesise

from kwsgen.audio import float_to_int16
from kwsgen.frontend import FrontendConfig, mfcc_batch
from kwsgen.fsutil import atomic_write_bytes
from kwsgen.project.features import config_digest

SEED = 20261125
WORDS = [
    "up", "down", "left", "right", "stop", "go", "zero", "one", "two", "three", "four", "five", "six", "seven",
    "eight", "nine", "bed", "bird", "cat", "dog", "house", "tree", "happy", "wow", "marvin", "sheila", "learn",
    "follow", "forward", "backward", "visual", "hello", "water", "music", "light", "morning", "thanks", "okay",
    "maybe", "never",
]  # fmt: skip
NOISES = ["pink", "brown", "hum", "fan", "knocks", "silence"]
LEVELS = [0.003, 0.01, 0.03, 0.1]
CLIPS_PER_NOISE_LEVEL = 4


def word_clip(word: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    clip = 0.003 * noise(str(rng.choice(["pink", "brown", "fan"])), RATE, rng)
    start = int(rng.integers(0, max(1, RATE - len(word))))
    part = word[: RATE - start]
    clip[start : start + len(part)] += part
    return clip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=Path("kwsgen/data/auxiliary_unknown.npz"))
    args = parser.parse_args()
    rng = np.random.default_rng(SEED)
    clips, words = [], []
    voices = [s for s in SPEAKERS if s.set_name == "Train"]
    with tempfile.TemporaryDirectory() as tmp:
        for word in WORDS:
            for speaker in voices:
                clips.append(word_clip(synthesise(speaker, word, Path(tmp), rng), rng))
                words.append(word)
    for kind in NOISES:
        for level in LEVELS:
            for _ in range(CLIPS_PER_NOISE_LEVEL):
                sound = 0.0005 * rng.standard_normal(RATE) if kind == "silence" else level * noise(kind, RATE, rng)
                clips.append(sound)
                words.append(f"noise:{kind}")
    config = FrontendConfig()
    mfcc = np.stack([f[: config.cascade_len] for f in mfcc_batch([float_to_int16(c) for c in clips], config)])
    buf = io.BytesIO()
    np.savez_compressed(buf, mfcc=mfcc.astype(np.int32), words=np.array(words), frontend=config_digest(config))
    atomic_write_bytes(args.out, buf.getvalue())
    print(
        f"wrote {args.out}: {len(clips)} clips ({len(WORDS)} words x {len(voices)} voices, "
        f"{len(clips) - len(WORDS) * len(voices)} noise), {len(buf.getvalue()) // 1024} KB"
    )


if __name__ == "__main__":
    main()
