"""Follow a run directory's event log from a daemon thread, applying new events in batches.

The thread reads ``events.jsonl`` incrementally (``read_events`` with byte offsets) and calls
``apply(events)`` at most ``1 / interval`` times a second (4 by default), so a fast worker never floods
the browser with redraws. ``poll()`` does one round synchronously (used by ``Studio.wait``).
"""
from __future__ import annotations

import subprocess
import threading
import time
from pathlib import Path

from ..runs import TERMINAL, RunHandle, read_events


class RunFollower:
    def __init__(self, handle: RunHandle, apply, on_end=None, interval: float = 0.25):
        self.handle = handle
        self.dir = Path(handle.dir)
        self.apply = apply
        self.on_end = on_end
        self.interval = interval
        self.offset = 0
        self.ended = False
        self.status = None
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> "RunFollower":
        self._thread = threading.Thread(target=self._loop, name=f"ft-lab-follow-{self.dir.name}", daemon=True)
        self._thread.start()
        return self

    def cancel(self) -> None:
        self._stop.set()

    def _loop(self) -> None:
        while not self._stop.is_set():
            try:
                if self.poll():
                    return
            except Exception as exc:  # a display problem must not kill the follower silently
                self.apply([{"type": "warning", "message": f"panel update failed: {exc}"}])
            self._stop.wait(self.interval)

    def poll(self) -> bool:
        """Apply what is new; return True once the run has ended (and ``on_end`` has run once)."""
        with self._lock:
            if self.ended:
                return True
            events, self.offset = read_events(self.dir, self.offset)
            status = self.handle.status
            if status in TERMINAL or status == "interrupted":
                more, self.offset = read_events(self.dir, self.offset)
                events += more
            if events:
                self.apply(events)
            self.status = status
            if status in TERMINAL or status == "interrupted":
                self.ended = True
                if self.handle.process is not None:  # reap the worker we started (it exits right after)
                    try:
                        self.handle.process.wait(timeout=30)
                    except subprocess.TimeoutExpired:
                        pass
                if self.on_end is not None:
                    self.on_end(status)
                return True
            return False

    def wait(self, timeout: float | None = None) -> str:
        deadline = None if timeout is None else time.monotonic() + timeout
        while not self.poll():
            if deadline is not None and time.monotonic() > deadline:
                break
            time.sleep(self.interval)
        return self.handle.status
