"""The root CMakeLists.txt builds the runtime and its C unit tests under
AddressSanitizer and UndefinedBehaviorSanitizer, with -Werror."""

from __future__ import annotations

import shutil
import subprocess

import pytest

from .conftest import REPO


def test_cmake_build_and_ctest(tmp_path):
    if shutil.which("cmake") is None:
        pytest.fail("cmake is missing: run host_tools/scripts/setup.sh")
    build = tmp_path / "build"
    steps = [
        ["cmake", "-S", str(REPO), "-B", str(build), "-DKWSGEN_SANITIZE=ON"],
        ["cmake", "--build", str(build), "--parallel", "2"],
        ["ctest", "--test-dir", str(build), "--output-on-failure"],
    ]
    for cmd in steps:
        proc = subprocess.run(cmd, capture_output=True, text=True)
        assert proc.returncode == 0, f"{' '.join(cmd)}:\n{proc.stdout}\n{proc.stderr}"
