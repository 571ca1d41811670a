"""The run directory, the single source of truth for a run, and the handle to a running worker.

Layout of ``RUNS_DIR/<run id>/``::

    recipe.yaml            the resolved recipe (absolute data paths, every default spelled out)
    run.json               id, created time, task, model, method
    events.jsonl           append-only event log: status changes, training logs, eval results
    data/                  prepared splits, rejected rows, data report
    checkpoints/           Trainer checkpoints (safetensors)
    final/                 the trained adapter or model, with its tokenizer
    predictions/           base.jsonl and finetuned.jsonl, one test example per line
    metrics.json           {"base": {...}, "finetuned": {...}, "headline": "<metric>"}
    worker.log, worker.pid, stop (a stop request)

Every view (CLI, panels, JupyterLab) rebuilds a run from these files; none of them trains.
"""
from __future__ import annotations

import json
import os
import secrets
import signal
import subprocess
import sys
import tempfile
import time
from datetime import datetime, timezone
from pathlib import Path

from .errors import UserError

TERMINAL = ("completed", "failed", "stopped")
DEFAULT_RUNS_DIR = "runs"


# atomic writes live in ft_lab.atomic; re-exported here for callers of the run API
from .atomic import atomic_write_json, atomic_write_text, read_json  # noqa: E402,F401


# --- events -------------------------------------------------------------------------------------
def append_event(run_dir: Path, event: dict) -> dict:
    """Append one event (a JSON line, written with one write call) to ``events.jsonl``."""
    event = {"time": round(time.time(), 3), **event}
    line = json.dumps(event, ensure_ascii=False, default=str) + "\n"
    with open(Path(run_dir) / "events.jsonl", "a", encoding="utf-8") as f:
        f.write(line)
        f.flush()
    return event


def read_events(run_dir: Path, offset: int = 0) -> tuple[list[dict], int]:
    """Events from byte ``offset`` on, and the offset to read from next; a half-written last line waits."""
    path = Path(run_dir) / "events.jsonl"
    if not path.exists():
        return [], offset
    with open(path, "rb") as f:
        f.seek(offset)
        chunk = f.read()
    events, used = [], 0
    for raw in chunk.splitlines(keepends=True):
        if not raw.endswith(b"\n"):
            break
        used += len(raw)
        try:
            events.append(json.loads(raw))
        except json.JSONDecodeError:
            continue
    return events, offset + used


# --- runs ---------------------------------------------------------------------------------------
def new_run_id(task: str, method: str) -> str:
    stamp = datetime.now().strftime("%Y%m%d-%H%M%S")
    return f"{stamp}-{task[:5]}-{method}-{secrets.token_hex(2)}"


def _pid_alive(pid: int | None) -> bool:
    if not pid:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    try:  # a zombie child of this process is dead for our purposes
        with open(f"/proc/{pid}/stat", encoding="utf-8") as f:
            return f.read().split()[2] != "Z"
    except OSError:
        return True


class RunHandle:
    """A run on disk, running or finished: status, events, metrics, wait, stop.

        handle = ft_lab.run("recipe.yaml")
        handle.wait(); handle.status; handle.metrics()
    """

    def __init__(self, run_dir: str | os.PathLike, process: subprocess.Popen | None = None):
        self.dir = Path(run_dir).resolve()
        if not (self.dir / "run.json").exists():
            raise UserError(f"{self.dir}: not an ft-lab run directory (no run.json)")
        self.process = process

    def __repr__(self):
        return f"RunHandle({str(self.dir)!r}, status={self.status!r})"

    @property
    def id(self) -> str:
        return self.dir.name

    @property
    def info(self) -> dict:
        return read_json(self.dir / "run.json", {})

    def recipe(self):
        from .recipe import Recipe
        return Recipe.from_yaml(self.dir / "recipe.yaml")

    def events(self, kind: str | None = None) -> list[dict]:
        events, _ = read_events(self.dir)
        return [e for e in events if kind is None or e.get("type") == kind]

    def last_status_event(self) -> dict:
        statuses = self.events("status")
        return statuses[-1] if statuses else {"status": "created"}

    @property
    def pid(self) -> int | None:
        try:
            return int((self.dir / "worker.pid").read_text())
        except (FileNotFoundError, ValueError):
            return None

    @property
    def status(self) -> str:
        """created, running, completed, failed, stopped, or interrupted (worker gone without a last word)."""
        if self.process is not None:
            self.process.poll()
        status = self.last_status_event()["status"]
        if status not in TERMINAL and status != "created" and not _pid_alive(self.pid):
            return "interrupted"
        return status

    @property
    def error(self) -> str | None:
        return self.last_status_event().get("error")

    def metrics(self) -> dict:
        return read_json(self.dir / "metrics.json", {})

    def predictions(self, which: str = "finetuned") -> list[dict]:
        path = self.dir / "predictions" / f"{which}.jsonl"
        if not path.exists():
            return []
        return [json.loads(x) for x in path.read_text(encoding="utf-8").splitlines() if x.strip()]

    def headline(self) -> tuple[str, float | None]:
        m = self.metrics()
        name = m.get("headline", "")
        return name, (m.get("finetuned") or {}).get(name)

    def wait(self, timeout: float | None = None, poll: float = 0.5, on_event=None) -> str:
        """Block until the worker ends (or ``timeout`` seconds pass); return the status."""
        deadline = None if timeout is None else time.monotonic() + timeout
        offset = 0
        while True:
            if on_event is not None:
                events, offset = read_events(self.dir, offset)
                for e in events:
                    on_event(e)
            status = self.status
            if status in TERMINAL or status == "interrupted":
                if on_event is not None:
                    for e in read_events(self.dir, offset)[0]:
                        on_event(e)
                if self.process is not None:
                    self.process.wait()
                return status
            if deadline is not None and time.monotonic() > deadline:
                return status
            time.sleep(poll)

    def stop(self) -> None:
        """Ask the worker to save a checkpoint and end cleanly (it checks after each step)."""
        atomic_write_text(self.dir / "stop", "stop requested\n")

    def kill(self) -> None:
        """End the worker at once (SIGKILL), as a crash would; ``resume`` continues from the last checkpoint."""
        pid = self.pid
        if pid and _pid_alive(pid):
            os.kill(pid, signal.SIGKILL)
        if self.process is not None:
            self.process.wait()


def _runs_dir(runs_dir) -> Path:
    return Path(runs_dir or os.environ.get("FT_LAB_RUNS_DIR") or DEFAULT_RUNS_DIR).resolve()


def create_run(recipe, runs_dir=None) -> Path:
    """Validate the data and write a new run directory (atomically: it appears complete or not at all)."""
    from .data.prepare import prepare_data

    from .training.defaults import resolve_defaults

    recipe = recipe.resolved()
    prepared = prepare_data(recipe)
    recipe, choices = resolve_defaults(recipe, prepared)  # every `auto` becomes a value the user can see
    root = _runs_dir(runs_dir)
    root.mkdir(parents=True, exist_ok=True)
    run_id = new_run_id(recipe.task.type, recipe.method.name)
    tmp = Path(tempfile.mkdtemp(prefix=f".{run_id}.", dir=root))
    prepared.write(tmp / "data")
    atomic_write_text(tmp / "recipe.yaml", recipe.to_yaml())
    atomic_write_json(tmp / "run.json", {
        "id": run_id, "created": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "task": recipe.task.type, "model": recipe.model.name_or_path, "method": recipe.method.name,
        "headline": recipe.headline_metric(), "ft_lab_version": _version()})
    append_event(tmp, {"type": "status", "status": "created"})
    if choices:
        append_event(tmp, {"type": "defaults", "choices": [c.as_json() for c in choices]})
    final = root / run_id
    os.replace(tmp, final)
    return final


def _version() -> str:
    from . import __version__
    return __version__


def worker_command(run_dir: Path, resume: bool, num_processes: int = 1) -> list[str]:
    args = [str(run_dir)] + (["--resume"] if resume else [])
    if num_processes > 1:
        return [sys.executable, "-m", "accelerate.commands.launch", "--num_processes", str(num_processes),
                "-m", "ft_lab.training.worker", *args]
    return [sys.executable, "-m", "ft_lab.training.worker", *args]


def start_worker(run_dir: Path, resume: bool = False) -> RunHandle:
    """Start the training worker in its own process session: it outlives a notebook kernel restart."""
    from .recipe import Recipe

    run_dir = Path(run_dir)
    recipe = Recipe.from_yaml(run_dir / "recipe.yaml")
    stop_file = run_dir / "stop"
    if stop_file.exists():
        stop_file.unlink()
    env = dict(os.environ)
    env.setdefault("TOKENIZERS_PARALLELISM", "false")
    env.setdefault("TRANSFORMERS_NO_ADVISORY_WARNINGS", "1")
    env["PYTHONUNBUFFERED"] = "1"
    log = open(run_dir / "worker.log", "ab")
    proc = subprocess.Popen(worker_command(run_dir, resume, recipe.train.num_processes), stdout=log,
                            stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, env=env,
                            start_new_session=True, cwd=str(run_dir))
    log.close()
    atomic_write_text(run_dir / "worker.pid", str(proc.pid))
    return RunHandle(run_dir, proc)


def _as_recipe(recipe):
    from .recipe import Recipe
    if isinstance(recipe, Recipe):
        return recipe
    if isinstance(recipe, dict):
        return Recipe.from_dict(recipe)
    return Recipe.from_yaml(recipe)


def run(recipe, runs_dir=None) -> RunHandle:
    """Validate ``recipe`` (a Recipe, a dict or a YAML path), prepare its data and start training.

    Returns at once with a RunHandle; the training happens in a worker process.
    """
    run_dir = create_run(_as_recipe(recipe), runs_dir)
    return start_worker(run_dir)


def resume(run_dir) -> RunHandle:
    """Continue a stopped, failed or interrupted run from its last checkpoint."""
    handle = open_run(run_dir)
    if handle.status == "running":
        raise UserError(f"{handle.dir}: the run is still running (worker pid {handle.pid}); stop it first")
    if handle.status == "completed":
        raise UserError(f"{handle.dir}: the run has already completed; nothing to resume")
    return start_worker(handle.dir, resume=True)


def open_run(run_dir) -> RunHandle:
    path = Path(run_dir)
    if not path.is_dir():
        raise UserError(f"{path}: no such run directory")
    return RunHandle(path)


def list_runs(runs_dir=None) -> list[RunHandle]:
    """Every run under ``runs_dir`` (default ./runs or $FT_LAB_RUNS_DIR), newest first."""
    root = _runs_dir(runs_dir)
    if not root.is_dir():
        return []
    found = [RunHandle(p) for p in root.iterdir() if p.is_dir() and (p / "run.json").exists()]
    return sorted(found, key=lambda h: h.info.get("created", ""), reverse=True)
