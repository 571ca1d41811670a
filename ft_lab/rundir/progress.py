"""A run's progress from its events: step, fraction, time per step, ETA, elapsed time, phase, loss.

    progress = progress_from_events(run.events())     # or fold events one by one as they arrive:
    tracker = Progress(); tracker.update(event)
    progress.step, progress.max_steps, progress.fraction, progress.eta(), progress.elapsed()

The one computation behind the terminal (``ft_lab.cli.terminal.ProgressPrinter``), the Train panel and
the JupyterLab sidebar and status bar (``ft_lab.server.summary``):

- the step is the latest one any ``train_begin``, ``log``, ``checkpoint``, ``train_end`` or ``status``
  event names; ``max_steps`` comes from ``train_begin`` and ``log``;
- the time per step is measured from the latest ``train_begin`` (a resumed attempt starts a new one) to
  the latest ``log`` after it, on the events' own ``time`` stamps: a view that reads the log late (a
  notebook re-opened, ``ft-lab runs``) gets the same figure as one that followed it live;
- the ETA is that time per step times the steps left, while the run is ``running`` (None otherwise);
- elapsed: from the first ``running`` status to the last event (to now while the run is running).
"""
from __future__ import annotations

import time
from dataclasses import dataclass

from .status import COMPLETED, RUNNING

_STEP_EVENTS = ("checkpoint", "train_end", "status")


@dataclass
class Progress:
    status: str | None = None  # the latest status event's (None before any)
    phase: str | None = None
    phase_detail: str | None = None  # which baseline, on how many rows
    step: int = 0
    max_steps: int | None = None
    loss: float | None = None
    tokens_per_second: float | None = None
    mfu: float | None = None
    padding_saved: float | None = None
    seconds_per_step: float | None = None
    started: float | None = None  # time of the first running status
    last_time: float | None = None  # time of the latest event
    _begin: tuple[float | None, int] | None = None  # (time, step) of the latest train_begin

    def update(self, e: dict) -> "Progress":
        """Fold one event in (events in log order)."""
        kind = e.get("type")
        t = e.get("time")
        if isinstance(t, (int, float)):
            self.last_time = t
        if kind == "status":
            self.status = e.get("status") or self.status
            if self.status == RUNNING and self.started is None and isinstance(t, (int, float)):
                self.started = t
        elif kind == "phase":
            self.phase = e.get("phase")
            self.phase_detail = (f"{e['baseline']}, {e.get('examples', '?')} test rows" if e.get("baseline")
                                 else None)
        elif kind == "train_begin":
            self.max_steps = e.get("max_steps") or self.max_steps
            self.step = e.get("step", 0) or 0
            self._begin = (t if isinstance(t, (int, float)) else None, self.step)
            self.seconds_per_step = None  # this attempt's own pace, from its first log on
        elif kind == "log" and isinstance(e.get("step"), int):
            self.step = e["step"]
            self.max_steps = e.get("max_steps") or self.max_steps
            if e.get("loss") is not None:
                self.loss = e["loss"]
            if e.get("tokens_per_second") is not None:
                self.tokens_per_second, self.mfu = e["tokens_per_second"], e.get("mfu")
            if self._begin is not None and self._begin[0] is not None and isinstance(t, (int, float)) \
                    and self.step > self._begin[1]:
                self.seconds_per_step = max(0.0, t - self._begin[0]) / (self.step - self._begin[1])
        elif kind == "packing":
            self.padding_saved = e.get("padding_saved")
        if kind in _STEP_EVENTS and isinstance(e.get("step"), int):
            self.step = max(self.step, e["step"])
        return self

    @property
    def fraction(self) -> float | None:
        """Share of the training steps done (1.0 once completed; None while the step count is unknown)."""
        if self.status == COMPLETED:
            return 1.0
        if not self.max_steps:
            return None
        return min(1.0, self.step / self.max_steps)

    def eta(self, status: str | None = None) -> float | None:
        """Seconds left in training while the run is running (``status``: the caller's own, e.g. after a
        liveness check); None when unknown or not running."""
        status = status or self.status
        if status not in (RUNNING, None) or self.seconds_per_step is None or not self.max_steps:
            return None
        return max(0.0, self.seconds_per_step * (self.max_steps - self.step))

    def elapsed(self, status: str | None = None, now: float | None = None) -> float | None:
        """Seconds from the worker's first start to its last event (to now while it runs)."""
        if self.started is None:
            return None
        if (status or self.status) == RUNNING:
            return max(0.0, (time.time() if now is None else now) - self.started)
        return max(0.0, (self.last_time or self.started) - self.started)


def progress_from_events(events: list[dict], status: str | None = None) -> Progress:
    """The progress after ``events``; ``status`` (e.g. ``RunHandle.status``, with its liveness check)
    replaces the latest logged one."""
    p = Progress()
    for e in events:
        p.update(e)
    if status is not None:
        p.status = status
    return p


def format_eta(seconds: float) -> str:
    """``m:ss``, or ``h:mm:ss`` from an hour on."""
    seconds = int(max(0, seconds))
    return f"{seconds // 3600}:{seconds // 60 % 60:02d}:{seconds % 60:02d}" if seconds >= 3600 \
        else f"{seconds // 60}:{seconds % 60:02d}"
