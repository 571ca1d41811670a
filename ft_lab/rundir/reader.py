"""Reading a run directory: the one reader used by the CLI, the panels, the server and error analysis.

    run = RunFiles("runs/20240601-120000-class-lora-ab12")
    run.info                       # run.json
    run.events("status")           # events.jsonl, filtered by type
    run.metrics()                  # metrics.json ({} when the run has not been evaluated)
    run.recipe()                   # the run's Recipe (pure parsing: loads on any machine)
    run.task                       # 'classification'
    run.predictions("finetuned")   # PredictionsFile (lazy), or None when the file is missing
    run.evaluators()               # the recipe's evaluators, built with their Config

``ft_lab.workflows.runner.RunHandle`` builds on it and adds process control (status with liveness,
wait, stop, kill). Paths come from ``ft_lab.rundir.layout``; appended events are checked against
``ft_lab.rundir.events``. A missing file reads as empty; a damaged one is a ``UserError`` naming the file
(``ft_lab.safety.atomic.read_json``). Nothing is cached but the recipe (a live run keeps writing its other
files).
"""
from __future__ import annotations

import json
import os
import time
from pathlib import Path

from ..core.component_spec import component_spec
from ..core.recipe import Recipe
from ..core.sections import DEFAULT_EVALUATORS
from ..errors import UserError
from ..safety.atomic import read_json
from ..safety.file_checks import safetensors_problem
from ..safety.redact import redact
from .events import validate_event
from .layout import WHICH, RunLayout
from .predictions import PredictionsFile
from .progress import progress_from_events
from .status import CREATED


def read_events(run_dir: Path, offset: int = 0) -> tuple[list[dict], int]:
    """Events from byte ``offset`` on, and the offset to read from next; a half-written last line waits."""
    path = RunLayout(run_dir).events
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
    """The files of one run directory, read on demand."""

    def __init__(self, run_dir: str | os.PathLike):
        self.dir = Path(run_dir).resolve()
        if not self.dir.is_dir():
            raise UserError(f"{self.dir}: run directory not found")
        self.layout = RunLayout(self.dir)
        self._recipe = None

    @property
    def id(self) -> str:
        return self.dir.name

    name = id

    @property
    def info(self) -> dict:
        return read_json(self.layout.info, {}) or {}

    # --- recipe -----------------------------------------------------------------------------------
    def recipe(self):
        """The run's recipe as a ``Recipe``. Parsing is pure (nothing on this machine is checked), so a run
        copied to another folder or machine, its data files gone, loads too."""
        return Recipe.from_yaml(self.layout.recipe)

    def recipe_or_none(self):
        """The run's ``Recipe``, or None when the run has no recipe.yaml (read once)."""
        if self._recipe is None and self.layout.recipe.is_file():
            self._recipe = self.recipe()
        return self._recipe

    @property
    def task(self) -> str:
        recipe = self.recipe_or_none()
        if recipe is not None:
            return recipe.task.type
        for which in WHICH:  # no recipe: generation predictions carry reference log-likelihoods
            p = self.predictions(which)
            if p is not None:
                first = next(iter(p), {})
                return "generation" if "nll" in first else "classification"
        raise UserError(f"{self.dir}: no recipe.yaml and no predictions; is this a run directory?")

    def evaluators(self, names: list[str] | None = None) -> list:
        """Evaluator instances: ``names`` (configured as in the recipe when it lists them), or the recipe's
        (the task's defaults without a recipe), each built the way the recipe builds every component."""

        recipe = self.recipe_or_none()
        listed = (recipe.evaluate if recipe is not None else
                  [component_spec("evaluator", n, "evaluate") for n in DEFAULT_EVALUATORS[self.task]])
        specs = {s.name: s for s in listed}
        out = []
        for name in names or list(specs):
            spec = specs.get(name) or component_spec("evaluator", name, "--evaluators")
            evaluator = spec.create("evaluator")
            if self.task not in evaluator.tasks:
                raise UserError(f"evaluator '{name}' does not apply to {self.task} "
                                f"(it scores: {', '.join(evaluator.tasks)})")
            out.append(evaluator)
        return out

    # --- events -----------------------------------------------------------------------------------
    def events(self, kind: str | None = None) -> list[dict]:
        events, _ = read_events(self.dir)
        return [e for e in events if kind is None or e.get("type") == kind]

    def last_status_event(self) -> dict:
        statuses = self.events("status")
        return statuses[-1] if statuses else {"status": CREATED}

    def progress(self, status: str | None = None):
        """Progress and ETA from the events (``ft_lab.rundir.progress``); ``status`` overrides the logged one."""
        return progress_from_events(self.events(), status=status)

    # --- results ----------------------------------------------------------------------------------
    def metrics(self) -> dict:
        return read_json(self.layout.metrics, {}) or {}

    def details(self) -> dict:
        return read_json(self.layout.eval_details, {}) or {}

    def headline(self) -> tuple[str, float | None]:
        m = self.metrics()
        name = m.get("headline", "")
        return name, (m.get("finetuned") or {}).get(name)

    def predictions_path(self, which: str = "finetuned") -> Path:
        if which not in WHICH:
            raise UserError(f"which: expected one of {', '.join(WHICH)}, got {which!r}")
        return self.layout.predictions(which)

    def predictions(self, which: str = "finetuned") -> PredictionsFile | None:
        """The test predictions of ``which`` model, read lazily; None when the file is missing."""
        path = self.predictions_path(which)
        return PredictionsFile(path) if path.is_file() else None

    def prediction_rows(self, which: str = "finetuned") -> list[dict]:
        """The test predictions of ``which`` model as a list ([] when the file is missing)."""
        found = self.predictions(which)
        return found.load() if found is not None else []


def last_checkpoint(run_dir: Path) -> str | None:
    """The newest complete Trainer checkpoint of a run, or None: one with its trainer_state.json and
    whole safetensors files (a kill or a full disk while saving leaves a damaged one, passed over)."""

    folder = RunLayout(run_dir).checkpoints
    if not folder.is_dir():
        return None
    found = [p for p in folder.glob("checkpoint-*") if p.name.split("-")[-1].isdigit()
             and (p / "trainer_state.json").exists()]
    for p in sorted(found, key=lambda p: int(p.name.split("-")[-1]), reverse=True):
        if not any(safetensors_problem(w) for w in p.glob("*.safetensors")):
            return str(p)
    return None


def append_event(run_dir: Path, event: dict) -> dict:
    """Append one event (a JSON line, written with one write call) to ``events.jsonl``; secrets redacted.

    The event is checked against its definition (``ft_lab.rundir.events``): a malformed one raises
    ``EventError`` in tests (and with FT_LAB_STRICT_EVENTS=1), and is written with a warning otherwise."""

    validate_event(event)
    event = redact({"time": round(time.time(), 3), **event})
    line = json.dumps(event, ensure_ascii=False, default=str) + "\n"
    with open(RunLayout(run_dir).events, "a", encoding="utf-8") as f:
        f.write(line)
        f.flush()
    return event
