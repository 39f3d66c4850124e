"""kwsgen build: render a complete board project around the shared portable core.

Each board's files come from firmware_templates/boards/<board>/ (Jinja2 for
the ones ending in .j2); the core goes into a subfolder the board's build
system compiles. The output is a generated folder: kwsgen refuses to
overwrite files a person changed or added, unless forced.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from .. import __version__
from ..boards import Board
from ..errors import KwsgenError
from ..fsutil import GeneratedFolder
from ..resources import host_tools_dir
from .app import FirmwareSpec, _env, class_macros
from .engines import board_sources


@dataclass(frozen=True)
class BoardLayout:
    core_dir: str  # where the portable core goes
    files: dict[str, str]  # output path -> template file (in firmware_templates/boards/<board>/)
    glue: str
    instructions: str


LAYOUTS = {
    "host": BoardLayout(
        "kws",
        {"CMakeLists.txt": "CMakeLists.txt", "main.c": "main.c"},
        "`main.c` (audio on standard input, lines on standard output), `CMakeLists.txt`",
        "```sh\ncmake -S . -B build && cmake --build build\n./build/kws_host < recording.wav      "
        "# 16 kHz mono 16-bit WAV, or raw int16 samples\n```",
    ),
    "qemu": BoardLayout(
        "kws",
        {"Makefile": "Makefile", "main.c": "main.c"},
        "`main.c` (audio from a file through semihosting), `startup.c`, `semihost.*`, `mps2_an386.ld`, `Makefile`",
        "```sh\nmake\nsox recording.wav -t raw -e signed -b 16 -r 16000 -c 1 recording.raw\n"
        "make run AUDIO=recording.raw\n```\n\nOr `kwsgen run recording.wav --engine qemu`.",
    ),
    "nano33": BoardLayout(
        "lib/kws/src",
        {"platformio.ini": "platformio.ini.j2", "src/main.cpp": "main.cpp.j2"},
        "`src/main.cpp` (PDM microphone into a ring buffer, JSON lines on Serial, the LED on keywords), "
        "`platformio.ini`",
        "```sh\npio run -t upload      # or: kwsgen flash --board nano33\npio device monitor     # JSON lines\n```",
    ),
    "esp32s3": BoardLayout(
        "src/kws",
        {
            "platformio.ini": "platformio.ini.j2",
            "CMakeLists.txt": "CMakeLists.txt",
            "src/CMakeLists.txt": "src_CMakeLists.txt",
            "src/main.c": "main.c.j2",
            "sdkconfig.defaults": "sdkconfig.defaults",
        },
        "`src/main.c` (I2S PDM or standard microphone, JSON lines on the USB serial port), `platformio.ini`, "
        "the ESP-IDF `CMakeLists.txt` files, `sdkconfig.defaults`",
        "```sh\npio run -t upload      # or: kwsgen flash --board esp32s3\npio device monitor     # JSON lines\n```",
    ),
}
QEMU_SUPPORT = ("semihost.c", "semihost.h", "startup.c", "mps2_an386.ld")


def board_options(board: Board, given: dict[str, str]) -> dict[str, object]:
    """The board's options with the given ones (strings from the command line) checked and converted."""
    options = dict(board.options)
    for key, text in given.items():
        if key not in options:
            known = ", ".join(sorted(options)) or "none"
            raise KwsgenError(f"board {board.name} has no option {key!r}; its options are: {known}")
        default = options[key]
        if isinstance(default, int):
            try:
                options[key] = int(text)
            except ValueError:
                raise KwsgenError(f"option {key} of board {board.name} must be a whole number, not {text!r}") from None
        else:
            options[key] = text
    if board.name == "esp32s3" and options.get("mic") not in ("pdm", "i2s"):
        raise KwsgenError(f"option mic of board esp32s3 must be pdm or i2s, not {options.get('mic')!r}")
    return options


def render_board(
    spec: FirmwareSpec, board: Board, out: Path, project_root: Path, options: dict[str, str], force: bool = False
) -> list[str]:
    """Write the board project into `out`; returns the files written (relative paths)."""
    if board.name not in LAYOUTS:
        raise KwsgenError(
            f"kwsgen cannot generate {board.title} projects yet; the boards it can build are: "
            f"{', '.join(sorted(LAYOUTS))}"
        )
    layout = LAYOUTS[board.name]
    opts = board_options(board, options)
    folder = GeneratedFolder(out, force=force)
    folder.check()
    env = _env(f"boards/{board.name}")
    context = {
        "version": __version__,
        "board": board,
        "options": opts,
        "baud": opts.get("baud", 115200),
        "spec": spec,
        "project_root": project_root,
        "core_dir": layout.core_dir,
        "glue": layout.glue,
        "instructions": layout.instructions,
        "classes": [{"number": c["number"], "label": c["comment"]} for c in class_macros(spec.labels)],
        "macs": f"{sum(la.macs for la in spec.model.layers):,}",
        "state_bytes": 4500 + spec.device.average * len(spec.labels),
    }
    files: dict[str, str] = {f"{layout.core_dir}/{name}": text for name, text in spec.core.items()}
    for target, template in layout.files.items():
        if template.endswith(".j2"):
            files[target] = env.get_template(template).render(**context)
        else:
            files[target] = (board_sources(board.name) / template).read_text()
    if board.name == "qemu":
        for name in QEMU_SUPPORT:
            files[name] = (host_tools_dir() / "m4" / name).read_text()
    files["README.md"] = _env("boards").get_template("README.md.j2").render(**context)
    for name, text in sorted(files.items()):
        folder.write_text(name, text)
    folder.finish()
    return sorted(files)
