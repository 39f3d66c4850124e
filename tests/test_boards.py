"""Board definitions load, and the portable front end compiles with -Werror
for every Arm board's CPU flags (both the DSP and the portable path)."""

from __future__ import annotations

import subprocess

import pytest

from kwsgen.boards import get_board, load_boards
from kwsgen.errors import KwsgenError
from kwsgen.frontend import EnergyFilterConfig, FrontendConfig
from kwsgen.hosttools.build import FRONTEND_SOURCES, arm_gcc, generated_frontend_dir
from kwsgen.resources import runtime_dir


def test_all_boards_load():
    boards = load_boards()
    assert {"nano33", "esp32s3", "quickfeather", "host", "qemu"} <= set(boards)
    assert boards["nano33"].platformio == {"platform": "nordicnrf52", "board": "nano33ble", "framework": "arduino"}
    assert "2341:805a" in boards["nano33"].usb_ids


def test_unknown_board_lists_the_valid_ones():
    with pytest.raises(KwsgenError, match=r"unknown board 'uno'.*nano33"):
        get_board("uno")


ARM_BOARDS = sorted(name for name, b in load_boards().items() if b.arch == "arm")


@pytest.mark.parametrize("board", ARM_BOARDS)
@pytest.mark.parametrize("dsp", [1, 0], ids=["dsp", "portable"])
def test_frontend_compiles_for_board(board, dsp, tmp_path):
    flags = get_board(board).cpu_flags
    gen = generated_frontend_dir(FrontendConfig(), EnergyFilterConfig())
    for src in [*(runtime_dir() / s for s in FRONTEND_SOURCES), gen / "kws_fe_tables.c"]:
        cmd = [
            arm_gcc(),
            "-std=c99",
            *flags,
            "-O2",
            "-Wall",
            "-Wextra",
            "-Werror",
            "-pedantic",
            f"-DKWS_USE_DSP={dsp}",
            f"-I{runtime_dir()}",
            f"-I{gen}",
            "-c",
            str(src),
            "-o",
            str(tmp_path / "x.o"),
        ]
        proc = subprocess.run(cmd, capture_output=True, text=True)
        assert proc.returncode == 0, proc.stderr
