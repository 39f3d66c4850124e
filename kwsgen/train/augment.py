"""Augmentation: in the audio domain for pretraining, in int8 feature space for transfer learning.

Feature-space augmentations follow the seed's training recipe, each applied to
a copy of a fraction (`rate`) of the training inputs, with the masks named for
what they really mask (SensiML's "frequency mask" masks time frames):

- sparse noise: up to 128 random elements get an offset in [-10, 10);
- bias noise: up to 16 whole rows (windows) or columns (coefficients) get one
  random offset each;
- time mask: up to 8 consecutive windows set to a constant;
- coefficient mask: up to 8 consecutive coefficients set to a constant.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


def _clip8(x: np.ndarray) -> np.ndarray:
    return np.clip(x, -128, 127).astype(np.int8)


def sparse_noise(x: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    out = x.astype(np.int16)
    for item in out:
        k = int(rng.integers(0, 129))
        idx = rng.integers(0, item.size, k)
        item.flat[idx] += rng.integers(-10, 10, k).astype(np.int16)
    return _clip8(out)


def bias_noise(x: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    out = x.astype(np.int16)
    for item in out:
        for _ in range(int(rng.integers(0, 17))):
            offset = np.int16(rng.integers(-10, 10))
            if rng.random() < 0.5:
                item[int(rng.integers(item.shape[0]))] += offset
            else:
                item[:, int(rng.integers(item.shape[1]))] += offset
    return _clip8(out)


def _mask(x: np.ndarray, rng: np.random.Generator, axis: int) -> np.ndarray:
    out = x.copy()
    for item in out:
        width = int(rng.integers(0, 9))
        if width == 0:
            continue
        length = item.shape[axis]
        start = int(rng.integers(0, max(1, length - width + 1)))
        value = np.int8(rng.integers(-128, 128))
        if axis == 0:
            item[start : start + width] = value
        else:
            item[:, start : start + width] = value
    return out


def time_mask(x: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    return _mask(x, rng, 0)


def coefficient_mask(x: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    return _mask(x, rng, 1)


FEATURE_AUGMENTATIONS = {
    "sparse_noise": sparse_noise,
    "bias_noise": bias_noise,
    "time_mask": time_mask,
    "coefficient_mask": coefficient_mask,
}


def augment_features(
    x: np.ndarray, y: np.ndarray, rates: dict[str, float], rng: np.random.Generator
) -> tuple[np.ndarray, np.ndarray]:
    """Append, for each augmentation, augmented copies of `rate` of the inputs."""
    xs, ys = [x], [y]
    for name, rate in rates.items():
        if rate <= 0 or len(x) == 0:
            continue
        pick = rng.random(len(x)) < rate
        if pick.any():
            xs.append(FEATURE_AUGMENTATIONS[name](x[pick], rng))
            ys.append(y[pick])
    return np.concatenate(xs), np.concatenate(ys)


# ---- audio-domain augmentation (pretraining) ---------------------------------------------


@dataclass(frozen=True)
class AudioAugment:
    shift_ms: float = 100.0  # random time shift, either way
    gain_db: float = 6.0  # random gain, either way
    noise_probability: float = 0.8
    snr_db: tuple[float, float] = (0.0, 20.0)
    # Playback rates as small ratios (up, down): resampling by up/down plays at down/up speed.
    speeds: tuple[tuple[int, int], ...] = ((20, 17), (10, 9), (20, 19), (1, 1), (20, 21), (10, 11), (20, 23))


def speed_variants(clip: np.ndarray, speeds: tuple[tuple[int, int], ...]) -> list[np.ndarray]:
    """The clip played faster or slower (pitch follows), as float32."""
    from scipy.signal import resample_poly

    x = clip.astype(np.float32) / 32768.0
    return [x if up == down else resample_poly(x, up, down).astype(np.float32) for up, down in speeds]


def fit_length(x: np.ndarray, n: int, shift: int) -> np.ndarray:
    """Centre x in n samples, moved by shift; cropped or zero-padded."""
    out = np.zeros(n, dtype=np.float32)
    start = (n - len(x)) // 2 + shift
    lo, hi = max(0, start), min(n, start + len(x))
    if hi > lo:
        out[lo:hi] = x[lo - start : hi - start]
    return out


def noise_crop(noises: list[np.ndarray], n: int, rng: np.random.Generator) -> np.ndarray:
    bed = noises[int(rng.integers(len(noises)))]
    if len(bed) <= n:
        return np.resize(bed, n)
    start = int(rng.integers(0, len(bed) - n))
    return bed[start : start + n]


def augment_clip(
    variants: list[np.ndarray], noises: list[np.ndarray], n: int, cfg: AudioAugment, rng: np.random.Generator
) -> np.ndarray:
    x = variants[int(rng.integers(len(variants)))]
    shift = int(rng.uniform(-cfg.shift_ms, cfg.shift_ms) * 16)
    x = fit_length(x, n, shift) * np.float32(10 ** (rng.uniform(-cfg.gain_db, cfg.gain_db) / 20))
    if noises and rng.random() < cfg.noise_probability:
        rms = float(np.sqrt(np.mean(x**2))) + 1e-6
        bed = noise_crop(noises, n, rng)
        bed_rms = float(np.sqrt(np.mean(bed**2))) + 1e-9
        x = x + bed * np.float32(rms / bed_rms * 10 ** (-rng.uniform(*cfg.snr_db) / 20))
    return x


def to_int16(x: np.ndarray) -> np.ndarray:
    return np.clip(np.round(x * 32768.0), -32768, 32767).astype(np.int16)
