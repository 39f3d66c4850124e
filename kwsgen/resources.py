"""Where kwsgen's non-Python parts live: firmware_templates/, boards/, host_tools/.

In a source checkout (and an editable install) they are the top-level folders
beside the package; a wheel carries them under kwsgen/_resources/.
"""

from __future__ import annotations

from pathlib import Path

from .errors import KwsgenError

_PACKAGE = Path(__file__).resolve().parent


def resource_dir(name: str) -> Path:
    for candidate in (_PACKAGE / "_resources" / name, _PACKAGE.parent / name):
        if candidate.is_dir():
            return candidate
    raise KwsgenError(f"kwsgen's {name}/ folder is missing from this installation; reinstall kwsgen")


def runtime_dir() -> Path:
    """The portable C runtime."""
    return resource_dir("firmware_templates") / "runtime"


def host_tools_dir() -> Path:
    return resource_dir("host_tools")


def package_data(name: str) -> Path:
    path = _PACKAGE / "data" / name
    if not path.exists():
        raise KwsgenError(f"bundled file {name} is missing from this installation; reinstall kwsgen")
    return path
