"""kwsgen record: audio from a board's capture firmware (or the computer's microphone) into a project.

Samples go straight into a WAV file as they arrive, so an interrupted
recording keeps what was captured in a valid file. Frames lost on the way
are replaced by silence of the same length, so later audio keeps its true
time, and every gap is reported.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from ..errors import KwsgenError
from .protocol import CONNECT, DISCONNECT, Frame, FrameParser, Header, StreamStats

HEADER_TIMEOUT_S = 5.0
FRAME_TIMEOUT_S = 3.0


@dataclass
class Capture:
    path: Path
    samples: int = 0
    sample_rate: int = 16000
    interrupted: bool = False
    lost_device: str = ""  # why the device stopped sending mid-recording (unplugged, reset), if it did
    stats: StreamStats = field(default_factory=StreamStats)
    gap_samples: int = 0  # silence written in place of lost frames

    def summary(self) -> str:
        s = self.stats
        text = f"{self.samples / self.sample_rate:.2f} s ({self.samples:,} samples) in {s.frames:,} frames"
        if s.lost_frames or s.crc_errors:
            text += (
                f"; {s.lost_frames} frames lost ({self.gap_samples / self.sample_rate * 1000:.0f} ms, "
                f"written as silence), {s.crc_errors} rejected by their checksum"
            )
        else:
            text += ", none lost"
        if self.interrupted:
            text += "; interrupted, the audio so far is kept"
        if self.lost_device:
            text += f"; stopped early because {self.lost_device}: the audio so far is kept"
        return text


class _Writer:
    def __init__(self, path: Path, rate: int) -> None:
        import soundfile as sf

        path.parent.mkdir(parents=True, exist_ok=True)
        self.file = sf.SoundFile(path, "w", samplerate=rate, channels=1, subtype="PCM_16", format="WAV")

    def write(self, samples: np.ndarray) -> None:
        self.file.write(np.asarray(samples, np.int16))

    def close(self) -> None:
        self.file.close()


def _read(port, parser: FrameParser, timeout: float, what: str, source: str) -> list[Header | Frame]:
    deadline = time.monotonic() + timeout
    while True:
        data = port.read(max(1, port.in_waiting or 1))
        items = parser.feed(data) if data else []
        if items:
            return items
        if time.monotonic() > deadline:
            raise KwsgenError(f"{what} from {source} within {timeout:.0f} s")


def record_from_port(
    port,
    seconds: float,
    out: Path,
    expected_rate: int,
    source: str = "the device",
    on_progress: Callable[[int], None] = lambda _: None,
) -> Capture:
    """Capture `seconds` of audio from an open serial port running capture firmware into the WAV file `out`."""
    parser = FrameParser()
    header = None
    while header is None:  # frames before our connect belong to someone else's connection
        items = _read(
            port,
            parser,
            HEADER_TIMEOUT_S,
            "no capture header (is it running capture firmware? kwsgen build --capture)",
            source,
        )
        header = next((i for i in items if isinstance(i, Header)), None)
    if header.sample_rate != expected_rate:
        raise KwsgenError(
            f"{source} sends {header.sample_rate} Hz audio but the project's front end needs {expected_rate} Hz"
        )
    port.write(CONNECT)
    parser.restart_sequence()
    capture = Capture(out, sample_rate=header.sample_rate)
    capture.stats = parser.stats
    wanted = round(seconds * header.sample_rate)
    writer = _Writer(out, header.sample_rate)
    try:
        while capture.samples < wanted:
            for item in _read(port, parser, FRAME_TIMEOUT_S, "the audio stopped", source):
                if not isinstance(item, Frame):
                    continue  # a header repeated before our connect arrived
                if item.lost_before:
                    gap = min(item.lost_before * header.samples_per_packet, wanted - capture.samples)
                    writer.write(np.zeros(gap, np.int16))
                    capture.samples += gap
                    capture.gap_samples += gap
                take = item.samples[: max(0, wanted - capture.samples)]
                writer.write(take)
                capture.samples += len(take)
                on_progress(capture.samples)
    except KeyboardInterrupt:
        capture.interrupted = True
    except OSError as exc:  # serial.SerialException is one: the port vanished (unplugged, reset)
        capture.lost_device = f"{source} disappeared ({exc.strerror or exc})"
    except KwsgenError as exc:  # the audio stopped: the device hangs or was reset
        if capture.samples == 0:
            raise
        capture.lost_device = str(exc)
    finally:
        writer.close()
        with contextlib.suppress(Exception):
            port.write(DISCONNECT)
    return capture


def record_from_microphone(seconds: float, out: Path, rate: int) -> Capture:
    """--mic: the computer's default input through sounddevice, when it is installed."""
    try:
        import sounddevice as sd
    except (ImportError, OSError) as exc:
        raise KwsgenError(
            f"--mic needs the sounddevice package and PortAudio ({exc}): pip install sounddevice; "
            "apt-get install libportaudio2"
        ) from None
    capture = Capture(out, sample_rate=rate)
    writer = _Writer(out, rate)
    try:
        with sd.InputStream(samplerate=rate, channels=1, dtype="int16") as stream:
            while capture.samples < int(seconds * rate):
                block, overflowed = stream.read(min(1600, int(seconds * rate) - capture.samples))
                if overflowed:
                    capture.stats.gaps.append((capture.stats.frames, 1))
                writer.write(block[:, 0])
                capture.samples += len(block)
                capture.stats.frames += 1
    except KeyboardInterrupt:
        capture.interrupted = True
    except sd.PortAudioError as exc:
        raise KwsgenError(f"the microphone failed: {exc}") from None
    finally:
        writer.close()
    return capture


def import_capture(project, capture: Capture, label: str, set_name: str | None, meta: dict[str, str], into: str):
    """Add the captured WAV to the project, with its metadata and auto-labelled segments."""
    from ..project.importers import apply_plan, plan_audio

    if capture.samples == 0:
        raise KwsgenError("nothing was recorded", capture.path)
    plan = plan_audio(project, [capture.path], label=label, set_name=set_name, meta=meta, into=into)
    summary = apply_plan(project, plan, progress=False)
    return plan.recordings[0].dest, summary


def recording_path(project, label: str) -> Path:
    """Where a recording in progress is written: inside the project's state folder, never in recordings/."""
    return project.root / ".kwsgen" / "recording" / f"{label}-{time.strftime('%Y%m%d-%H%M%S')}.wav"


def check_recording_request(project, label: str, seconds: float) -> None:
    from ..project.store import check_label

    check_label(label)
    if label not in project.labels:
        raise KwsgenError(f"label {label!r} is not one of the project's labels: {', '.join(project.labels)}")
    if not seconds > 0:
        raise KwsgenError("the recording's length must be above 0 seconds")


def keep_capture(project, capture: Capture, label: str, set_name: str | None, meta: dict[str, str]) -> str:
    """Import a finished capture into recordings/recorded/LABEL/ (kwsgen import's checks); returns its name.

    When the import fails, the captured file stays where it is and the error says where.
    """
    try:
        dest, _ = import_capture(project, capture, label, set_name, meta, into=f"recorded/{label}")
    except KwsgenError as exc:
        raise KwsgenError(f"{exc}; the recording is kept at {capture.path}") from None
    capture.path.unlink(missing_ok=True)
    return dest


def record_port_into_project(
    project,
    port: str,
    opener: Callable[[], object],
    label: str,
    seconds: float,
    set_name: str | None,
    meta: dict[str, str],
    on_progress: Callable[[int], None] | None = None,
) -> tuple[Capture, str]:
    """kwsgen record --port: capture from a board (or virtual device) and import it. Returns (capture, name)."""
    check_recording_request(project, label, seconds)
    rate = project.settings.frontend.sample_rate
    try:
        serial_port = opener()
    except Exception as exc:  # pyserial raises several kinds; each means the same to the user
        raise KwsgenError(f"cannot open {port}: {exc}") from None
    try:
        capture = record_from_port(
            serial_port,
            seconds,
            recording_path(project, label),
            rate,
            source=port,
            on_progress=on_progress or (lambda _: None),
        )
    finally:
        serial_port.close()
    return capture, keep_capture(project, capture, label, set_name, meta)
