"""Errors that kwsgen reports to users as one clear line.

Anything a user can cause (bad audio, a bad configuration value, a missing
file) raises a :class:`KwsgenError`. The CLI prints ``error: <message>`` and
exits non-zero; it never shows a traceback for these. Anything else is a bug.
"""

from __future__ import annotations

from pathlib import Path


class KwsgenError(Exception):
    """A problem the user can fix. ``str(err)`` is the one-line message."""

    def __init__(self, message: str, path: str | Path | None = None) -> None:
        self.path = Path(path) if path is not None else None
        self.problem = message
        super().__init__(f"{path}: {message}" if path is not None else message)


class ConfigError(KwsgenError):
    """A configuration value is out of range or inconsistent."""


class AudioError(KwsgenError):
    """An audio file is unreadable or not in the required format."""


class ToolchainError(KwsgenError):
    """A compiler, emulator or other external tool is missing or failed."""


class Interrupted(KwsgenError):
    """Ctrl-C stopped a command; the message says what was kept (exit status 130)."""
