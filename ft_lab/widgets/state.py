"""The recipe the panels share: each panel writes its sections here; ``recipe()`` validates the whole.

    state = RecipeState(Recipe.from_yaml("recipe.yaml"))
    state.sections["train"]["epochs"] = 2
    state.recipe()                       # a validated Recipe, or RecipeError with every problem
"""
from __future__ import annotations

import copy
import html

from ..core.packaged_models import default_model
from ..core.recipe import Recipe

#: a new Studio's recipe: method auto and the README's cleaners; the model comes from default_model()
DEFAULT_SECTIONS = {"task": {"type": "classification"}, "data": {}, "clean": ["normalize", "dedup"], "model": {},
                    "method": {"name": "auto"}, "train": {}, "evaluate": None}


class RecipeState:
    def __init__(self, recipe: Recipe | None = None, runs_dir=None):
        self.runs_dir = runs_dir
        if recipe is None:
            self.sections = copy.deepcopy(DEFAULT_SECTIONS)
            self.sections["model"] = {"name_or_path": default_model(self.task_type)}
            self.base_dir = None
        else:
            self.sections = recipe.to_dict()
            self.base_dir = recipe.base_dir
        self.panels: list = []  # panels that write sections (sync) before a recipe is built

    @property
    def task_type(self) -> str:
        task = self.sections.get("task") or {}
        return (task.get("type") if isinstance(task, dict) else task) or "classification"

    def sync(self) -> None:
        for panel in self.panels:
            panel.sync()

    def plain(self) -> dict:
        self.sync()
        return {k: copy.deepcopy(v) for k, v in self.sections.items() if v is not None}

    def recipe(self, check_environment: bool = True) -> Recipe:
        """The validated recipe built from every panel (RecipeError lists each problem); with
        ``check_environment`` also what this machine must provide (data files, model folder, ...)."""
        return Recipe.from_dict(self.plain(), base_dir=self.base_dir, check_environment=check_environment)

    def load(self, recipe: Recipe) -> None:
        self.sections = recipe.to_dict()
        self.base_dir = recipe.base_dir
        for panel in self.panels:
            panel.refresh()


def problems_html(problems: list[str]) -> str:
    return ("<div class='ft-lab-problems' style='color:#b00'>" + "<br>".join(html.escape(p) for p in problems)
            + "</div>")
