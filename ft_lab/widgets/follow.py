"""Follow a run directory's event log from a daemon thread, applying new events in batches.

The thread reads ``events.jsonl`` incrementally (``read_events`` with byte offsets) and calls
``apply(events)`` at most ``1 / interval`` times a second (4 by default), so a fast worker never floods
the browser with redraws. ``poll()`` does one round synchronously (used by ``Studio.wait``).

When a followed run has ended is decided from the event log itself: the run has ended at a terminal
status (completed, failed, stopped, interrupted) written after the latest ``resuming`` or ``running``
status, and after the first ``since`` events (the log as it was when Resume was clicked), so a resumed run is followed to
its new end, never to the old "stopped". A worker that is gone without such a status ends the follow as
``interrupted`` (the Resume button then continues from the last checkpoint). There is no time limit.
"""
from __future__ import annotations

import subprocess
import threading
import time
from pathlib import Path

from ..rundir.status import FAILED, INTERRUPTED, TERMINAL, ended_status
from ..workflows.runner import RunHandle, read_events

ENDED = TERMINAL  # the names this module used before ft_lab.rundir.status held them


class RunFollower:
    def __init__(self, handle: RunHandle, apply, on_end=None, interval: float = 0.25, since: int = 0):
        self.handle = handle
        self.dir = Path(handle.dir)
        self.apply = apply
        self.on_end = on_end
        self.interval = interval
        self.since = since
        self.offset = 0
        self.count = 0  # events read so far
        self.statuses: list[tuple[int, str]] = []  # (offset of the line, status) for each status event
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

    def _read(self) -> list[dict]:
        events, self.offset = read_events(self.dir, self.offset)
        for e in events:
            if e.get("type") == "status":
                self.statuses.append((self.count, e.get("status")))
            self.count += 1
        return events

    def _worker_gone(self) -> bool:
        proc = self.handle.process
        if proc is not None:  # the worker this kernel started
            return proc.poll() is not None
        return self.handle.status in (INTERRUPTED, FAILED)  # run.py's view: its worker pid is dead

    def poll(self) -> bool:
        """Apply what is new; return True once the run has ended (and ``on_end`` has run once)."""
        with self._lock:
            if self.ended:
                return True
            gone = self._worker_gone()  # checked before reading: a last word written before exiting is read
            events = self._read()
            status = ended_status(self.statuses, self.since)
            latest = self.statuses[-1][1] if self.statuses else "created"
            if status is None and gone:
                status = "interrupted"
            # while it goes on, an old "stopped" before a resume is shown as what it is: resuming
            self.status = status or ("resuming" if latest in ENDED else latest)
            if events:
                self.apply(events)
            if status is None:
                return False
            self.ended = True
            if self.handle.process is not None:  # reap the worker we started (it exits right after)
                try:
                    self.handle.process.wait(timeout=30)
                except subprocess.TimeoutExpired:
                    pass
            if self.on_end is not None:
                self.on_end(status)
            return True

    def wait(self, timeout: float | None = None) -> str:
        deadline = None if timeout is None else time.monotonic() + timeout
        while not self.poll():
            if deadline is not None and time.monotonic() > deadline:
                break
            time.sleep(self.interval)
        return self.status
