"""Import TensorFlow quietly and deterministically; the float model's input and batched predictions.

kwsgen promises that the same --seed gives the same model, so every TF import
goes through here: nondeterministic kernels are switched off, and TF's start-up
chatter is silenced.

oneDNN's CPU kernels stay on (TF_ENABLE_ONEDNN_OPTS=0 in the environment turns
them off). Measured on 2 cores: the example project's fitting and mining took 150 s
with them against 177 s without, and two processes still gave bit-identical
weights. They sum floats in another order than TF's own kernels, so a model
trained with them differs in its last bits from one trained without: the shipped
base models were pretrained with them off.
"""

from __future__ import annotations

import contextlib
import os
import random
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
os.environ.setdefault("TF_ENABLE_ONEDNN_OPTS", "1")
os.environ.setdefault("TF_DETERMINISTIC_OPS", "1")

_tf: ModuleType | None = None


def tf() -> ModuleType:
    global _tf
    if _tf is None:
        import logging

        with quiet_native():  # oneDNN's notice is written before TF's log level applies
            import tensorflow

        tensorflow.get_logger().setLevel(logging.ERROR)
        logging.getLogger("absl").setLevel(logging.ERROR)
        tensorflow.config.experimental.enable_op_determinism()
        _tf = tensorflow
    return _tf


def seed_everything(seed: int) -> None:
    import numpy as np

    random.seed(seed)
    np.random.seed(seed % 2**32)
    tf().keras.utils.set_random_seed(seed)


# The CPU features oneDNN chooses its kernels by: another set, another order of float sums, another model.
_ISA_FLAGS = ("avx2", "avx512f", "avx512_vnni", "avx512_bf16", "avx512_fp16", "amx_bf16", "amx_int8")


def environment() -> dict:
    """What a trained model's bits depend on besides code, data and seed (metrics.json and model cards):
    the same seed gives the same model only where these match."""
    import platform

    import numpy as np

    from .. import __version__

    cpu, flags = platform.processor() or platform.machine(), set()
    with contextlib.suppress(OSError):
        first_cpu = Path("/proc/cpuinfo").read_text().split("\n\n")[0]
        info = {k.strip(): v.strip() for k, v in (line.split(":", 1) for line in first_cpu.splitlines() if ":" in line)}
        cpu = f"{info.get('model name', cpu)} (family {info.get('cpu family')}, model {info.get('model')})"
        flags = set(info.get("flags", "").split())
    return {
        "kwsgen": __version__,
        "tensorflow": tf().__version__,
        "numpy": np.__version__,
        "python": platform.python_version(),
        "cpu": cpu,
        "cpu_isa": [f for f in _ISA_FLAGS if f in flags],
        "cpu_count": os.cpu_count(),
        "onednn": os.environ.get("TF_ENABLE_ONEDNN_OPTS", "1") != "0",
    }


def to_model_input(x):
    """int8 features -> the float model input: exactly what the int8 model's input quantisation undoes."""
    import numpy as np

    return (np.asarray(x, dtype=np.float32) / 128.0)[..., np.newaxis]


# Inputs per batch when a float model only predicts. Measured on 2 cores, 50,458 bank windows through the
# kws25k transfer model: 7.9 s at 256 against 12.1 s at 1,024 and 10.6 s at 512; larger batches' activations
# (25 x 12 x 36 floats per input and layer) no longer fit the caches. The outputs agree at every size to float
# rounding (1e-7: SIMD lanes split a batch by position).
# With oneDNN's kernels (25,000 random inputs, the example project's model) 128-512 are level (3.5-3.7 s)
# and 1,024 and 2,048 slower (4.0 and 5.4 s), so 256 stays.
PREDICT_BATCH = 256


def predict(model, x):
    """The float model's outputs for int8 features x [n, windows, coeffs] (a dict for a multi-output model)."""
    return model.predict(to_model_input(x), verbose=0, batch_size=PREDICT_BATCH)


@contextlib.contextmanager
def quiet_native() -> Iterator[None]:
    """Silence what TensorFlow's C++ code writes to stdout and stderr (converter chatter), and its
    deprecation warnings, for the duration; what was written comes back if the block fails."""
    import sys
    import tempfile
    import warnings

    sys.stdout.flush()
    sys.stderr.flush()
    saved = os.dup(1), os.dup(2)
    with tempfile.TemporaryFile() as sink, warnings.catch_warnings():
        warnings.simplefilter("ignore")
        os.dup2(sink.fileno(), 1)
        os.dup2(sink.fileno(), 2)
        try:
            yield
        except BaseException:
            os.dup2(saved[0], 1)
            os.dup2(saved[1], 2)
            sink.seek(0)
            sys.stderr.write(sink.read().decode(errors="replace")[-4000:])
            raise
        finally:
            sys.stdout.flush()
            sys.stderr.flush()
            os.dup2(saved[0], 1)
            os.dup2(saved[1], 2)
            os.close(saved[0])
            os.close(saved[1])
