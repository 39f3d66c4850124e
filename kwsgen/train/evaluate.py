"""Classification with an UNK threshold, and confusion matrices as SensiML lays them out.

A prediction is the class with the top probability, or UNK when that
probability is below the threshold. The matrix has one row per true label;
its columns are the labels, then UNK, then Support and Sensitivity %, and a
last row holds each column's Positive Predictivity %.

Accuracy counts an UNK on an Unknown input as correct: both mean "no
keyword", which is what the device will act on. Everywhere else UNK is a miss.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..project import UNKNOWN

UNK = "UNK"


def classify(probabilities: np.ndarray, threshold: float) -> np.ndarray:
    """Predicted label index per row, -1 for UNK."""
    probabilities = np.asarray(probabilities)
    if not len(probabilities):
        return np.zeros(0, dtype=np.int64)
    pred = probabilities.argmax(axis=1)
    return np.where(probabilities.max(axis=1) < threshold, -1, pred)


def int8_probabilities(outputs: np.ndarray, scale: float, zero_point: int) -> np.ndarray:
    return (np.asarray(outputs, dtype=np.float64) - zero_point) * scale


@dataclass
class Confusion:
    labels: list[str]
    matrix: np.ndarray  # [labels, labels + 1]: the last column is UNK

    @classmethod
    def from_predictions(cls, labels: list[str], truth: np.ndarray, pred: np.ndarray) -> Confusion:
        k = len(labels)
        m = np.zeros((k, k + 1), dtype=np.int64)
        for t, p in zip(np.asarray(truth), np.asarray(pred), strict=True):
            m[int(t), k if p < 0 else int(p)] += 1
        return cls(list(labels), m)

    @property
    def support(self) -> np.ndarray:
        return self.matrix.sum(axis=1)

    def _correct(self) -> np.ndarray:
        correct = np.diag(self.matrix[:, : len(self.labels)]).copy()
        if UNKNOWN in self.labels:
            u = self.labels.index(UNKNOWN)
            correct[u] += self.matrix[u, -1]
        return correct

    @property
    def sensitivity(self) -> np.ndarray:
        with np.errstate(invalid="ignore", divide="ignore"):
            return np.where(self.support > 0, self._correct() / np.maximum(self.support, 1), np.nan)

    @property
    def predictivity(self) -> np.ndarray:
        """Per column (labels, then UNK): the share of predictions that were right."""
        cols = self.matrix.sum(axis=0)
        right = np.append(np.diag(self.matrix[:, : len(self.labels)]), 0)
        if UNKNOWN in self.labels:
            right[-1] = self.matrix[self.labels.index(UNKNOWN), -1]
        with np.errstate(invalid="ignore", divide="ignore"):
            return np.where(cols > 0, right / np.maximum(cols, 1), np.nan)

    @property
    def total(self) -> int:
        return int(self.matrix.sum())

    @property
    def accuracy(self) -> float:
        return float(self._correct().sum() / self.total) if self.total else float("nan")

    @property
    def balanced_accuracy(self) -> float:
        s = self.sensitivity
        s = s[~np.isnan(s)]
        return float(s.mean()) if len(s) else float("nan")

    def text(self, title: str = "") -> str:
        cols = [*self.labels, UNK]
        width = max(8, *(len(c) for c in cols)) + 1
        head = "".join(c.rjust(width) for c in cols) + "Support".rjust(9) + "Sens. %".rjust(9)
        lines = [title] if title else []
        lines.append("true \\ predicted".ljust(width + 8) + head)
        for i, label in enumerate(self.labels):
            row = "".join(str(v).rjust(width) for v in self.matrix[i])
            sens = self.sensitivity[i]
            lines.append(label.ljust(width + 8) + row + str(self.support[i]).rjust(9) + _pct(sens).rjust(9))
        lines.append("Pos. pred. %".ljust(width + 8) + "".join(_pct(p).rjust(width) for p in self.predictivity))
        lines.append(f"accuracy {_pct(self.accuracy)}% of {self.total} inputs (UNK on {UNKNOWN} counts as correct)")
        return "\n".join(lines) + "\n"

    def to_dict(self) -> dict:
        return {
            "labels": self.labels,
            "columns": [*self.labels, UNK],
            "matrix": self.matrix.tolist(),
            "support": self.support.tolist(),
            "sensitivity": [None if np.isnan(v) else round(float(v), 4) for v in self.sensitivity],
            "positive_predictivity": [None if np.isnan(v) else round(float(v), 4) for v in self.predictivity],
            "accuracy": None if np.isnan(self.accuracy) else round(self.accuracy, 4),
            "inputs": self.total,
        }

    def save_png(self, path: Path, title: str) -> None:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt

        from ..fsutil import atomic_open

        k = len(self.labels)
        fig, ax = plt.subplots(figsize=(1.2 + 0.75 * (k + 1), 1.2 + 0.6 * k), dpi=110)
        rows = np.maximum(self.support, 1)[:, None]
        ax.imshow(self.matrix / rows, cmap="Blues", vmin=0, vmax=1, aspect="auto")
        for i in range(k):
            for j in range(k + 1):
                value = self.matrix[i, j]
                ax.text(
                    j,
                    i,
                    str(value),
                    ha="center",
                    va="center",
                    color="white" if value / rows[i, 0] > 0.6 else "black",
                    fontsize=9,
                )
        ax.set_xticks(range(k + 1), [*self.labels, UNK], rotation=30, ha="right")
        ax.set_yticks(range(k), [f"{lab} ({_pct(s)}%)" for lab, s in zip(self.labels, self.sensitivity, strict=True)])
        ax.set_xlabel("predicted")
        ax.set_ylabel("true (sensitivity)")
        ax.set_title(f"{title}: accuracy {_pct(self.accuracy)}% of {self.total}", fontsize=10)
        fig.tight_layout()
        with atomic_open(path, "wb") as handle:
            fig.savefig(handle, format="png")
        plt.close(fig)


def _pct(value: float) -> str:
    return "-" if value is None or np.isnan(value) else f"{100 * value:.1f}"
