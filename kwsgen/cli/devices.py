"""Device commands: monitor, record, virtual-device."""

from __future__ import annotations

import time
from pathlib import Path

import typer

from ..errors import KwsgenError
from .main import app, console, err_console


def _labels(project_dir: Path | None, model: str | None) -> list[str] | None:
    """The model's class names, when a project is given or this folder is one."""
    from ..project import Project

    folder = project_dir or Path(".")
    if project_dir is None and not (folder / "kwsgen.toml").is_file():
        return None
    from ..firmware.app import load_spec

    return load_spec(Project.open(folder), model).labels


def _open_port(port: str, baud: int | None, board_name: str | None = None):
    """A serial port by path or pyserial URL (loop://, socket://); 'auto' finds a known board (and says which)."""
    from ..devices.ports import port_opener

    found, opener, board = port_opener(port, baud, board_name)
    if port == "auto":
        console.print(f"found {board.title} on {found}")
    return found, opener


@app.command("monitor")
def monitor_cmd(
    port: str = typer.Option(..., "--port", help="Serial port (or 'auto': a known board by its USB ID)."),
    baud: int = typer.Option(
        None, "--baud", help="Serial speed (default: the board's, else 115200; USB serial ports ignore it)."
    ),
    board: str = typer.Option(None, "--board", help="The board on the port (its serial speed is the default)."),
    project_dir: Path = typer.Option(
        None, "--project", "-p", help="Project whose model names the classes (default: here, if it is a project)."
    ),
    model: str = typer.Option(None, "--model", "-m", help="Trained model (default: [training] model)."),
    log: Path = typer.Option(None, "--log", help="Append classifications to this file: JSON lines, or CSV if .csv."),
    seconds: float = typer.Option(None, "--seconds", help="Stop after this long (default: until Ctrl-C)."),
) -> None:
    """Show a device's classifications live: class name, score, host and device time.

    Reads kwsgen's JSON lines (and SensiML Open Gateway's ModelNumber /
    Classification lines); anything else is the device's own log and is shown
    dimmed. Survives unplugging, resets and garbage: it reconnects and goes on.
    """
    from rich.text import Text

    from ..devices.monitor import Classification, EventLog, Labeler, printable, run_monitor

    labels = _labels(project_dir, model)
    labeler = Labeler(labels)
    port, opener = _open_port(port, baud, board)
    event_log = EventLog(log) if log else None
    end = time.monotonic() + seconds if seconds is not None else None
    counts = {"classifications": 0, "log lines": 0}

    def show(event) -> None:
        stamp = (
            time.strftime("%H:%M:%S", time.localtime(event.host_time)) + f".{int(event.host_time * 1000) % 1000:03d}"
        )
        if isinstance(event, Classification):
            counts["classifications"] += 1
            device = f"device {event.device_time:9.2f} s" if event.device_time is not None else "device        ?"
            score = f"{event.score:.2f}" if event.score is not None else "  ? "
            style = "dim" if event.classification == 0 else "bold green"
            line = Text(f"{stamp}  {device}  ")
            line.append(f"{printable(event.label):>12}", style=style)
            line.append(f"  score {score}")
            console.print(line)
            if event_log:
                event_log.write(event)
        else:
            counts["log lines"] += 1
            console.print(Text(f"{stamp}  | {printable(event.text)}", style="dim"))

    console.print(f"monitoring {port}" + (" (classes from the model)" if labels else "") + "; Ctrl-C stops")
    try:
        run_monitor(
            opener,
            show,
            labeler,
            should_stop=lambda: end is not None and time.monotonic() > end,
            on_status=lambda text: err_console.print(Text(f"{port}: {printable(text)}", style="dim")),
        )
    except KeyboardInterrupt:
        pass
    finally:
        if event_log:
            event_log.close()
    console.print(f"{counts['classifications']} classifications, {counts['log lines']} log lines")


@app.command("record")
def record_cmd(
    label: str = typer.Option(..., "--label", "-l", help="What is said in the recording (a project label)."),
    seconds: float = typer.Option(..., "--seconds", "-s", help="How long to record."),
    port: str = typer.Option(None, "--port", help="Serial port of a board running capture firmware, or 'auto'."),
    mic: bool = typer.Option(False, "--mic", help="Record from this computer's microphone instead (sounddevice)."),
    set_name: str = typer.Option(None, "--set", help="Train, Validate or Test."),
    meta: list[str] = typer.Option(None, "--meta", help="Metadata KEY=VALUE for the recording (repeatable)."),
    project_dir: Path = typer.Option(Path("."), "--project", "-p", help="The project folder (default: here)."),
    baud: int = typer.Option(921600, "--baud", help="Serial speed (USB serial ports ignore it)."),
) -> None:
    """Record audio into the project: from a board's capture firmware, or the computer's microphone.

    The recording lands in recordings/recorded/LABEL/ with its metadata and
    auto-labelled segments, as kwsgen import audio would add it. Lost or
    corrupted frames are counted and reported (their time is kept as
    silence); Ctrl-C stops early and keeps what was recorded.
    """
    from ..devices.record import (
        check_recording_request,
        keep_capture,
        record_from_microphone,
        record_port_into_project,
        recording_path,
    )
    from ..project import Project
    from ..project.importers import parse_meta

    project = Project.open(project_dir)
    check_recording_request(project, label, seconds)
    if bool(port) == mic:
        raise KwsgenError("give either --port PORT (a board running capture firmware) or --mic")
    metadata = parse_meta(meta or [])
    rate = project.settings.frontend.sample_rate
    if mic:
        console.print(f"recording {seconds:g} s from the microphone; Ctrl-C stops early")
        capture = record_from_microphone(seconds, recording_path(project, label), rate)
        console.print(capture.summary())
        dest = keep_capture(project, capture, label, set_name, metadata)
    else:
        from ..progress import progress_bar

        port, opener = _open_port(port, baud)
        with progress_bar() as bar:
            task = bar.add_task(f"recording {label}", total=int(seconds * rate))
            capture, dest = record_port_into_project(
                project,
                port,
                opener,
                label,
                seconds,
                set_name,
                metadata,
                on_progress=lambda n: bar.update(task, completed=n),
            )
        console.print(capture.summary())
    console.print(f"added recordings/{dest}" + (f" (Set {set_name})" if set_name else ""))


@app.command("virtual-device")
def virtual_device_cmd(
    audio: list[Path] = typer.Argument(..., help="Audio the device 'hears' (16 kHz mono WAV or FLAC), in order."),
    project_dir: Path = typer.Option(Path("."), "--project", "-p", help="The project folder (default: here)."),
    model: str = typer.Option(None, "--model", "-m", help="Trained model (default: [training] model)."),
    capture: bool = typer.Option(False, "--capture", help="Run the capture firmware (for kwsgen record)."),
    speed: float = typer.Option(1.0, "--speed", help="Play the audio this many times faster than real time."),
    loop: bool = typer.Option(False, "--loop", help="Play the audio again and again until Ctrl-C."),
    link: Path = typer.Option(None, "--link", help="Also make this path a symbolic link to the port."),
    resample: bool = typer.Option(
        False, "--resample", help="Convert audio of other sample rates or formats to 16 kHz 16-bit first."
    ),
    mono: bool = typer.Option(False, "--mono", help="Mix audio with several channels down to one."),
) -> None:
    """Run the host firmware behind a pseudo-terminal, as if a board were plugged in.

    Prints the port's path; kwsgen monitor --port PATH (or kwsgen record, with
    --capture) talks to it as to a board's USB serial port. The audio plays in
    real time, or --speed times faster.
    """
    import numpy as np

    from ..audio import read_audio
    from ..devices.virtual import VirtualDevice
    from ..firmware.app import load_spec
    from ..firmware.engines import build_host_capture, build_host_firmware
    from ..project import Project

    spec = load_spec(Project.open(project_dir), model)
    samples = np.concatenate([read_audio(p, resample=resample, mono=mono) for p in audio])
    firmware = build_host_capture(spec) if capture else build_host_firmware(spec)
    device = VirtualDevice(firmware, samples, capture=capture, speed=speed, loop=loop, link=link)
    path = device.start()
    kind = "capture firmware" if capture else f"model {spec.model_name!r}"
    print(f"port: {path}", flush=True)
    console.print(
        f"virtual device running {kind}: {len(samples) / 16000:.1f} s of audio at {speed:g}x"
        + (", looping" if loop else "")
        + "; Ctrl-C stops"
    )
    try:
        while not device.wait(timeout=0.5):
            pass
        time.sleep(1.0)  # let a reader drain the last lines before the port disappears
    except KeyboardInterrupt:
        pass
    finally:
        device.stop()
    console.print(
        f"played {device.samples_played / 16000:.1f} s"
        + (f"; {device.dropped_bytes:,} bytes nobody read" if device.dropped_bytes else "")
    )
