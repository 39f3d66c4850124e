"""Front-end configuration: the numbers that both Python and C must agree on."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any

from ..errors import ConfigError

SAMPLE_RATE = 16000
WINDOW_TYPES = ("hann", "hamming", "povey")


@dataclass(frozen=True)
class FrontendConfig:
    """Fixed-point MFCC front end. Defaults follow the design card."""

    window_size: int = 480
    hop_size: int = 320
    n_mels: int = 23
    n_coeffs: int = 23
    f_low: float = 20.0
    f_high: float = 8000.0
    preemphasis: float = 0.97
    window: str = "hann"
    cascade_len: int = 49
    sample_rate: int = SAMPLE_RATE

    @property
    def fft_size(self) -> int:
        """Smallest power of two that holds one window (at least 16)."""
        n = 16
        while n < self.window_size:
            n *= 2
        return n

    @property
    def n_bins(self) -> int:
        return self.fft_size // 2 + 1

    @property
    def preemphasis_q15(self) -> int:
        return round(self.preemphasis * 32768)

    @property
    def cascade_samples(self) -> int:
        """Samples spanned by one full cascade."""
        return self.window_size + (self.cascade_len - 1) * self.hop_size

    def n_frames(self, n_samples: int) -> int:
        if n_samples < self.window_size:
            return 0
        return 1 + (n_samples - self.window_size) // self.hop_size

    def validate(self) -> FrontendConfig:
        _check(self.sample_rate == SAMPLE_RATE, "sample_rate must be 16000 (kwsgen works on 16 kHz audio)")
        _check(32 <= self.window_size <= 4096, f"window_size must be 32..4096 samples, got {self.window_size}")
        _check(
            1 <= self.hop_size <= self.window_size,
            f"hop_size must be 1..window_size ({self.window_size}), got {self.hop_size}",
        )
        _check(2 <= self.n_mels <= 128, f"n_mels must be 2..128, got {self.n_mels}")
        _check(
            1 <= self.n_coeffs <= self.n_mels,
            f"n_coeffs must be 1..n_mels ({self.n_mels}), got {self.n_coeffs}",
        )
        _check(0 <= self.f_low < self.f_high, f"f_low ({self.f_low}) must be below f_high ({self.f_high})")
        _check(
            self.f_high <= self.sample_rate / 2,
            f"f_high must be at most {self.sample_rate // 2} Hz, got {self.f_high}",
        )
        _check(
            0.0 <= self.preemphasis < 1.0,
            f"preemphasis must be in [0, 1), got {self.preemphasis}",
        )
        _check(self.window in WINDOW_TYPES, f"window must be one of {', '.join(WINDOW_TYPES)}, got {self.window!r}")
        _check(1 <= self.cascade_len <= 1024, f"cascade_len must be 1..1024, got {self.cascade_len}")
        return self

    @classmethod
    def from_dict(cls, values: dict[str, Any], where: str = "frontend") -> FrontendConfig:
        return _from_dict(cls, values, where).validate()

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)


@dataclass(frozen=True)
class EnergyFilterConfig:
    """Segment Energy Threshold Filter, in front of the classifier.

    When idle, a hop whose newest window holds any |sample| > threshold
    triggers it. It then waits ``delay`` hops, asks for one classification,
    and asks for ``backoff`` more, one per hop.
    """

    enabled: bool = True
    threshold: int = 200
    delay: int = 25
    backoff: int = 0
    disable_train: bool = True

    def validate(self) -> EnergyFilterConfig:
        _check(0 <= self.threshold <= 32767, f"threshold must be 0..32767, got {self.threshold}")
        _check(0 <= self.delay <= 10000, f"delay must be 0..10000 hops, got {self.delay}")
        _check(0 <= self.backoff <= 10000, f"backoff must be 0..10000 hops, got {self.backoff}")
        return self

    @classmethod
    def from_dict(cls, values: dict[str, Any], where: str = "energy_filter") -> EnergyFilterConfig:
        return _from_dict(cls, values, where).validate()

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)


def _check(ok: bool, message: str) -> None:
    if not ok:
        raise ConfigError(message)


def _from_dict(cls: type, values: dict[str, Any], where: str) -> Any:
    """Build a config dataclass, naming unknown keys and wrong types precisely."""
    known = {f.name: f for f in dataclasses.fields(cls)}
    unknown = sorted(set(values) - set(known))
    if unknown:
        raise ConfigError(f"[{where}] unknown setting(s): {', '.join(unknown)} (known: {', '.join(known)})")
    kwargs = {}
    for name, value in values.items():
        kwargs[name] = _coerce(value, known[name].default, f"[{where}] {name}")
    return cls(**kwargs)


def _coerce(value: Any, default: Any, what: str) -> Any:
    if isinstance(default, bool):
        if not isinstance(value, bool):
            raise ConfigError(f"{what} must be true or false, got {value!r}")
        return value
    if isinstance(default, int):
        if isinstance(value, bool) or not isinstance(value, int):
            raise ConfigError(f"{what} must be an integer, got {value!r}")
        return value
    if isinstance(default, float):
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise ConfigError(f"{what} must be a number, got {value!r}")
        return float(value)
    if isinstance(default, str):
        if not isinstance(value, str):
            raise ConfigError(f"{what} must be a string, got {value!r}")
        return value
    return value


__all__ = ["SAMPLE_RATE", "WINDOW_TYPES", "EnergyFilterConfig", "FrontendConfig"]
