"""A trained model's files in models/<name>/, read without TensorFlow.

kwsgen train writes them (kwsgen/train/transfer.py); firmware generation,
`kwsgen run`, `kwsgen test` and the monitor read them. model.json holds:

  kwsgen_version     the kwsgen that trained it
  labels             the project's labels, in class order (class i + 1)
  classes            {"0": "UNK", "1": label, ...}: what the firmware prints
  unk_threshold      a top probability below this is class 0
  base, template     the base model and its template
  input_shape        [cascade_len, n_coeffs]
  input_quantisation {"scale", "zero_point"} of the int8 input
  frontend           the front-end settings it was trained with
  energy_filter      the energy filter's settings
  minmax             the Min/Max scaling to int8 (kwsgen.frontend.MinMax)
  detection          the calibrated operating points per device mode

model.tflite is the int8 model; model.keras, metrics.json and the report are
for people.
"""

from __future__ import annotations

import json
from pathlib import Path

from ..errors import KwsgenError
from ..project import Project


def load_trained(project: Project, name: str) -> tuple[dict, bytes, Path]:
    """A trained model's model.json and int8 TFLite, with clear errors for what is missing."""
    folder = project.model_dir(name)
    if not (folder / "model.tflite").is_file() or not (folder / "model.json").is_file():
        have = (
            sorted(p.name for p in project.models_dir.iterdir() if (p / "model.tflite").is_file())
            if project.models_dir.is_dir()
            else []
        )
        raise KwsgenError(
            f"no trained model {name!r} (kwsgen train makes one); trained: {', '.join(have) or 'none'}", project.root
        )
    try:
        info = json.loads((folder / "model.json").read_text())
        info["labels"]
    except (ValueError, KeyError, TypeError) as exc:
        raise KwsgenError(f"model.json is damaged ({exc}); train again", folder) from None
    return info, (folder / "model.tflite").read_bytes(), folder
