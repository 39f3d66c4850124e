"""A device watched in the background, for a page that asks "what is new since event N?".

kwsgen studio's live view polls these. Two ways to watch:

- LiveMonitor: a board running the classifier firmware. run_monitor (the same
  reader as kwsgen monitor, with its reconnecting and its tolerance of
  garbage) runs in a thread and keeps the latest classifications.
- LiveListener: a board running the capture firmware streams its microphone
  (the kwsgen record protocol). The audio is drawn as it arrives (a peak and
  a spectrogram column per hop) and is played into the host build of the
  project's firmware, the same C as the board's, whose classification lines
  are marked on it: SensiML's "test the model live", bit-exact with the device.
"""

from __future__ import annotations

import contextlib
import subprocess
import threading
import time
from collections import deque
from collections.abc import Callable
from pathlib import Path

import numpy as np

from .monitor import Classification, Labeler, LineSplitter, parse_line, printable, run_monitor

KEEP = 5000  # events held for pollers; a page that falls further behind skips ahead
HOP = 320  # samples per drawn column: the front end's hop
FFT = 512
BANDS = 64  # spectrogram rows sent to the page
KEEP_HOPS = 50 * 60  # a minute of drawn audio


class _EventLog:
    def __init__(self, port: str, keep: int = KEEP) -> None:
        self.port = port
        self.events: deque[dict] = deque(maxlen=keep)
        self.next_seq = 0
        self.status = "connecting"
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def start(self):
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(5)

    def _run(self) -> None:
        raise NotImplementedError

    def since(self, seq: int) -> dict:
        """The events numbered seq and later, and the number to ask from next time."""
        with self._lock:
            events = [e for e in self.events if e["seq"] >= seq]
            return {"port": self.port, "status": self.status, "events": events, "next": self.next_seq}

    def _add(self, event: dict) -> None:
        with self._lock:
            event["seq"] = self.next_seq
            self.next_seq += 1
            self.events.append(event)

    def _on_event(self, event) -> None:
        if isinstance(event, Classification):
            self._add(
                {
                    "kind": "classification",
                    "host_time": event.host_time,
                    "classification": event.classification,
                    "label": event.label,
                    "score": event.score,
                    "device_time": event.device_time,
                }
            )
        else:
            self._add({"kind": "log", "host_time": event.host_time, "text": printable(event.text)})

    def _on_status(self, text: str) -> None:
        self.status = printable(text)
        self._add({"kind": "status", "host_time": time.time(), "text": self.status})


class LiveMonitor(_EventLog):
    """A classifier firmware's lines, read in a thread."""

    def __init__(self, port: str, opener: Callable[[], object], labeler: Labeler, keep: int = KEEP) -> None:
        super().__init__(port, keep)
        self.opener, self.labeler = opener, labeler

    def _run(self) -> None:
        run_monitor(self.opener, self._on_event, self.labeler, self._stop.is_set, self._on_status)
        self.status = "disconnected"


def spectrogram_column(window: np.ndarray) -> list[int]:
    """One column for the page: the power of a Hann-windowed 512-sample frame in 64 bands of 125 Hz,
    -100..0 dB relative to a full-scale sine mapped to 0..255 (a display, not the model's front end)."""
    spectrum = np.fft.rfft(window.astype(np.float64) * np.hanning(len(window)), FFT)
    power = np.abs(spectrum[1:]) ** 2 / (FFT * 32768.0 / 4) ** 2  # a full-scale sine's peak bin is ~1
    db = 10 * np.log10(power.reshape(BANDS, -1).mean(axis=1) + 1e-12)
    return np.clip((db + 100) * 255 / 100, 0, 255).astype(int).tolist()


class LiveListener(_EventLog):
    """A capture firmware's audio, drawn and classified on this computer by the host build of the firmware."""

    def __init__(
        self, port: str, opener: Callable[[], object], rate: int, firmware: Path | None, labeler: Labeler
    ) -> None:
        super().__init__(port)
        self.opener, self.rate, self.firmware, self.labeler = opener, rate, firmware, labeler
        self.samples = 0  # received since listening began (lost frames count, as silence)
        self.first_hop = 0
        self.peaks: deque[int] = deque(maxlen=KEEP_HOPS)
        self.columns: deque[list[int]] = deque(maxlen=KEEP_HOPS)
        self.lost_frames = 0
        self._tail = np.zeros(0, np.int16)  # audio not yet drawn, and the window's look-back
        self._process: subprocess.Popen | None = None
        self._reader: threading.Thread | None = None

    def hops_since(self, hop: int) -> dict:
        """Peaks (0..32767) and spectrogram columns of the hops numbered hop and later."""
        with self._lock:
            start = max(hop, self.first_hop)
            offset = start - self.first_hop
            return {
                "first": start,
                "next": self.first_hop + len(self.peaks),
                "hop_samples": HOP,
                "first_sample": FFT - HOP,  # hop i covers samples first_sample + i * HOP onwards
                "peaks": list(self.peaks)[offset:],
                "columns": list(self.columns)[offset:],
            }

    def _run(self) -> None:
        from .protocol import CONNECT, DISCONNECT, Frame, FrameParser, Header

        try:
            port = self.opener()
        except Exception as exc:  # pyserial raises several kinds; each means the same here
            self._on_status(f"cannot open {self.port}: {exc}")
            return
        try:
            parser = FrameParser()
            header = self._wait_header(port, parser, Header)
            if header is None:
                return
            if header.sample_rate != self.rate:
                self._on_status(f"the device sends {header.sample_rate} Hz audio; the project needs {self.rate} Hz")
                return
            port.write(CONNECT)
            parser.restart_sequence()
            self._start_firmware()
            self._on_status("listening")
            while not self._stop.is_set():
                data = port.read(max(1, port.in_waiting or 1))
                for item in parser.feed(data) if data else []:
                    if isinstance(item, Frame):
                        if item.lost_before:
                            self.lost_frames += item.lost_before
                            self._audio(np.zeros(item.lost_before * header.samples_per_packet, np.int16))
                        self._audio(item.samples)
        except OSError as exc:  # the port went away (unplugged, reset)
            self._on_status(f"disconnected ({exc.strerror or exc})")
        finally:
            with contextlib.suppress(Exception):
                port.write(DISCONNECT)
            with contextlib.suppress(Exception):
                port.close()
            self._stop_firmware()

    def _wait_header(self, port, parser, header_type):
        deadline = time.monotonic() + 5
        while not self._stop.is_set():
            data = port.read(max(1, port.in_waiting or 1))
            for item in parser.feed(data) if data else []:
                if isinstance(item, header_type):
                    return item
            if time.monotonic() > deadline:
                self._on_status("no capture header: is the capture firmware running? (kwsgen build --capture)")
                return None
        return None

    def _audio(self, samples: np.ndarray) -> None:
        samples = np.asarray(samples, np.int16)
        self.samples += len(samples)
        if self._process is not None:
            try:
                self._process.stdin.write(samples.astype("<i2").tobytes())
                self._process.stdin.flush()
            except (BrokenPipeError, ValueError):
                self._process = None
        self._tail = np.concatenate([self._tail, samples])
        look_back = FFT - HOP
        while len(self._tail) >= FFT:
            hop = self._tail[look_back:FFT]
            column = spectrogram_column(self._tail[:FFT])
            with self._lock:
                if len(self.peaks) == self.peaks.maxlen:
                    self.first_hop += 1
                self.peaks.append(int(np.abs(hop.astype(np.int32)).max()))
                self.columns.append(column)
            self._tail = self._tail[HOP:]

    def _start_firmware(self) -> None:
        if self.firmware is None:
            return
        self._process = subprocess.Popen(
            [str(self.firmware)], stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL
        )
        self._reader = threading.Thread(target=self._read_firmware, args=(self._process,), daemon=True)
        self._reader.start()

    def _read_firmware(self, process: subprocess.Popen) -> None:
        splitter = LineSplitter()
        for data in iter(lambda: process.stdout.read1(4096), b""):
            for line in splitter.feed(data):
                if line:
                    self._on_event(parse_line(line, self.labeler))

    def _stop_firmware(self) -> None:
        process, self._process = self._process, None
        if process is None:
            return
        with contextlib.suppress(Exception):
            process.stdin.close()
        try:
            process.wait(timeout=5)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        if self._reader is not None:
            self._reader.join(5)  # every line the firmware printed is an event before stop() returns
