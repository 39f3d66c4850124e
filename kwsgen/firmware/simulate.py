"""The firmware's results computed in Python: the reference front end, TFLite Micro, the same integer rules.

This is `kwsgen run --engine python`. It mirrors firmware_templates/runtime/
kws_pipeline.c step for step, so the C on any board must print the same lines.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np

from ..frontend.stream import stream_hops
from .app import FirmwareSpec, json_label


@dataclass(frozen=True)
class Result:
    frame: int
    sample: int
    classification: int  # 0: UNK; 1..K: the labels in model order
    score: int  # hundredths

    def line(self, spec: FirmwareSpec) -> str:
        return (
            f'{{"ModelNumber":{spec.device.model_number},"Classification":{self.classification},'
            f'"label":"{json_label(spec.class_label(self.classification))}",'
            f'"score":{self.score // 100}.{self.score % 100:02d},"sample":{self.sample}}}'
        )


def pipeline_score(total: int, n: int) -> int:
    """total / (256 n) in hundredths, rounded half up, as kws_pipeline_score() in kws_pipeline.c."""
    return (total * 100 + n * 128) // (n * 256)


def model_outputs(spec: FirmwareSpec, inputs: np.ndarray) -> np.ndarray:
    """int8 outputs of the model for each [cascade_len, n_coeffs] input, from TFLite Micro."""
    from ..check.verify import tflm_interpreter

    if len(inputs) == 0:
        return np.zeros((0, len(spec.labels)), np.int8)
    interp = tflm_interpreter(spec.tflite, preserve=False)
    shape = spec.graph.tensor(spec.graph.inputs[0]).shape
    out = np.empty((len(inputs), len(spec.labels)), np.int8)
    for i, x in enumerate(inputs):
        interp.set_input(np.asarray(x, np.int8).reshape(shape), 0)
        interp.invoke()
        out[i] = np.asarray(interp.get_output(0)).reshape(-1)
    return out


def classified_frames(spec: FirmwareSpec, audio: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The frames the firmware classifies in `audio` (from reset), and the model's int8 outputs there."""
    filt = replace(spec.energy_filter, enabled=False) if spec.continuous else spec.energy_filter
    hops = stream_hops(np.asarray(audio, np.int16), spec.frontend, filt, spec.minmax)
    return outputs_at(spec, hops["features"], hops["classify"] == 1, hops["cascade_ready"] == 1)


def outputs_at(
    spec: FirmwareSpec, features: np.ndarray, classify: np.ndarray, ready: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Frames classified (filter mode: where the filter asks; continuous: every `every` hops) and outputs."""
    cl = spec.frontend.cascade_len
    if spec.continuous:
        frames = np.flatnonzero(ready)
        frames = frames[(frames - (cl - 1)) % spec.rule.every == 0]
    else:
        frames = np.flatnonzero(classify)
    inputs = np.stack([features[f - cl + 1 : f + 1] for f in frames]) if len(frames) else []
    return frames, model_outputs(spec, inputs)


def apply_rule(spec: FirmwareSpec, frames: np.ndarray, outputs: np.ndarray, rule=None) -> list[Result]:
    """kws_pipeline.c's classify_hop over the classified frames: what the firmware reports."""
    rule = rule or spec.rule
    thresholds = np.asarray(rule.thresholds, np.int64)
    probs = np.asarray(outputs, np.int64) + 128
    window, hop = spec.frontend.window_size, spec.frontend.hop_size
    unknown = spec.unknown_class
    results: list[Result] = []
    quiet_until, streak, streak_class = 0, 0, 0
    history: list[np.ndarray] = []
    for frame, p in zip((int(f) for f in frames), probs, strict=True):
        sample = frame * hop + window - 1
        if not spec.continuous:
            top = int(np.argmax(p))
            cls = top + 1 if p[top] >= thresholds[top] else 0
            if cls not in (0, unknown):
                if frame < quiet_until:
                    cls = 0
                else:
                    quiet_until = frame + rule.holdoff
            results.append(Result(frame, sample, cls, pipeline_score(int(p[top]), 1)))
            continue
        history = [*history, p][-rule.average :]
        sums = np.sum(history, axis=0)
        top = int(np.argmax(sums))
        n = len(history)
        candidate = top + 1 if sums[top] >= thresholds[top] * n else 0
        if candidate in (0, unknown):
            streak, streak_class = 0, 0
            continue
        if candidate == streak_class:
            streak = min(streak + 1, 255)
        else:
            streak, streak_class = 1, candidate
        if streak < rule.hits or frame < quiet_until:
            continue
        quiet_until, streak = frame + rule.suppress, 0
        results.append(Result(frame, sample, candidate, pipeline_score(int(sums[top]), n)))
    return results


def simulate(spec: FirmwareSpec, audio: np.ndarray) -> list[Result]:
    """The results the firmware reports for `audio` (int16, from reset)."""
    return apply_rule(spec, *classified_frames(spec, audio))
