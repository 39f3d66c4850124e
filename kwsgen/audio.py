"""Reading audio: kwsgen works on 16 kHz mono 16-bit PCM, and says so clearly.

Anything else is refused with a one-line message naming the file and the
problem, unless the caller asks for conversion (``resample``/``mono``). The
source file is only ever read.
"""

from __future__ import annotations

from dataclasses import dataclass
from math import gcd
from pathlib import Path

import numpy as np
import soundfile as sf

from .errors import AudioError
from .frontend.config import SAMPLE_RATE

_SUBTYPE_NAMES = {
    "PCM_S8": "8-bit PCM",
    "PCM_U8": "8-bit PCM",
    "PCM_24": "24-bit PCM",
    "PCM_32": "32-bit PCM",
    "FLOAT": "32-bit float",
    "DOUBLE": "64-bit float",
    "ULAW": "mu-law",
    "ALAW": "A-law",
}


@dataclass(frozen=True)
class AudioInfo:
    sample_rate: int
    channels: int
    frames: int
    subtype: str
    format: str

    @property
    def seconds(self) -> float:
        return self.frames / self.sample_rate if self.sample_rate else 0.0


def audio_info(path: str | Path) -> AudioInfo:
    path = Path(path)
    if not path.exists():
        raise AudioError("file not found", path)
    if path.is_dir():
        raise AudioError("is a folder, not an audio file", path)
    try:
        info = sf.info(str(path))
    except Exception as exc:  # libsndfile reports every unreadable file this way
        raise AudioError(f"not a readable audio file ({_short(exc)})", path) from None
    return AudioInfo(info.samplerate, info.channels, info.frames, info.subtype, info.format)


def wav_truncation(path: Path) -> tuple[int, int] | None:
    """(declared, present) bytes of a RIFF/WAVE data chunk that is cut short, else None.

    libsndfile quietly reads what is there, so a WAV cut off mid-copy would
    otherwise pass as a shorter recording.
    """
    size = path.stat().st_size
    with open(path, "rb") as handle:
        head = handle.read(12)
        if len(head) < 12 or head[:4] != b"RIFF" or head[8:12] != b"WAVE":
            return None
        pos = 12
        while pos + 8 <= size:
            handle.seek(pos)
            chunk = handle.read(8)
            declared = int.from_bytes(chunk[4:8], "little")
            if chunk[:4] == b"data":
                present = size - pos - 8
                # 0 and 0xFFFFFFFF mean "unknown" to streaming writers.
                if declared not in (0, 0xFFFFFFFF) and declared > present:
                    return declared, present
                return None
            pos += 8 + declared + (declared & 1)
    return None


def _short(exc: Exception) -> str:
    text = str(exc).strip().splitlines()[-1] if str(exc).strip() else type(exc).__name__
    return text.split(": ", 1)[-1][:120]


def checked_info(path: Path) -> AudioInfo:
    """The file's format, refusing files without samples and truncated WAVs (libsndfile would read them short)."""
    info = audio_info(path)
    if info.frames == 0:
        raise AudioError("contains no audio samples", path)
    cut = wav_truncation(path)
    if cut is not None:
        raise AudioError(f"is truncated: its header promises {cut[0]} bytes of samples, the file holds {cut[1]}", path)
    return info


def read_audio(path: str | Path, *, resample: bool = False, mono: bool = False) -> np.ndarray:
    """Samples of a 16 kHz mono 16-bit file as int16.

    resample: convert any other sample rate or sample format to 16 kHz int16.
    mono: mix several channels down to one (their mean).
    """
    path = Path(path)
    info = checked_info(path)
    if info.channels != 1 and not mono:
        raise AudioError(f"has {info.channels} channels; kwsgen needs mono (use --mono to mix down)", path)
    rate_ok = info.sample_rate == SAMPLE_RATE
    format_ok = info.subtype == "PCM_16"
    if not rate_ok and not resample:
        raise AudioError(
            f"sample rate is {info.sample_rate} Hz; kwsgen needs {SAMPLE_RATE} Hz (use --resample to convert)", path
        )
    if not format_ok and not resample:
        name = _SUBTYPE_NAMES.get(info.subtype, info.subtype)
        raise AudioError(f"samples are {name}; kwsgen needs 16-bit PCM (use --resample to convert)", path)
    if rate_ok and format_ok:
        data = _read(path, "int16", info)
        return np.ascontiguousarray(data.mean(axis=1).round().astype(np.int16) if data.ndim == 2 else data)
    data = _read(path, "float64", info)
    if data.ndim == 2:
        data = data.mean(axis=1)
    if not np.all(np.isfinite(data)):
        raise AudioError("contains NaN or infinite samples", path)
    if not rate_ok:
        data = resample_to(data, info.sample_rate, SAMPLE_RATE)
    return float_to_int16(data)


def _read(path: Path, dtype: str, info: AudioInfo) -> np.ndarray:
    try:
        data, _ = sf.read(str(path), dtype=dtype, always_2d=info.channels > 1)
    except Exception as exc:
        raise AudioError(f"cannot be decoded ({_short(exc)}); the file may be truncated or damaged", path) from None
    if len(data) < info.frames:
        raise AudioError(f"is truncated: its header promises {info.frames} samples, it holds {len(data)}", path)
    if len(data) == 0:
        raise AudioError("contains no audio samples", path)
    return data


def resample_to(data: np.ndarray, src_rate: int, dst_rate: int) -> np.ndarray:
    """Polyphase resampling (scipy), exact rational ratio."""
    from scipy.signal import resample_poly

    g = gcd(int(src_rate), int(dst_rate))
    return resample_poly(data, dst_rate // g, src_rate // g)


def float_to_int16(data: np.ndarray) -> np.ndarray:
    """Round [-1, 1) floats to int16, clipping what falls outside."""
    return np.clip(np.round(np.asarray(data, dtype=np.float64) * 32768.0), -32768, 32767).astype(np.int16)


def write_wav(path: str | Path, samples: np.ndarray, sample_rate: int = SAMPLE_RATE) -> None:
    """Write int16 samples as 16-bit PCM, atomically (WAV or FLAC by extension)."""
    from .fsutil import atomic_open

    path = Path(path)
    fmt = "FLAC" if path.suffix.lower() == ".flac" else "WAV"
    with atomic_open(path, "wb") as handle:
        sf.write(handle, np.asarray(samples, dtype=np.int16), sample_rate, subtype="PCM_16", format=fmt)
