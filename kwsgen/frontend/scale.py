"""Min/Max scaling of MFCCs to the int8 features the model sees (step 9)."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..errors import ConfigError, KwsgenError
from ..fsutil import atomic_write_text

MAX_RANGE = 1 << 23  # keeps (c - min) * 255 inside int32 on the device


@dataclass(frozen=True)
class MinMax:
    """Per-coefficient bounds, taken from training features."""

    min: np.ndarray  # int32 [n_coeffs]
    max: np.ndarray  # int32 [n_coeffs], max > min

    def __post_init__(self) -> None:
        lo = np.asarray(self.min, dtype=np.int64).ravel()
        hi = np.asarray(self.max, dtype=np.int64).ravel()
        if lo.shape != hi.shape or lo.size == 0:
            raise ConfigError(f"minmax needs equal, non-empty min and max lists, got {lo.size} and {hi.size}")
        if np.any(hi <= lo):
            bad = int(np.flatnonzero(hi <= lo)[0])
            raise ConfigError(f"minmax coefficient {bad}: max ({hi[bad]}) must be above min ({lo[bad]})")
        if np.any(hi - lo >= MAX_RANGE) or np.any(np.abs(lo) >= 1 << 30) or np.any(np.abs(hi) >= 1 << 30):
            raise ConfigError("minmax ranges must stay below 2^23 and values below 2^30 in magnitude")
        object.__setattr__(self, "min", lo.astype(np.int32))
        object.__setattr__(self, "max", hi.astype(np.int32))

    @property
    def n_coeffs(self) -> int:
        return int(self.min.size)

    @classmethod
    def fit(cls, mfcc: np.ndarray) -> MinMax:
        """Bounds of int32 MFCCs [n, n_coeffs]; a constant coefficient gets max = min + 1."""
        mfcc = np.asarray(mfcc)
        if mfcc.ndim != 2 or mfcc.shape[0] == 0:
            raise KwsgenError("cannot fit min/max scaling: no feature vectors")
        lo = mfcc.min(axis=0).astype(np.int64)
        hi = np.maximum(mfcc.max(axis=0).astype(np.int64), lo + 1)
        return cls(lo, hi)

    def scale(self, mfcc: np.ndarray) -> np.ndarray:
        """u = ((clip(c) - min) * 255 + floor(range / 2)) // range; int8 u - 128."""
        c = np.asarray(mfcc, dtype=np.int64)
        if c.shape[-1] != self.n_coeffs:
            raise ConfigError(f"features have {c.shape[-1]} coefficients but minmax has {self.n_coeffs}")
        lo, hi = self.min.astype(np.int64), self.max.astype(np.int64)
        rng = hi - lo
        u = ((np.clip(c, lo, hi) - lo) * 255 + rng // 2) // rng
        return (u - 128).astype(np.int8)

    def to_dict(self) -> dict:
        return {"min": [int(v) for v in self.min], "max": [int(v) for v in self.max]}

    def save(self, path: str | Path) -> None:
        atomic_write_text(path, json.dumps(self.to_dict(), indent=1) + "\n")

    @classmethod
    def load(cls, path: str | Path) -> MinMax:
        path = Path(path)
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            raise KwsgenError("minmax file not found", path) from None
        except (UnicodeDecodeError, json.JSONDecodeError) as exc:
            raise KwsgenError(f"not a minmax JSON file ({exc.__class__.__name__}: {exc})", path) from None
        if not isinstance(data, dict) or not {"min", "max"} <= set(data):
            raise KwsgenError('minmax file must be a JSON object with "min" and "max" lists', path)
        try:
            lo = np.asarray(data["min"], dtype=np.int64)
            hi = np.asarray(data["max"], dtype=np.int64)
        except (TypeError, ValueError, OverflowError):
            raise KwsgenError('"min" and "max" must be lists of integers', path) from None
        try:
            return cls(lo, hi)
        except ConfigError as exc:
            raise KwsgenError(str(exc), path) from None

    def to_bytes(self) -> bytes:
        """The C tools' binary form: int32 minima then maxima, little-endian."""
        return self.min.astype("<i4").tobytes() + self.max.astype("<i4").tobytes()
