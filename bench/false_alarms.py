"""False alarms and misses on long audio, for the default pipeline in both device modes.

Prints one JSON document. Two streams are built from ../shared/data:

  - negative: wake phrases of 50+ speakers, Speech Commands' unknown words
    and silence clips, and the background-noise recordings, one after another
    with short noisy gaps: no target keyword anywhere, about --minutes long;
  - positive: yes / no / on / off clips of Speech Commands speakers that
    pretraining held out, 2 to 3.5 s apart over background noise, with the
    time of every keyword known.

Both run through the firmware-exact Python simulation (the same lines the
device prints) of the example project's model, in energy-filter mode (the
default) and in continuous mode. Events are scored as `kwsgen run --truth`
scores them: a detection counts when the centre of its window lies in the
keyword's 1.25 s segment; repeats of a detected keyword are not false alarms.

The model: build/demo/project's, if `make demo` made it; else the example
project is trained here first (about a minute).

Usage: python bench/false_alarms.py [--minutes 30] [--keywords 200] [--seed 1]
"""

from __future__ import annotations

import os

for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "2")

import argparse  # noqa: E402
import dataclasses  # noqa: E402
import json  # noqa: E402
import shutil  # noqa: E402
import sys  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402
from pathlib import Path  # noqa: E402

import numpy as np  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from kwsgen.audio import read_audio  # noqa: E402
from kwsgen.firmware.app import load_spec  # noqa: E402
from kwsgen.firmware.engines import run_python  # noqa: E402
from kwsgen.firmware.events import detections, score_events  # noqa: E402
from kwsgen.project import Project, example_project_dir  # noqa: E402
from kwsgen.project.store import Segment  # noqa: E402
from kwsgen.train.pretrain import speaker_bucket, speaker_of  # noqa: E402
from kwsgen.train.transfer import train_project  # noqa: E402

REPO = Path(__file__).resolve().parent.parent
DATA = Path(os.environ.get("KWSGEN_SHARED_DATA", REPO.parent / "shared" / "data"))
RATE = 16000
SEGMENT = 20000


def clip(path: Path) -> np.ndarray:
    return read_audio(path, resample=True, mono=True)


def noise_bed(rng: np.random.Generator, noises: list[np.ndarray], n: int, gain: float) -> np.ndarray:
    source = noises[int(rng.integers(len(noises)))]
    start = int(rng.integers(0, len(source) - n))
    return (source[start : start + n].astype(np.float64) * gain).astype(np.int16)


def negative_stream(rng: np.random.Generator, minutes: float, keywords: list[str]) -> np.ndarray:
    sc = DATA / "speech_commands_v2"
    paths = [p for p in (DATA / "wake_words").rglob("*.flac") if p.parent != DATA / "wake_words"]
    paths += sorted((sc / "_unknown_").glob("*.flac")) + sorted((sc / "_silence_").glob("*.flac"))
    paths = [p for p in paths if not any(p.name.startswith(f"{k}_") for k in keywords)]
    noises = [clip(p) for p in sorted((DATA / "background_noise").glob("*.flac"))]
    pieces, total = [], 0
    # The background recordings themselves, in 10 s pieces, are part of the stream too.
    for noise in noises:
        for i in range(0, len(noise) - 10 * RATE, 30 * RATE):
            pieces.append(noise[i : i + 10 * RATE])
    order = rng.permutation(len(paths))
    target = int(minutes * 60 * RATE)
    total = sum(len(p) for p in pieces)
    for i in order:
        if total >= target:
            break
        piece = clip(paths[i])
        gap = noise_bed(rng, noises, int(rng.uniform(0.3, 1.5) * RATE), 0.05)
        pieces += [piece, gap]
        total += len(piece) + len(gap)
    shuffled = [pieces[i] for i in rng.permutation(len(pieces))]
    return np.concatenate(shuffled)[:target]


def positive_stream(rng: np.random.Generator, count: int, keywords: list[str]) -> tuple[np.ndarray, list[Segment]]:
    sc = DATA / "speech_commands_v2"
    noises = [clip(p) for p in sorted((DATA / "background_noise").glob("*.flac"))]
    pool = {k: [p for p in sorted((sc / k).glob("*.flac")) if speaker_bucket(speaker_of(p)) >= 70] for k in keywords}
    pieces, truth, at = [], [], 0
    for i in range(count):
        word = keywords[i % len(keywords)]
        audio = clip(pool[word][int(rng.integers(len(pool[word])))])
        gap = int(rng.uniform(1.0, 2.5) * RATE)
        bed = noise_bed(rng, noises, gap + len(audio), 0.05).astype(np.int32)
        bed[gap:] += audio
        pieces.append(np.clip(bed, -32768, 32767).astype(np.int16))
        centre = at + gap + len(audio) // 2
        truth.append(Segment("positive", centre - SEGMENT // 2, centre + SEGMENT // 2, word))
        at += len(bed)
    tail = noise_bed(rng, noises, 2 * RATE, 0.05)
    return np.concatenate([*pieces, tail]), truth


def trained_spec(work: Path):
    demo = REPO / "build" / "demo" / "project"
    if (demo / "models" / "model" / "model.tflite").is_file():
        return load_spec(Project.open(demo)), "build/demo/project (make demo)"
    root = work / "example"
    shutil.copytree(example_project_dir(), root)
    project = Project.open(root)
    train_project(project, progress=False, log=lambda *_: None)
    return load_spec(project), "the example project, trained here"


def evaluate(spec, stream: np.ndarray, name: str, truth: list[Segment], keywords: list[str]) -> dict:
    start = time.perf_counter()
    lines = run_python(spec, stream).lines
    report = score_events(truth, detections(name, lines), keywords, spec.frontend.cascade_samples, len(stream) / RATE)
    return {**report.as_dict(), "lines": len(lines), "seconds_to_run": round(time.perf_counter() - start, 1)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--minutes", type=float, default=30.0)
    parser.add_argument("--keywords", type=int, default=200)
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    if not (DATA / "speech_commands_v2").is_dir():
        sys.exit(f"real speech not found at {DATA} (set KWSGEN_SHARED_DATA)")
    rng = np.random.default_rng(args.seed)
    with tempfile.TemporaryDirectory() as tmp:
        spec, source = trained_spec(Path(tmp))
        keywords = [k for k in spec.labels if k != "Unknown"]
        negative = negative_stream(rng, args.minutes, keywords)
        positive, truth = positive_stream(rng, args.keywords, keywords)
        results = {}
        for mode in ("filter", "continuous"):
            mspec = dataclasses.replace(spec, device=dataclasses.replace(spec.device, mode=mode))
            results[mode] = {
                "negative": evaluate(mspec, negative, "negative", [], keywords),
                "positive": evaluate(mspec, positive, "positive", truth, keywords),
            }
    print(
        json.dumps(
            {
                "benchmark": "false alarms and misses on long audio",
                "model": source,
                "device": dataclasses.asdict(spec.device),
                "unk_threshold": spec.unk_threshold,
                "negative_minutes": round(len(negative) / RATE / 60, 1),
                "positive_keywords": len(truth),
                "positive_minutes": round(len(positive) / RATE / 60, 1),
                "results": results,
            },
            indent=1,
        )
    )


if __name__ == "__main__":
    main()
