"""A run's statuses, the one vocabulary of the worker, the runner, the panels and the server.

Statuses are ``status`` events in ``events.jsonl``, read in order; the latest one is the run's status::

    created ──> running ──> completed | failed | stopped | interrupted        (terminal)
                  ^                     |        |         |
    resuming ─────┘ <───────────────────┴────────┴─────────┘  (ft_lab.workflows.runner.resume)

A live status whose worker is gone becomes ``failed`` (``reason: worker_died``), so every live status
may also go to ``failed``. ``completed`` is final: it cannot be resumed.
"""
from __future__ import annotations

CREATED, RUNNING, RESUMING = "created", "running", "resuming"
COMPLETED, FAILED, STOPPED, INTERRUPTED = "completed", "failed", "stopped", "interrupted"

#: statuses that end an attempt (a wait, a follow)
TERMINAL = (COMPLETED, FAILED, STOPPED, INTERRUPTED)
#: statuses of a run whose worker is (or should be) alive
LIVE = (CREATED, RUNNING, RESUMING)
#: statuses that begin an attempt: a terminal status before the latest of these belongs to an older one
STARTED = (RESUMING, RUNNING)
#: terminal statuses that ``resume`` continues from the last checkpoint
RESUMABLE = (FAILED, STOPPED, INTERRUPTED)
#: statuses a stop request applies to (while resuming, the new worker's start would delete the request)
STOPPABLE = (CREATED, RUNNING)
ALL = LIVE + TERMINAL

#: status -> the statuses that may follow it in events.jsonl
TRANSITIONS: dict[str, tuple[str, ...]] = {
    CREATED: (RUNNING, RESUMING, FAILED, INTERRUPTED),  # failed: the worker died (or could not start)
    RUNNING: TERMINAL,
    RESUMING: (RUNNING, FAILED, INTERRUPTED),
    COMPLETED: (),
    FAILED: (RESUMING,),
    STOPPED: (RESUMING,),
    INTERRUPTED: (RESUMING,),
}


def can_follow(previous: str | None, status: str) -> bool:
    """Whether ``status`` may be written after ``previous`` (None: the first status, which is created)."""
    if previous is None:
        return status == CREATED
    return status in TRANSITIONS.get(previous, ())


def ended_status(statuses: list[tuple[int, str]], since: int = 0) -> str | None:
    """The terminal status that ends the current attempt, from (position, status) pairs in log order;
    None while it goes on. Only a terminal status after the last resuming/running, and whose position is
    at least ``since``, counts."""
    last_start = max((pos for pos, s in statuses if s in STARTED), default=-1)
    for pos, s in reversed(statuses):
        if pos <= last_start:
            return None
        if s in TERMINAL and pos >= since:
            return s
    return None
