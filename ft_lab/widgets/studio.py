"""The Studio: the whole flow in one widget, each step a panel that also works on its own.

    from ft_lab import Studio
    studio = Studio()                         # Data, Model and method, Train, Evaluate, Errors, Runs
    studio = Studio.from_recipe("recipe.yaml")
    studio.recipe()                           # the Recipe the panels describe (validated)
    studio.export_recipe("recipe.yaml")       # YAML; the Python equivalent is shown beside it
    studio.train.start_button.click(); studio.wait()
    studio.snapshot()                         # static HTML that stays in the saved notebook
    Studio.attach("runs/<id>")                # pick a run up again after a kernel restart
"""
from __future__ import annotations

import html
from pathlib import Path

import ipywidgets as W

from ..errors import RecipeError, UserError
from ..recipe import Recipe
from .data import DataPanel
from .errors import ErrorsPanel
from .model import ModelPanel
from .plots import curves_from_events, svg_lines
from .results import ResultsPanel
from .runs_panel import RunsPanel
from .state import RecipeState, problems_html
from .train import TrainPanel

_E = html.escape
STEPS = ("Data", "Model and method", "Train", "Evaluate", "Errors", "Runs")


class Studio(W.VBox):
    def __init__(self, recipe: Recipe | str | None = None, runs_dir=None):
        super().__init__()
        if recipe is not None and not isinstance(recipe, Recipe):
            recipe = Recipe.from_yaml(recipe)
        self.state = RecipeState(recipe, runs_dir=runs_dir)
        self.runs_dir = runs_dir
        self.data = DataPanel(self.state)
        self.model = ModelPanel(self.state)
        self.train = TrainPanel(self.state, recipe_fn=self.recipe)
        self.results = ResultsPanel()
        self.errors = ErrorsPanel()
        self.runs = RunsPanel(runs_dir)
        self.train.on_finished.append(self._finished)
        self.runs.on_open.append(self.open_run)
        self.tabs = W.Tab(children=[self.data, self.model, self.train, self.results, self.errors, self.runs],
                          titles=STEPS)
        self.export_path = W.Text(placeholder="recipe.yaml (empty: show only)", description="save to",
                                  layout=W.Layout(width="420px"))
        self.export_button = W.Button(description="Export recipe", icon="file-code")
        self.export_button.add_class("ft-lab-export")
        self.export_button.on_click(lambda _b: self._export_clicked())
        self.export_html = W.HTML()
        self.export_html.add_class("ft-lab-export-output")
        self.message = W.HTML()
        self.message.add_class("ft-lab-studio-message")
        self.children = [W.HTML("<h2 style='margin:4px 0'>ft-lab Studio</h2>"), self.tabs,
                         W.HBox([self.export_button, self.export_path]), self.message, self.export_html]
        self.add_class("ft-lab-studio")

    # --- construction ---------------------------------------------------------------------------
    @classmethod
    def from_recipe(cls, recipe: Recipe | str, runs_dir=None) -> "Studio":
        """Panels filled from a recipe (a Recipe, or a YAML path or text)."""
        if not isinstance(recipe, Recipe):
            recipe = Recipe.from_yaml(recipe)
        return cls(recipe, runs_dir=runs_dir)

    @classmethod
    def attach(cls, run_dir) -> "Studio":
        """A Studio showing an existing run, live if it is still running (after a restart, a closed tab)."""
        from ..runs import open_run
        handle = open_run(run_dir)
        try:
            recipe = handle.recipe()
        except (RecipeError, UserError):
            recipe = None  # data files moved away: the run can still be shown
        studio = cls(recipe, runs_dir=str(handle.dir.parent))
        studio.open_run(handle.dir)
        return studio

    # --- recipe ---------------------------------------------------------------------------------
    def recipe(self) -> Recipe:
        """The validated recipe the panels describe; problems are shown in the panel and raised."""
        try:
            recipe = self.state.recipe()
        except RecipeError as exc:
            self.message.value = problems_html(exc.problems)
            raise
        self.message.value = ""
        return recipe

    def export_recipe(self, path=None) -> str:
        """The recipe as YAML (shown beside its Python equivalent); saved to ``path`` when given."""
        recipe = self.recipe()
        text = recipe.to_yaml()
        saved = ""
        if path:
            from ..runs import atomic_write_text
            atomic_write_text(Path(path), text)
            saved = f"<p style='color:#070'>saved to <code>{_E(str(path))}</code></p>"
        self.export_html.value = (
            saved + "<div style='display:flex;gap:16px'><div><b>recipe.yaml</b><pre class='ft-lab-yaml'>"
            f"{_E(text)}</pre></div><div><b>Python</b><pre class='ft-lab-python'>{_E(recipe.to_python())}</pre>"
            "</div></div>")
        return text

    def _export_clicked(self) -> None:
        try:
            self.export_recipe(self.export_path.value.strip() or None)
        except RecipeError:
            pass  # already shown by recipe()
        except (UserError, OSError) as exc:
            self.message.value = problems_html([str(exc)])

    # --- runs -----------------------------------------------------------------------------------
    @property
    def handle(self):
        return self.train.handle

    def open_run(self, run_dir) -> None:
        """Show a run: follow it live in Train; Evaluate and Errors load when it has ended."""
        from ..runs import open_run
        handle = open_run(run_dir)
        self.data.load_report(handle.dir)
        self.train.follow(handle)
        self.tabs.selected_index = 2

    def _finished(self, handle, status: str) -> None:
        if handle is None:
            return
        if (Path(handle.dir) / "metrics.json").exists():
            self.results.load(handle.dir)
        if (Path(handle.dir) / "predictions" / "finetuned.jsonl").exists():
            self.errors.load(handle.dir)
        self.runs.refresh()

    def wait(self, timeout: float | None = None) -> str:
        """Block until the current run ends, refreshing the panels synchronously; return its status."""
        return self.train.wait(timeout)

    # --- static view ----------------------------------------------------------------------------
    def snapshot_html(self) -> str:
        parts = ["<div class='ft-lab-snapshot'>"]
        h = self.handle
        if h is not None:
            parts.append(f"<p><b>run</b> <code>{_E(h.id)}</code> · status {_E(h.status)}</p>")
            curves = curves_from_events(h.events())
            parts.append(svg_lines({k: v for k, v in curves.items() if k != "learning rate"}, title="loss"))
            if self.results.run_dir is None and (h.dir / "metrics.json").exists():
                self.results.load(h.dir)
        body = self.results.static_html()
        parts.append(body or "<h4>Metrics</h4><table class=\"ft-lab-metrics\"><tr><th>metric</th><th>base</th>"
                             "<th>fine-tuned</th><th>change</th></tr></table><p>(no results yet)</p>")
        parts.append("</div>")
        return "".join(parts)

    def snapshot(self) -> None:
        """Display a static HTML rendering (a text/html output kept in the saved notebook)."""
        from IPython.display import HTML, display
        display(HTML(self.snapshot_html()))
