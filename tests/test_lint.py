"""The code stays ruff-clean (lint and format)."""

from __future__ import annotations

import subprocess
import sys

from .conftest import REPO


def test_ruff_check():
    proc = subprocess.run([sys.executable, "-m", "ruff", "check", "."], cwd=REPO, capture_output=True, text=True)
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_ruff_format():
    proc = subprocess.run(
        [sys.executable, "-m", "ruff", "format", "--check", "."], cwd=REPO, capture_output=True, text=True
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_the_wheel_ships_all_of_host_tools_c_harness_and_none_of_its_scripts():
    """pyproject lists host_tools' shipped parts one by one: a new C file must be added there."""
    import tomllib

    repo = REPO
    shipped = tomllib.loads((repo / "pyproject.toml").read_text())["tool"]["hatch"]["build"]["targets"]["wheel"][
        "force-include"
    ]
    listed = {k.removeprefix("host_tools/") for k in shipped if k.startswith("host_tools/")}
    for path in sorted((repo / "host_tools").iterdir()):
        developer_only = path.name == "scripts"  # setup.sh and the make_*.py data generators
        assert (path.name in listed) != developer_only, path.name
    assert not any(k.startswith("host_tools/scripts") for k in shipped)
