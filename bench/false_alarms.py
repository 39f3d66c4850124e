"""False alarms and misses on long audio, for the default pipeline in both device modes.

Prints one JSON document. Two streams are built from ../shared/data:

  - negative: wake phrases of 50+ speakers, Speech Commands' unknown words
    and silence clips, and the background-noise recordings, one after another
    with short noisy gaps: no target keyword anywhere, about --minutes long;
  - positive: yes / no / on / off clips of Speech Commands speakers that
    pretraining held out, 2 to 3.5 s apart over background noise, with the
    time of every keyword known.

Both run through the firmware-exact Python simulation (the same lines the
device prints), in energy-filter mode (the default) and in continuous mode,
for two models trained with kwsgen.toml's defaults:

  - example: the shipped example project's (synthetic speakers only):
    build/demo/project's if `make demo` made it, else trained here;
  - speech-commands: the user-like project of bench/transfer.py (real
    speakers that pretraining held out, split by speaker), trained here; its
    streams use only its Test speakers' clips.

Unknown-word and silence clips come only from speakers pretraining held out
(and, for speech-commands, from its Test speakers). The wake phrases and the
background-noise recordings were in pretraining (as unknown words and noise):
the base model has heard those very clips, which flatters its false-alarm
rate somewhat. Events are scored as `kwsgen run --truth` scores them: a
detection counts when the centre of its window lies in the keyword's 1.25 s
segment; repeats of a detected keyword are not false alarms. The negative
stream's false alarms are also broken down by what was under the window's
centre (which wake phrase, unknown words, silence clips, which noise), and
filter mode reports what higher UNK thresholds would give.

Usage: python bench/false_alarms.py [--minutes 30] [--keywords 200] [--seed 1] [--models example,speech-commands]
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


def allowed_speaker(path: Path, speakers: set[str] | None) -> bool:
    """Held out of pretraining, and (when given) one of the model's Test speakers."""
    speaker = speaker_of(path)
    return speaker_bucket(speaker) >= 70 and (speakers is None or speaker in speakers)


def source_of(path: Path) -> str:
    if path.parent.parent == DATA / "wake_words":
        return f"wake phrase {path.parent.name}"
    return "silence clip" if path.parent.name == "_silence_" else "unknown word"


def negative_stream(
    rng: np.random.Generator, minutes: float, keywords: list[str], speakers: set[str] | None
) -> tuple[np.ndarray, list[tuple[int, int, str]]]:
    """The stream, and what is where in it: (start, end, source) spans."""
    sc = DATA / "speech_commands_v2"
    paths = [p for p in (DATA / "wake_words").rglob("*.flac") if p.parent != DATA / "wake_words"]
    words = sorted((sc / "_unknown_").glob("*.flac")) + sorted((sc / "_silence_").glob("*.flac"))
    paths += [p for p in words if allowed_speaker(p, speakers)]
    paths = [p for p in paths if not any(p.name.startswith(f"{k}_") for k in keywords)]
    noise_files = sorted((DATA / "background_noise").glob("*.flac"))
    noises = [clip(p) for p in noise_files]
    pieces: list[tuple[np.ndarray, str]] = []
    # The background recordings themselves, in 10 s pieces, are part of the stream too.
    for path, noise in zip(noise_files, noises, strict=True):
        for i in range(0, len(noise) - 10 * RATE, 30 * RATE):
            pieces.append((noise[i : i + 10 * RATE], f"background noise {path.stem}"))
    order = rng.permutation(len(paths))
    target = int(minutes * 60 * RATE)
    total = sum(len(p) for p, _ in pieces)
    for i in order:
        if total >= target:
            break
        piece = clip(paths[i])
        gap = noise_bed(rng, noises, int(rng.uniform(0.3, 1.5) * RATE), 0.05)
        pieces += [(piece, source_of(paths[i])), (gap, "quiet gap")]
        total += len(piece) + len(gap)
    shuffled = [pieces[i] for i in rng.permutation(len(pieces))]
    spans, at = [], 0
    for audio, source in shuffled:
        if at < target:
            spans.append((at, min(at + len(audio), target), source))
        at += len(audio)
    return np.concatenate([a for a, _ in shuffled])[:target], spans


def by_source(found, spans: list[tuple[int, int, str]], window: int) -> dict:
    """False alarms per kind of audio under the window's centre, beside how much of each the stream holds."""
    starts = np.array([s for s, _, _ in spans])
    table: dict[str, dict] = {}
    for _, _, source in spans:
        table.setdefault(source, {"clips": 0, "false_alarms": 0})["clips"] += 1
    for det in found:
        lo, hi = det.window(window)
        i = int(np.searchsorted(starts, (lo + hi) // 2, side="right")) - 1
        table[spans[i][2]]["false_alarms"] += 1
    return dict(sorted(table.items(), key=lambda kv: -kv[1]["false_alarms"]))


def positive_stream(
    rng: np.random.Generator, count: int, keywords: list[str], speakers: set[str] | None
) -> tuple[np.ndarray, list[Segment]]:
    sc = DATA / "speech_commands_v2"
    noises = [clip(p) for p in sorted((DATA / "background_noise").glob("*.flac"))]
    pool = {k: [p for p in sorted((sc / k).glob("*.flac")) if allowed_speaker(p, speakers)] for k in keywords}
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


def example_model(work: Path):
    demo = REPO / "build" / "demo" / "project"
    if (demo / "models" / "model" / "model.tflite").is_file():
        return load_spec(Project.open(demo)), "build/demo/project (make demo)", None
    root = work / "example"
    shutil.copytree(example_project_dir(), root)
    project = Project.open(root)
    train_project(project, progress=False, log=lambda *_: None)
    return load_spec(project), "the example project, trained here", None


def speech_commands_model(work: Path):
    sys.path.insert(0, str(REPO / "bench"))
    from transfer import speech_commands_project

    project, _ = speech_commands_project(work)
    train_project(project, progress=False, log=lambda *_: None, seed=1)
    md = project.load_metadata()
    test = {speaker_of(Path(f)) for f in md.rows if md.get(f, "Set") == "Test"}
    return load_spec(project), f"Speech Commands user-like project, trained here; {len(test)} Test speakers", test


MODELS = {"example": example_model, "speech-commands": speech_commands_model}


SWEEP = (0.7, 0.8, 0.9)


def evaluate(spec, stream: np.ndarray, name: str, truth: list[Segment], keywords: list[str], spans=None) -> dict:
    start = time.perf_counter()
    lines = run_python(spec, stream).lines
    found = detections(name, lines)
    window, seconds = spec.frontend.cascade_samples, len(stream) / RATE
    result = {
        **score_events(truth, found, keywords, window, seconds).as_dict(),
        "lines": len(lines),
        "seconds_to_run": round(time.perf_counter() - start, 1),
    }
    if spans is not None:
        result["false_alarms_by_source"] = by_source(found, spans, window)
    if spec.device.mode == "filter":
        # In filter mode the threshold only turns a classification into UNK, so a higher one is the same
        # lines with the low scores dropped (to the printed score's hundredths).
        result["higher_unk_threshold"] = {}
        for threshold in SWEEP:
            kept = [d for d in found if d.score >= threshold]
            r = score_events(truth, kept, keywords, window, seconds)
            result["higher_unk_threshold"][str(threshold)] = {
                "false_alarms_per_hour": round(r.false_alarms_per_hour, 1),
                "miss_rate": round(r.miss_rate, 4),
            }
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--minutes", type=float, default=30.0)
    parser.add_argument("--keywords", type=int, default=200)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--models", default=",".join(MODELS))
    args = parser.parse_args()
    if not (DATA / "speech_commands_v2").is_dir():
        sys.exit(f"real speech not found at {DATA} (set KWSGEN_SHARED_DATA)")
    out = {"benchmark": "false alarms and misses on long audio", "models": {}}
    for name in args.models.split(","):
        rng = np.random.default_rng(args.seed)
        with tempfile.TemporaryDirectory() as tmp:
            spec, source, speakers = MODELS[name](Path(tmp))
            keywords = [k for k in spec.labels if k != "Unknown"]
            negative, spans = negative_stream(rng, args.minutes, keywords, speakers)
            positive, truth = positive_stream(rng, args.keywords, keywords, speakers)
            results = {}
            for mode in ("filter", "continuous"):
                mspec = dataclasses.replace(spec, device=dataclasses.replace(spec.device, mode=mode))
                results[mode] = {
                    "negative": evaluate(mspec, negative, "negative", [], keywords, spans),
                    "positive": evaluate(mspec, positive, "positive", truth, keywords),
                }
        out["models"][name] = {
            "model": source,
            "device": dataclasses.asdict(spec.device),
            "unk_threshold": spec.unk_threshold,
            "negative_minutes": round(len(negative) / RATE / 60, 1),
            "positive_keywords": len(truth),
            "positive_minutes": round(len(positive) / RATE / 60, 1),
            "results": results,
        }
    print(json.dumps(out, indent=1))


if __name__ == "__main__":
    main()
