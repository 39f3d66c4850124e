"""Auxiliary Unknown inputs for transfer learning: other words and noise, added every epoch.

The shipped set (kwsgen/data/auxiliary_unknown.npz, made by
host_tools/scripts/make_auxiliary_set.py from text-to-speech and synthetic noise)
holds int32 MFCCs for the default front end. A folder of audio files works
with any front end: every file is cut into one-second clips. Words that are
labels of the project are left out, so a keyword never trains as Unknown.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from ..audio import read_audio
from ..errors import KwsgenError
from ..frontend import FrontendConfig, MinMax, mfcc_batch
from ..project.features import config_digest
from ..resources import package_data

AUDIO_SUFFIXES = (".wav", ".flac", ".ogg")


def shipped_auxiliary(config: FrontendConfig, exclude: list[str]) -> tuple[np.ndarray, list[str]]:
    """int32 MFCCs [n, windows, coefficients] of the shipped set, and each item's word."""
    data = np.load(package_data("auxiliary_unknown.npz"))
    if str(data["frontend"]) != config_digest(config):
        raise KwsgenError(
            "the shipped auxiliary Unknown set is made for the default front end, and this project's [frontend] "
            "differs: set [augmentation] auxiliary_source to a folder of audio (other words, noise), or to none"
        )
    words = [str(w) for w in data["words"]]
    lowered = {e.lower() for e in exclude}
    keep = [i for i, w in enumerate(words) if w.lower() not in lowered]
    return data["mfcc"][keep], [words[i] for i in keep]


def folder_auxiliary(folder: Path, config: FrontendConfig) -> tuple[np.ndarray, list[str]]:
    """int32 MFCCs of one-second clips cut from every audio file in `folder` (recursively)."""
    files = sorted(p for p in folder.rglob("*") if p.suffix.lower() in AUDIO_SUFFIXES)
    if not files:
        raise KwsgenError("holds no audio files (.wav, .flac, .ogg) for auxiliary Unknown inputs", folder)
    span = config.window_size + (config.cascade_len - 1) * config.hop_size
    clips, names = [], []
    for f in files:
        audio = read_audio(f, resample=True, mono=True)
        for start in range(0, max(1, len(audio) - span + 1), span):
            clip = audio[start : start + span]
            if len(clip) == span:
                clips.append(clip)
                names.append(f.name)
    if not clips:
        raise KwsgenError(f"holds no audio file of at least {span} samples (one model input)", folder)
    mfcc = np.stack([m[: config.cascade_len] for m in mfcc_batch(clips, config)])
    return mfcc, names


def auxiliary_features(
    source: str, root: Path, config: FrontendConfig, minmax: MinMax, exclude: list[str]
) -> np.ndarray:
    """int8 model inputs for [augmentation] auxiliary_source (shipped, none, or a folder relative to root)."""
    if source == "none":
        return np.zeros((0, config.cascade_len, config.n_coeffs), np.int8)
    if source == "shipped":
        mfcc, _ = shipped_auxiliary(config, exclude)
    else:
        folder = (root / source).resolve()
        if not folder.is_dir():
            raise KwsgenError("[augmentation] auxiliary_source is not shipped, none, or an existing folder", folder)
        mfcc, _ = folder_auxiliary(folder, config)
    return np.stack([minmax.scale(m) for m in mfcc])
