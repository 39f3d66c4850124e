"""Regenerate kwsgen's example project (kwsgen/data/example_project) from text-to-speech.

Twenty-eight synthetic speakers (espeak-ng accents and voice variants,
flite's awb, kal16, rms and slt voices, festival's kal, ked and slt voices,
each at its own pitch and pace) say "yes", "no", "on" and "off" five times
per recording with gaps between, and other words for the Unknown class. Some
recordings carry background noise made here (pink, brown, hum, fan, knocks);
noise-only recordings are Unknown too. Speakers are split into Train (20),
Validate (4) and Test (4); Validate and Test are espeak-ng voices, because
flite and festival hold only five distinct recorded people, all needed in
Train. Every utterance is labelled in "Training Session" at its true
position, which generation knows exactly. Those positions are also kept
in truth.csv, the ground truth for measuring kwsgen label auto.

Needs the Debian packages espeak-ng, flite, festival, festvox-kallpc16k,
festvox-kdlpc16k and festvox-us-slt-hts. Run from the repository root:

    python host_tools/scripts/make_example_project.py [--out kwsgen/data/example_project]

The same engines and seed give the same audio.
"""

from __future__ import annotations

import argparse
import csv
import itertools
import shutil
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import soundfile as sf

from kwsgen.audio import float_to_int16, resample_to, write_wav
from kwsgen.project import Project, Segment, Session
from kwsgen.project.autolabel import centred_segment
from kwsgen.project.store import Metadata

SEED = 20261124
RATE = 16000
KEYWORDS = ["yes", "no", "on", "off"]
# Other words for Unknown: distinct words, as a user's "anything else" recordings would be. Homophones and
# near-homophones of the keywords ("know", "own", "of", "yeah") are left out: no acoustic model can tell
# "know" from "no", so they would only measure the impossible.
OTHER_WORDS = [
    "up", "down", "left", "right", "stop", "go", "one", "seven", "dog", "bird", "house", "happy", "wow", "learn",
    "zero", "tree", "cat", "bed", "marvin", "sheila", "follow", "music", "water", "light",
]  # fmt: skip
UTTERANCES = 5
SEGMENT = 20000


@dataclass(frozen=True)
class Speaker:
    name: str
    engine: str
    voice: str
    pitch: int  # espeak-ng pitch 0..99; others: unused
    speed: float  # playback-rate factor (>1 is faster and higher)
    set_name: str


SPEAKERS = [
    # Train: 20 voices. flite and festival hold only five distinct recorded people between them (kal, ked, awb,
    # slt, rms), so all of them train; Validate and Test are espeak-ng voices heard nowhere else.
    Speaker("espeak-us-m1", "espeak-ng", "en-us+m1", 40, 1.00, "Train"),
    Speaker("espeak-gb-f2", "espeak-ng", "en-gb+f2", 62, 0.96, "Train"),
    Speaker("espeak-scot-m3", "espeak-ng", "en-gb-scotland+m3", 35, 1.04, "Train"),
    Speaker("espeak-nyc-f1", "espeak-ng", "en-us-nyc+f1", 58, 1.00, "Train"),
    Speaker("espeak-lanc-m7", "espeak-ng", "en-gb-x-gbclan+m7", 45, 0.94, "Train"),
    Speaker("espeak-us-f3", "espeak-ng", "en-us+f3", 72, 1.06, "Train"),
    Speaker("espeak-us-alex", "espeak-ng", "en-us+Alex", 50, 1.02, "Train"),
    Speaker("espeak-gb-annie", "espeak-ng", "en-gb+Annie", 66, 0.97, "Train"),
    Speaker("espeak-us-david", "espeak-ng", "en-us+David", 38, 1.00, "Train"),
    Speaker("espeak-rp-paul", "espeak-ng", "en-gb-x-rp+Paul", 44, 0.95, "Train"),
    Speaker("espeak-carib-andy", "espeak-ng", "en-029+Andy", 52, 1.03, "Train"),
    Speaker("espeak-scot-linda", "espeak-ng", "en-gb-scotland+Linda", 70, 0.99, "Train"),
    Speaker("espeak-nyc-mike", "espeak-ng", "en-us-nyc+Mike", 42, 1.05, "Train"),
    Speaker("flite-awb", "flite", "awb", 0, 1.00, "Train"),
    Speaker("flite-slt", "flite", "slt", 0, 0.97, "Train"),
    Speaker("flite-rms", "flite", "rms", 0, 1.05, "Train"),
    Speaker("flite-kal16", "flite", "kal16", 0, 1.02, "Train"),
    Speaker("festival-kal", "festival", "kal_diphone", 0, 1.03, "Train"),
    Speaker("festival-ked", "festival", "ked_diphone", 0, 0.97, "Train"),
    Speaker("festival-slt", "festival", "cmu_us_slt_arctic_hts", 0, 1.00, "Train"),
    # Validate: 4 voices not in Train.
    Speaker("espeak-rp-f4", "espeak-ng", "en-gb-x-rp+f4", 68, 1.02, "Validate"),
    Speaker("espeak-wmid-m2", "espeak-ng", "en-gb-x-gbcwmd+m2", 30, 0.98, "Validate"),
    Speaker("espeak-us-robert", "espeak-ng", "en-us+Robert", 46, 1.01, "Validate"),
    Speaker("espeak-us-female3", "espeak-ng", "en-us+female3", 75, 0.98, "Validate"),
    # Test: 4 voices heard nowhere else.
    Speaker("espeak-carib-m5", "espeak-ng", "en-029+m5", 48, 1.00, "Test"),
    Speaker("espeak-us-f5", "espeak-ng", "en-us+f5", 80, 0.95, "Test"),
    Speaker("espeak-gb-steph", "espeak-ng", "en-gb+Steph", 64, 1.04, "Test"),
    Speaker("espeak-scot-zac", "espeak-ng", "en-gb-scotland+Zac", 55, 0.97, "Test"),
]


def run(cmd: list[str], **kw) -> None:
    subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, **kw)


def synthesise(speaker: Speaker, text: str, tmp: Path, rng: np.random.Generator) -> np.ndarray:
    """One word as float samples at 16 kHz, trimmed to the speech."""
    wav = tmp / "tts.wav"
    if speaker.engine == "espeak-ng":
        pitch = int(np.clip(speaker.pitch + rng.integers(-6, 7), 0, 99))
        run(
            [
                "espeak-ng",
                "-v",
                speaker.voice,
                "-p",
                str(pitch),
                "-s",
                str(int(rng.integers(135, 175))),
                "-w",
                str(wav),
                text,
            ]
        )
    elif speaker.engine == "flite":
        run(["flite", "-voice", speaker.voice, "-t", text, "-o", str(wav)])
    else:
        script = tmp / "voice.scm"
        script.write_text(f"(voice_{speaker.voice})\n")
        run(["text2wave", "-eval", str(script), "-o", str(wav)], input=text.encode())
    data, rate = sf.read(wav, dtype="float64")
    if data.ndim == 2:
        data = data.mean(axis=1)
    factor = speaker.speed * float(rng.uniform(0.95, 1.05))
    data = resample_to(data, rate, round(RATE / factor))
    loud = np.flatnonzero(np.abs(data) > 0.02 * np.abs(data).max())
    data = data[loud[0] : loud[-1] + 1]
    return data / np.abs(data).max() * float(rng.uniform(0.15, 0.5))


def noise(kind: str, n: int, rng: np.random.Generator) -> np.ndarray:
    """Unit-RMS noise of a few kinds, made here from a seeded generator."""
    if kind == "pink" or kind == "brown":
        spectrum = np.fft.rfft(rng.standard_normal(n))
        f = np.maximum(np.fft.rfftfreq(n, 1 / RATE), 20.0)
        out = np.fft.irfft(spectrum / (f**0.5 if kind == "pink" else f), n)
    elif kind == "hum":
        t = np.arange(n) / RATE
        base = float(rng.choice([50.0, 60.0]))
        out = sum(np.sin(2 * np.pi * base * k * t + rng.uniform(0, 6.3)) / k for k in range(1, 8))
        out = out + 0.1 * rng.standard_normal(n)
    elif kind == "fan":
        spectrum = np.fft.rfft(rng.standard_normal(n))
        f = np.fft.rfftfreq(n, 1 / RATE)
        out = np.fft.irfft(spectrum / (1 + (f / 400.0) ** 2), n)
        out *= 1 + 0.3 * np.sin(2 * np.pi * 1.7 * np.arange(n) / RATE)
    elif kind == "knocks":
        out = 0.02 * rng.standard_normal(n)
        for start in rng.integers(0, max(1, n - 3000), max(2, n // 16000 * 2)):
            decay = np.exp(-np.arange(3000) / float(rng.uniform(150, 600)))
            out[start : start + 3000] += (
                rng.uniform(2, 8) * decay * np.sin(2 * np.pi * rng.uniform(80, 400) * np.arange(3000) / RATE)
            )
    else:
        raise ValueError(kind)
    return out / (np.sqrt(np.mean(out**2)) + 1e-12)


def assemble(
    words: list[np.ndarray], bed: str | None, snr_db: float, rng: np.random.Generator
) -> tuple[np.ndarray, list[tuple[int, int]]]:
    """Words with gaps on a quiet floor (plus optional noise); returns audio and each word's [start, end)."""
    lead, tail = int(rng.uniform(0.6, 0.8) * RATE), int(rng.uniform(0.6, 0.8) * RATE)
    # Word centres at least 1.05 s apart, so that 1.25 s segments overlap only at their edges.
    gaps = []
    for a, b in itertools.pairwise(words):
        least = int(1.05 * RATE) - (len(a) + len(b)) // 2
        gaps.append(max(least, int(rng.uniform(0.35, 0.7) * RATE)))
    n = lead + tail + sum(len(w) for w in words) + sum(gaps)
    audio = 10 ** (-95 / 20) * rng.standard_normal(n)  # a real microphone is never digitally silent
    spans, pos = [], lead
    for i, w in enumerate(words):
        audio[pos : pos + len(w)] += w
        spans.append((pos, pos + len(w)))
        pos += len(w) + (gaps[i] if i < len(gaps) else 0)
    if bed is not None:
        speech_rms = np.sqrt(np.mean(np.concatenate(words) ** 2))
        audio += noise(bed, n, rng) * speech_rms * 10 ** (-snr_db / 20)
    return audio, spans


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=Path("kwsgen/data/example_project"))
    args = parser.parse_args()
    rng = np.random.default_rng(SEED)
    work = Path(tempfile.mkdtemp(prefix="kwsgen-example-"))
    try:
        project = Project.create(work / "project", [*KEYWORDS, "Unknown"])
        md, session, truth = Metadata(), Session("Training Session"), []
        beds = ["pink", "brown", "hum", "fan", "knocks"] + [None] * 12
        for speaker in SPEAKERS:
            for word in [*KEYWORDS, "other"]:
                texts = (
                    [word] * UTTERANCES if word != "other" else list(rng.choice(OTHER_WORDS, UTTERANCES, replace=False))
                )
                utterances = [synthesise(speaker, t, work, rng) for t in texts]
                bed = beds[int(rng.integers(len(beds)))]
                snr = float(rng.uniform(15, 25))
                audio, spans = assemble(utterances, bed, snr, rng)
                file = f"{speaker.name}/{word}.flac"
                write_wav(project.recording_path(file), float_to_int16(audio))
                label = word if word in KEYWORDS else "Unknown"
                md.set(
                    file,
                    {
                        "Set": speaker.set_name,
                        "speaker": speaker.name,
                        "engine": speaker.engine,
                        "keyword": label,
                        "noise": bed or "none",
                        "snr_db": f"{snr:.0f}" if bed else "",
                    },
                )
                for (start, end), text in zip(spans, texts, strict=True):
                    s, e = centred_segment((start + end) // 2, SEGMENT, len(audio))
                    session.segments.append(Segment(file, s, e, label))
                    truth.append((file, text, start, end))
        for i, kind in enumerate(["pink", "hum", "fan", "knocks", "brown", "knocks"]):
            set_name = ["Train", "Train", "Train", "Train", "Validate", "Test"][i]
            file = f"noise/{kind}-{i}.flac"
            n = int(rng.uniform(4, 5) * RATE)
            audio = noise(kind, n, rng) * 10 ** (float(rng.uniform(-42, -32)) / 20)
            write_wav(project.recording_path(file), float_to_int16(audio))
            md.set(
                file,
                {
                    "Set": set_name,
                    "speaker": "noise",
                    "engine": "generated",
                    "keyword": "Unknown",
                    "noise": kind,
                    "snr_db": "",
                },
            )
            for start in range(0, n - SEGMENT + 1, SEGMENT):
                session.segments.append(Segment(file, start, start + SEGMENT, "Unknown"))
        project.save_metadata(md)
        project.save_session(session)
        with open(work / "project" / "truth.csv", "w", newline="") as f:
            writer = csv.writer(f, lineterminator="\n")
            writer.writerow(["file", "word", "start", "end"])
            writer.writerows(truth)
        if args.out.exists():
            shutil.rmtree(args.out)
        shutil.copytree(work / "project", args.out, ignore=shutil.ignore_patterns("models", "cache"))
    finally:
        shutil.rmtree(work, ignore_errors=True)
    size = sum(p.stat().st_size for p in args.out.rglob("*") if p.is_file())
    print(f"wrote {args.out}: {len(SPEAKERS)} speakers, {size / 1e6:.2f} MB")


if __name__ == "__main__":
    main()
