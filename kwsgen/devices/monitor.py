"""The serial monitor: classification lines from a device, named, timed, logged.

Device output is a byte stream that may hold anything: partial lines, garbage
from a reset, a line cut short and followed by a new one. The monitor splits
it into lines, recognises classification lines (kwsgen's and SensiML Open
Gateway's `ModelNumber`/`Classification`) anywhere in a line, passes the rest
through as device log, and reopens the port when the device goes away.
"""

from __future__ import annotations

import contextlib
import csv
import io
import json
import re
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path

from ..errors import KwsgenError

MAX_LINE = 4096  # a "line" longer than this is noise: emitted as log so memory stays bounded
MARKER = '{"ModelNumber"'


@dataclass(frozen=True)
class Classification:
    host_time: float  # seconds since the epoch
    model: int
    classification: int
    label: str
    score: float | None
    sample: int | None  # last sample of the classified window, counted from the device's start
    device_time: float | None  # sample / sample rate
    raw: str


@dataclass(frozen=True)
class DeviceLog:
    host_time: float
    text: str


class LineSplitter:
    """Bytes in, complete lines out (without their line ending)."""

    def __init__(self) -> None:
        self.pending = bytearray()

    def feed(self, data: bytes) -> list[str]:
        self.pending += data
        lines = []
        while True:
            end = self.pending.find(b"\n")
            if end < 0:
                if len(self.pending) > MAX_LINE:
                    lines.append(self._text(bytes(self.pending)))
                    self.pending.clear()
                return lines
            lines.append(self._text(bytes(self.pending[:end])))
            del self.pending[: end + 1]

    def reset(self) -> None:
        """The port was reopened: a half line from before belongs to no one."""
        self.pending.clear()

    @staticmethod
    def _text(raw: bytes) -> str:
        return raw.decode("utf-8", errors="replace").strip("\r\x00")


# ANSI escape sequences (CSI "ESC [ ... letter", OSC "ESC ] ... BEL/ST", two-byte ESC x) and
# other control characters: a device's text must not move the cursor or retitle the terminal.
_ESCAPES = re.compile(r"\x1b\[[0-?]*[ -/]*[@-~]|\x1b\][^\x07\x1b]*(?:\x07|\x1b\\)?|\x1b[0-~]?|[\x00-\x08\x0b-\x1f\x7f]")


def printable(text: str) -> str:
    """Device text as it may be shown: escape codes and control characters removed, tabs kept."""
    return _ESCAPES.sub("", text)


class Labeler:
    """Class numbers to names: from the model's metadata when known, else from the line itself."""

    def __init__(self, labels: list[str] | None = None, sample_rate: int = 16000) -> None:
        self.labels, self.sample_rate = labels, sample_rate

    def name(self, classification: int, from_line: object) -> str:
        if self.labels is not None:
            if classification == 0:
                return "UNK"
            if 1 <= classification <= len(self.labels):
                return self.labels[classification - 1]
            return f"class {classification} (not in the model)"
        return str(from_line) if isinstance(from_line, str) else f"class {classification}"


def parse_line(text: str, labeler: Labeler, now: float | None = None) -> Classification | DeviceLog:
    now = time.time() if now is None else now
    # A device that resets mid-line leaves the start of a line glued to the next one: parse from the
    # last classification that begins in the line.
    start = text.rfind(MARKER)
    if start < 0 and text.lstrip().startswith("{"):
        start = text.find("{")
    if start >= 0:
        try:
            d = json.loads(text[start:])
            n = int(d["Classification"])
            model = int(d.get("ModelNumber", 0))
        except (ValueError, KeyError, TypeError):  # TypeError: JSON that is not an object
            return DeviceLog(now, text)
        score = d.get("score")
        sample = d.get("sample")
        sample = int(sample) if isinstance(sample, int) else None
        return Classification(
            now,
            model,
            n,
            labeler.name(n, d.get("label")),
            float(score) if isinstance(score, (int, float)) else None,
            sample,
            sample / labeler.sample_rate if sample is not None else None,
            text[start:],
        )
    return DeviceLog(now, text)


class EventLog:
    """--log FILE: classifications as JSON lines, or CSV when the name ends in .csv; flushed per event."""

    FIELDS = ("host_time", "device_time", "model", "classification", "label", "score", "sample", "raw")

    def __init__(self, path: Path) -> None:
        self.path = path
        self.csv = path.suffix.lower() == ".csv"
        try:
            self.file = open(path, "a", encoding="utf-8", newline="")  # noqa: SIM115 - open for the whole session
        except OSError as exc:
            raise KwsgenError(f"cannot write the log: {exc.strerror}", path) from None
        if self.csv and path.stat().st_size == 0:
            csv.writer(self.file).writerow(self.FIELDS)

    def write(self, event: Classification) -> None:
        row = asdict(event)
        if self.csv:
            buf = io.StringIO()
            csv.writer(buf).writerow([row[f] for f in self.FIELDS])
            self.file.write(buf.getvalue())
        else:
            self.file.write(json.dumps({f: row[f] for f in self.FIELDS}) + "\n")
        self.file.flush()

    def close(self) -> None:
        self.file.close()


def find_board_port(boards, ports=None):
    """--port auto: the first serial port whose USB VID:PID belongs to a known board; (device, board)."""
    if ports is None:
        from serial.tools import list_ports

        ports = list_ports.comports()
    known = {uid.lower(): b for b in boards for uid in b.usb_ids}
    seen = []
    for p in ports:
        if p.vid is None or p.pid is None:
            continue
        uid = f"{p.vid:04x}:{p.pid:04x}"
        seen.append(f"{p.device} ({uid})")
        if uid in known:
            return p.device, known[uid]
    listed = ", ".join(seen) or "no USB serial ports"
    ids = ", ".join(sorted(known))
    raise KwsgenError(f"no known board is plugged in (looked for USB IDs {ids}; found {listed}); give --port PORT")


def run_monitor(
    open_port: Callable[[], object],
    on_event: Callable[[Classification | DeviceLog], None],
    labeler: Labeler,
    should_stop: Callable[[], bool],
    on_status: Callable[[str], None] = lambda _: None,
    reconnect_delay: float = 0.5,
) -> None:
    """Read until should_stop(); reopen the port whenever it fails (unplugged, reset, not there yet)."""
    import serial

    splitter = LineSplitter()
    port = None
    last_status = ""

    def status(text: str) -> None:
        nonlocal last_status
        if text.split(" (")[0] != last_status:  # say "waiting" once, not twice a second
            on_status(text)
        last_status = text.split(" (")[0]

    while not should_stop():
        if port is None:
            try:
                port = open_port()
                status("connected")
            except (serial.SerialException, OSError) as exc:
                status(f"waiting for the device ({exc})")
                time.sleep(reconnect_delay)
                continue
        try:
            data = port.read(max(1, port.in_waiting or 1))
        except (serial.SerialException, OSError) as exc:
            status(f"disconnected ({exc}); reconnecting")
            with contextlib.suppress(serial.SerialException, OSError):
                port.close()
            port = None
            splitter.reset()
            time.sleep(reconnect_delay)
            continue
        for line in splitter.feed(data):
            if line:
                on_event(parse_line(line, labeler))
    if port is not None:
        port.close()
