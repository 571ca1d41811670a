"""Trials whose search process died: found, failed with a note, and enqueued again (``ft-lab search``
resumes them).

    with Heartbeat(study, trial):           # around each trial: its sign of life in the study
        run_trial(...)
    recover_dead_trials(study)              # before each ask: [numbers of the trials failed and enqueued]

A dead process is found at once on its own machine by its pid (gone), and on any machine sharing the study
(a PostgreSQL URL) by its heartbeat: every search process records one in the study (Optuna's heartbeat
table) every ``HEARTBEAT_S`` while it runs a trial, and a running trial silent for ``STALE_S`` is stale.
The trial enqueued again carries ``retry_of`` and ``take_over`` (the dead trial's run directory), which
``ft_lab.workflows.search`` takes over where it can and trains again where it cannot.
"""
from __future__ import annotations

import os
import socket
import threading

from .runner import pid_alive

HEARTBEAT_S = 20  # a running trial's sign of life in the study, recorded by the process that runs it
STALE_S = 120  # a running trial without a heartbeat this long: its process or its machine is gone


def _retry_stale(study, trial) -> None:
    """A trial failed as stale (its process is gone): enqueue it again; the new one takes over its run."""
    attrs = {"retry_of": trial.number}
    if trial.user_attrs.get("run_dir"):
        attrs["take_over"] = trial.user_attrs["run_dir"]
    study.enqueue_trial(trial.params, user_attrs=attrs, skip_if_exists=False)


def recover_dead_trials(study) -> list[int]:
    """RUNNING trials of dead search processes: failed now (with a note saying why) and enqueued again.
    Found on any machine sharing the study by their heartbeat (none for ``STALE_S``), and at once on
    their own machine by their pid."""
    from optuna.exceptions import UpdateFinishedTrialError
    from optuna.trial import TrialState
    storage = study._storage  # the one storage object Optuna gives to the study's own helpers
    stale = set(storage._get_stale_trial_ids(study._study_id))  # what optuna.storages.fail_stale_trials reads
    host, found = socket.gethostname(), []
    for t in study.get_trials(deepcopy=False, states=(TrialState.RUNNING,)):
        pid, where = t.user_attrs.get("pid"), t.user_attrs.get("host")
        if t._trial_id in stale:
            why = (f"no heartbeat for over {STALE_S} s: its search process (pid {pid} on {where or 'another machine'}) "
                   f"died or lost the database")
        elif where == host and isinstance(pid, int) and pid != os.getpid() and not pid_alive(pid):
            why = f"its search process (pid {pid}) died"
        else:
            continue
        try:
            storage.set_trial_user_attr(t._trial_id, "interrupted", why)
            failed = storage.set_trial_state_values(t._trial_id, TrialState.FAIL)
        except UpdateFinishedTrialError:  # another search process recovered it first
            continue
        if failed:
            _retry_stale(study, storage.get_trial(t._trial_id))
            found.append(t.number)
    return found


class Heartbeat:
    """The trial's heartbeat in the study, every ``HEARTBEAT_S`` while this process runs it."""

    def __init__(self, study, trial):
        self.storage, self.trial_id = study._storage, trial._trial_id
        self.stopped = threading.Event()
        self.thread = threading.Thread(target=self._beat, name="ft-lab-heartbeat", daemon=True)

    def _beat(self) -> None:
        while True:
            try:
                self.storage.record_heartbeat(self.trial_id)
            except Exception:  # noqa: BLE001 - a database hiccup: the next beat tries again
                pass
            if self.stopped.wait(HEARTBEAT_S):
                return

    def __enter__(self) -> "Heartbeat":
        self.thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.stopped.set()
        self.thread.join(timeout=60)
