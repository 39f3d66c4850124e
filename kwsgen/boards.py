"""Board definitions (boards/*.toml): what kwsgen needs to know to target a board."""

from __future__ import annotations

import tomllib
from dataclasses import dataclass, field
from pathlib import Path

from .errors import KwsgenError
from .resources import resource_dir

PROJECT_TYPES = ("platformio", "qorc-sdk", "make", "cmake")
ARCHES = ("arm", "xtensa", "host")


@dataclass(frozen=True)
class Board:
    name: str
    title: str
    mcu: str
    core: str
    clock_mhz: int
    flash_kb: int
    ram_kb: int
    microphone: str
    project: str
    arch: str
    cpu_flags: tuple[str, ...]
    usb_ids: tuple[str, ...]
    platformio: dict[str, str] = field(default_factory=dict)

    @property
    def flash_bytes(self) -> int:
        return self.flash_kb * 1024

    @property
    def ram_bytes(self) -> int:
        return self.ram_kb * 1024


def _parse(path: Path) -> Board:
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise KwsgenError(f"board definition is not valid TOML: {exc}", path) from None
    required = {f: t for f, t in Board.__annotations__.items() if f != "platformio"}
    missing = sorted(set(required) - set(data))
    if missing:
        raise KwsgenError(f"board definition lacks {', '.join(missing)}", path)
    unknown = sorted(set(data) - set(required) - {"platformio"})
    if unknown:
        raise KwsgenError(f"board definition has unknown keys {', '.join(unknown)}", path)
    if data["project"] not in PROJECT_TYPES or data["arch"] not in ARCHES:
        raise KwsgenError(f"project must be one of {PROJECT_TYPES} and arch one of {ARCHES}", path)
    if data["name"] != path.stem:
        raise KwsgenError(f"name {data['name']!r} must match the file name", path)
    return Board(
        **{k: data[k] for k in required if k not in ("cpu_flags", "usb_ids")},
        cpu_flags=tuple(data["cpu_flags"]),
        usb_ids=tuple(data["usb_ids"]),
        platformio=dict(data.get("platformio", {})),
    )


def load_boards() -> dict[str, Board]:
    folder = resource_dir("boards")
    return {b.name: b for b in (_parse(p) for p in sorted(folder.glob("*.toml")))}


def get_board(name: str) -> Board:
    boards = load_boards()
    if name not in boards:
        raise KwsgenError(f"unknown board {name!r}; the boards are: {', '.join(sorted(boards))}")
    return boards[name]
