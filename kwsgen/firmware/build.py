"""kwsgen build: render a complete board project around the shared portable core.

Each board's files come from firmware_templates/boards/<board>/ (Jinja2 for
the ones ending in .j2); the core goes into a subfolder the board's build
system compiles. The output is a generated folder: kwsgen refuses to
overwrite files a person changed or added, unless forced.
"""

from __future__ import annotations

import json
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
    build_outputs: tuple[str, ...] = ()  # what the board's build tool writes inside the project


LAYOUTS = {
    "host": BoardLayout(
        "kws",
        {"CMakeLists.txt": "CMakeLists.txt", "main.c": "main.c", "capture_main.c": "capture_main.c"},
        "`main.c` (audio on standard input, lines on standard output), `capture_main.c` (the capture "
        "firmware: raw audio in, capture frames out), `CMakeLists.txt`",
        "```sh\ncmake -S . -B build && cmake --build build\n./build/kws_host < recording.wav      "
        "# 16 kHz mono 16-bit WAV, or raw int16 samples\n```",
        ("build",),
    ),
    "qemu": BoardLayout(
        "kws",
        {"Makefile": "Makefile", "main.c": "main.c"},
        "`main.c` (audio from a file through semihosting), `startup.c`, `semihost.*`, `mps2_an386.ld`, `Makefile`",
        "```sh\nmake\nsox recording.wav -t raw -e signed -b 16 -r 16000 -c 1 recording.raw\n"
        "make run AUDIO=recording.raw\n```\n\nOr `kwsgen run recording.wav --engine qemu`.",
        ("kws_qemu.elf",),
    ),
    "nano33": BoardLayout(
        "lib/kws/src",
        {"platformio.ini": "platformio.ini.j2", "src/main.cpp": "main.cpp.j2"},
        "`src/main.cpp` (PDM microphone into a ring buffer, JSON lines on Serial, the LED on keywords), "
        "`platformio.ini`",
        "PlatformIO installs the `nordicnrf52` platform and ArduinoCore-mbed (the `nano33ble` core,\n"
        "which builds with the softfp float ABI, as kwsgen's size figures assume) on first use.\n\n"
        "```sh\npio run -t upload      # or: kwsgen flash --board nano33\n"
        "kwsgen monitor --port auto -p PROJECT   # or: pio device monitor\n```\n\n"
        "`pio run` ends with `[SUCCESS]` and the flash and RAM it uses. After the upload, the port\n"
        'shows one JSON line per classification (`{"ModelNumber":0,"Classification":1,"label":...}`)\n'
        "when you say a keyword near the board, and the orange LED lights for half a second. A line\n"
        '`{"error":"audio lost","samples":N}` means the processing fell behind the microphone.',
        (".pio", ".vscode"),
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
        "`platformio.ini` pins PlatformIO's espressif32 6.13.0 (ESP-IDF 5.5.3), which kwsgen's glue was\n"
        "checked against; PlatformIO installs it on first use. `sdkconfig.defaults` sets 240 MHz and puts\n"
        "ESP-IDF's console on UART0 (GPIO43/44), so the USB port carries only kwsgen's lines.\n\n"
        "```sh\npio run -t upload      # or: kwsgen flash --board esp32s3\n"
        "kwsgen monitor --port auto -p PROJECT   # or: pio device monitor\n```\n\n"
        "`pio run` ends with `[SUCCESS]`. After the upload (the chip's ROM prints a few boot lines on\n"
        "the USB port at reset, shown dimmed as device log by the monitor), saying a keyword gives one\n"
        'JSON line per classification. `{"error":"audio lost","samples":N}` means the processing\n'
        "fell behind the microphone.",
        (".pio", ".vscode", "sdkconfig.esp32s3", "dependencies.lock", "managed_components"),
    ),
    "quickfeather": BoardLayout(
        "kws",
        {
            "GCC_Project/Makefile": "Makefile.j2",
            "src/kws_qf_glue.c": "kws_qf_glue.c.j2",
            "inc/kws_qf_config.h": "kws_qf_config.h.j2",
            "inc/app_config.h": "app_config.h.j2",
            "inc/sensor_audio_config_user.h": "sensor_audio_config_user.h",
        },
        "`src/kws_qf_glue.c` (the SDK's audio blocks into the pipeline, JSON lines on the USB serial port), "
        "`inc/app_config.h` (qf_ssi_ai_app switched to audio recognition), `inc/kws_qf_config.h`, "
        "`GCC_Project/Makefile` (stages the SDK's qf_ssi_ai_app with these files and runs its build)",
        "This is a qorc-sdk application built on the SDK's own `qf_ssi_ai_app`: the SDK's audio HAL\n"
        "(`HAL_Audio_*`, DMA, datablock processor) delivers 16 kHz PDM blocks to\n"
        "`sml_recognition_run_batch()`, the hook SensiML Knowledge Packs implement, and kwsgen's\n"
        "pipeline takes the Knowledge Pack's place. It needs a qorc-sdk checkout with its submodules\n"
        "(`git clone --recursive https://github.com/QuickLogic-Corp/qorc-sdk`: the build includes\n"
        "`s3-gateware/gateware.h`) and the GNU Arm toolchain with its C++ library, which the SDK's\n"
        "link uses (on Debian or Ubuntu: `apt install gcc-arm-none-eabi libstdc++-arm-none-eabi-newlib`).\n"
        "kwsgen checked this against qorc-sdk d61d0641 with Debian's GCC 12.2.\n\n"
        "```sh\ncd GCC_Project\nmake QORC_SDK_PATH=$HOME/qorc-sdk    # or put this folder at qorc-sdk/qf_apps/<name>/\n"
        "qfprog --port /dev/ttyACM0 --m4app output/bin/{app_name}.bin --mode m4   # or: make flash PORT=...\n"
        "```\n\n`make` ends with `built .../output/bin/{app_name}.bin`. Press the reset button after\n"
        "flashing; the JSON lines appear on the USB serial port (`kwsgen monitor --port /dev/ttyACM0`;\n"
        "say a keyword and its line appears). The M4 runs at a constant 72 MHz. The SDK's banner and\n"
        "debug messages go to the other port: the S3's UART pins (460800 baud) with `uart=usbserial`,\n"
        "the USB port with `uart=hw`, where the JSON lines go to the UART pins at 460800 baud\n"
        "(`kwsgen monitor --board quickfeather --port /dev/ttyUSB0` with a USB-UART adapter). When the\n"
        "host is not reading the USB port, lines are dropped rather than stalling recognition, and a\n"
        "`# kwsgen: N lines dropped` line says so when the host reads again.",
        ("GCC_Project/output",),
    ),
}
QF_APP_NAME = "qf_kwsgen"
DEFAULT_RING_SAMPLES = 8192  # 0.5 s: capture firmware, and builds without a real-time budget
MIN_RING_SAMPLES = 2048
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
        board.check_option(key, options[key])
    return options


CAPTURE_BOARDS = ("host", "nano33", "esp32s3")
PLATFORMIO_FILTER = "monitor/filter_kwsgen.py"


def render_board(
    spec: FirmwareSpec,
    board: Board,
    out: Path,
    project_root: Path,
    options: dict[str, str],
    force: bool = False,
    capture: bool = False,
    audio_buffer: int | None = None,
) -> list[str]:
    """Write the board project into `out`; returns the files written (relative paths).

    capture: data-collection firmware instead (kws_capture.h), for kwsgen record.
    audio_buffer: samples the glue's audio buffer holds (realtime.budget: what waits while one
    inference runs); None keeps the boards' default."""
    if capture and board.name not in CAPTURE_BOARDS:
        hint = (
            "; the SDK's own qf_ssi_ai_app in data-collection mode streams audio to SensiML's tools"
            if board.name == "quickfeather"
            else ""
        )
        raise KwsgenError(
            f"kwsgen does not generate capture firmware for {board.title} yet (it does for "
            f"{', '.join(CAPTURE_BOARDS)}){hint}"
        )
    if board.name not in LAYOUTS:
        raise KwsgenError(
            f"kwsgen cannot generate {board.title} projects yet; the boards it can build are: "
            f"{', '.join(sorted(LAYOUTS))}"
        )
    layout = LAYOUTS[board.name]
    opts = board_options(board, options)
    folder = GeneratedFolder(out, force=force, build_outputs=layout.build_outputs)
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
        "instructions": layout.instructions.replace("{app_name}", QF_APP_NAME),
        "app_name": QF_APP_NAME,
        "classes": [{"number": c["number"], "label": c["comment"]} for c in class_macros(spec.labels)],
        "macs": f"{sum(la.macs for la in spec.model.layers):,}",
        "state_bytes": 4500 + spec.rule.average * len(spec.labels),
        "capture": capture,
        "labels_json": json.dumps(spec.labels),
        "sample_rate": spec.frontend.sample_rate,
        "ring_samples": max(audio_buffer or DEFAULT_RING_SAMPLES, MIN_RING_SAMPLES)
        if not capture
        else DEFAULT_RING_SAMPLES,
    }
    files: dict[str, str] = {f"{layout.core_dir}/{name}": text for name, text in spec.core.items()}
    for target, template in layout.files.items():
        if template.endswith(".j2"):
            files[target] = env.get_template(template).render(**context)
        else:
            files[target] = (board_sources(board.name) / template).read_text()
    if board.project == "platformio" and not capture:
        files[PLATFORMIO_FILTER] = _env("boards").get_template("filter_kwsgen.py.j2").render(**context)
    if board.name == "qemu":
        for name in QEMU_SUPPORT:
            files[name] = (host_tools_dir() / "m4" / name).read_text()
    files["README.md"] = _env("boards").get_template("README.md.j2").render(**context)
    for name, text in sorted(files.items()):
        folder.write_text(name, text)
    folder.finish()
    return sorted(files)
