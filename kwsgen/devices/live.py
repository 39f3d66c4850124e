"""A device watched in the background, for a page that asks "what is new since event N?".

kwsgen studio's live view polls this: run_monitor (the same reader as
kwsgen monitor, with its reconnecting and its tolerance of garbage) runs in a
thread and keeps the latest events, numbered, in memory.
"""

from __future__ import annotations

import threading
import time
from collections import deque
from collections.abc import Callable

from .monitor import Classification, Labeler, printable, run_monitor

KEEP = 5000  # events held for pollers; a page that falls further behind skips ahead


class LiveMonitor:
    def __init__(self, port: str, opener: Callable[[], object], labeler: Labeler, keep: int = KEEP) -> None:
        self.port, self.opener, self.labeler = port, opener, labeler
        self.events: deque[dict] = deque(maxlen=keep)
        self.next_seq = 0
        self.status = "connecting"
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def start(self) -> LiveMonitor:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(2)

    @property
    def running(self) -> bool:
        return self._thread.is_alive()

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

    def _run(self) -> None:
        run_monitor(self.opener, self._on_event, self.labeler, self._stop.is_set, self._on_status)
        self.status = "disconnected"
