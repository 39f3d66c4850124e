"""Audio input: anything but 16 kHz mono 16-bit PCM gets a one-line error
naming the file and the problem, or is converted on request. Source files
are never changed."""

from __future__ import annotations

import hashlib
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from kwsgen.audio import read_audio, write_wav
from kwsgen.errors import AudioError

TONE = (np.sin(2 * np.pi * 440 * np.arange(16000) / 16000) * 10000).astype(np.int16)


def digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def write(path: Path, data, rate=16000, subtype="PCM_16", fmt=None) -> Path:
    sf.write(str(path), data, rate, subtype=subtype, format=fmt)
    return path


def expect_error(path: Path, pattern: str, **kw) -> None:
    before = digest(path) if path.is_file() else None
    with pytest.raises(AudioError, match=pattern) as info:
        read_audio(path, **kw)
    message = str(info.value)
    assert "\n" not in message and message.startswith(str(path)), message
    if before is not None:
        assert digest(path) == before, "the source file must not change"


def test_good_file_round_trip(tmp_path):
    path = write(tmp_path / "ok.wav", TONE)
    assert np.array_equal(read_audio(path), TONE)
    flac = tmp_path / "ok.flac"
    write_wav(flac, TONE)
    assert np.array_equal(read_audio(flac), TONE)


def test_other_sample_rate(tmp_path):
    path = write(tmp_path / "cd.wav", np.zeros(44100, np.int16), rate=44100)
    expect_error(path, "sample rate is 44100 Hz; kwsgen needs 16000 Hz \\(use --resample")
    tone = (np.sin(2 * np.pi * 440 * np.arange(44100) / 44100) * 10000).astype(np.int16)
    write(path, tone, rate=44100)
    before = digest(path)
    converted = read_audio(path, resample=True)
    assert len(converted) == 16000 and digest(path) == before
    assert np.abs(converted.astype(float) - TONE).max() < 300


def test_stereo(tmp_path):
    path = write(tmp_path / "stereo.wav", np.stack([TONE, TONE // 2], axis=1))
    expect_error(path, "has 2 channels; kwsgen needs mono \\(use --mono")
    mixed = read_audio(path, mono=True)
    assert np.abs(mixed.astype(int) - (TONE.astype(int) * 3 // 4)).max() <= 1


@pytest.mark.parametrize(
    ("subtype", "words"),
    [
        ("PCM_U8", "8-bit PCM"),
        ("PCM_24", "24-bit PCM"),
        ("PCM_32", "32-bit PCM"),
        ("FLOAT", "32-bit float"),
        ("DOUBLE", "64-bit float"),
    ],
)
def test_other_sample_formats(tmp_path, subtype, words):
    path = write(tmp_path / f"{subtype}.wav", TONE.astype(np.float64) / 32768, subtype=subtype)
    expect_error(path, f"samples are {words}; kwsgen needs 16-bit PCM")
    converted = read_audio(path, resample=True)
    assert len(converted) == 16000
    assert np.abs(converted.astype(int) - TONE).max() <= (300 if subtype == "PCM_U8" else 1)


def test_float_with_nan(tmp_path):
    data = TONE.astype(np.float32) / 32768
    data[100] = np.nan
    path = write(tmp_path / "nan.wav", data, subtype="FLOAT")
    expect_error(path, "NaN or infinite", resample=True)


def test_empty_and_zero_length(tmp_path):
    empty = tmp_path / "empty.wav"
    empty.write_bytes(b"")
    expect_error(empty, "not a readable audio file")
    zero = write(tmp_path / "zero.wav", np.zeros(0, np.int16))
    expect_error(zero, "contains no audio samples")


def test_truncated(tmp_path):
    full = write(tmp_path / "full.wav", TONE).read_bytes()
    cut = tmp_path / "cut.wav"
    cut.write_bytes(full[:20000])
    expect_error(cut, "is truncated: its header promises 32000 bytes of samples, the file holds 19956")
    header_only = tmp_path / "header.wav"
    header_only.write_bytes(full[:30])
    expect_error(header_only, "not a readable audio file")
    flac = tmp_path / "cut.flac"
    write(tmp_path / "full.flac", TONE)
    flac.write_bytes((tmp_path / "full.flac").read_bytes()[:8000])
    expect_error(flac, "truncated or damaged")


def test_not_audio(tmp_path):
    text = tmp_path / "notes.wav"
    text.write_text("these are not samples\n")
    expect_error(text, "not a readable audio file")
    expect_error(tmp_path / "missing.wav", "file not found")
    folder = tmp_path / "folder.wav"
    folder.mkdir()
    expect_error(folder, "is a folder")
