"""Front-end features of labelled segments, cached by content.

A segment's MFCCs depend only on its recording's bytes, its bounds and the
front-end configuration, so that is the cache key:
``cache/features/<config>/<sha256 of the recording>/<start>-<end>.npy``.
Changing a label costs nothing; editing a recording or the [frontend]
settings recomputes exactly what changed. Every entry is written atomically,
so an interrupted run loses at most the entry in progress.
"""

from __future__ import annotations

import hashlib
import json
from collections import defaultdict
from collections.abc import Iterable
from pathlib import Path

import numpy as np

from ..audio import read_audio
from ..frontend import FrontendConfig, mfcc_batch
from ..fsutil import atomic_open, atomic_write_text
from ..progress import progress_bar
from .project import Project
from .store import Segment

# Bump when the front end's integer arithmetic changes (docs/frontend.md), to retire old caches.
FRONTEND_SPEC_VERSION = 1


def config_digest(config: FrontendConfig) -> str:
    text = json.dumps({"spec": FRONTEND_SPEC_VERSION, **config.to_dict()}, sort_keys=True)
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def sha256_file(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


class FeatureCache:
    def __init__(self, project: Project, config: FrontendConfig | None = None) -> None:
        self.project = project
        self.config = config or project.settings.frontend
        self.root = project.cache_dir / "features" / config_digest(self.config)
        self._index_path = project.cache_dir / "hashes.json"
        self._index: dict[str, list] | None = None
        self.writable = True

    def _load_index(self) -> dict[str, list]:
        if self._index is None:
            try:
                self._index = json.loads(self._index_path.read_text())
            except (FileNotFoundError, ValueError):
                self._index = {}
        return self._index

    def _save_index(self) -> None:
        if self._index is not None and self.writable:
            try:
                atomic_write_text(self._index_path, json.dumps(self._index, indent=0, sort_keys=True))
            except OSError:
                self.writable = False  # a read-only project: features are computed, not kept

    def recording_hash(self, file: str) -> str:
        """sha256 of a recording, remembered by size and modification time."""
        index = self._load_index()
        path = self.project.recording_path(file)
        st = path.stat()
        key = [st.st_size, st.st_mtime_ns]
        hit = index.get(file)
        if hit and hit[:2] == key:
            return hit[2]
        digest = sha256_file(path)
        index[file] = [*key, digest]
        return digest

    def entry_path(self, digest: str, segment: Segment, speed: float = 1.0) -> Path:
        tag = "" if speed == 1.0 else f"@{speed:g}"
        return self.root / digest / f"{segment.start}-{segment.end}{tag}.npy"

    def mfcc(self, segments: Iterable[Segment], progress: bool = True, speed: float = 1.0) -> list[np.ndarray]:
        """int32 MFCCs [windows, n_coeffs] of each segment, computed only where not cached.

        speed != 1 gives the MFCCs of the segment played that much faster (resampled: tempo and pitch
        together), the speed perturbation of training augmentation.
        """
        segments = list(segments)
        results: list[np.ndarray | None] = [None] * len(segments)
        todo: dict[str, list[int]] = defaultdict(list)
        paths: list[Path] = []
        for i, seg in enumerate(segments):
            path = self.entry_path(self.recording_hash(seg.file), seg, speed)
            paths.append(path)
            if path.exists():
                try:
                    results[i] = np.load(path)
                    continue
                except (ValueError, OSError):
                    pass  # a damaged entry is simply recomputed
            todo[seg.file].append(i)
        self._save_index()
        if todo:
            with progress_bar(progress) as bar:
                what = "features" if speed == 1.0 else f"features at {speed:g}x speed"
                task = bar.add_task(what, total=sum(len(v) for v in todo.values()))
                for file, idxs in todo.items():
                    audio = read_audio(self.project.recording_path(file))
                    clips = [change_speed(audio[segments[i].start : segments[i].end], speed) for i in idxs]
                    for i, feats in zip(idxs, mfcc_batch(clips, self.config), strict=True):
                        self._keep(paths[i], feats)
                        results[i] = feats
                    bar.advance(task, len(idxs))
        return results  # type: ignore[return-value]

    def _keep(self, path: Path, feats: np.ndarray) -> None:
        """Cache one entry; the cache is an optimisation, so a read-only project just goes without it."""
        if not self.writable:
            return
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            with atomic_open(path, "wb") as handle:
                np.save(handle, feats)
        except OSError:
            self.writable = False


def change_speed(clip: np.ndarray, speed: float) -> np.ndarray:
    """int16 audio played `speed` times faster by polyphase resampling (1.1: 10 % shorter and higher)."""
    if speed == 1.0:
        return clip
    from fractions import Fraction

    from scipy.signal import resample_poly

    ratio = Fraction(speed).limit_denominator(50)
    out = resample_poly(clip.astype(np.float64), ratio.denominator, ratio.numerator)
    return np.clip(np.round(out), -32768, 32767).astype(np.int16)
