"""Shared fixtures: the real-speech data beside the checkout, and test signals."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

REPO = Path(__file__).resolve().parents[1]
SHARED_DATA = Path(os.environ.get("KWSGEN_SHARED_DATA", REPO.parent / "shared" / "data"))


def in_ci() -> bool:
    """CI has the shared data and the tools: there a missing one is a failure, never a skip."""
    return os.environ.get("CI", "").lower() in ("true", "1", "yes")


@pytest.fixture(scope="session")
def shared_data() -> Path:
    if not (SHARED_DATA / "speech_commands_v2").is_dir():
        why = f"real speech data not found at {SHARED_DATA} (set KWSGEN_SHARED_DATA to its folder)"
        if in_ci():
            pytest.fail(f"{why}; CI=true, where it must be there")
        pytest.skip(why)
    return SHARED_DATA


def read_int16(path: Path) -> np.ndarray:
    return sf.read(str(path), dtype="int16")[0]


@pytest.fixture(scope="session")
def speech_sample(shared_data: Path) -> list[np.ndarray]:
    """A spread of real 1 s clips: every word folder, several speakers, silence and unknown words."""
    clips = []
    for folder in sorted((shared_data / "speech_commands_v2").iterdir()):
        if folder.is_dir():
            files = sorted(folder.glob("*.flac"))
            clips += [read_int16(f) for f in files[:: max(1, len(files) // 12)][:12]]
    return clips


@pytest.fixture(scope="session")
def long_speech(speech_sample: list[np.ndarray]) -> np.ndarray:
    """The sample clips back to back: one long signal, one C run."""
    return np.concatenate(speech_sample)
