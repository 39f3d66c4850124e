"""Project commands: init, data (and data split), import, export, label auto / review, studio."""

from __future__ import annotations

import contextlib
import json
import shutil
from pathlib import Path

import typer
from rich.table import Table

from ..errors import KwsgenError
from ..project import (
    TRAINING_SESSION,
    Project,
    apply_plan,
    check_session,
    example_project_dir,
    plan_audacity,
    plan_audio,
    plan_dcli,
    plan_edge_impulse,
    plan_metadata,
    plan_speech_commands,
)
from ..project.importers import ImportSummary, parse_meta
from ..project.overview import project_summary
from .main import app, console, on_interrupt, styled

PROJECT_OPTION = typer.Option(Path("."), "--project", "-p", help="The project folder (default: here).")
SESSION_OPTION = typer.Option(TRAINING_SESSION, "--session", "-s", help="The label session.")

import_app = typer.Typer(help="Bring recordings, labels and metadata into a project.", no_args_is_help=True)
export_app = typer.Typer(help="Write a label session out in other formats.", no_args_is_help=True)
label_app = typer.Typer(help="Label recordings automatically, or review labels in a browser.", no_args_is_help=True)
app.add_typer(import_app, name="import")
app.add_typer(export_app, name="export")
app.add_typer(label_app, name="label")


def _labels(text: str) -> list[str]:
    labels = [part.strip() for part in text.split(",") if part.strip()]
    lowered = [label.lower() for label in labels]
    if "unknown" in lowered and "Unknown" not in labels:
        wrong = labels[lowered.index("unknown")]
        raise KwsgenError(f'labels must include "Unknown" spelled exactly; found {wrong!r}: write "Unknown"')
    if "Unknown" not in labels:
        labels.append("Unknown")
    return labels


@app.command()
@on_interrupt("no project created")
def init(
    folder: Path = typer.Argument(..., help="A new or empty folder for the project."),
    labels: str = typer.Option(
        "yes,no,on,off",
        "--labels",
        "-l",
        help="Keywords, comma-separated. Unknown (noise and other words) is added when missing.",
    ),
    example: bool = typer.Option(
        False,
        "--example",
        help="Create the ready example project instead: yes/no/on/off "
        "spoken by synthetic speakers, labelled and split into Train/Validate/Test.",
    ),
) -> None:
    """Create a kwsgen project: kwsgen.toml, recordings/, metadata.csv and label sessions."""
    if example:
        _install_example(folder)
        project = Project.open(folder)
        console.print(
            f"created the example project in {folder}: {len(project.recording_files())} recordings, "
            f"labels {', '.join(project.labels)}"
        )
    else:
        project = Project.create(folder, _labels(labels))
        console.print(f"created {folder}/ with labels {', '.join(project.labels)}")
    console.print(f"next: kwsgen data -p {folder}")


def _install_example(folder: Path) -> None:
    if folder.exists() and (not folder.is_dir() or any(folder.iterdir())):
        raise KwsgenError("is not empty; kwsgen init --example needs a new or empty folder", folder)
    source = example_project_dir()
    tmp = folder.with_name(f".{folder.name}.tmp-example")
    if tmp.exists():
        shutil.rmtree(tmp)
    shutil.copytree(source, tmp)
    (tmp / "models").mkdir(exist_ok=True)
    if folder.exists():
        folder.rmdir()
    tmp.rename(folder)


data_app = typer.Typer(
    help="Summarise a project: segments per label and Set, audio duration, what is skipped and why.",
    invoke_without_command=True,
)
app.add_typer(data_app, name="data")


@data_app.callback()
def data(
    ctx: typer.Context,
    project_dir: Path = PROJECT_OPTION,
    session: str = SESSION_OPTION,
    as_json: bool = typer.Option(False, "--json", help="Print the summary as JSON."),
) -> None:
    """Summarise a project: segments per label and Set, audio duration, what is skipped and why.

    Exits with status 1 when the session has errors that stop training.
    """
    if ctx.invoked_subcommand:
        return
    project = Project.open(project_dir)
    report = check_session(project, session)
    summary = project_summary(project, session, report)
    n_recordings = summary["recordings"]
    total_s, labelled_s, counts = summary["audio_seconds"], summary["labelled_seconds"], summary["segments"]
    if as_json:
        console.print_json(json.dumps(summary))
        if report.errors:
            raise typer.Exit(1)
        return
    console.print(
        f"{project.root}: {n_recordings} recordings, {total_s:.1f} s of audio; session {session!r} "
        f"({', '.join(project.session_names())})"
    )
    table = Table(title=f"usable segments ({labelled_s:.1f} s)")
    for col in ("label", "Train", "Validate", "Test", "total"):
        table.add_column(col, justify="right" if col != "label" else "left")
    for label in project.labels:
        c = counts[label]
        table.add_row(label, *(str(c[s]) for s in ("Train", "Validate", "Test")), str(sum(c.values())))
    console.print(table)
    if report.skipped:
        console.print("skipped: " + ", ".join(f"{n} {why}" for why, n in report.skipped.items()))
    for issue in report.issues:
        colour = "red" if issue.level == "error" else "yellow"
        console.print(styled(colour, f"{issue.level}:", issue.message))
    if not report.issues:
        console.print("no problems found")
    if report.errors:
        raise typer.Exit(1)  # scripts and CI see that training would refuse this session


@data_app.command("split")
def data_split(
    by: str = typer.Option(..., "--by", help="The metadata column that groups recordings, e.g. speaker."),
    validate: float = typer.Option(10.0, "--validate", help="Percent of the column's values that go to Validate."),
    test: float = typer.Option(10.0, "--test", help="Percent of the column's values that go to Test."),
    dry_run: bool = typer.Option(False, "--dry-run", help="Show the split without writing metadata.csv."),
    project_dir: Path = PROJECT_OPTION,
) -> None:
    """Give every recording a Set by a metadata column, so one speaker's recordings share a Set.

    The column's values are ordered by a hash of their text, and the given
    shares of them go to Test and Validate, the rest to Train. Recordings
    with no value in the column keep their Set. Only metadata.csv changes.
    """
    from ..project.editing import apply_split, plan_split

    project = Project.open(project_dir)
    plan = plan_split(project, by, validate, test)
    table = Table(title=f"split by {by}")
    for col in ("Set", f"{by} values", "recordings"):
        table.add_column(col, justify="left" if col == "Set" else "right")
    for set_name, (values, files) in plan.counts().items():
        table.add_row(set_name, str(values), str(files))
    console.print(table)
    if plan.without_value:
        shown = ", ".join(plan.without_value[:3]) + (" ..." if len(plan.without_value) > 3 else "")
        console.print(f"{len(plan.without_value)} recordings have no {by} and keep their Set: {shown}")
    if dry_run:
        console.print("dry run: metadata.csv not changed")
        return
    changed = apply_split(project, plan)
    console.print(f"metadata.csv: {changed} recordings changed Set")


def _print_import(summary: ImportSummary) -> None:
    parts = [f"{summary.copied} copied"]
    if summary.converted:
        parts.append(f"{summary.converted} converted to 16 kHz mono 16-bit FLAC")
    if summary.already_present:
        parts.append(f"{summary.already_present} already in the project")
    if summary.updated:
        parts.append(f"{summary.updated} of them updated")
    console.print("recordings: " + ", ".join(parts))
    for name, n in summary.segments_added.items():
        console.print(f"segments added to {name!r}: {n}")
    if summary.short:
        more = f" and {len(summary.short) - 3} more" if len(summary.short) > 3 else ""
        console.print(
            styled(
                "yellow",
                "warning:",
                f"{len(summary.short)} recording{'s are' if len(summary.short) > 1 else ' is'} shorter than "
                "[segments] min_length, so training skips them "
                f"({', '.join(summary.short[:3])}{more}); import them with --pad to centre them in silence",
            )
        )


RESAMPLE = typer.Option(
    False,
    "--resample",
    help="Convert other sample rates and formats to 16 kHz 16-bit "
    "(converted copies go into the project; sources are untouched).",
)
MONO = typer.Option(False, "--mono", help="Mix several channels down to one.")
UPDATE = typer.Option(
    False,
    "--update",
    help="Recordings already in the project take the new metadata and segments "
    "(without it, an import that would change them refuses and lists the changes).",
)
META = typer.Option([], "--meta", "-m", help="KEY=VALUE metadata for every imported recording (repeatable).")


@import_app.command("audio")
@on_interrupt("nothing imported")
def import_audio(
    paths: list[Path] = typer.Argument(..., help="WAV/FLAC files or folders (searched recursively)."),
    project_dir: Path = PROJECT_OPTION,
    label: str | None = typer.Option(None, "--label", help="Every file's keyword."),
    label_from_folder: bool = typer.Option(
        False, "--label-from-folder", help="Each file's keyword is the name of the folder it is in."
    ),
    set_name: str | None = typer.Option(None, "--set", help="Train, Validate or Test."),
    meta: list[str] = META,
    session: str = SESSION_OPTION,
    into: str = typer.Option(
        "",
        "--into",
        help="Put the copies under recordings/INTO/. A folder keeps its own name below INTO "
        "(data/yes --into sc gives sc/yes/...) unless INTO ends with it (--into sc/yes gives sc/yes/...).",
    ),
    segments: str = typer.Option(
        "auto",
        "--segments",
        help="auto: a clip gets one segment centred on its word, "
        "a long recording one per utterance (noise: back-to-back Unknown segments); "
        "whole: one segment per file; none: no segments.",
    ),
    resample: bool = RESAMPLE,
    mono: bool = MONO,
    update: bool = UPDATE,
    pad: bool = typer.Option(
        False,
        "--pad",
        help="Clips shorter than [segments] min_length are copied centred in silence of [segments] length "
        "(the original length goes into metadata as padded_from_samples); without it they are skipped in training.",
    ),
) -> None:
    """Import WAV or FLAC recordings, labelled by --label or by their folder names."""
    project = Project.open(project_dir)
    plan = plan_audio(
        project,
        paths,
        label,
        label_from_folder,
        set_name,
        parse_meta(meta),
        session,
        into,
        segments,
        resample,
        mono,
        pad,
    )
    _print_import(apply_plan(project, plan, update=update))


@import_app.command("speech-commands")
@on_interrupt("nothing imported")
def import_speech_commands(
    folder: Path = typer.Argument(..., help="A folder with one subfolder per word (Google Speech Commands layout)."),
    project_dir: Path = PROJECT_OPTION,
    words: str | None = typer.Option(
        None,
        "--words",
        help="Keyword folders, comma-separated (default: the project's labels). Every other word becomes Unknown.",
    ),
    max_per_word: int | None = typer.Option(None, "--max-per-word", help="Take at most this many clips per folder."),
    split: str = typer.Option(
        "80,10,10",
        "--split",
        help="Train,Validate,Test percentages for speakers, when the "
        "folder has no validation_list.txt/testing_list.txt.",
    ),
    noise: list[Path] = typer.Option([], "--noise", help="Extra folders of long noise recordings (Unknown)."),
    session: str = SESSION_OPTION,
    into: str = typer.Option("speech_commands", "--into", help="Put the copies under recordings/INTO/."),
    update: bool = UPDATE,
) -> None:
    """Import a Speech Commands-style dataset, split into Sets by speaker."""
    project = Project.open(project_dir)
    try:
        parts = tuple(int(p) for p in split.split(","))
        assert len(parts) == 3
    except (ValueError, AssertionError):
        raise KwsgenError("--split needs three whole percentages, e.g. 80,10,10") from None
    word_list = [w.strip() for w in words.split(",")] if words else None
    plan = plan_speech_commands(project, folder, word_list, max_per_word, parts, session, into, noise)  # type: ignore[arg-type]
    _print_import(apply_plan(project, plan, update=update))


@import_app.command("audacity")
@on_interrupt("nothing imported")
def import_audacity(
    labels_file: Path = typer.Argument(..., help="An Audacity label track (File > Export > Export Labels)."),
    audio: Path = typer.Option(..., "--audio", help="The recording the labels belong to."),
    project_dir: Path = PROJECT_OPTION,
    set_name: str | None = typer.Option(None, "--set", help="Train, Validate or Test."),
    meta: list[str] = META,
    session: str = SESSION_OPTION,
    as_is: bool = typer.Option(
        False,
        "--as-is",
        help="Keep regions exactly as marked; by default a region shorter "
        "than a segment becomes a segment of [segments] length centred on it.",
    ),
    resample: bool = RESAMPLE,
    mono: bool = MONO,
    update: bool = UPDATE,
) -> None:
    """Import an Audacity label track and its recording."""
    project = Project.open(project_dir)
    plan = plan_audacity(project, labels_file, audio, session, set_name, parse_meta(meta), as_is, resample, mono)
    _print_import(apply_plan(project, plan, update=update))


@import_app.command("edge-impulse")
@on_interrupt("nothing imported")
def import_edge_impulse(
    folder: Path = typer.Argument(..., help="An Edge Impulse export folder holding info.labels and WAV files."),
    project_dir: Path = PROJECT_OPTION,
    session: str = SESSION_OPTION,
    validate_percent: int = typer.Option(
        0,
        "--validate-percent",
        help="Move this share of training files to Validate (Edge Impulse has no Validate set).",
    ),
    as_is: bool = typer.Option(False, "--as-is", help="Keep multi-label regions exactly as marked."),
    resample: bool = RESAMPLE,
    mono: bool = MONO,
    update: bool = UPDATE,
) -> None:
    """Import an Edge Impulse dataset export (info.labels)."""
    project = Project.open(project_dir)
    if not 0 <= validate_percent <= 100:
        raise KwsgenError("--validate-percent must be 0..100")
    plan = plan_edge_impulse(project, folder, session, validate_percent, as_is, "auto", resample, mono)
    _print_import(apply_plan(project, plan, update=update))


@import_app.command("dcli")
@on_interrupt("nothing imported")
def import_dcli(
    file: Path = typer.Argument(..., help="A SensiML .dcli/.dai file: captures, metadata, sessions and segments."),
    project_dir: Path = PROJECT_OPTION,
    audio_dir: Path | None = typer.Option(None, "--audio-dir", help="Where the captures are (default: beside FILE)."),
    resample: bool = RESAMPLE,
    mono: bool = MONO,
    update: bool = UPDATE,
) -> None:
    """Import SensiML Data Capture Lab labels (DCLI/DAI JSON) and their recordings."""
    project = Project.open(project_dir)
    _print_import(apply_plan(project, plan_dcli(project, file, audio_dir, True, resample, mono), update=update))


@import_app.command("metadata")
@on_interrupt("nothing imported")
def import_metadata(
    file: Path = typer.Argument(..., help="A CSV with a file column and any metadata columns (Set, speaker, ...)."),
    project_dir: Path = PROJECT_OPTION,
    skip_missing: bool = typer.Option(False, "--skip-missing", help="Ignore rows for recordings not in the project."),
) -> None:
    """Merge a metadata CSV into metadata.csv."""
    project = Project.open(project_dir)
    plan = plan_metadata(project, file, skip_missing)
    apply_plan(project, plan, progress=False)
    console.print(f"metadata updated for {len(plan.extra_metadata)} recordings")


@export_app.command("session")
def export_session(
    name: str = typer.Argument(TRAINING_SESSION, help="The label session."),
    project_dir: Path = PROJECT_OPTION,
    fmt: str = typer.Option("csv", "--format", "-f", help="audacity: one label file per recording; csv: one table."),
    out: Path = typer.Option(..., "--out", "-o", help="A folder (audacity) or a .csv file."),
    force: bool = typer.Option(False, "--force", help="Overwrite existing files."),
) -> None:
    """Export a label session as Audacity label tracks or as CSV."""
    from ..project.exporters import export_audacity, export_csv

    project = Project.open(project_dir)
    if fmt == "audacity":
        written = export_audacity(project, name, out, force)
        console.print(f"wrote {len(written)} Audacity label files under {out}/")
    elif fmt == "csv":
        console.print(f"wrote {export_csv(project, name, out, force)}")
    else:
        raise KwsgenError(f"--format must be audacity or csv, got {fmt!r}")


@label_app.command("auto")
@on_interrupt("no segments added")
def label_auto(
    files: list[str] = typer.Argument(
        None,
        help="Recordings to label (names under recordings/); default: every "
        "recording that has a keyword in metadata.csv and no segments in the session.",
    ),
    project_dir: Path = PROJECT_OPTION,
    session: str = typer.Option(TRAINING_SESSION, "--session", "-s", help="The session to add segments to."),
    label: str | None = typer.Option(
        None,
        "--label",
        help="The keyword said in the recordings (default: their "
        "keyword metadata). Unknown cuts them into back-to-back noise segments.",
    ),
) -> None:
    """Find each utterance by energy and add a segment centred on it."""
    from ..project.labelling import auto_label

    project = Project.open(project_dir)
    added, labelled, skipped = auto_label(project, files or None, session, label)
    console.print(f"labelled {labelled} recordings: {added} segments added to {session!r}")
    for why in skipped:
        console.print(styled("yellow", "skipped:", why))


@label_app.command("review")
def label_review(
    project_dir: Path = PROJECT_OPTION,
    sessions: list[str] = typer.Option(
        [], "--session", "-s", help="Sessions to show, one band each (repeatable; default: every session)."
    ),
    out: Path | None = typer.Option(None, "--out", "-o", help="The HTML file (default: PROJECT/review.html)."),
    files: list[str] = typer.Option([], "--file", help="Only these recordings (repeatable)."),
    limit: int = typer.Option(100, "--limit", help="Show at most this many recordings (0: all)."),
) -> None:
    """Write an HTML page with each recording's waveform, spectrogram and labelled segments."""
    from ..project.review import write_review

    project = Project.open(project_dir)
    names = sessions or project.session_names()
    path, shown, total = write_review(project, names, out or project.root / "review.html", files or None, limit or None)
    console.print(f"wrote {path} ({shown} of {total} recordings); open it in a browser")


@app.command("studio")
def studio_cmd(
    project_dir: Path = PROJECT_OPTION,
    port: int = typer.Option(8765, "--port", help="Port to listen on (8765 falls back to a free one if taken)."),
    host: str = typer.Option(
        "127.0.0.1", "--host", help="Address to listen on. Anything but this machine's loopback exposes the project."
    ),
    no_browser: bool = typer.Option(False, "--no-browser", help="Print the address instead of opening a browser."),
) -> None:
    """Label, explore and test the project in the browser.

    A local web app: the recordings table with metadata and Sets, waveform and
    spectrogram with the label sessions as regions you drag, resize and
    relabel, auto-labelling, and trained models run over recordings. Every
    edit is saved at once to the same files the CLI reads; an edit made on a
    stale copy is refused, never merged. The address printed carries a
    random access token; Ctrl-C stops the server.
    """
    from ..studio import LOOPBACK, serve

    if host not in LOOPBACK:
        console.print(
            styled("yellow", "warning:", f"listening on {host}: anyone who can reach it and has the token can edit")
        )

    def ready(url: str) -> None:
        console.print(f"kwsgen studio for {Path(project_dir).resolve()}: {url}")
        console.print("Ctrl-C stops it")

    with contextlib.suppress(KeyboardInterrupt):  # Ctrl-C is how the studio is stopped
        serve(project_dir, host=host, port=port, open_browser=not no_browser, on_ready=ready)
