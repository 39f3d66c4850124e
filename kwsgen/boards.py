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
    reserved_flash_kb: int
    reserved_ram_kb: int
    microphone: str
    project: str
    arch: str
    cpu_flags: tuple[str, ...]
    usb_ids: tuple[str, ...]
    platformio: dict[str, str] = field(default_factory=dict)
    code_in_ram: bool = False
    options: dict[str, object] = field(default_factory=dict)  # build options and their defaults (--option)
    # Each option's allowed values: {"choices": [...]} or {"min": a, "max": b} ([option_values] in the TOML).
    option_values: dict[str, dict] = field(default_factory=dict)

    def check_option(self, key: str, value: object) -> None:
        """Refuse a value the board cannot take, naming what it can."""
        rule = self.option_values[key]
        if "choices" in rule and value not in rule["choices"]:
            allowed = ", ".join(str(c) for c in rule["choices"])
            raise KwsgenError(f"option {key} of board {self.name} must be one of {allowed}, not {value!r}")
        if "min" in rule and not rule["min"] <= value <= rule["max"]:  # type: ignore[operator]
            raise KwsgenError(f"option {key} of board {self.name} must be {rule['min']}..{rule['max']}, not {value!r}")

    @property
    def flash_bytes(self) -> int:
        return self.flash_kb * 1024

    @property
    def ram_bytes(self) -> int:
        return self.ram_kb * 1024

    def check_fits(self, what: str, flash: int, ram: int, detail: str = "") -> None:
        """Refuse `what` (flash and RAM in bytes) if it leaves the board's framework too little room."""
        if self.code_in_ram:
            ram += flash
        limits = (
            ("flash", flash, self.flash_kb, self.reserved_flash_kb),
            ("RAM", ram, self.ram_kb, self.reserved_ram_kb),
        )
        for kind, need, total_kb, reserved_kb in limits:
            if total_kb == 0:
                continue
            available = (total_kb - reserved_kb) * 1024
            if need > available:
                also = " (code runs from RAM on this board)" if kind == "RAM" and self.code_in_ram else ""
                raise KwsgenError(
                    f"{what} needs {need:,} bytes of {kind}{also}{detail}, but {self.title} has {total_kb} KB with "
                    f"{reserved_kb} KB kept for its framework: {available:,} bytes available; choose a smaller model "
                    "template or a larger board"
                )


def _parse(path: Path) -> Board:
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise KwsgenError(f"board definition is not valid TOML: {exc}", path) from None
    optional = {"platformio", "code_in_ram", "options", "option_values"}
    required = {f: t for f, t in Board.__annotations__.items() if f not in optional}
    missing = sorted(set(required) - set(data))
    if missing:
        raise KwsgenError(f"board definition lacks {', '.join(missing)}", path)
    unknown = sorted(set(data) - set(required) - optional)
    if unknown:
        raise KwsgenError(f"board definition has unknown keys {', '.join(unknown)}", path)
    if data["project"] not in PROJECT_TYPES or data["arch"] not in ARCHES:
        raise KwsgenError(f"project must be one of {PROJECT_TYPES} and arch one of {ARCHES}", path)
    if data["name"] != path.stem:
        raise KwsgenError(f"name {data['name']!r} must match the file name", path)
    _check_option_values(data.get("options", {}), data.get("option_values", {}), path)
    return Board(
        **{k: data[k] for k in required if k not in ("cpu_flags", "usb_ids")},
        cpu_flags=tuple(data["cpu_flags"]),
        usb_ids=tuple(data["usb_ids"]),
        platformio=dict(data.get("platformio", {})),
        code_in_ram=bool(data.get("code_in_ram", False)),
        options=dict(data.get("options", {})),
        option_values=dict(data.get("option_values", {})),
    )


def _check_option_values(options: dict, values: dict, path: Path) -> None:
    """Every option has a rule, every rule an option, and every default obeys its rule."""
    if set(options) != set(values):
        raise KwsgenError(
            f"[options] and [option_values] must name the same options (differ in "
            f"{', '.join(sorted(set(options) ^ set(values)))})",
            path,
        )
    for key, rule in values.items():
        if not isinstance(rule, dict) or not ({"choices"} == set(rule) or {"min", "max"} == set(rule)):
            raise KwsgenError(f"[option_values] {key} must be {{choices = [...]}} or {{min = A, max = B}}", path)
        default = options[key]
        ok = default in rule["choices"] if "choices" in rule else rule["min"] <= default <= rule["max"]
        if not ok:
            raise KwsgenError(f"[options] {key} = {default!r} breaks its own [option_values] rule", path)


def load_boards() -> dict[str, Board]:
    folder = resource_dir("boards")
    return {b.name: b for b in (_parse(p) for p in sorted(folder.glob("*.toml")))}


def get_board(name: str) -> Board:
    boards = load_boards()
    if name not in boards:
        raise KwsgenError(f"unknown board {name!r}; the boards are: {', '.join(sorted(boards))}")
    return boards[name]
