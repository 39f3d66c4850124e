"""Import TensorFlow quietly and deterministically.

kwsgen promises that the same --seed gives the same model, so every TF import
goes through here: oneDNN's reordered float sums and nondeterministic kernels
are switched off, and TF's start-up chatter is silenced.
"""

from __future__ import annotations

import os
import random
from types import ModuleType

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
os.environ.setdefault("TF_ENABLE_ONEDNN_OPTS", "0")
os.environ.setdefault("TF_DETERMINISTIC_OPS", "1")

_tf: ModuleType | None = None


def tf() -> ModuleType:
    global _tf
    if _tf is None:
        import logging

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
