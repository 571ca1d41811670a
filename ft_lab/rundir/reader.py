"""Reading a run directory: the one reader used by the CLI, the panels, the server and error analysis.

    run = RunFiles("runs/20240601-120000-class-lora-ab12")
    run.info                       # run.json
    run.events("status")           # events.jsonl, filtered by type
    run.metrics()                  # metrics.json ({} when the run has not been evaluated)
    run.recipe()                   # the run's Recipe (validated; RecipeError when it does not validate)
    run.recipe_plain()             # recipe.yaml as plain data, readable even when its data paths are gone
    run.task                       # 'classification'
    run.predictions("finetuned")   # PredictionsFile (lazy), or None when the file is missing
    run.evaluators()               # the recipe's evaluators, built with their Config

``ft_lab.workflows.runner.RunHandle`` builds on it and adds process control (status with liveness,
wait, stop, kill). Paths come from ``ft_lab.rundir.layout``; appended events are checked against
``ft_lab.rundir.events``. A missing file reads as empty; a damaged one is a ``UserError`` naming the file
(``ft_lab.safety.atomic.read_json``). Nothing is cached but what the recipe says of the task and the
evaluators (a live run keeps writing its other files).
"""
from __future__ import annotations

import json
import os
import time
from pathlib import Path

from ..safety.atomic import read_json
from ..errors import RecipeError, UserError
from .events import validate_event
from .layout import WHICH, RunLayout, is_run_dir  # noqa: F401  (WHICH is imported from here by evaluation)
from .predictions import PredictionsFile
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
        self._recipe_data: dict | None = None

    @property
    def id(self) -> str:
        return self.dir.name

    name = id

    @property
    def info(self) -> dict:
        return read_json(self.layout.info, {}) or {}

    # --- recipe -----------------------------------------------------------------------------------
    def recipe(self):
        """The run's recipe as a ``Recipe`` (validated: a RecipeError when it does not validate)."""
        from ..core.recipe import Recipe
        return Recipe.from_yaml(self.layout.recipe)

    def recipe_or_none(self):
        """The run's ``Recipe``, or None when there is none or it does not validate (a run copied from
        another machine, whose data paths are gone)."""
        if not self.layout.recipe.is_file():
            return None
        try:
            return self.recipe()
        except RecipeError:
            return None

    def recipe_plain(self) -> dict:
        """recipe.yaml as plain data ({} when missing), without validating it."""
        path = self.layout.recipe
        if not path.is_file():
            return {}
        from ..safety.yaml_limits import safe_load
        data = safe_load(path.read_text(encoding="utf-8"), str(path))
        return data if isinstance(data, dict) else {}

    def _recipe_dict(self) -> dict:
        """The recipe with its defaults spelled out when it validates, else as plain YAML (read once)."""
        if self._recipe_data is None:
            recipe = self.recipe_or_none()
            self._recipe_data = recipe.to_dict() if recipe is not None else self.recipe_plain()
        return self._recipe_data

    @property
    def task(self) -> str:
        task = self._recipe_dict().get("task")
        task = task.get("type") if isinstance(task, dict) else task
        if task in ("classification", "generation"):
            return task
        for which in WHICH:  # no recipe: generation predictions carry reference log-likelihoods
            p = self.predictions(which)
            if p is not None:
                first = next(iter(p), {})
                return "generation" if "nll" in first else "classification"
        raise UserError(f"{self.dir}: no recipe.yaml and no predictions; is this a run directory?")

    def evaluator_specs(self) -> list:
        from ..core.recipe import DEFAULT_EVALUATORS

        raw = self._recipe_dict().get("evaluate")
        return list(raw) if raw else list(DEFAULT_EVALUATORS[self.task])

    def evaluators(self, names: list[str] | None = None) -> list:
        """Evaluator instances: ``names`` (configured as in the recipe when it lists them), or the recipe's."""
        from ..core import configs
        from ..core.plugins import get_registry

        registry = get_registry()
        specs = {}
        for spec in self.evaluator_specs():
            spec = {"name": spec} if isinstance(spec, str) else dict(spec)
            specs[spec["name"]] = spec
        chosen = names or list(specs)
        out = []
        for name in chosen:
            try:
                cls = registry.get("evaluator", name)
            except KeyError as exc:
                raise UserError(f"--evaluators: {exc.args[0]}") from None
            if self.task not in cls.tasks:
                raise UserError(f"evaluator '{name}' does not apply to {self.task} (it scores: {', '.join(cls.tasks)})")
            fields = {k: v for k, v in specs.get(name, {}).items() if k != "name"}
            config, problems = configs.build(cls.Config, fields, f"evaluate.{name}")
            if problems:
                raise UserError(f"{self.layout.recipe}: " + "; ".join(problems))
            out.append(cls(config))
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
        from .progress import progress_from_events
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
    from ..safety.file_checks import safetensors_problem

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
    from ..safety.redact import redact

    validate_event(event)
    event = redact({"time": round(time.time(), 3), **event})
    line = json.dumps(event, ensure_ascii=False, default=str) + "\n"
    with open(RunLayout(run_dir).events, "a", encoding="utf-8") as f:
        f.write(line)
        f.flush()
    return event
