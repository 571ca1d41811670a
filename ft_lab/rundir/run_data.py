"""What error analysis reads from a run directory: task, evaluators, predictions, metrics, details.

    run = RunData("runs/2024-06-01-tickets")
    run.task                       # 'classification'
    run.predictions("finetuned")   # PredictionsFile (lazy), or None when the file is missing
    run.evaluators()               # the recipe's evaluators, built with their Config
    run.metrics()                  # {'base': {...}, 'finetuned': {...}, 'headline': 'accuracy'}
"""
from __future__ import annotations

from pathlib import Path

from ..errors import RecipeError, UserError
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
        try:
            self.recipe = self.load_recipe()
            return self.recipe.to_dict()
        except RecipeError:
            # A run copied from another machine: its data paths are gone, but task and evaluators still
            # read fine from the plain YAML.
            self.recipe = None
            return self.recipe_plain()

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
                raise UserError(f"{self.dir / 'recipe.yaml'}: " + "; ".join(problems))
            out.append(cls(config))
        return out

    # --- files ----------------------------------------------------------------------------------
    def predictions(self, which: str = "finetuned") -> PredictionsFile | None:
        path = self.predictions_path(which)
        return PredictionsFile(path) if path.is_file() else None
