"""Reading a run directory: the one reader used by the CLI, the panels and error analysis.

    files = RunFiles("runs/20240601-120000-class-lora-ab12")
    files.info                 # run.json
    files.events("status")     # events.jsonl, filtered by type
    files.metrics()            # metrics.json ({} when the run has not been evaluated)
    files.recipe_plain()       # recipe.yaml as plain data, readable even when its data paths are gone

``ft_lab.workflows.runner.RunHandle`` (status, wait, stop) and ``ft_lab.rundir.run_data.RunData`` (evaluators,
lazy predictions) both build on it. A missing file reads as empty; a damaged one is a ``UserError``
naming the file (``ft_lab.safety.atomic.read_json``).
"""
from __future__ import annotations

import json
import os
import time
from pathlib import Path

from ..safety.atomic import read_json
from ..errors import UserError

WHICH = ("base", "finetuned")


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


class RunFiles:
    """The files of one run directory, read on demand (nothing is cached: a live run keeps writing)."""

    def __init__(self, run_dir: str | os.PathLike):
        self.dir = Path(run_dir).resolve()
        if not self.dir.is_dir():
            raise UserError(f"{self.dir}: run directory not found")

    @property
    def id(self) -> str:
        return self.dir.name

    name = id

    @property
    def info(self) -> dict:
        return read_json(self.dir / "run.json", {}) or {}

    def load_recipe(self):
        """The run's recipe as a ``Recipe`` (validated: its data paths must exist)."""
        from ..core.recipe import Recipe
        return Recipe.from_yaml(self.dir / "recipe.yaml")

    def recipe_plain(self) -> dict:
        """recipe.yaml as plain data ({} when missing), without validating it."""
        path = self.dir / "recipe.yaml"
        if not path.is_file():
            return {}
        from ..safety.yaml_limits import safe_load
        data = safe_load(path.read_text(encoding="utf-8"), str(path))
        return data if isinstance(data, dict) else {}

    def events(self, kind: str | None = None) -> list[dict]:
        events, _ = read_events(self.dir)
        return [e for e in events if kind is None or e.get("type") == kind]

    def last_status_event(self) -> dict:
        statuses = self.events("status")
        return statuses[-1] if statuses else {"status": "created"}

    def metrics(self) -> dict:
        return read_json(self.dir / "metrics.json", {}) or {}

    def details(self) -> dict:
        return read_json(self.dir / "eval_details.json", {}) or {}

    def predictions_path(self, which: str = "finetuned") -> Path:
        if which not in WHICH:
            raise UserError(f"which: expected one of {', '.join(WHICH)}, got {which!r}")
        return self.dir / "predictions" / f"{which}.jsonl"

    def headline(self) -> tuple[str, float | None]:
        m = self.metrics()
        name = m.get("headline", "")
        return name, (m.get("finetuned") or {}).get(name)


def last_checkpoint(run_dir: Path) -> str | None:
    """The newest complete Trainer checkpoint of a run, or None: one with its trainer_state.json and
    whole safetensors files (a kill or a full disk while saving leaves a damaged one, passed over)."""
    from ..safety.file_checks import safetensors_problem

    folder = Path(run_dir) / "checkpoints"
    if not folder.is_dir():
        return None
    found = [p for p in folder.glob("checkpoint-*") if p.name.split("-")[-1].isdigit()
             and (p / "trainer_state.json").exists()]
    for p in sorted(found, key=lambda p: int(p.name.split("-")[-1]), reverse=True):
        if not any(safetensors_problem(w) for w in p.glob("*.safetensors")):
            return str(p)
    return None


def append_event(run_dir: Path, event: dict) -> dict:
    """Append one event (a JSON line, written with one write call) to ``events.jsonl``; secrets redacted."""
    from ..safety.redact import redact

    event = redact({"time": round(time.time(), 3), **event})
    line = json.dumps(event, ensure_ascii=False, default=str) + "\n"
    with open(Path(run_dir) / "events.jsonl", "a", encoding="utf-8") as f:
        f.write(line)
        f.flush()
    return event


# --- the run lock: held (flock) by the live worker for its whole life ------------------------------
WORKER_LOCK = "worker.lock"


def _try_lock(run_dir: Path, wait: float = 0.0) -> int | None:
    """An fd holding the run's lock (exclusive, released when every copy of the fd is closed, even by
    a kill -9, so pid reuse cannot fool it), or None while a live worker holds it."""
    import fcntl

    fd = os.open(Path(run_dir) / WORKER_LOCK, os.O_RDWR | os.O_CREAT, 0o644)
    deadline = time.monotonic() + wait
    while True:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            return fd
        except BlockingIOError:
            if time.monotonic() >= deadline:
                os.close(fd)
                return None
            time.sleep(0.1)


def lock_holder(run_dir: Path) -> int | None:
    """The pid of the live worker of the run, or None."""
    try:
        fd = _try_lock(run_dir)
    except OSError:
        return None
    if fd is not None:
        os.close(fd)
        return None
    try:
        return int(json.loads((Path(run_dir) / WORKER_LOCK).read_text())["pid"])
    except (OSError, ValueError, KeyError, TypeError):
        return None
