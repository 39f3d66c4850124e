"""Helpers for project tests: synthetic recordings and project snapshots."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import soundfile as sf

from kwsgen.project import Project

RATE = 16000


def word(rng: np.random.Generator, seconds: float = 0.4, freq: float = 300.0, level: float = 0.3) -> np.ndarray:
    """A voiced, word-like burst: harmonics under a smooth envelope."""
    n = int(seconds * RATE)
    t = np.arange(n) / RATE
    env = np.sin(np.pi * np.arange(n) / n) ** 2
    tone = sum(np.sin(2 * np.pi * freq * k * t + rng.uniform(0, 6)) / k for k in range(1, 6))
    return level * env * tone / 2.3


def multi_word_recording(rng: np.random.Generator, n_words: int = 4, noise_db: float = -60.0):
    """Float audio with words at known centres (samples)."""
    lead = int(0.7 * RATE)
    parts, centres, pos = [np.zeros(lead)], [], lead
    for _ in range(n_words):
        w = word(rng, rng.uniform(0.3, 0.5), rng.uniform(150, 400))
        parts += [w, np.zeros(int(rng.uniform(0.8, 1.0) * RATE))]
        centres.append(pos + len(w) // 2)
        pos += len(w) + len(parts[-1])
    audio = np.concatenate([*parts, np.zeros(int(0.5 * RATE))])
    audio += rng.standard_normal(len(audio)) * 10 ** (noise_db / 20)
    return audio, centres


def write(path: Path, audio: np.ndarray, rate: int = RATE, subtype: str = "PCM_16") -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    sf.write(str(path), audio, rate, subtype=subtype)
    return path


def clip(rng: np.random.Generator, seconds: float = 1.0) -> np.ndarray:
    n = int(seconds * RATE)
    audio = rng.standard_normal(n) * 0.001
    w = word(rng)
    start = (n - len(w)) // 2
    audio[start : start + len(w)] += w
    return audio


def snapshot(root: Path) -> dict[str, bytes]:
    return {str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


def new_project(tmp: Path, labels=("yes", "no", "Unknown")) -> Project:
    return Project.create(tmp / "proj", list(labels))
