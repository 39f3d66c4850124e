"""Regenerate kwsgen/data/yes.flac, the one-second clip the demo runs on.

espeak-ng (Debian package espeak-ng) says "yes"; the word is resampled to
16 kHz, centred in one second and mixed with quiet deterministic noise.
Run from the repository root: python host_tools/scripts/make_demo_clip.py
"""

from __future__ import annotations

import subprocess
import tempfile
from pathlib import Path

import numpy as np
import soundfile as sf

from kwsgen.audio import float_to_int16, resample_to, write_wav

OUT = Path("kwsgen/data/yes.flac")


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        wav = Path(tmp) / "yes.wav"
        subprocess.run(["espeak-ng", "-v", "en-us", "-s", "150", "-p", "45", "-w", str(wav), "yes"], check=True)
        speech, rate = sf.read(wav, dtype="float64")
    speech = resample_to(speech, rate, 16000)
    start = np.flatnonzero(np.abs(speech) > 0.02)
    speech = speech[start[0] : start[-1] + 1]
    clip = np.random.default_rng(2026).normal(0.0, 0.002, 16000)
    offset = (16000 - len(speech)) // 2
    clip[offset : offset + len(speech)] += 0.7 * speech / np.abs(speech).max()
    write_wav(OUT, float_to_int16(clip))
    print(f"wrote {OUT}: {len(speech) / 16000:.2f} s of speech in 1 s")


if __name__ == "__main__":
    main()
