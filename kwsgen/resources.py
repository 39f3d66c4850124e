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


# The runtime's file lists, in one place: the model compiler copies them beside generated models,
# the host tools compile them, footprints measure them.
KERNEL_FILES = (
    "kws_nn.h",
    "kws_nn_math.h",
    "kws_nn_requant.h",
    "kws_nn_dot.h",
    "kws_nn_dsp.h",
    "kws_nn_conv.c",
    "kws_nn_depthwise_conv.c",
    "kws_nn_fully_connected.c",
    "kws_nn_pooling.c",
    "kws_nn_mean.c",
    "kws_nn_softmax.c",
    "kws_nn_add.c",
)
SHARED_RUNTIME_FILES = ("kws_fixed.h", "kws_dsp.h")
KERNEL_SOURCE = {  # TFLite operator -> the kernel source that implements it
    "CONV_2D": "kws_nn_conv.c",
    "DEPTHWISE_CONV_2D": "kws_nn_depthwise_conv.c",
    "FULLY_CONNECTED": "kws_nn_fully_connected.c",
    "AVERAGE_POOL_2D": "kws_nn_pooling.c",
    "MAX_POOL_2D": "kws_nn_pooling.c",
    "MEAN": "kws_nn_mean.c",
    "SOFTMAX": "kws_nn_softmax.c",
    "ADD": "kws_nn_add.c",
}


def runtime_files() -> list[Path]:
    """The C files a generated model needs besides itself."""
    rt = runtime_dir()
    return [rt / "nn" / f for f in KERNEL_FILES] + [rt / f for f in SHARED_RUNTIME_FILES]


def host_tools_dir() -> Path:
    return resource_dir("host_tools")


def package_data(name: str) -> Path:
    path = _PACKAGE / "data" / name
    if not path.exists():
        raise KwsgenError(f"bundled file {name} is missing from this installation; reinstall kwsgen")
    return path
