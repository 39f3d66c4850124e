"""A virtual device: the host build of the firmware behind a pseudo-terminal.

It plays audio files into the firmware in real time (or `speed` times
faster) as a microphone would, and relays the firmware's output to the
terminal, so `kwsgen monitor` and `kwsgen record` talk to it exactly as to a
board on a USB serial port. Like a board, it drops output nobody reads.
"""

from __future__ import annotations

import contextlib
import os
import subprocess
import threading
import time
import tty
from pathlib import Path

import numpy as np

from ..errors import KwsgenError

CHUNK = 320  # one hop: the firmware sees audio as often as a real microphone driver delivers it


class VirtualDevice:
    def __init__(
        self,
        firmware: Path,
        audio: np.ndarray,
        capture: bool = False,
        speed: float = 1.0,
        loop: bool = False,
        link: Path | None = None,
        rate: int = 16000,
    ) -> None:
        if speed <= 0:
            raise KwsgenError("--speed must be above 0")
        if len(audio) == 0:
            raise KwsgenError("the virtual device needs some audio")
        self.firmware, self.audio, self.capture = firmware, np.asarray(audio, np.int16), capture
        self.speed, self.loop, self.link, self.rate = speed, loop, link, rate
        self.dropped_bytes = 0
        self.samples_played = 0
        self._stop = threading.Event()
        self._threads: list[threading.Thread] = []

    def start(self) -> str:
        """Start the firmware and the relays; returns the terminal's path (the 'serial port')."""
        self.master, self.slave = os.openpty()
        tty.setraw(self.slave)  # bytes pass unchanged: no newline mapping, no echo
        os.set_blocking(self.master, False)
        self.path = os.ttyname(self.slave)
        if self.link:
            tmp = self.link.with_name(self.link.name + ".tmp")
            tmp.unlink(missing_ok=True)
            tmp.symlink_to(self.path)
            tmp.replace(self.link)
        argv, pass_fds = [str(self.firmware)], ()
        if self.capture:
            self.cmd_read, self.cmd_write = os.pipe()
            argv.append(str(self.cmd_read))
            pass_fds = (self.cmd_read,)
        self.process = subprocess.Popen(argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE, pass_fds=pass_fds)
        if self.capture:
            os.close(self.cmd_read)
        jobs = [self._play, self._relay_out] + ([self._relay_in] if self.capture else [])
        self._threads = [threading.Thread(target=job, daemon=True) for job in jobs]
        for t in self._threads:
            t.start()
        return self.link.as_posix() if self.link else self.path

    def _play(self) -> None:
        start = time.monotonic()
        stdin = self.process.stdin
        try:
            while not self._stop.is_set():
                for i in range(0, len(self.audio), CHUNK):
                    if self._stop.is_set():
                        break
                    due = start + self.samples_played / (self.rate * self.speed)
                    delay = due - time.monotonic()
                    if delay > 0:
                        time.sleep(delay)
                    chunk = self.audio[i : i + CHUNK]
                    stdin.write(chunk.astype("<i2").tobytes())
                    stdin.flush()
                    self.samples_played += len(chunk)
                if not self.loop:
                    break
        except (BrokenPipeError, ValueError):
            pass
        finally:
            with contextlib.suppress(BrokenPipeError, ValueError):
                stdin.close()

    def _relay_out(self) -> None:
        out = self.process.stdout.fileno()
        while True:
            data = os.read(out, 4096)
            if not data:
                return
            while data:
                try:
                    sent = os.write(self.master, data)
                except BlockingIOError:
                    self.dropped_bytes += len(data)  # nobody is reading: a board's USB port drops it too
                    break
                data = data[sent:]

    def _relay_in(self) -> None:
        import select

        while not self._stop.is_set() and self.process.poll() is None:
            ready, _, _ = select.select([self.master], [], [], 0.05)
            if not ready:
                continue
            try:
                data = os.read(self.master, 256)
            except (BlockingIOError, OSError):
                continue
            try:
                os.write(self.cmd_write, data)
            except OSError:
                return

    def wait(self, timeout: float | None = None) -> bool:
        """Wait until the audio has played and the firmware has finished; True if it has."""
        self._threads[0].join(timeout)
        if self._threads[0].is_alive():
            return False
        try:
            self.process.wait(timeout=5)
        except subprocess.TimeoutExpired:
            return False
        self._threads[1].join(5)
        return True

    def stop(self) -> None:
        self._stop.set()
        if self.process.poll() is None:
            self._threads[0].join(2)
            if self.process.poll() is None:
                self.process.kill()
        self.process.wait()
        for t in self._threads:
            t.join(2)
        for fd in (self.master, self.slave) + ((self.cmd_write,) if self.capture else ()):
            with contextlib.suppress(OSError):
                os.close(fd)
        if self.link and self.link.is_symlink():
            self.link.unlink()

    def __enter__(self) -> VirtualDevice:
        self.start()
        return self

    def __exit__(self, *exc) -> None:
        self.stop()
