"""kwsgen flash: hand a generated board project to the board's own flashing tool.

PlatformIO boards go through `pio run -t upload`; the QuickFeather through
the SDK's make and QuickLogic's `qfprog`. kwsgen only finds the tool, checks
the project is there, and says what to install when something is missing.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

from ..boards import Board
from ..errors import KwsgenError
from ..fsutil import MANIFEST
from .build import QF_APP_NAME

PIO_HINT = "PlatformIO is not installed: pip install platformio (make setup installs it into .venv)"
QFPROG_HINT = (
    "qfprog is not on PATH: it is QuickLogic's TinyFPGA-Programmer-Application "
    "(git clone https://github.com/QuickLogic-Corp/TinyFPGA-Programmer-Application, pip install tinyfpgab, "
    "then put a qfprog wrapper for tinyfpga-programmer-gui.py on PATH, as the qorc-sdk README shows)"
)


@dataclass(frozen=True)
class FlashStep:
    what: str
    argv: list[str]
    cwd: Path | None = None


def find_tool(name: str) -> str | None:
    """A tool on PATH, or beside this Python (a virtual environment's bin/ need not be on PATH)."""
    found = shutil.which(name)
    if found:
        return found
    beside = Path(sys.executable).parent / name
    return str(beside) if beside.is_file() and os.access(beside, os.X_OK) else None


def flash_steps(board: Board, project: Path, port: str | None) -> list[FlashStep]:
    """The commands that build and upload `project` (a kwsgen build output) to `board`."""
    if not (project / MANIFEST).is_file():
        raise KwsgenError(f"no kwsgen {board.name} project here; run: kwsgen build --board {board.name}", project)
    if board.project == "platformio":
        if not (project / "platformio.ini").is_file():
            raise KwsgenError(
                f"is not a PlatformIO project (no platformio.ini); was it built for {board.name}?", project
            )
        pio = find_tool("pio") or find_tool("platformio")
        if pio is None:
            raise KwsgenError(PIO_HINT)
        argv = [pio, "run", "-d", str(project), "-t", "upload"]
        if port:
            argv += ["--upload-port", port]
        return [FlashStep("PlatformIO build and upload", argv)]
    if board.project == "qorc-sdk":
        makefile_dir = project / "GCC_Project"
        if not (makefile_dir / "Makefile").is_file():
            raise KwsgenError(
                f"is not a qorc-sdk application (no GCC_Project/Makefile); was it built for {board.name}?", project
            )
        if not port:
            raise KwsgenError("the QuickFeather needs --port: the serial port of its bootloader (e.g. /dev/ttyACM0)")
        qfprog = find_tool("qfprog")
        if qfprog is None:
            raise KwsgenError(QFPROG_HINT)
        make = find_tool("make")
        if make is None:
            raise KwsgenError("make is not installed: apt-get install make")
        binary = makefile_dir / "output" / "bin" / f"{QF_APP_NAME}.bin"
        return [
            FlashStep("qorc-sdk build (needs QORC_SDK_PATH)", [make, "-C", str(makefile_dir)]),
            FlashStep("qfprog upload", [qfprog, "--port", port, "--m4app", str(binary), "--mode", "m4"]),
        ]
    raise KwsgenError(
        f"there is nothing to flash for {board.title}; run the firmware with kwsgen run --engine "
        f"{'qemu' if board.name == 'qemu' else 'host'}"
    )


def flash(board: Board, project: Path, port: str | None, echo=print) -> None:
    """Run the flash steps, stopping with the tool's exit status at the first that fails."""
    for step in flash_steps(board, project, port):
        echo(f"{step.what}: {' '.join(step.argv)}")
        try:
            result = subprocess.run(step.argv, cwd=step.cwd)
        except OSError as exc:
            raise KwsgenError(f"could not start {step.argv[0]}: {exc.strerror}") from None
        if result.returncode != 0:
            raise KwsgenError(f"{step.what} failed (exit status {result.returncode}); its messages are above")
