"""A kwsgen project: a folder of recordings, label sessions, metadata and settings.

    myproject/
      kwsgen.toml          settings (every pipeline parameter, commented)
      recordings/          the audio, 16 kHz mono 16-bit WAV or FLAC; never modified
      metadata.csv         one row per recording: file, Set, speaker, ...
      sessions/<name>.csv  labelled segments: file, label, start, end (samples)
      cache/               derived data, safe to delete (ignored by git)
      models/              trained models

docs/project.md describes the format in full.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

from ..audio import AudioInfo, audio_info
from ..errors import KwsgenError
from ..fsutil import atomic_write_text
from .settings import ProjectSection, ProjectSettings, load_settings, settings_toml
from .store import (
    Metadata,
    Session,
    check_labels,
    check_model_name,
    check_session_name,
    load_metadata,
    load_session,
    save_metadata,
    save_session,
)
from .transaction import tidy

SETTINGS_FILE = "kwsgen.toml"
AUDIO_SUFFIXES = (".wav", ".flac")
TRAINING_SESSION = "Training Session"
GITIGNORE = (
    "# derived data: kwsgen recomputes it\ncache/\n# kwsgen's lock and the staging of changes in progress\n.kwsgen/\n"
)


# Audio headers read by any Project of this process (a long-running studio opens the project per request).
_INFO_CACHE: dict[str, tuple[tuple[int, int, int], AudioInfo]] = {}


class Project:
    def __init__(self, root: Path, settings: ProjectSettings) -> None:
        self.root = Path(root)
        self.settings = settings

    # ---- opening and creating -------------------------------------------------

    @classmethod
    def open(cls, root: str | Path) -> Project:
        root = Path(root)
        path = root / SETTINGS_FILE
        if not path.is_file():
            raise KwsgenError(f"not a kwsgen project (no {SETTINGS_FILE}); create one with: kwsgen init {root}", root)
        tidy(root)  # a command killed after its commit point: put its change in place
        settings = load_settings(path)
        try:
            check_labels(settings.labels)
        except KwsgenError as exc:
            raise KwsgenError(f"[project] {exc}", path) from None
        return cls(root, settings)

    @classmethod
    def create(cls, root: str | Path, labels: list[str]) -> Project:
        root = Path(root)
        check_labels(labels)
        if (root / SETTINGS_FILE).exists():
            raise KwsgenError(f"already holds a kwsgen project ({SETTINGS_FILE} exists)", root)
        if root.exists() and not root.is_dir():
            raise KwsgenError("exists and is not a folder", root)
        if root.exists() and any(p.name not in (".git",) for p in root.iterdir()):
            raise KwsgenError("is not empty; kwsgen init needs a new or empty folder", root)
        settings = ProjectSettings(project=ProjectSection(labels=list(labels))).validate()
        # Built beside the target and renamed into place: an interrupted init leaves no half project.
        # (A folder that already holds .git cannot be swapped; there kwsgen.toml is written last.)
        in_place = root.exists() and any(root.iterdir())
        build = root if in_place else root.with_name(f".{root.name}.kwsgen-init-{os.getpid()}")
        try:
            cls._write_new(build, settings)
            if not in_place:
                if root.exists():
                    root.rmdir()
                build.rename(root)
        except BaseException:
            if not in_place:
                shutil.rmtree(build, ignore_errors=True)
            raise
        return cls(root, settings)

    @classmethod
    def _write_new(cls, folder: Path, settings: ProjectSettings) -> None:
        for sub in ("recordings", "sessions", "models"):
            (folder / sub).mkdir(parents=True, exist_ok=True)
        project = cls(folder, settings)
        project.save_metadata(Metadata())
        project.save_session(Session(TRAINING_SESSION))
        atomic_write_text(folder / ".gitignore", GITIGNORE)
        atomic_write_text(folder / SETTINGS_FILE, settings_toml(settings))

    # ---- paths ---------------------------------------------------------------

    @property
    def recordings_dir(self) -> Path:
        return self.root / "recordings"

    @property
    def sessions_dir(self) -> Path:
        return self.root / "sessions"

    @property
    def metadata_path(self) -> Path:
        return self.root / "metadata.csv"

    @property
    def cache_dir(self) -> Path:
        return self.root / "cache"

    @property
    def models_dir(self) -> Path:
        return self.root / "models"

    @property
    def labels(self) -> list[str]:
        return self.settings.labels

    def recording_path(self, file: str) -> Path:
        return self.recordings_dir / file

    def model_dir(self, name: str) -> Path:
        return self.models_dir / check_model_name(name)

    def session_path(self, name: str) -> Path:
        return self.sessions_dir / f"{check_session_name(name)}.csv"

    # ---- recordings ------------------------------------------------------------

    def recording_files(self) -> list[str]:
        """Every audio file under recordings/, as POSIX paths relative to it."""
        if not self.recordings_dir.is_dir():
            return []
        found = []
        for dirpath, dirnames, filenames in os.walk(self.recordings_dir):
            dirnames[:] = sorted(d for d in dirnames if not d.startswith("."))
            for name in sorted(filenames):
                if name.lower().endswith(AUDIO_SUFFIXES) and not name.startswith("."):
                    rel = (Path(dirpath) / name).relative_to(self.recordings_dir)
                    found.append(rel.as_posix())
        return found

    def is_recording(self, file: str) -> bool:
        """Whether recording_files() lists ``file``, without listing them all (a request may name anything)."""
        parts = file.split("/")
        if not file or any(p in ("", ".", "..") or p.startswith(".") for p in parts) or "\\" in file:
            return False
        if not file.lower().endswith(AUDIO_SUFFIXES):
            return False
        path = self.recordings_dir / file
        return self._resolves_inside(path) and path.is_file()

    def links_outside(self, file: str) -> bool:
        """Whether a listed recording is a link to a file outside recordings/: training reads it, the studio
        will not (it serves nothing outside the project)."""
        path = self.recordings_dir / file
        return path.is_symlink() and not self._resolves_inside(path)

    def _resolves_inside(self, path: Path) -> bool:
        try:
            return path.resolve().is_relative_to(self.recordings_dir.resolve())
        except OSError:
            return False

    def recording_info(self, file: str) -> AudioInfo:
        """The recording's format and length; remembered per process while the file is unchanged."""
        path = self.recording_path(file)
        try:
            stat = path.stat()
            stamp = (stat.st_mtime_ns, stat.st_size, stat.st_ino)
        except OSError:
            stamp = None
        key = str(path.absolute())
        hit = _INFO_CACHE.get(key)
        if stamp is not None and hit and hit[0] == stamp:
            return hit[1]
        info = audio_info(path)
        if stamp is not None:
            _INFO_CACHE[key] = (stamp, info)
        return info

    # ---- metadata and sessions ---------------------------------------------------

    def load_metadata(self) -> Metadata:
        return load_metadata(self.metadata_path)

    def save_metadata(self, md: Metadata) -> None:
        save_metadata(self.metadata_path, md)

    def session_names(self) -> list[str]:
        if not self.sessions_dir.is_dir():
            return []
        return sorted(p.stem for p in self.sessions_dir.glob("*.csv") if not p.name.startswith("."))

    def has_session(self, name: str) -> bool:
        return self.session_path(name).exists()

    def load_session(self, name: str, create: bool = False) -> Session:
        path = self.session_path(name)
        if not path.exists():
            if create:
                return Session(name)
            known = ", ".join(repr(n) for n in self.session_names()) or "none yet"
            raise KwsgenError(f"no label session {name!r} in this project (sessions: {known})", self.root)
        return load_session(path, name)

    def save_session(self, session: Session) -> None:
        save_session(self.session_path(session.name), session)
