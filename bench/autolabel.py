"""Auto-labelling accuracy on recordings with known word positions.

Two sets, each with its truth known by construction:
  - the example project (synthetic speakers), whose generator kept every
    word's position in truth.csv;
  - recordings composed here from real Speech Commands clips (../shared/data),
    the clean ones (35 dB or more between a clip's loudest 10 ms frame and its
    10th percentile, so that a word's extent is well defined):
    3 to 6 words per recording, each cut to its word (the region around the
    clean clip's loudest 10 ms frame that stays within 20 dB of it, across
    dips of at most 100 ms; 10 ms fades) and levelled to within 3 dB of the
    others, as one person repeating words would be; 0.5 to 1.1 s apart, over a
    continuous real background-noise recording at 5 to 30 dB SNR. The word's
    extent is its true position.

A word counts as found when a detected utterance's centre lies within 100 ms
of its true centre. Prints JSON.

Usage: python bench/autolabel.py [--recordings N]
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import sys
from collections import defaultdict
from pathlib import Path

import numpy as np
import soundfile as sf

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from results import save  # noqa: E402  (bench/results.py)

from kwsgen.audio import read_audio  # noqa: E402
from kwsgen.project import Project, example_project_dir  # noqa: E402
from kwsgen.project.autolabel import find_utterances, match_centres  # noqa: E402
from kwsgen.project.settings import AutolabelSection  # noqa: E402

SHARED = Path(os.environ.get("KWSGEN_SHARED_DATA", REPO.parent / "shared" / "data"))
TOLERANCE = 1600  # 100 ms
STEADY = ("white_noise", "pink_noise", "running_tap", "exercise_bike")  # the others are clatter and a cat
WORDS = ["yes", "no", "on", "off", "up", "down", "left", "right", "stop", "go"]


def evaluate(cases: list[tuple[np.ndarray, list[int]]], cfg: AutolabelSection) -> dict:
    found = missed = extra = 0
    errors: list[float] = []
    for audio, centres in cases:
        m = match_centres([u.centre for u in find_utterances(audio, cfg)], centres, TOLERANCE)
        found, missed, extra = found + m.found, missed + m.missed, extra + m.extra
        errors += m.centre_errors_ms
    return {
        "recordings": len(cases),
        "utterances": found + missed,
        "found": found,
        "recall": round(found / max(1, found + missed), 4),
        "extra_detections": extra,
        "centre_error_ms_median": round(float(np.median(errors)), 1) if errors else None,
        "centre_error_ms_p95": round(float(np.percentile(errors, 95)), 1) if errors else None,
        "centre_error_ms_max": round(float(max(errors)), 1) if errors else None,
    }


def example_cases() -> list[tuple[np.ndarray, list[int]]]:
    root = example_project_dir()
    project = Project.open(root)
    truth: dict[str, list[int]] = defaultdict(list)
    with open(root / "truth.csv", newline="") as f:
        for row in csv.DictReader(f):
            truth[row["file"]].append((int(row["start"]) + int(row["end"])) // 2)
    return [(read_audio(project.recording_path(file)), centres) for file, centres in sorted(truth.items())]


def word_extent(clip: np.ndarray) -> tuple[int, int]:
    """The word in a clean clip: grown from its loudest 10 ms frame while frames stay within
    20 dB of it, across dips of at most 100 ms (so a click far from the word is not part of it)."""
    x = clip.astype(np.float64)
    n = len(x) // 160
    db = 10 * np.log10(np.mean(x[: n * 160].reshape(n, 160) ** 2, axis=1) + 1e-12)
    loud = db > db.max() - 20
    peak = int(np.argmax(db))
    lo = hi = peak
    while True:
        ahead = np.flatnonzero(loud[hi + 1 : hi + 12])
        if ahead.size == 0:
            break
        hi += int(ahead[0]) + 1
    while True:
        behind = np.flatnonzero(loud[max(0, lo - 11) : lo][::-1])
        if behind.size == 0:
            break
        lo -= int(behind[0]) + 1
    return lo * 160, (hi + 1) * 160


def clean(path: Path) -> bool:
    """A clip whose word stands 35 dB above its own background: its extent is well defined."""
    x = sf.read(path, dtype="float64")[0]
    n = len(x) // 160
    db = 10 * np.log10(np.mean(x[: n * 160].reshape(n, 160) ** 2, axis=1) + 1e-12)
    return db.max() - np.percentile(db, 10) >= 35


def composed_cases(n_recordings: int, seed: int = 7) -> list[tuple[np.ndarray, list[int]]]:
    """Real words with gaps over a continuous real noise bed, as a person recording at a desk."""
    rng = np.random.default_rng(seed)
    pools = {w: [f for f in sorted((SHARED / "speech_commands_v2" / w).glob("*.flac")) if clean(f)] for w in WORDS}
    noise_files = sorted((SHARED / "background_noise").glob("*.flac"))
    noises = [sf.read(f, dtype="float64")[0] for f in noise_files]
    fade = 160  # 10 ms fades inside the word's extent
    ramp = np.sin(np.linspace(0, np.pi / 2, fade)) ** 2
    cases = []
    for _ in range(n_recordings):
        chosen = rng.choice(WORDS, int(rng.integers(3, 7)))
        pos = int(rng.uniform(0.4, 0.8) * 16000)
        audio, centres, words = np.zeros(pos), [], []
        for w in chosen:
            clip = sf.read(pools[w][int(rng.integers(len(pools[w])))], dtype="float64")[0]
            start, end = word_extent(clip)
            word = clip[start:end].copy()
            # One person repeating words speaks at a steady level: within +-3 dB.
            word *= 0.1 * 10 ** (rng.uniform(-3, 3) / 20) / (np.sqrt(np.mean(word**2)) + 1e-12)
            word[:fade] *= ramp[: len(word[:fade])]
            word[-fade:] *= ramp[::-1][-len(word[-fade:]) :]
            centres.append(pos + len(word) // 2)
            gap = int(rng.uniform(0.5, 1.1) * 16000)
            audio = np.concatenate([audio, word, np.zeros(gap)])
            pos += len(word) + gap
            words.append(word)
        which = int(rng.integers(len(noises)))
        bed = noises[which]
        offset = int(rng.integers(0, max(1, len(bed) - len(audio))))
        bed = np.resize(bed[offset:], len(audio))
        speech_rms = np.sqrt(np.mean(np.concatenate(words) ** 2))
        snr = rng.uniform(5, 30)
        audio = audio + bed / (np.sqrt(np.mean(bed**2)) + 1e-12) * speech_rms * 10 ** (-snr / 20)
        audio = np.clip(np.round(audio * 32768), -32768, 32767).astype(np.int16)
        cases.append((audio, centres, noise_files[which].stem, float(snr)))
    return cases


def breakdown(cases, cfg: AutolabelSection) -> dict:
    """Recall by background noise and by SNR band."""
    out: dict[str, dict] = {"by_noise": {}, "by_snr_db": {}}
    for name in sorted({c[2] for c in cases}):
        out["by_noise"][name] = evaluate([(a, t) for a, t, n, _ in cases if n == name], cfg)["recall"]
    for lo, hi in ((5, 10), (10, 15), (15, 20), (20, 30)):
        subset = [(a, t) for a, t, _, snr in cases if lo <= snr < hi]
        out["by_snr_db"][f"{lo}-{hi}"] = evaluate(subset, cfg)["recall"]
    steady = [(a, t) for a, t, n, snr in cases if n in STEADY and snr >= 15]
    out["steady_noise_snr_15_plus"] = evaluate(steady, cfg)
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--recordings", type=int, default=200, help="composed real-speech recordings")
    args = parser.parse_args()
    cfg = AutolabelSection()
    report = {
        "benchmark": "autolabel",
        "tolerance_ms": 100,
        "settings": cfg.__dict__,
        "example_project_synthetic_speech": evaluate(example_cases(), cfg),
    }
    if (SHARED / "speech_commands_v2").is_dir():
        cases = composed_cases(args.recordings)
        report["speech_commands_composed"] = {**evaluate([(a, t) for a, t, *_ in cases], cfg), **breakdown(cases, cfg)}
    else:
        report["speech_commands_composed"] = {"skipped": f"{SHARED} not found"}
    if args.recordings == 200 and "skipped" not in report["speech_commands_composed"]:
        save("autolabel", report)  # the README quotes the full run
    else:
        json.dump(report, sys.stdout, indent=2)
        print()


if __name__ == "__main__":
    main()
