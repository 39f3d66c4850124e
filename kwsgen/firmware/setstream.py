"""A Set's labelled segments as one stream through the firmware: detections, misses and false alarms.

`kwsgen test` uses this beside the confusion matrix. The Set's usable
segments are played one after another (a quarter second of silence between
them), through the firmware-exact simulation in both device modes at the
firmware's operating point, and scored as `kwsgen run --truth` scores long
recordings: a keyword segment is hit when a detection of its label has its
window's centre inside it; every other detection is a false alarm, counted
per hour of the Set's Unknown audio. A DET curve moves one threshold for
every keyword.
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np

from ..project import UNKNOWN, Project
from ..project.store import Segment
from ..train.calibrate import segment_reader, segments_stream
from .app import DetectionRule, FirmwareSpec, load_spec
from .events import Detection, score_events
from .simulate import apply_rule, classified_frames

DET_THRESHOLDS = (0.4, 0.5, 0.6, 0.7, 0.8, 0.85, 0.9, 0.95, 0.98)


def set_audio(project: Project, segments: list[Segment]) -> tuple[np.ndarray, list[Segment], int]:
    return segments_stream(sorted(segments), segment_reader(project), project.settings.frontend.sample_rate // 4)


def score(spec: FirmwareSpec, frames, outputs, rule: DetectionRule, truth, unknown_seconds: float) -> dict:
    found = [
        Detection("validate", r.sample, spec.class_label(r.classification), r.score / 100)
        for r in apply_rule(spec, frames, outputs, rule)
        if r.classification != 0 and spec.class_label(r.classification) != UNKNOWN
    ]
    keywords = [k for k in spec.labels if k != UNKNOWN]
    report = score_events(truth, found, keywords, spec.frontend.cascade_samples, unknown_seconds)
    return {
        "keywords": report.events,
        "miss_rate": round(report.miss_rate, 4) if report.events else None,
        "false_alarms": report.false_alarms,
        "unknown_minutes": round(unknown_seconds / 60, 2),
        "false_alarms_per_hour": round(report.false_alarms_per_hour, 1) if unknown_seconds else None,
        "repeats": sum(c.repeats for c in report.classes.values()),
    }


def detection_on_segments(project: Project, model: str, segments: list[Segment]) -> dict:
    """Per device mode: the operating point's misses and false alarms on these segments, and a DET curve."""
    audio, truth, unknown = set_audio(project, segments)
    seconds = unknown / project.settings.frontend.sample_rate
    out = {}
    for mode in ("filter", "continuous"):
        spec = load_spec(project, model, mode=mode)
        frames, outputs = classified_frames(spec, audio)
        det = []
        for t in DET_THRESHOLDS:
            thresholds = tuple(
                q if label == UNKNOWN else DetectionRule.q_min(t)
                for label, q in zip(spec.labels, spec.rule.thresholds, strict=True)
            )
            det.append(
                {
                    "threshold": t,
                    **score(spec, frames, outputs, replace(spec.rule, thresholds=thresholds), truth, seconds),
                }
            )
        out[mode] = {
            "operating_point": spec.rule_source,
            "rule": spec.rule.to_dict(spec.labels),
            **score(spec, frames, outputs, spec.rule, truth, seconds),
            "det": det,
        }
    return out
