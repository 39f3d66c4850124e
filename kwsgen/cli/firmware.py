"""Firmware commands: build, run."""

from __future__ import annotations

from pathlib import Path

import typer

from ..errors import KwsgenError
from .main import app, console, err_console


def _spec(project_dir: Path, model: str | None):
    from ..firmware.app import load_spec
    from ..project import Project

    project = Project.open(project_dir)
    return project, load_spec(project, model)


def _parse_options(options: list[str]) -> dict[str, str]:
    parsed = {}
    for item in options or []:
        key, sep, value = item.partition("=")
        if not sep or not key:
            raise KwsgenError(f"--option takes KEY=VALUE, not {item!r}")
        parsed[key.strip()] = value.strip()
    return parsed


@app.command("build")
def build_cmd(
    board: str = typer.Option(..., "--board", "-b", help="The target board (kwsgen boards lists them)."),
    project_dir: Path = typer.Option(Path("."), "--project", "-p", help="The project folder (default: here)."),
    model: str = typer.Option(None, "--model", "-m", help="Trained model (default: [training] model)."),
    out: Path = typer.Option(None, "--out", "-o", help="Output folder (default: PROJECT/firmware/BOARD)."),
    option: list[str] = typer.Option(None, "--option", help="A board option, KEY=VALUE (repeatable; see boards/)."),
    verify: bool = typer.Option(
        False, "--verify", help="Also run the Test recordings through Python, the host and the Cortex-M4 firmware."
    ),
    force: bool = typer.Option(False, "--force", help="Overwrite the output folder even if files there changed."),
    capture: bool = typer.Option(
        False, "--capture", help="Data-collection firmware instead: streams the microphone for kwsgen record."
    ),
    allow_overload: bool = typer.Option(
        False, "--allow-overload", help="Build even when the estimated CPU load says the board cannot keep up."
    ),
) -> None:
    """Generate a complete firmware project for BOARD from the project's trained model.

    The project holds kwsgen's portable C core (front end, compiled int8
    model, pipeline) and the board's glue. Prints the flash and RAM the core
    needs against the board's limits, the worst-case CPU load of the device
    mode and the audio buffer one inference needs (from instruction counts
    measured on the Cortex-M4 build; a mode that cannot keep up is refused,
    with the settings that would fit), and the command to run next.
    """
    from ..boards import get_board
    from ..firmware.build import render_board
    from ..firmware.footprint import firmware_footprint
    from ..firmware.realtime import budget, measured_counts, refuse_if_too_slow

    target = get_board(board)
    project, spec = _spec(project_dir, model)
    fp = firmware_footprint(spec, target.cpu_flags if target.arch == "arm" else ())
    if target.flash_kb:
        target.check_fits(f"model {spec.model_name!r} on {target.name}", fp.flash, fp.ram)
    realtime = None if capture else budget(spec, target, measured_counts(spec, project.cache_dir))
    if realtime is not None and not allow_overload:
        refuse_if_too_slow(realtime, spec)
    out = out or project.root / "firmware" / (f"{target.name}-capture" if capture else target.name)
    files = render_board(
        spec,
        target,
        out,
        project.root,
        _parse_options(option),
        force=force,
        capture=capture,
        audio_buffer=realtime.buffer_samples if realtime else None,
    )
    console.print(f"wrote {len(files)} files to {out}")
    abi = next((f for f in target.cpu_flags if f.startswith("-mfloat-abi")), "") if target.arch == "arm" else ""
    how = f"measured for Cortex-M4 with arm-none-eabi-gcc -O2 {abi}".rstrip() if fp.measured else "estimated"
    limits = (
        f" of {target.flash_bytes - target.reserved_flash_kb * 1024:,} / "
        f"{target.ram_bytes - target.reserved_ram_kb * 1024:,} available"
        if target.flash_kb
        else ""
    )
    console.print(f"kwsgen core: flash {fp.flash:,} bytes, RAM {fp.ram:,} bytes{limits} ({how})")
    if realtime is not None:
        console.print(realtime.text())
    if verify and not capture:
        _verify(project, spec)
    if capture:
        console.print(
            f"next: flash it (kwsgen flash --board {target.name} --out {out}), then "
            f"kwsgen record --port auto --label WORD --set Train --seconds 10 -p {project.root}"
            if target.name != "host"
            else f"next: kwsgen virtual-device --capture -p {project.root} AUDIO..., then kwsgen record --port PATH ..."
        )
        return
    console.print(f"next: {NEXT[target.name].format(out=out)}")


NEXT = {
    "host": "cmake -S {out} -B {out}/build && cmake --build {out}/build && {out}/build/kws_host < recording.wav",
    "qemu": "make -C {out} && kwsgen run recording.wav --engine qemu",
    "nano33": "cd {out} && pio run -t upload && pio device monitor",
    "esp32s3": "cd {out} && pio run -t upload && pio device monitor",
    "quickfeather": "make -C {out}/GCC_Project QORC_SDK_PATH=/path/to/qorc-sdk && kwsgen flash --board quickfeather",
}


def _verify(project, spec) -> None:
    from ..firmware.verify import verify_engines

    report = verify_engines(project, spec, progress=True)
    for line in report.summary_lines():
        console.print(line)
    if report.differences:
        raise KwsgenError(f"the engines disagree: {report.differences[0]}")


@app.command("flash")
def flash_cmd(
    board: str = typer.Option(..., "--board", "-b", help="The target board (kwsgen boards lists them)."),
    project_dir: Path = typer.Option(Path("."), "--project", "-p", help="The project folder (default: here)."),
    out: Path = typer.Option(
        None, "--out", "-o", help="The generated firmware folder (default: PROJECT/firmware/BOARD)."
    ),
    port: str = typer.Option(None, "--port", help="Serial port of the board (PlatformIO finds it when omitted)."),
) -> None:
    """Build and upload a generated firmware project with the board's own tool.

    nano33 and esp32s3 use PlatformIO (pio run -t upload); quickfeather runs
    the qorc-sdk make (set QORC_SDK_PATH) and QuickLogic's qfprog. When a
    tool is missing, says what to install.
    """
    from ..boards import get_board
    from ..firmware.flash import flash
    from ..project import Project

    target = get_board(board)
    folder = out or Project.open(project_dir).root / "firmware" / target.name
    flash(target, folder, port, echo=lambda text: console.print(text, highlight=False))
    console.print(f"flashed {target.title}; watch it with: kwsgen monitor --port {port or 'auto'}")


@app.command("run")
def run_cmd(
    audio: list[Path] = typer.Argument(
        None, help="Audio files (16 kHz mono 16-bit WAV or FLAC). With --truth: project recordings (default: all)."
    ),
    project_dir: Path = typer.Option(Path("."), "--project", "-p", help="The project folder (default: here)."),
    model: str = typer.Option(None, "--model", "-m", help="Trained model (default: [training] model)."),
    engine: str = typer.Option("python", "--engine", "-e", help="python, host or qemu."),
    truth: str = typer.Option(
        None, "--truth", help="Compare with this label session, event by event (hits, misses, false alarms)."
    ),
    set_name: str = typer.Option(None, "--set", help="With --truth and no AUDIO: only recordings of this Set."),
    predictions: str = typer.Option(
        "Model Testing", "--predictions", help="With --truth: the label session the predictions are written to."
    ),
    resample: bool = typer.Option(
        False, "--resample", help="Convert AUDIO of other sample rates or formats to 16 kHz 16-bit first."
    ),
    mono: bool = typer.Option(False, "--mono", help="Mix AUDIO with several channels down to one."),
) -> None:
    """Print the firmware's JSON lines for each audio file, as ENGINE computes them.

    python simulates the firmware (reference front end, TFLite Micro); host
    runs the host build of the firmware; qemu runs the Cortex-M4 build under
    QEMU. All three print the same lines. Each file starts from reset.

    With --truth SESSION, the project's recordings are scored against that
    session's segments instead: hits, misses and false alarms per class,
    false alarms per hour and detection latency. The predictions become the
    label session "Model Testing" (see them beside the truth with kwsgen
    label review --session SESSION --session "Model Testing") and Audacity
    label files in PROJECT/model_testing/.
    """
    from ..audio import read_audio
    from ..firmware.engines import ENGINES, run_engine
    from ..firmware.events import in_silence, samples_needed

    if engine not in ENGINES:
        raise KwsgenError(f"unknown engine {engine!r}; the engines are: {', '.join(ENGINES)}")
    project, spec = _spec(project_dir, model)
    if truth is not None:
        _run_truth(project, spec, audio or [], engine, truth, set_name, predictions)
        return
    if not audio:
        raise KwsgenError("give the audio files to run (or --truth SESSION to test on the project's recordings)")
    for path in audio:
        samples, lead = in_silence(spec, read_audio(path, resample=resample, mono=mono))
        lines = run_engine(engine, spec, samples).lines
        if len(audio) > 1:
            console.print(f"# {path}")
        if lead:
            # Said on stderr: stdout stays the firmware's lines, exactly.
            err_console.print(
                f"# {path}: shorter than the firmware needs from reset; played after {lead} samples of silence "
                f"and followed by {samples_needed(spec)} more "
                "(sample counts include the silence before)"
            )
        for line in lines:
            print(line)


def _project_recording(project, path: Path) -> str:
    """A recording named on the command line, as the project names it."""
    for candidate in (path, project.recordings_dir / path):
        try:
            rel = candidate.resolve().relative_to(project.recordings_dir.resolve()).as_posix()
        except ValueError:
            continue
        if project.recording_path(rel).is_file():
            return rel
    raise KwsgenError("is not one of the project's recordings (--truth compares with its label sessions)", path)


def _run_truth(project, spec, audio, engine, truth, set_name, predictions) -> None:
    from ..firmware.events import evaluate_files

    files = [_project_recording(project, p) for p in audio] or None
    report, folder = evaluate_files(project, spec, truth, files, engine, predictions, set_name=set_name)
    for row in report.table():
        console.print(row, highlight=False)
    console.print(
        f"wrote label session {predictions!r}, Audacity labels and events.json to {folder}; compare them with: "
        f"kwsgen label review --session {truth!r} --session {predictions!r}",
        highlight=False,
    )
