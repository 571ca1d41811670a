"""The Train step's plan line, above Start: pick an accelerator, press Plan, read peak memory, time and cost.

    line = PlanLine(recipe_fn=state.recipe, runs_dir="runs")
    line.gpu.value = "L4"; line.plan_button.click()
    line.html.value      # "L4: peak 1.32 GiB of 22.08 GiB usable, fits · 3.1 min · $0.0364 ..."

The same plan as ``ft-lab plan`` (docs/plan.md): the data tokenized as a run would, the model built on the
meta device; the whole breakdown is printed below the line.
"""
from __future__ import annotations

import html

import ipywidgets as W

from ..errors import RecipeError, UserError
from ..planning.accelerators import load_accelerators
from ..planning.plan import duration_text, money_text, plan_recipe, size_text


class PlanLine(W.VBox):
    def __init__(self, recipe_fn, runs_dir=None):
        super().__init__()
        self.recipe_fn, self.runs_dir = recipe_fn, runs_dir
        self.gpu = W.Dropdown(options=list(load_accelerators()), value="cpu", description="Plan on",
                              layout=W.Layout(width="220px"))
        self.gpus = W.BoundedIntText(value=1, min=1, max=1024, description="GPUs", layout=W.Layout(width="140px"))
        self.plan_button = W.Button(description="Plan", icon="calculator")
        self.plan_button.on_click(lambda _b: self.refresh())
        self.html = W.HTML("<span style='color:#777'>memory, time and cost before Start: press Plan</span>")
        self.details = W.HTML()
        self.add_class("ft-lab-plan-line")
        self.children = [W.HBox([self.gpu, self.gpus, self.plan_button, self.html]), self.details]

    def refresh(self):
        """Make the plan for the panels' recipe on the chosen accelerator; problems show in the line."""
        try:
            plan = plan_recipe(self.recipe_fn(), gpu=self.gpu.value, gpus=self.gpus.value, runs_dir=self.runs_dir)
        except RecipeError as exc:
            self.html.value = f"<span style='color:#b00'>no plan: {html.escape('; '.join(exc.problems))}</span>"
            return None
        except UserError as exc:
            self.html.value = f"<span style='color:#b00'>no plan: {html.escape(str(exc))}</span>"
            return None
        verdict = "fits" if plan.fits else f"<b style='color:#b00'>does not fit</b> ({len(plan.changes)} changes would)"
        self.html.value = (f"{html.escape(plan.accelerator.name)}: peak {size_text(plan.peak_bytes)} of "
                           f"{size_text(plan.capacity_bytes)} usable, {verdict} · {duration_text(plan.seconds)} · "
                           f"{money_text(plan.cost)}")
        self.details.value = "<pre style='font-size:11px'>" + html.escape("\n".join(plan.lines())) + "</pre>"
        return plan
