"""kwsgen label review: an HTML page showing each recording with its labelled segments.

Per recording, a waveform and a spectrogram with one band per label session
drawn over them (for example ground truth and a model's predictions), like a
labelling tool's data view. Images are embedded, so the page is one file.
"""

from __future__ import annotations

import base64
import html
import io
from pathlib import Path

import numpy as np

from ..audio import read_audio
from ..fsutil import atomic_write_text
from ..progress import progress_bar
from .project import Project
from .store import Segment

PALETTE = ["#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2", "#17becf", "#bcbd22"]


def _colour(label: str, labels: list[str]) -> str:
    if label == "Unknown":
        return "#7f7f7f"
    i = labels.index(label) if label in labels else len(labels)
    return PALETTE[i % len(PALETTE)]


ROW_SECONDS = 12.0  # a longer recording is drawn in rows of this length, so words stay readable


def _figures(samples: np.ndarray, tracks: dict[str, list[Segment]], labels: list[str]) -> list[bytes]:
    """One picture per row of at most ROW_SECONDS."""
    row = int(ROW_SECONDS * 16000)
    out = []
    for start in range(0, max(len(samples), 1), row):
        end = min(start + row, len(samples))
        clipped = {name: [s for s in segs if s.start < end and s.end > start] for name, segs in tracks.items()}
        out.append(_figure(samples[start:end], clipped, labels, start))
    return out


def _figure(samples: np.ndarray, tracks: dict[str, list[Segment]], labels: list[str], offset: int = 0) -> bytes:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    seconds = len(samples) / 16000
    width = min(16.0, max(7.0, seconds * 1.2))
    t0 = offset / 16000
    n = len(tracks)
    fig, axes = plt.subplots(
        2 + n,
        1,
        figsize=(width, 3.6 + 0.35 * n),
        sharex=True,
        gridspec_kw={"height_ratios": [1.2, 1.6] + [0.35] * n},
    )
    t = t0 + np.arange(len(samples)) / 16000
    axes[0].plot(t, samples / 32768.0, linewidth=0.4, color="#333333")
    axes[0].set_ylim(-1, 1)
    axes[0].set_ylabel("wave")
    if len(samples) >= 512:
        axes[1].specgram(
            samples.astype(np.float64),
            NFFT=512,
            Fs=16000,
            noverlap=352,
            cmap="magma",
            scale="dB",
            vmin=-20,
            xextent=(t0, t0 + seconds),
        )
    axes[1].set_ylabel("Hz")
    for row, (name, segs) in enumerate(tracks.items(), start=2):
        ax = axes[row]
        ax.set_yticks([])
        ax.set_ylabel(name, rotation=0, ha="right", va="center", fontsize=8)
        for s in segs:
            colour = _colour(s.label, labels)
            for target in (axes[0], axes[1]) if row == 2 else ():
                target.axvspan(s.start / 16000, s.end / 16000, color=colour, alpha=0.15)
            ax.axvspan(s.start / 16000, s.end / 16000, color=colour, alpha=0.6)
            middle = (max(s.start, offset) + min(s.end, offset + len(samples))) / 32000
            ax.text(middle, 0.5, s.label, ha="center", va="center", fontsize=7, clip_on=True)
    axes[-1].set_xlim(t0, t0 + max(seconds, 1e-3))
    axes[-1].set_xlabel("seconds")
    fig.tight_layout()
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=72)
    plt.close(fig)
    return buf.getvalue()


def write_review(
    project: Project,
    sessions: list[str],
    out: Path,
    files: list[str] | None = None,
    limit: int | None = 100,
    progress: bool = True,
) -> tuple[Path, int, int]:
    """Write the page; returns (path, recordings shown, recordings in total)."""
    loaded = {name: project.load_session(name).segments for name in sessions}
    md = project.load_metadata()
    candidates = files or sorted({s.file for segs in loaded.values() for s in segs} | set(project.recording_files()))
    present = set(project.recording_files())
    chosen = [f for f in candidates if f in present]
    total = len(chosen)
    if limit is not None:
        chosen = chosen[:limit]
    parts = [
        "<!doctype html><meta charset='utf-8'>",
        f"<title>kwsgen review: {html.escape(project.root.name)}</title>",
        "<style>body{font-family:sans-serif;margin:2em}img{max-width:100%}"
        "section{margin-bottom:2.5em}td,th{padding:0 .8em;text-align:left}.k{color:#666}</style>",
        f"<h1>{html.escape(project.root.name)}: label review</h1>",
        f"<p>Sessions: {', '.join(html.escape(s) for s in sessions)}. "
        f"Showing {len(chosen)} of {total} recordings. Labels: "
        + " ".join(
            f"<span style='color:{_colour(lb, project.labels)}'>&#9632; {html.escape(lb)}</span>"
            for lb in project.labels
        )
        + "</p>",
    ]
    with progress_bar(progress) as bar:
        task = bar.add_task("review", total=len(chosen))
        for file in chosen:
            samples = read_audio(project.recording_path(file))
            tracks = {name: sorted(s for s in segs if s.file == file) for name, segs in loaded.items()}
            images = "".join(
                f"<img alt='{html.escape(file)}' src='data:image/png;base64,{base64.b64encode(png).decode()}'>"
                for png in _figures(samples, tracks, project.labels)
            )
            meta = md.rows.get(file, {})
            info = ", ".join(f"{html.escape(k)}: {html.escape(v)}" for k, v in meta.items() if k != "file" and v)
            rows = "".join(
                f"<tr><td>{html.escape(name)}</td><td>{html.escape(s.label)}</td><td>{s.start}</td><td>{s.end}</td>"
                f"<td>{s.start / 16000:.2f}-{s.end / 16000:.2f} s</td></tr>"
                for name, segs in tracks.items()
                for s in segs
            )
            parts.append(
                f"<section><h2>{html.escape(file)}</h2><p class='k'>{len(samples) / 16000:.2f} s. {info}</p>"
                f"{images}"
                f"<table><tr><th>session</th><th>label</th><th>start</th><th>end</th><th>time</th></tr>{rows}</table>"
                "</section>"
            )
            bar.advance(task)
    atomic_write_text(out, "\n".join(parts) + "\n")
    return out, len(chosen), total
