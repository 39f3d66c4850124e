"""Training commands: pretrain, train, test."""

from __future__ import annotations

from pathlib import Path

import typer

from ..errors import KwsgenError
from .main import app, console, err_console, styled


@app.command()
def pretrain(
    data: list[Path] = typer.Option(
        ...,
        "--data",
        help="Folders in Speech Commands layout: one folder per word, "
        "_unknown_, _silence_, _background_noise_ (repeatable).",
    ),
    out: Path = typer.Option(..., "--out", "-o", help="Folder for the base model (weights, metadata, model card)."),
    template: str = typer.Option("kws25k", "--template", "-t", help="kws10k, kws25k or kws50k."),
    extra_words: list[Path] = typer.Option(
        [], "--extra-words", help="Folders of other words: all become 'unknown' (repeatable)."
    ),
    noise: list[Path] = typer.Option(
        [], "--noise", help="Folders of long noise recordings for augmentation and 'silence' (repeatable)."
    ),
    words: str = typer.Option("yes,no,up,down,left,right,on,off,stop,go", "--words", help="The command words."),
    epochs: int = typer.Option(100, "--epochs"),
    per_class: int = typer.Option(400, "--per-class", help="Augmented training inputs per class and epoch."),
    unknown_weight: float = typer.Option(
        1.0, "--unknown-weight", help="Inputs of the 'unknown' class per epoch, as a multiple of --per-class."
    ),
    unknown_mix: str = typer.Option(
        "clips",
        "--unknown-mix",
        help="clips: every 'unknown' clip is drawn alike; sources: the other words of the --data folders and each "
        "--extra-words folder are drawn equally often.",
    ),
    unknown_fragments: float = typer.Option(
        0.0,
        "--unknown-fragments",
        help="Share of the 'unknown' inputs drawn from --extra-words folders that are a short piece (0.25-0.8 s) "
        "of the recording alone in a quiet second, like an isolated short word, instead of a random second.",
    ),
    unknown_reversed: float = typer.Option(
        0.0,
        "--unknown-reversed",
        help="Share of the 'unknown' inputs that are a command word's clip played backwards (not no or on: "
        "a word spelled backwards that is another command word).",
    ),
    word_classes: bool = typer.Option(
        False,
        "--word-classes",
        help="Train every unknown word with 5 or more training clips (the word is its folder, or the file-name "
        "prefix in _unknown_) as a class of its own, then fit a head over the classes alone on the finished core.",
    ),
    label_smoothing: float = typer.Option(
        0.1,
        "--label-smoothing",
        help="Share of each target spread over the other classes (0: none; 0.1 caps a confident output near 0.91).",
    ),
    held_out: int = typer.Option(30, "--held-out-percent", help="Speakers kept out of pretraining, for the card."),
    synthetic: int = typer.Option(
        0,
        "--synthetic",
        help="Clips per command word said by espeak-ng voices (8 accents x ~85 variants), and the words' "
        "phonetic neighbours as 'unknown'; they train only (0: none).",
    ),
    synthetic_share: float = typer.Option(
        0.3, "--synthetic-share", help="Share of each class's inputs per epoch drawn from its synthetic clips."
    ),
    select_from: float = typer.Option(
        1.0,
        "--select-from",
        help="Below 1: score the weights every --select-every epochs from this share of the epochs on (0.6: "
        "epochs 60, 65, ... 100 of 100) on the development stream (validate speakers and calibration "
        "sentences) and keep the one with the fewest false alarms per hour, then the best validate accuracy. "
        "1 (default): keep the final weights.",
    ),
    select_every: int = typer.Option(5, "--select-every", help="Epochs between scored candidates."),
    teacher: list[str] = typer.Option(
        [],
        "--teacher",
        help="A finished base (kws10k, kws25k, kws50k or a folder) whose outputs the new base learns to give: "
        "every target mixes the label with the teachers' mean probabilities on that input (repeatable).",
    ),
    teacher_weight: float = typer.Option(
        0.5, "--teacher-weight", help="Share of each target taken from the teachers (with --teacher), within 0..1."
    ),
    teacher_pairs: float = typer.Option(
        0.0,
        "--teacher-pairs",
        help="With --teacher: add this share of extra inputs per epoch, each a second across the join of two "
        "clips (the end of one word, the start of the next), whose targets are the teachers' probabilities alone.",
    ),
    seed: int = typer.Option(1, "--seed"),
) -> None:
    """Pretrain a base model on real speech, split by speaker, and write its model card.

    Every clip is augmented each epoch (time shift, gain, speed, background
    noise at 0-20 dB SNR). The final weights are kept (the learning rate
    decays to almost nothing), or with --select-from below 1 the candidate
    epoch with the fewest false alarms per hour on a development stream (the
    base's own head running along the validate speakers' clips and the
    negative bank's calibration sentences, at the threshold that misses 10% of
    the command words); the card reports accuracy on held-out speakers, float
    and int8.
    """
    from ..train.pretrain import PretrainConfig
    from ..train.pretrain import pretrain as run

    if epochs < 1 or per_class < 1 or not 0 < held_out < 100 or not 0 < unknown_weight <= 20:
        raise KwsgenError(
            "--epochs and --per-class must be positive, --unknown-weight within (0, 20] "
            "and --held-out-percent within 1..99"
        )
    if synthetic < 0 or not 0 <= synthetic_share <= 1:
        raise KwsgenError("--synthetic must be 0 or more and --synthetic-share within 0..1")
    if not 0 <= label_smoothing < 1:
        raise KwsgenError("--label-smoothing must be within 0..1 (1 excluded)")
    if unknown_mix not in ("clips", "sources"):
        raise KwsgenError(f"--unknown-mix must be clips or sources, not {unknown_mix!r}")
    if not 0 <= unknown_reversed <= 1:
        raise KwsgenError(f"--unknown-reversed must be within 0..1, not {unknown_reversed:g}")
    if not 0 <= unknown_fragments <= 1:
        raise KwsgenError(f"--unknown-fragments must be within 0..1, not {unknown_fragments:g}")
    if not 0 <= select_from <= 1 or select_every < 1:
        raise KwsgenError("--select-from must be within 0..1 and --select-every 1 or more")
    if not 0 <= teacher_weight <= 1 or not 0 <= teacher_pairs <= 2:
        raise KwsgenError("--teacher-weight must be within 0..1 and --teacher-pairs within 0..2")
    if teacher_pairs and not teacher:
        raise KwsgenError("--teacher-pairs needs --teacher: only teachers can say what such an input is")
    cfg = PretrainConfig(
        template=template,
        words=tuple(w.strip() for w in words.split(",") if w.strip()),
        epochs=epochs,
        per_class=per_class,
        unknown_weight=unknown_weight,
        unknown_mix=unknown_mix,
        unknown_fragments=unknown_fragments,
        word_classes=word_classes,
        unknown_reversed=unknown_reversed,
        label_smoothing=label_smoothing,
        held_out_percent=held_out,
        synthetic=synthetic,
        synthetic_share=synthetic_share,
        select_from=select_from,
        select_every=select_every,
        teachers=tuple(teacher),
        teacher_weight=teacher_weight,
        teacher_pairs=teacher_pairs,
        seed=seed,
    )
    card = run(data, out, cfg, extra_words, noise, log=console.print)
    console.print(f"wrote {out}: held-out accuracy {card['held_out_accuracy_int8']:.3f} int8")


@app.command()
def train(
    project_dir: Path = typer.Option(Path("."), "--project", "-p", help="The project folder (default: here)."),
    model: str = typer.Option(None, "--model", "-m", help="Model name (default: [training] model in kwsgen.toml)."),
    epochs: int = typer.Option(None, "--epochs", help="Override [training] epochs."),
    seed: int = typer.Option(None, "--seed", help="Override [training] seed."),
    base: str = typer.Option(None, "--base", help="Override [training] base (kws10k, kws25k, kws50k or a folder)."),
    force: bool = typer.Option(False, "--force", help="Overwrite models/NAME even if files there were changed."),
) -> None:
    """Train the project's keyword model by transfer learning, then quantise it to int8.

    Unknown gets real non-keyword speech from kwsgen's negative bank, the
    keywords' confusable words and mined false alarms; keywords are also heard
    over noise. Then the operating point (per-keyword thresholds, and
    continuous mode's smoothing) is chosen for [detection]
    target_false_alarms_per_hour on audio the model never trained on. Every
    parameter is in kwsgen.toml ([training], [augmentation], [negatives],
    [detection]). Writes models/NAME/: model.keras, model.tflite (full int8),
    model.json (with the operating point), metrics.json, confusion matrices
    per Set (text and PNG, with an UNK column), training_curves.png, det.png
    and report.html. The same seed gives the same model on one machine.
    """
    from ..project import Project
    from ..train.transfer import train_project

    if epochs is not None and epochs < 1:
        raise KwsgenError("--epochs must be at least 1")
    project = Project.open(project_dir)
    result = train_project(project, force=force, log=console.print, model=model, epochs=epochs, seed=seed, base=base)
    _print_summary(result.metrics["summary"])
    m = result.metrics
    console.print(
        f"{m['epochs_run']} epochs ({'stopped early, ' if m['early_stopped'] else ''}best {m['best_epoch']}), "
        f"{m['seconds']} s; wrote {result.folder} (report.html)"
    )


def summary_table(summary: dict):
    """The accuracy table `kwsgen train` ends with (the README's `make demo` transcript quotes it)."""
    from rich.table import Table

    # Not the log's per-epoch "validate top-1" (balanced classes, no threshold): here the threshold applies.
    table = Table(title="accuracy with the UNK threshold (UNK on Unknown counts as correct)")
    for col in ("Set", "inputs", "float", "int8"):
        table.add_column(col, justify="right")
    for name, v in summary.items():
        table.add_row(name, str(v["inputs"]), f"{100 * v['float_accuracy']:.1f}%", f"{100 * v['int8_accuracy']:.1f}%")
    return table


def _print_summary(summary: dict) -> None:
    console.print(summary_table(summary))


@app.command("test")
def test_cmd(
    project_dir: Path = typer.Option(Path("."), "--project", "-p", help="The project folder (default: here)."),
    model: str = typer.Option(None, "--model", "-m", help="Model name (default: [training] model in kwsgen.toml)."),
) -> None:
    """Evaluate a trained model on the project's Test set (int8, and float beside it).

    Prints the confusion matrix (rows: true labels; columns: predictions, UNK,
    support, sensitivity; last row: positive predictivity), then plays the Test
    segments one after another through the firmware in both device modes at the
    operating point it is built with: keywords missed, false alarms per hour of
    Unknown audio, repeats, and a DET curve. Writes test_confusion_test.txt/.png
    and test_metrics.json beside the model.
    """
    from ..project import Project
    from ..train.transfer import evaluate_test_set

    result = evaluate_test_set(Project.open(project_dir), model)
    console.print(result["text"])
    float_part = f", float {100 * result['float_accuracy']:.1f}%" if result["float_accuracy"] is not None else ""
    console.print(f"Test: int8 {100 * result['int8_accuracy']:.1f}%{float_part} on {result['inputs']} inputs")
    _print_detection(result["detection"])
    if result["saved"] is not None:
        err_console.print(styled("yellow", "warning:", f"results not saved beside the model: {result['saved']}"))


def _print_detection(detection: dict) -> None:
    from rich.table import Table

    table = Table(title="Test segments one after another, through the firmware (kwsgen run --engine python)")
    for col in ("mode", "keywords missed", "false alarms", "per hour of Unknown", "repeats"):
        table.add_column(col, justify="right")
    for mode, d in detection.items():
        missed = f"{100 * d['miss_rate']:.1f}% of {d['keywords']}" if d["miss_rate"] is not None else "-"
        per_hour = f"{d['false_alarms_per_hour']:.1f}" if d["false_alarms_per_hour"] is not None else "-"
        table.add_row(mode, missed, str(d["false_alarms"]), per_hour, str(d["repeats"]))
    console.print(table)
    for mode, d in detection.items():
        # as model.json writes them: a value copied into kwsgen.toml is the same step
        rule = ", ".join(f"{k} {v:.4f}" for k, v in d["rule"]["thresholds"].items() if k != "Unknown")
        console.print(f"{mode} mode, {d['operating_point']} thresholds: {rule}")
        points = "; ".join(
            f"{p['threshold']:g}: {100 * p['miss_rate']:.0f}% missed, {p['false_alarms']} FA"
            for p in d["det"]
            if p["miss_rate"] is not None
        )
        console.print(f"  DET, one threshold for every keyword: {points}")
