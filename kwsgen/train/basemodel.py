"""Shipped base models: weights as .npz keyed by layer, metadata as JSON.

A base model folder holds base.json (template, classes, front end, Min/Max
bounds), weights.npz (one array per layer weight) and the model card
(card.json, card.md). Rebuilding the template and loading weights by layer
name keeps the files small and independent of Keras' own file format.
"""

from __future__ import annotations

import hashlib
import io
import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..errors import KwsgenError
from ..frontend import FrontendConfig, MinMax
from ..fsutil import atomic_write_bytes, atomic_write_text

FORMAT = 1


@dataclass
class BaseModel:
    template: str
    classes: list[str]
    frontend: FrontendConfig
    minmax: MinMax
    weights: dict[str, list[np.ndarray]]

    @property
    def input_shape(self) -> tuple[int, int]:
        return self.frontend.cascade_len, self.frontend.n_coeffs


def save_base(folder: Path, base: BaseModel, card: dict) -> None:
    from .pretrain import write_card_markdown

    folder.mkdir(parents=True, exist_ok=True)
    arrays = {f"{layer}/{i}": w for layer, ws in base.weights.items() for i, w in enumerate(ws)}
    buf = io.BytesIO()
    np.savez_compressed(buf, **arrays)
    data = buf.getvalue()
    meta = {
        "format": FORMAT,
        "template": base.template,
        "classes": base.classes,
        "frontend": base.frontend.to_dict(),
        "minmax": base.minmax.to_dict(),
        "weights_sha256": hashlib.sha256(data).hexdigest(),
    }
    atomic_write_bytes(folder / "weights.npz", data)
    atomic_write_text(folder / "base.json", json.dumps(meta, indent=1) + "\n")
    atomic_write_text(folder / "card.json", json.dumps(card, indent=1) + "\n")
    write_card_markdown(folder / "card.md", card)


def load_base(folder: Path) -> BaseModel:
    meta_path, weights_path = folder / "base.json", folder / "weights.npz"
    if not meta_path.is_file() or not weights_path.is_file():
        raise KwsgenError("is not a base model (needs base.json and weights.npz)", folder)
    try:
        meta = json.loads(meta_path.read_text())
        data = weights_path.read_bytes()
    except (OSError, ValueError) as exc:
        raise KwsgenError(f"base model is unreadable: {exc}", folder) from None
    if meta.get("format") != FORMAT:
        raise KwsgenError(f"base model format {meta.get('format')!r} is not {FORMAT}; reinstall kwsgen", folder)
    if hashlib.sha256(data).hexdigest() != meta.get("weights_sha256"):
        raise KwsgenError("weights.npz does not match base.json (corrupted or edited); reinstall kwsgen", folder)
    try:
        arrays = np.load(io.BytesIO(data))
        weights: dict[str, list[np.ndarray]] = {}
        for key in sorted(arrays.files, key=lambda k: (k.rsplit("/", 1)[0], int(k.rsplit("/", 1)[1]))):
            layer = key.rsplit("/", 1)[0]
            weights.setdefault(layer, []).append(arrays[key])
        return BaseModel(
            template=meta["template"],
            classes=list(meta["classes"]),
            frontend=FrontendConfig.from_dict(meta["frontend"]),
            minmax=MinMax(meta["minmax"]["min"], meta["minmax"]["max"]),
            weights=weights,
        )
    except (KeyError, ValueError, TypeError) as exc:
        raise KwsgenError(f"base model is damaged: {exc}", folder) from None


def shipped_base_dir() -> Path:
    from ..resources import package_data

    return package_data("base_models")


def find_base(name: str) -> Path:
    """A shipped base model by template name, or a path to a base model folder."""
    path = Path(name)
    if path.is_dir():
        return path
    folder = shipped_base_dir() / name
    if not folder.is_dir():
        shipped = sorted(p.name for p in shipped_base_dir().iterdir() if (p / "base.json").exists())
        raise KwsgenError(f"no base model {name!r}; shipped: {', '.join(shipped) or 'none'} (or give a folder)")
    return folder


def base_keras_model(base: BaseModel):
    """The base model as a Keras model (core plus its pretraining classifier), weights loaded."""
    from .templates import build_base, get_template

    model = build_base(get_template(base.template), base.input_shape, len(base.classes))
    for layer in model.layers:
        if layer.name in base.weights:
            try:
                layer.set_weights(base.weights[layer.name])
            except ValueError as exc:
                raise KwsgenError(
                    f"base model {base.template}: layer {layer.name} does not fit its template: {exc}"
                ) from None
    missing = [layer.name for layer in model.layers if layer.get_weights() and layer.name not in base.weights]
    if missing:
        raise KwsgenError(f"base model {base.template} lacks weights for {', '.join(missing)}")
    return model
