"""The capture protocol (firmware_templates/runtime/kws_capture.h), host side.

A device repeats a one-line JSON header until the host sends "connect", then
streams frames: 0xA5 0x5A, sequence (u16 LE), sample count (u16 LE), int16 LE
samples, CRC-16/CCITT-FALSE over sequence..samples. The parser resynchronises
after garbage, rejects frames whose CRC fails, and reports every sequence gap,
so lost audio is counted and never silently glued together.
"""

from __future__ import annotations

import binascii
import json
import struct
from dataclasses import dataclass, field

import numpy as np

SYNC = b"\xa5\x5a"
CONNECT = b"connect\n"
DISCONNECT = b"disconnect\n"
MAX_SAMPLES = 4096  # a count above this is a false sync, not a frame
MAX_HEADER = 512
STALE_LIMIT = 64  # just after connect, a frame numbered above this still belongs to the connection before


def crc16(data: bytes) -> int:
    return binascii.crc_hqx(data, 0xFFFF)


def encode_frame(sequence: int, samples: np.ndarray) -> bytes:
    body = struct.pack("<HH", sequence & 0xFFFF, len(samples)) + np.asarray(samples, "<i2").tobytes()
    return SYNC + body + struct.pack("<H", crc16(body))


@dataclass(frozen=True)
class Header:
    sample_rate: int
    samples_per_packet: int
    fields: dict


@dataclass(frozen=True)
class Frame:
    sequence: int
    samples: np.ndarray
    lost_before: int = 0  # frames missing between the previous frame and this one


@dataclass
class StreamStats:
    frames: int = 0
    crc_errors: int = 0
    garbage_bytes: int = 0
    headers: int = 0
    stale_frames: int = 0  # from before our connect, skipped
    gaps: list[tuple[int, int]] = field(default_factory=list)  # (frames received before the gap, frames lost)

    @property
    def lost_frames(self) -> int:
        return sum(n for _, n in self.gaps)


class FrameParser:
    """Feed it bytes as they arrive; it returns the headers and frames complete so far."""

    def __init__(self) -> None:
        self.buffer = bytearray()
        self.stats = StreamStats()
        self.expected: int | None = None
        self.fresh = False  # True once a frame of the current connection has arrived
        self.max_samples = MAX_SAMPLES  # the header's samples_per_packet, once known

    def restart_sequence(self) -> None:
        """After "connect" the device counts frames from 0 again; frames still on their way from before are
        skipped, and frames 0.. missing before the first new one are counted as lost."""
        self.expected = 0
        self.fresh = False

    def feed(self, data: bytes) -> list[Header | Frame]:
        self.buffer += data
        out: list[Header | Frame] = []
        while True:
            item = self._next()
            if item is None:
                return out
            if item is not True:
                out.append(item)

    def _skip(self, n: int) -> None:
        self.stats.garbage_bytes += n
        del self.buffer[:n]

    def _next(self):
        buf = self.buffer
        sync, brace = buf.find(SYNC), buf.find(b'{"')
        starts = [i for i in (sync, brace) if i >= 0]
        if not starts:
            keep = 1 if buf[-1:] in (b"\xa5", b"{") else 0  # a start split across reads
            self._skip(len(buf) - keep)
            return None
        start = min(starts)
        if start:
            self._skip(start)
            return True
        if start == brace:
            return self._header()
        return self._frame()

    def _header(self):
        end = self.buffer.find(b"\n")
        if end < 0:
            if len(self.buffer) > MAX_HEADER or self._complete_frame_after(2):
                self._skip(2)  # too long for a header, or a good frame follows: '{"' was inside other data
                return True
            return None
        line = bytes(self.buffer[:end])
        try:
            fields = json.loads(line.decode("utf-8"))
            header = Header(int(fields["sample_rate"]), int(fields["samples_per_packet"]), fields)
        except (ValueError, KeyError, TypeError, UnicodeDecodeError):
            self._skip(2)  # not a header: look for the next start inside it
            return True
        del self.buffer[: end + 1]
        self.stats.headers += 1
        if 0 < header.samples_per_packet <= MAX_SAMPLES:
            self.max_samples = header.samples_per_packet
        return header

    def _frame(self):
        buf = self.buffer
        if len(buf) < 6:
            return None
        sequence, n = struct.unpack_from("<HH", buf, 2)
        if n == 0 or n > self.max_samples:  # a false start: no frame is that long
            self._skip(1)
            return True
        size = 6 + 2 * n + 2
        if len(buf) < size:
            if self._complete_frame_after(1):
                # A whole frame with a good CRC starts inside the one this start promises: this start is a
                # false one (sync bytes inside a damaged frame's samples). Waiting for it would hold the good
                # frame back until more data came, or for ever at the end of a stream.
                self._skip(1)
                return True
            return None
        body = bytes(buf[2 : size - 2])
        if struct.unpack_from("<H", buf, size - 2)[0] != crc16(body):
            self.stats.crc_errors += 1
            self._skip(1)  # the real frame may start inside this one
            return True
        del buf[:size]
        if self.expected == 0 and not self.fresh and sequence > STALE_LIMIT:
            self.stats.stale_frames += 1
            return True
        self.fresh = True
        lost = self._count(sequence)
        return Frame(sequence, np.frombuffer(body[4:], "<i2").astype(np.int16), lost)

    def _complete_frame_after(self, offset: int) -> bool:
        """Whether a complete frame with a good CRC starts at or after `offset` in the buffer."""
        buf = self.buffer
        at = buf.find(SYNC, offset)
        while at >= 0 and at + 6 <= len(buf):
            n = struct.unpack_from("<H", buf, at + 4)[0]
            end = at + 6 + 2 * n + 2
            if 0 < n <= self.max_samples and end <= len(buf):
                body = bytes(buf[at + 2 : end - 2])
                if struct.unpack_from("<H", buf, end - 2)[0] == crc16(body):
                    return True
            at = buf.find(SYNC, at + 1)
        return False

    def _count(self, sequence: int) -> int:
        lost = 0
        if self.expected is not None and sequence != self.expected:
            lost = (sequence - self.expected) & 0xFFFF
            self.stats.gaps.append((self.stats.frames, lost))
        self.stats.frames += 1
        self.expected = (sequence + 1) & 0xFFFF
        return lost
