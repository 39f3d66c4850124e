"""Reading pipeline settings from a kwsgen.toml file."""

from __future__ import annotations

import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .errors import ConfigError, KwsgenError
from .frontend.config import EnergyFilterConfig, FrontendConfig


@dataclass(frozen=True)
class FrontendSettings:
    frontend: FrontendConfig
    energy_filter: EnergyFilterConfig


def read_toml(path: str | Path) -> dict[str, Any]:
    path = Path(path)
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        raise KwsgenError("file not found", path) from None
    except IsADirectoryError:
        raise KwsgenError("is a folder, not a TOML file", path) from None
    try:
        return tomllib.loads(raw.decode("utf-8"))
    except UnicodeDecodeError as exc:
        raise KwsgenError(f"is not UTF-8 text (byte {exc.start})", path) from None
    except tomllib.TOMLDecodeError as exc:
        raise KwsgenError(f"is not valid TOML: {exc}", path) from None


def frontend_settings(data: dict[str, Any], path: str | Path | None = None) -> FrontendSettings:
    try:
        fe = data.get("frontend", {})
        ef = data.get("energy_filter", {})
        for name, section in (("frontend", fe), ("energy_filter", ef)):
            if not isinstance(section, dict):
                raise ConfigError(f"[{name}] must be a table")
        return FrontendSettings(FrontendConfig.from_dict(fe), EnergyFilterConfig.from_dict(ef))
    except ConfigError as exc:
        if path is None:
            raise
        raise ConfigError(str(exc), path) from None


def load_frontend_settings(path: str | Path | None) -> FrontendSettings:
    if path is None:
        return FrontendSettings(FrontendConfig(), EnergyFilterConfig())
    return frontend_settings(read_toml(path), path)
