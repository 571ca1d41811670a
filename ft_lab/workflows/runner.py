"""The run directory, the single source of truth for a run, and the handle to a running worker.

The layout of ``RUNS_DIR/<run id>/`` is ``ft_lab.rundir.layout``; reading it, ``ft_lab.rundir.reader``;
the statuses, ``ft_lab.rundir.status``; the lock, ``ft_lab.rundir.lock``.

Every view (CLI, panels, JupyterLab) rebuilds a run from these files; none of them trains.
"""
from __future__ import annotations

import os
import secrets
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from datetime import datetime, timezone
from pathlib import Path

from .. import __version__
from ..core.environment import check_environment
from ..core.recipe import Recipe, is_distributed
from ..data.prepare import load_examples, prepare_data
from ..data.replay import continue_data, with_general_test
from ..errors import UserError
from ..rundir.events import SCHEMA_VERSION
from ..rundir.inline_plugins import save_run_plugins
from ..rundir.layout import RunLayout, is_run_dir
from ..rundir.lineage import ancestors, check_method, check_parent, inherit_method, lineage_record
from ..rundir.lock import lock_holder, try_lock, write_lock_info
from ..rundir.reader import RunFiles, append_event, last_checkpoint, read_events
from ..rundir.status import COMPLETED, LIVE, TERMINAL
from ..safety.atomic import atomic_write_json, atomic_write_text
from ..training.defaults import resolve_defaults

# A run's statuses (created -> running -> terminal; resume: resuming -> running -> ...); only a terminal
# status written after the latest ``resuming`` ends a wait. See ft_lab.rundir.status and docs/runs.md.
DEFAULT_RUNS_DIR = "runs"
LOG_TAIL_LINES = 20


# --- runs ---------------------------------------------------------------------------------------
def new_run_id(task: str, method: str) -> str:
    stamp = datetime.now().strftime("%Y%m%d-%H%M%S")
    return f"{stamp}-{task[:5]}-{method}-{secrets.token_hex(2)}"


def pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    try:  # a zombie is dead for our purposes
        with open(f"/proc/{pid}/stat", encoding="utf-8") as f:
            return f.read().split()[2] != "Z"
    except OSError:
        return True


class RunHandle(RunFiles):
    """A run on disk, running or finished: status, events, metrics, wait, stop.

        handle = ft_lab.run("recipe.yaml")
        handle.wait(); handle.status; handle.metrics()
    """

    def __init__(self, run_dir: str | os.PathLike, process: subprocess.Popen | None = None):
        path = Path(run_dir)
        if not is_run_dir(path):
            raise UserError(f"{path.resolve()}: not an ft-lab run directory (no run.json)")
        super().__init__(path)
        self.process = process
        self.follow_from = 0  # byte offset in events.jsonl where this attempt's events start (see resume)

    def __repr__(self):
        return f"RunHandle({str(self.dir)!r}, status={self.status!r})"

    @property
    def pid(self) -> int | None:
        try:
            return int(self.layout.worker_pid.read_text())
        except (FileNotFoundError, ValueError):
            return None

    @property
    def status(self) -> str:
        """The latest status, after a liveness check: a created, running or resuming run whose worker
        has ended without a last word is recorded (in events.jsonl) as failed, with the reason."""
        status = self.last_status_event()["status"]
        if status in TERMINAL:
            return status
        pid = self.pid
        if pid is None:
            return status  # created, and no worker was ever started for it
        if not self.layout.worker_lock.exists() and pid_alive(pid):
            return status  # a worker of an ft-lab version without worker locks
        return check_liveness(self)

    @property
    def error(self) -> str | None:
        return self.last_status_event().get("error")

    def wait(self, timeout: float | None = None, poll: float = 0.5, on_event=None) -> str:
        """Block until the current attempt ends (or ``timeout`` seconds pass); return the status.

        A terminal status counts only when written after the latest ``resuming``, so waiting on a run
        that was just resumed waits for the new attempt."""
        deadline = None if timeout is None else time.monotonic() + timeout
        offset = self.follow_from
        while True:
            if on_event is not None:
                events, offset = read_events(self.dir, offset)
                for e in events:
                    on_event(e)
            status = self.status
            if status in TERMINAL:
                if on_event is not None:
                    for e in read_events(self.dir, offset)[0]:
                        on_event(e)
                if self.process is not None:
                    try:
                        self.process.wait(timeout=30)
                    except subprocess.TimeoutExpired:
                        pass
                return status
            if deadline is not None and time.monotonic() > deadline:
                return status
            time.sleep(poll)

    def stop(self) -> None:
        """Ask the worker to save a checkpoint and end cleanly (it checks after each step)."""
        atomic_write_text(self.layout.stop, "stop requested\n")

    def kill(self) -> None:
        """End the worker at once (SIGKILL), as a crash would; ``resume`` continues from the last checkpoint."""
        if self.process is not None and self.process.poll() is None:
            self.process.kill()
            self.process.wait()
            return
        holder = lock_holder(self.dir)
        if holder is not None:
            try:
                os.kill(holder, signal.SIGKILL)
            except ProcessLookupError:
                pass


# --- liveness: the worker holds an flock on worker.lock for its whole life ----------------------


def check_liveness(handle: RunHandle) -> str:
    """The run's status; a live status whose worker is gone becomes ``failed`` (written once)."""
    try:
        fd = try_lock(handle.dir)
    except OSError:  # a read-only copy of a run: nothing can be checked or written
        return handle.last_status_event()["status"]
    if fd is None:
        return handle.last_status_event()["status"]  # the worker holds the lock: it is alive
    try:
        return _settle(handle)
    finally:
        os.close(fd)


def _settle(handle: RunHandle) -> str:
    """With the run's lock held (so no worker is alive): record a live status as a dead worker's failure."""
    last = handle.last_status_event()  # read under the lock: the worker may have just ended
    if last["status"] not in LIVE or handle.pid is None:  # no worker.pid: no worker was ever started
        return last["status"]
    code = None
    if handle.process is not None:  # the lock is free, so the process is ending: collect its exit code
        try:
            code = handle.process.wait(timeout=5)
        except subprocess.TimeoutExpired:
            pass
    append_event(handle.dir, worker_died_event(handle.dir, last["status"], code))
    return "failed"


def worker_died_event(run_dir: Path, status: str, exit_code: int | None) -> dict:
    tail = log_tail(RunLayout(run_dir).worker_log)
    last = next((line for line in reversed(tail) if line.strip()), "")
    how = f"exit code {exit_code}" if exit_code is not None else "killed or crashed"
    checkpoint = last_checkpoint(run_dir)
    error = (f"the worker ended without a final status while {status} ({how})"
             + (f"; worker.log ends with: {last.strip()}" if last else "; worker.log is empty")
             + (f"; continue with: ft-lab resume {run_dir}" if checkpoint else ""))
    return {"type": "status", "status": "failed", "reason": "worker_died", "exit_code": exit_code,
            "error": error, "log_tail": tail, "checkpoint": checkpoint}


def log_tail(path: Path, lines: int = LOG_TAIL_LINES) -> list[str]:
    try:
        with open(path, "rb") as f:
            f.seek(0, os.SEEK_END)
            f.seek(max(0, f.tell() - 16384))
            text = f.read().decode("utf-8", "replace")
    except OSError:
        return []
    return text.splitlines()[-lines:]


def runs_root(runs_dir=None) -> Path:
    """The runs folder: ``runs_dir``, else $FT_LAB_RUNS_DIR, else ./runs (absolute)."""
    return Path(runs_dir or os.environ.get("FT_LAB_RUNS_DIR") or DEFAULT_RUNS_DIR).resolve()


_runs_dir = runs_root


def create_run(recipe, runs_dir=None, info: dict | None = None) -> Path:
    """Check what this machine must provide (``check_environment``: data files, a sane local model folder,
    ...), validate the data and write a new run directory (atomically: it appears complete or not at all).
    ``info``: more keys for run.json (a search's trial: ``{"search": {...}}``)."""


    recipe = check_environment(recipe.resolved())  # every missing file or damaged folder, before any work
    parent = check_parent(recipe)  # model.from_run: a completed run of the same model and task
    if parent is not None:
        recipe = inherit_method(recipe, parent)
    prepared = prepare_data(recipe)
    if parent is not None or recipe.data.replay_file:
        chain = ancestors(parent.dir) + [parent] if parent is not None else []
        general = load_examples(recipe, "replay_file") if recipe.data.replay_file else None
        prepared = continue_data(recipe, prepared, chain, general)
    if recipe.data.general_test:  # answered as the run starts and when it ends: the forgetting report
        prepared = with_general_test(prepared, load_examples(recipe, "general_test"),
                                     recipe.resolve_path(recipe.data.general_test), recipe.task.type)
    deferred = None
    try:
        recipe, choices = resolve_defaults(recipe, prepared)  # every `auto` becomes a value the user can see
    except UserError:
        raise
    except Exception as exc:  # e.g. a broken transformers install: the worker resolves them and reports why
        choices, deferred = [], f"{type(exc).__name__}: {exc}"
    if parent is not None:
        check_method(recipe, parent)
    root = _runs_dir(runs_dir)
    root.mkdir(parents=True, exist_ok=True)
    _clean_leftovers(root)
    run_id = new_run_id(recipe.task.type, recipe.method.name)
    tmp = Path(tempfile.mkdtemp(prefix=f".{run_id}.", dir=root))
    try:
        layout = RunLayout(tmp)
        prepared.write(layout.data)
        atomic_write_text(layout.recipe, recipe.to_yaml())
        save_run_plugins(tmp, recipe)  # plugins registered in this process (a notebook's cells) reach the worker
        atomic_write_json(layout.info, {
            "id": run_id, "created": datetime.now(timezone.utc).isoformat(timespec="seconds"),
            "task": recipe.task.type, "model": recipe.model.name_or_path, "method": recipe.method.name,
            "headline": recipe.headline_metric(), "ft_lab_version": _version(), **(info or {}),
            **(lineage_record(parent, root / run_id, recipe.model.joint_retrain) if parent is not None else {})})
        append_event(tmp, {"type": "status", "status": "created", "schema": SCHEMA_VERSION})
        if choices:
            append_event(tmp, {"type": "defaults", "choices": [c.as_json() for c in choices]})
        if prepared.report.get("replay"):
            append_event(tmp, {"type": "replay", **prepared.report["replay"]})
        if deferred:
            append_event(tmp, {"type": "warning", "message": f"auto settings left to the worker ({deferred})"})
        final = root / run_id
        os.replace(tmp, final)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return final


LEFTOVER_AGE_S = 3600


def _clean_leftovers(root: Path) -> None:
    """Remove ``.ID.xxxx`` folders of run creations killed half-way (older than an hour: a younger one
    may belong to a creation in progress in another process)."""
    now = time.time()
    for p in root.glob(".*"):
        try:
            if p.is_dir() and now - p.stat().st_mtime > LEFTOVER_AGE_S:
                shutil.rmtree(p, ignore_errors=True)
        except OSError:
            continue


def _version() -> str:
    return __version__


def worker_command(run_dir: Path, resume: bool, recipe) -> list[str]:
    """The worker itself for one process; for several, the Accelerate supervisor (training/launch.py)."""
    args = [str(run_dir)] + (["--resume"] if resume else [])
    module = "ft_lab.training.launch" if is_distributed(recipe) else "ft_lab.workflows.worker"
    return [sys.executable, "-m", module, *args]


def start_worker(run_dir: Path, resume: bool = False, lock_fd: int | None = None,
                 threads: int | None = None) -> RunHandle:
    """Start the training worker in its own process session: it outlives a notebook kernel restart.
    ``threads``: its CPU threads (``FT_LAB_THREADS``) where several workers share this machine's cores.

    The run's lock is taken here (or given as ``lock_fd``) and handed to the worker, which holds it
    until it exits: a second worker on the same run is refused, and a dead one is noticed at once."""

    run_dir = Path(run_dir).resolve()
    if lock_fd is None:
        lock_fd = try_lock(run_dir, wait=2.0)
        if lock_fd is None:
            raise UserError(f"{run_dir}: a worker is already running on this run (pid {lock_holder(run_dir)}); "
                            f"stop it first")
    try:
        layout = RunLayout(run_dir)
        recipe = Recipe.from_yaml(layout.recipe)
        stop_file = layout.stop
        if stop_file.exists():
            stop_file.unlink()
        env = dict(os.environ)
        env.setdefault("TOKENIZERS_PARALLELISM", "false")
        env.setdefault("TRANSFORMERS_NO_ADVISORY_WARNINGS", "1")
        env["PYTHONUNBUFFERED"] = "1"
        env["FT_LAB_LOCK_FD"] = str(lock_fd)
        if threads:
            env["FT_LAB_THREADS"] = str(threads)
        with open(layout.worker_log, "ab") as log:
            proc = subprocess.Popen(worker_command(run_dir, resume, recipe), stdout=log,
                                    stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, env=env,
                                    start_new_session=True, cwd=str(run_dir), pass_fds=(lock_fd,))
        write_lock_info(lock_fd, proc.pid)
        atomic_write_text(layout.worker_pid, str(proc.pid))
    finally:
        os.close(lock_fd)  # the worker holds its own copy of the lock from here on
    return RunHandle(run_dir, proc)


def as_recipe(recipe):
    if isinstance(recipe, Recipe):
        return recipe
    if isinstance(recipe, dict):
        return Recipe.from_dict(recipe)
    return Recipe.from_yaml(recipe)


def run(recipe, runs_dir=None) -> RunHandle:
    """Validate ``recipe`` (a Recipe, a dict or a YAML path), prepare its data and start training.

    Returns at once with a RunHandle; the training happens in a worker process.
    """
    run_dir = create_run(as_recipe(recipe), runs_dir)
    return start_worker(run_dir)


def resume(run_dir) -> RunHandle:
    """Continue a stopped, failed or interrupted run from its last checkpoint.

    Appends ``{"status": "resuming"}`` to events.jsonl before it returns, so that every waiter waits for
    the new attempt. Two resumes of one run at once: the second is refused (the run's lock)."""
    handle = open_run(run_dir)
    status = handle.status
    if status == "completed":
        raise UserError(f"{handle.dir}: the run has already completed; nothing to resume")
    # a worker that has just written its last status may still be exiting: give it a few seconds
    fd = try_lock(handle.dir, wait=10.0 if status in TERMINAL else 2.0)  # a reader may hold it briefly
    if fd is None:
        raise UserError(f"{handle.dir}: the run is still running (worker pid {lock_holder(handle.dir)}); "
                        f"stop it first")
    try:
        status = _settle(handle)
        if status == COMPLETED:
            raise UserError(f"{handle.dir}: the run has already completed; nothing to resume")
        events = handle.layout.events
        offset = events.stat().st_size if events.exists() else 0
        append_event(handle.dir, {"type": "status", "status": "resuming", "previous": status,
                                  "checkpoint": last_checkpoint(handle.dir)})
    except BaseException:
        os.close(fd)
        raise
    resumed = start_worker(handle.dir, resume=True, lock_fd=fd)
    resumed.follow_from = offset  # wait(on_event=...) shows this attempt, from its "resuming" on
    return resumed


def completed_run(run_dir) -> tuple[Path, object]:
    """The folder and recipe of a completed run with its ``final/`` model (export, the Playground), or a
    UserError saying what the run is and what to do."""
    handle = open_run(run_dir)
    status = handle.status
    if status != "completed":
        raise UserError(f"{handle.dir}: the run is {status}, not completed; only a completed run can be exported"
                        + (f" (continue it with: ft-lab resume {handle.dir})"
                           if status in ("stopped", "interrupted", "failed") else ""))
    if not handle.layout.final.is_dir() or not handle.layout.recipe.exists():
        raise UserError(f"{handle.dir}: no final/ folder or recipe.yaml; the run directory is incomplete")
    return handle.dir, handle.recipe()


def open_run(run_dir) -> RunHandle:
    path = Path(run_dir)
    if not path.is_dir():
        raise UserError(f"{path}: no such run directory")
    return RunHandle(path)


def list_runs(runs_dir=None) -> list[RunHandle]:
    """Every run under ``runs_dir`` (default ./runs or $FT_LAB_RUNS_DIR), newest first; folders of
    run creations in progress (or killed half-way), whose names start with a dot, are not runs."""
    root = _runs_dir(runs_dir)
    if not root.is_dir():
        return []
    found = [RunHandle(p) for p in root.iterdir()
             if p.is_dir() and not p.name.startswith(".") and is_run_dir(p)]
    return sorted(found, key=lambda h: h.info.get("created", ""), reverse=True)
