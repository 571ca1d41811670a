"""Experiment trackers follow a run's events: the recipe's ``track: [mlflow, tensorboard]``.

    follower = start_tracking(run_dir)    # in the worker; None when the recipe tracks nothing
    ...                                   # the run appends its events as always
    follower.finish()                     # the last events, then each tracker's close(status)

A tracker is registered through the ``register_trackers`` hook (the built-in ones in
``ft_lab.default_plugins.default_trackers``) as ``factory(run_dir, recipe)``; it receives every event
of ``events.jsonl`` in order, from a thread of the worker that starts the trackers and reads the file as
the run writes it, so a slow or unreachable tracking server never slows training or delays its start.
Isolation: a tracker that raises (an unreachable server, a missing package) is dropped with a ``warning``
event naming it; the run goes on and ends as it would.
Keys and URLs come from the environment (``MLFLOW_TRACKING_URI``, ``WANDB_API_KEY``...), never the recipe.
"""
from __future__ import annotations

import threading
from pathlib import Path

from ..core.plugins import get_registry
from ..rundir.reader import RunFiles, append_event, read_events

POLL_S = 1.0
FINISH_WAIT_S = 60.0


def _short(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
    return f"{type(exc).__name__}: {text[:300]}"


def _not_started(run_dir: Path, name: str, why: str) -> None:
    append_event(run_dir, {"type": "warning", "message": f"tracker '{name}' could not start and is off for this run "
                                                         f"({why})"})


class Follower:
    """The run's trackers and the thread that feeds them."""

    def __init__(self, run_dir: Path, recipe, factories: list[tuple[str, object]]):
        self.run_dir, self.recipe = Path(run_dir), recipe
        self.factories = factories  # (name, factory), started by the thread
        self.trackers: list[tuple[str, object]] = []
        self.offset = 0
        self.done = threading.Event()
        self.thread = threading.Thread(target=self._loop, name="ft-lab-trackers", daemon=True)

    def _warn(self, name: str, what: str, exc: BaseException) -> None:
        append_event(self.run_dir, {"type": "warning", "message": f"tracker '{name}' {what} and was turned off "
                                                                 f"({_short(exc)}); the run goes on"})

    def _feed(self) -> None:
        events, self.offset = read_events(self.run_dir, self.offset)
        for e in events:
            for item in list(self.trackers):
                name, tracker = item
                try:
                    tracker.event(e)
                except Exception as exc:  # noqa: BLE001 - a broken tracker never fails a run
                    self.trackers.remove(item)
                    self._warn(name, "failed on an event", exc)

    def _start_trackers(self) -> None:
        for name, factory in self.factories:
            try:
                self.trackers.append((name, factory(self.run_dir, self.recipe)))
            except Exception as exc:  # noqa: BLE001 - e.g. the package is missing or the server is down
                _not_started(self.run_dir, name, _short(exc))

    def _loop(self) -> None:
        self._start_trackers()
        while not self.done.wait(POLL_S):
            self._feed()
        self._feed()
        status = RunFiles(self.run_dir).last_status_event().get("status", "unknown")
        for name, tracker in self.trackers:
            try:
                tracker.close(status)
            except Exception as exc:  # noqa: BLE001
                self._warn(name, "failed to close", exc)

    def start(self) -> "Follower":
        self.thread.start()
        return self

    def finish(self, wait: float = FINISH_WAIT_S) -> None:
        self.done.set()
        self.thread.join(wait)
        if self.thread.is_alive():
            append_event(self.run_dir, {"type": "warning", "message": f"trackers still busy after {wait:.0f} s "
                                                                     f"(a slow tracking server?); not waited for"})


def start_tracking(run_dir: Path) -> Follower | None:
    """Build the recipe's trackers and start following the run (None when it names none)."""
    try:
        recipe = RunFiles(run_dir).recipe_or_none()
    except Exception:  # noqa: BLE001 - an unreadable recipe is the worker's to report, not the trackers'
        return None
    names = list(getattr(recipe, "track", None) or [])
    if not names:
        return None
    registry = get_registry()
    factories = []
    for name in names:
        if name in registry.trackers:
            factories.append((name, registry.trackers[name][1]))
        else:  # the recipe was checked against another process's plugins
            _not_started(Path(run_dir), name, "no such tracker")
    return Follower(Path(run_dir), recipe, factories).start() if factories else None
