"""What kwsgen train and kwsgen test write beside the model: tables, figures and report.html."""

from __future__ import annotations

import base64
import html
import io

from ..fsutil import GeneratedFolder
from ..project.settings import TrainingSection
from .evaluate import Confusion


def confusion_text(set_name: str, pair: dict[str, Confusion]) -> str:
    return "\n".join(pair[kind].text(f"{set_name}, {kind} model") for kind in ("int8", "float") if kind in pair)


def curves_png(history: list[dict], t: TrainingSection, best_epoch: int, stopped: int, early: bool) -> bytes:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    epochs = [h["epoch"] for h in history]
    fig, ax = plt.subplots(figsize=(6.4, 3.6), dpi=110)
    ax.plot(epochs, [h["train_accuracy"] for h in history], marker=".", label="train (augmented)")
    ax.plot(
        epochs,
        [h["validate_accuracy"] for h in history],
        marker=".",
        label="validate top-1 (balanced, no UNK threshold)",
    )
    ax.axhline(
        t.early_stopping_threshold,
        color="grey",
        linestyle="--",
        linewidth=1,
        label=f"early-stopping threshold {t.early_stopping_threshold:g}",
    )
    ax.axvline(best_epoch, color="green", linestyle=":", linewidth=1, label=f"best epoch {best_epoch} (kept)")
    if early:
        ax.axvline(stopped, color="red", linestyle=":", linewidth=1, label=f"stopped at epoch {stopped}")
    ax.set_xlabel("epoch")
    ax.set_ylabel("accuracy")
    ax.set_ylim(0, 1.02)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8, loc="lower right")
    fig.tight_layout()
    buf = io.BytesIO()
    fig.savefig(buf, format="png")
    plt.close(fig)
    return buf.getvalue()


def det_png(detection: dict) -> bytes:
    """The calibration's DET curves, one per device mode, with the chosen operating point."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(6.4, 3.8), dpi=110)
    for mode, colour in (("filter", "tab:blue"), ("continuous", "tab:orange")):
        point = detection.get(mode)
        if not point or point.get("validate_miss_rate") is None:
            continue
        det = [p for p in point.get("det", []) if p["false_alarms_per_hour"] is not None]
        floor = 0.5 / point["negative_hours"] if point["negative_hours"] else 0.1  # zero drawn at half an alarm
        ax.plot(
            [max(p["false_alarms_per_hour"], floor) for p in det],
            [p["miss_rate"] for p in det],
            "-o",
            ms=3,
            color=colour,
            label=f"{mode}: one threshold for all keywords",
        )
        ax.plot(
            [max(point["false_alarms_per_hour"], floor)],
            [point["validate_miss_rate"]],
            "*",
            ms=12,
            color=colour,
            label=f"{mode}: the chosen operating point",
        )
    target = detection.get("target_false_alarms_per_hour")
    if target:
        ax.axvline(target, color="grey", linestyle="--", linewidth=1, label=f"target {target:g} per hour")
    ax.set_xscale("log")
    ax.set_xlabel("false alarms per hour (negative speech + Validate Unknown)")
    ax.set_ylabel("Validate keywords missed")
    ax.set_ylim(0, 1.02)
    ax.grid(alpha=0.3, which="both")
    ax.legend(fontsize=7)
    fig.tight_layout()
    buf = io.BytesIO()
    fig.savefig(buf, format="png")
    plt.close(fig)
    return buf.getvalue()


def detection_html(detection: dict) -> list[str]:
    rows = []
    for mode in ("filter", "continuous"):
        p = detection.get(mode)
        if not p or p.get("validate_miss_rate") is None:
            continue
        rule = ", ".join(f"{html.escape(k)} {v:.4f}" for k, v in p["thresholds"].items())
        extra = (
            f"average {p['average']}, hits {p['hits']}, suppress {p['suppress']}"
            if mode == "continuous"
            else (f"hold-off {p['holdoff']} hops")
        )
        rows.append(
            f"<tr><td>{mode}</td><td style='text-align:left'>{rule}; {extra}</td>"
            f"<td>{100 * p['validate_miss_rate']:.1f}% of {p['validate_keywords']}</td>"
            f"<td>{p['false_alarms']} in {60 * p['negative_hours']:.0f} min"
            + (
                f", at most {p['false_alarms_per_hour_95']:.1f} per hour"
                if p.get("false_alarms_per_hour_95") is not None
                else ""
            )
            + (
                f" (no threshold within the target found a Validate keyword: {p['target_multiple']} times it)"
                if p.get("target_multiple", 1) > 1
                else ""
            )
            + "</td></tr>"
        )
    if not rows:
        return []
    return [
        "<h2>Operating point</h2>",
        f"<p>Chosen for at most {detection['target_false_alarms_per_hour']:g} false alarms per hour on negative "
        "speech the model never trained on (the negative bank's calibrate part and the Validate Set's Unknown), "
        "with the fewest Validate keywords missed. The firmware is built with it unless kwsgen.toml says "
        '<code>[detection] operating_point = "settings"</code>. On the log scale, zero false alarms are drawn at '
        "half an alarm. Minutes of negatives cannot show a rate of one per hour, so the table also gives the "
        "rate above which so few false alarms would have been unlikely (95% confidence: 0 in 22 minutes rules out "
        "about 8 per hour and more). Long recordings of your own room, labelled Unknown in the Validate Set, add to "
        "the negatives and tighten it.</p>",
        "<table><tr><th>mode</th><th>rule</th><th>Validate missed</th><th>false alarms</th></tr>"
        + "".join(rows)
        + "</table>",
        _img(det_png(detection), "DET curves"),
    ]


def _png(cm: Confusion, title: str) -> bytes:
    import tempfile
    from pathlib import Path

    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "cm.png"
        cm.save_png(path, title)
        return path.read_bytes()


def _img(data: bytes, alt: str) -> str:
    return f'<img alt="{html.escape(alt)}" src="data:image/png;base64,{base64.b64encode(data).decode()}">'


def write_confusions(out: GeneratedFolder, matrices: dict[str, dict[str, Confusion]], prefix: str = "") -> dict:
    """confusion_<set>.txt (int8 and float) and .png (int8) for each Set; returns the PNGs for the report."""
    pngs = {}
    for set_name, pair in matrices.items():
        stem = f"{prefix}confusion_{set_name.lower()}"
        out.write_text(f"{stem}.txt", confusion_text(set_name, pair))
        pngs[set_name] = _png(pair["int8"], f"{set_name}, int8")
        out.write_bytes(f"{stem}.png", pngs[set_name])
    return pngs


def write_outputs(
    out: GeneratedFolder, metrics: dict, matrices: dict[str, dict[str, Confusion]], t: TrainingSection
) -> None:
    pngs = write_confusions(out, matrices)
    curves = curves_png(metrics["history"], t, metrics["best_epoch"], metrics["epochs_run"], metrics["early_stopped"])
    out.write_bytes("training_curves.png", curves)
    if metrics.get("calibration"):
        out.write_bytes("det.png", det_png(metrics["calibration"]))
    out.write_text("report.html", report_html(metrics, matrices, pngs, curves))


def report_html(
    metrics: dict, matrices: dict[str, dict[str, Confusion]], pngs: dict[str, bytes], curves: bytes | None
) -> str:
    rows = "".join(
        f"<tr><td>{s}</td><td>{v['inputs']}</td><td>{100 * v['float_accuracy']:.1f}%</td>"
        f"<td>{100 * v['int8_accuracy']:.1f}%</td><td>{100 * v['float_int8_top1_agreement']:.1f}%</td></tr>"
        for s, v in metrics["summary"].items()
    )
    t = metrics.get("training", {})
    parts = [
        "<!doctype html><html><head><meta charset='utf-8'>",
        f"<title>kwsgen model {html.escape(metrics['model'])}</title>",
        "<style>body{font-family:sans-serif;max-width:60em;margin:2em auto}table{border-collapse:collapse}"
        "td,th{border:1px solid #ccc;padding:.3em .6em;text-align:right}pre{background:#f6f6f6;padding:.6em;"
        "overflow-x:auto}</style></head><body>",
        f"<h1>Model {html.escape(metrics['model'])}</h1>",
        "<h2>Accuracy</h2><table><tr><th>Set</th><th>inputs</th><th>float</th><th>int8</th>"
        "<th>float/int8 agree</th></tr>" + rows + "</table>",
        "<p>UNK (top probability below the threshold) on an Unknown input counts as correct.</p>",
    ]
    if "history" in metrics and curves is not None:
        parts += [
            f"<h2>Training</h2><p>{metrics['epochs_run']} epochs"
            f"{' (stopped early)' if metrics['early_stopped'] else ''}; the weights of epoch "
            f"{metrics['best_epoch']} are kept. Base {html.escape(str(t.get('base')))}, head "
            f"{html.escape(str(t.get('dense_layers')))}, {metrics['seconds']} s.</p>",
            _img(curves, "training curves"),
        ]
    parts += detection_html(metrics.get("calibration") or {})
    for set_name, pair in matrices.items():
        parts += [
            f"<h2>{set_name}</h2>",
            _img(pngs[set_name], f"{set_name} confusion matrix"),
            f"<pre>{html.escape(confusion_text(set_name, pair))}</pre>",
        ]
    parts.append("</body></html>")
    return "\n".join(parts) + "\n"
