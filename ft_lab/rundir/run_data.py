"""What error analysis reads from a run directory: task, evaluators, predictions, metrics, details.

    run = RunData("runs/2024-06-01-tickets")
    run.task                       # 'classification'
    run.predictions("finetuned")   # PredictionsFile (lazy), or None when the file is missing
    run.evaluators()               # the recipe's evaluators, built with their Config
    run.metrics()                  # {'base': {...}, 'finetuned': {...}, 'headline': 'accuracy'}
"""
from __future__ import annotations

from pathlib import Path

from ..errors import UserError
from .predictions import PredictionsFile
from .reader import WHICH, RunFiles  # noqa: F401  (WHICH is imported from here by evaluation)


class RunData(RunFiles):
    """A run directory as error analysis sees it (the files are read by ``ft_lab.rundir.reader.RunFiles``)."""

    def __init__(self, run_dir: str | Path):
        super().__init__(run_dir)
        self.recipe = None
        self._recipe_plain = self._read_recipe()

    # --- recipe ---------------------------------------------------------------------------------
    def _read_recipe(self) -> dict:
        if not (self.dir / "recipe.yaml").is_file():
            return {}
        self.recipe = self.load_recipe()  # parsing is pure: a run copied elsewhere, data gone, loads too
        return self.recipe.to_dict()

    @property
    def task(self) -> str:
        task = self._recipe_plain.get("task")
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

        raw = self._recipe_plain.get("evaluate")
        return list(raw) if raw else list(DEFAULT_EVALUATORS[self.task])

    def evaluators(self, names: list[str] | None = None) -> list:
        """Evaluator instances: ``names`` (configured as in the recipe when it lists them), or the recipe's."""
        from ..core.recipe import component_spec

        # the recipe's parsed specs (built as the recipe builds every component); without a recipe, the defaults
        specs = {s.name: s for s in (self.recipe.evaluate if self.recipe is not None else
                                     [component_spec("evaluator", n, "evaluate") for n in self.evaluator_specs()])}
        out = []
        for name in names or list(specs):
            spec = specs.get(name) or component_spec("evaluator", name, "--evaluators")
            evaluator = spec.create("evaluator")
            if self.task not in evaluator.tasks:
                raise UserError(f"evaluator '{name}' does not apply to {self.task} "
                                f"(it scores: {', '.join(evaluator.tasks)})")
            out.append(evaluator)
        return out

    # --- files ----------------------------------------------------------------------------------
    def predictions(self, which: str = "finetuned") -> PredictionsFile | None:
        path = self.predictions_path(which)
        return PredictionsFile(path) if path.is_file() else None
