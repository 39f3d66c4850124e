"""Regenerate kwsgen's shipped negative bank (kwsgen/data/negative_bank.npz) from ../shared/data.

The bank (kwsgen/train/negatives.py) is real speech with no keyword of its
own: long streams, stored as the default front end's int8 features (scaled
with the shipped base models' min/max), one row per hop, each hop tagged with
the word under it. Three kinds of stream:

  - words: Speech Commands clips (every word, the command words included:
    training leaves out a project's own keywords by tag) of speakers in
    pretraining's pool, one after another with short gaps; half of the
    streams over background noise at 5-25 dB SNR;
  - sentences: spoken coffee-order sentences (../shared/data/sentences), half
    of them over noise;
  - wake phrases: a fifth of the wake-phrase clips.

Which clip lands in which part (train / calibrate) or in none (held out for
bench/detection.py) is decided by kwsgen.train.negatives' split rules. No
audio is stored, only features, peaks and tags.

Run from the repository root (about a minute):

    python host_tools/scripts/make_negative_bank.py [--data ../shared/data] [--out kwsgen/data/negative_bank.npz]
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from kwsgen.audio import audio_info, read_audio
from kwsgen.frontend import FrontendConfig, frame_signal
from kwsgen.frontend.mfcc import frame_peaks, mfcc_frames
from kwsgen.project.features import config_digest
from kwsgen.train.basemodel import find_base, load_base
from kwsgen.train.negatives import (
    NO_TAG,
    NegativeBank,
    sentence_part,
    speaker_part,
    wake_phrase_part,
)
from kwsgen.train.pretrain import speaker_bucket, speaker_of

SEED = 20261201
RATE = 16000
STREAM_SECONDS = 60


def speech_commands_word(path: Path) -> str:
    """The spoken word: the folder, or for _unknown_ the file-name prefix (bed_0a7c2a8d_nohash_0)."""
    return path.stem.split("_")[0] if path.parent.name == "_unknown_" else path.parent.name


def clips_by_part(data: Path) -> dict[tuple[str, str], list[tuple[Path, str]]]:
    """(kind, part) -> [(clip, tag)]."""
    out: dict[tuple[str, str], list[tuple[Path, str]]] = {}
    for root in ("speech_commands_v2", "speech_commands_v1_mini"):
        for f in sorted((data / root).glob("*/*.flac")):
            if f.parent.name == "_silence_":
                continue
            part = speaker_part(speaker_bucket(speaker_of(f)))
            out.setdefault(("words", part), []).append((f, speech_commands_word(f)))
    for f in sorted((data / "sentences").glob("*.flac")):
        out.setdefault(("sentences", sentence_part(f)), []).append((f, "sentence"))
    for f in sorted((data / "wake_words").glob("*/*.flac")):
        out.setdefault(("wake phrases", wake_phrase_part(f)), []).append((f, f.parent.name.replace("_", " ")))
    return out


def mix(audio: np.ndarray, noise: np.ndarray, snr_db: float, rng: np.random.Generator) -> np.ndarray:
    start = int(rng.integers(0, len(noise) - len(audio)))
    bed = noise[start : start + len(audio)]
    speech = np.sqrt(np.mean(audio[np.abs(audio) > 0.01 * np.abs(audio).max()] ** 2) + 1e-12)
    gain = speech / (np.sqrt(np.mean(bed**2)) + 1e-12) / 10 ** (snr_db / 20)
    return audio + gain * bed


def build_stream(
    clips: list[tuple[Path, str]], tag_index: dict[str, int], noises: list[np.ndarray], noisy: bool, rng
) -> tuple[np.ndarray, np.ndarray]:
    """float audio of the clips with 0.1-0.6 s gaps, and a tag per sample."""
    pieces, tags = [], []
    for path, tag in clips:
        gap = int(rng.uniform(0.1, 0.6) * RATE)
        pieces += [np.zeros(gap), read_audio(path).astype(np.float64) / 32768]
        tags += [np.full(gap, NO_TAG, np.uint8), np.full(len(pieces[-1]), tag_index[tag], np.uint8)]
    audio, tag = np.concatenate(pieces), np.concatenate(tags)
    noise = noises[int(rng.integers(len(noises)))]
    if noisy:
        audio = mix(audio, np.resize(noise, max(len(noise), len(audio) + 1)), rng.uniform(5, 25), rng)
    else:  # a quiet room rather than digital silence between the clips
        audio = audio + 0.002 * np.resize(noise, len(audio)) / (np.std(noise) + 1e-12)
    return np.clip(np.round(audio * 32767), -32768, 32767).astype(np.int16), tag


def chunks(clips: list[tuple[Path, str]], seconds: float) -> list[list[tuple[Path, str]]]:
    """Consecutive runs of clips of about `seconds` of audio each (gaps not counted)."""
    out, run, total = [], [], 0.0
    for clip in clips:
        run.append(clip)
        total += audio_info(clip[0]).seconds
        if total >= seconds:
            out.append(run)
            run, total = [], 0.0
    return [*out, run] if run else out


def hop_tags(sample_tags: np.ndarray, n_hops: int, config: FrontendConfig) -> np.ndarray:
    """A hop's tag: any word's tag under its window (gaps are longer than a window, so at most one)."""
    idx = np.arange(n_hops)[:, None] * config.hop_size + np.arange(config.window_size)
    return sample_tags[idx].max(axis=1)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=Path(__file__).resolve().parents[3] / "shared" / "data")
    parser.add_argument("--out", type=Path, default=Path("kwsgen/data/negative_bank.npz"))
    args = parser.parse_args()
    rng = np.random.default_rng(SEED)
    config = FrontendConfig()
    minmax = load_base(find_base("kws25k")).minmax
    noises = [read_audio(p).astype(np.float64) / 32768 for p in sorted((args.data / "background_noise").glob("*.flac"))]
    groups = clips_by_part(args.data)
    tag_names = ["", *sorted({tag for clips in groups.values() for _, tag in clips})]
    tag_index = {t: i for i, t in enumerate(tag_names)}
    features, peaks, tags, streams, parts, kinds = [], [], [], [], [], []
    at = 0
    for (kind, part), clips in sorted(groups.items()):
        if part not in ("train", "calibrate"):
            continue
        order = [clips[i] for i in rng.permutation(len(clips))]
        for n, chunk in enumerate(chunks(order, STREAM_SECONDS)):
            audio, sample_tags = build_stream(chunk, tag_index, noises, n % 2 == 1, rng)
            frames = frame_signal(audio, config)
            features.append(minmax.scale(mfcc_frames(frames, config)))
            peaks.append(np.minimum(frame_peaks(frames), 65535).astype(np.uint16))
            tags.append(hop_tags(sample_tags, len(frames), config))
            streams.append((at, at + len(frames)))
            parts.append(part)
            kinds.append(kind)
            at += len(frames)
        print(f"{kind} / {part}: {len(clips)} clips", file=sys.stderr)
    bank = NegativeBank(
        np.concatenate(features),
        np.concatenate(peaks),
        np.concatenate(tags),
        tag_names,
        np.array(streams, np.int64),
        parts,
        kinds,
        minmax,
        config_digest(config),
    )
    bank.save(args.out)
    print(
        f"wrote {args.out}: {len(streams)} streams, {bank.hours:.2f} h, {len(tag_names) - 1} tags, "
        f"{args.out.stat().st_size // 1024} KB"
    )


if __name__ == "__main__":
    main()
