"""The Studio: the whole flow in one widget, each step a panel that also works on its own.

    from ft_lab import Studio
    studio = Studio()        # Data, Model, Train, Search, Evaluate, Errors, Playground, Export (and Serve, Monitor), Runs
    studio = Studio.from_recipe("recipe.yaml")
    studio.recipe()                           # the Recipe the panels describe (validated)
    studio.validate()                         # every problem, each shown next to its field
    studio.export_recipe("recipe.yaml")       # YAML and Python, full width, with copy and download
    studio.train.start_button.click(); studio.wait()
    studio.snapshot()                         # static HTML that stays in the saved notebook
    Studio.attach("runs/<id>")                # pick a run up again after a kernel restart

``Studio()`` also lists the running and recent runs of its runs folder at the top (after a kernel restart,
one click attaches to a run that went on in its worker).
"""
from __future__ import annotations

import html
from pathlib import Path

import ipywidgets as W

from ..core.recipe import Recipe
from ..errors import RecipeError, UserError
from ..rundir.status import TERMINAL
from ..workflows.runner import atomic_write_text, open_run
from .data_panel import DataPanel
from .errors_panel import ErrorsPanel
from .export_panel import ExportPanel
from .forms import row
from .model_panel import ModelPanel
from .monitor_panel import MonitorPanel
from .playground import PlaygroundPanel
from .plots import curves_from_events, svg_lines
from .results_panel import ResultsPanel
from .runs_panel import RunsPanel, run_options
from .search_fields import SearchFields
from .search_panel import SearchPanel
from .serve_panel import ServePanel
from .state import RecipeState, problems_html
from .static_view import StaticView, readable_untrusted, widget_html
from .train_panel import TrainPanel, lr_find_html

_E = html.escape
STEPS = ("Data", "Model", "Train", "Search", "Evaluate", "Errors", "Playground", "Export", "Runs")
#: the Studio's look: tab titles never cut, tables that fit, the actions bar above the settings
STYLE = """<style>
.ft-lab-studio .jupyter-widgets.widget-tab > .lm-TabBar .lm-TabBar-tab,
.ft-lab-studio .jupyter-widgets.widget-tab > .p-TabBar .p-TabBar-tab {flex: 0 1 auto; min-width: 40px; padding: 0 6px}
.ft-lab-studio .widget-label {overflow: hidden; text-overflow: ellipsis}
.ft-lab-studio pre.ft-lab-yaml, .ft-lab-studio pre.ft-lab-python {white-space: pre-wrap; overflow-wrap: anywhere;
  margin: 0; padding: 6px; background: var(--jp-layout-color2, #f5f5f5); max-height: 420px; overflow: auto}
.ft-lab-train-actions {padding: 4px 0; border-bottom: 1px solid #ddd; margin-bottom: 4px}
</style>"""


def recipe_html(yaml_text: str, python_text: str, saved: str = "") -> str:
    """The recipe full width: YAML and Python one under the other, each with Copy and Download."""
    import base64

    parts = [saved]
    for title, text, name, mime, cls in (("recipe.yaml", yaml_text, "recipe.yaml", "text/yaml", "ft-lab-yaml"),
                                         ("Python", python_text, "recipe.py", "text/x-python", "ft-lab-python")):
        data = base64.b64encode(text.encode("utf-8")).decode("ascii")
        parts.append(
            f"<div class='ft-lab-recipe-block' style='margin:6px 0'><b>{title}</b> "
            "<button class='ft-lab-copy' style='margin-left:8px' onclick=\"navigator.clipboard && "
            "navigator.clipboard.writeText(this.parentElement.querySelector('pre').innerText); "
            "this.innerText='Copied'\">Copy</button> "
            f"<a class='ft-lab-download' download='{name}' href='data:{mime};charset=utf-8;base64,{data}'>Download</a>"
            f"<pre class='{cls}'>{_E(text)}</pre></div>")
    return "".join(parts)


def _loss_curve(handle) -> str:
    """The run's loss curves as an SVG chart (the static views; the learning rate left out)."""
    curves = curves_from_events(handle.events())
    return svg_lines({k: v for k, v in curves.items() if k != "learning rate"}, title="loss")


class Studio(StaticView, W.VBox):
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
        self.playground = PlaygroundPanel(runs_dir)
        self.exporter = ExportPanel(runs_dir)
        self.serve = ServePanel(runs_dir)
        self.monitor = MonitorPanel()
        self.serve.on_started.append(self.monitor.load)  # the Monitor view follows the server just started
        self.serve.on_request.append(self.monitor.load)
        # the Export step puts the model to work: export it, serve it, watch what it is asked (a tenth tab
        # would cut the tab titles at 1000 px)
        self.export_step = W.VBox([self.exporter, self.serve, W.HTML(
            "<h3>Monitor</h3><span style='color:#555'>what the served model was asked (<code>ft-lab monitor</code>)"
            "</span>"), self.monitor])
        # the "search" toggles beside the forms' fields, and the Search step that runs them
        self.search_fields = SearchFields({"task": lambda: self.data.task_form, "data": lambda: self.data.data_form,
                                           "model": lambda: self.model.model_form,
                                           "method": lambda: self.model.method.form, "train": lambda: self.train.form},
                                          self.model.method.choice)
        self.model.method.on_change(lambda _f: self.search_fields.refresh())
        self.search = SearchPanel(self.state, self.search_fields, recipe_fn=self.recipe)
        self.train.on_search = self._start_search
        self.train.on_finished.append(self._finished)
        self.train.on_problems.append(self._show_field_problems)
        self.data.on_preview.append(self.validate)
        self.runs.on_open.append(self.open_run)
        self.tabs = W.Tab(children=[self.data, self.model, self.train, self.search, self.results, self.errors,
                                    self.playground, self.export_step, self.runs], titles=STEPS)
        self.tabs.observe(self._tab_changed, names="selected_index")
        # the running and recent runs, to attach to (after a kernel restart, a closed tab)
        self.recent = W.Dropdown(options=[], description="Runs", style={"description_width": "50px"},
                                 layout=W.Layout(width="460px", min_width="260px"))
        self.attach_button = W.Button(description="Attach", icon="link", tooltip="show this run (live if running)")
        self.attach_button.add_class("ft-lab-attach")
        self.attach_button.on_click(lambda _b: self.open_run(self.recent.value) if self.recent.value else None)
        self.recent_box = row(self.recent, self.attach_button)
        self.recent_box.add_class("ft-lab-recent-runs")
        self._offer_runs()
        self.export_path = W.Text(placeholder="recipe.yaml (empty: show only)", description="Save to",
                                  style={"description_width": "60px"},
                                  layout=W.Layout(width="360px", min_width="200px"))
        self.export_button = W.Button(description="Show recipe", icon="file-code",
                                      tooltip="the recipe as YAML and Python (saved when a path is given)")
        self.export_button.add_class("ft-lab-export")
        self.export_button.on_click(lambda _b: self._export_clicked())
        self.export_html = W.HTML()  # a block in the VBox: its width is the Studio's (100% + margins overflowed)
        self.export_html.add_class("ft-lab-export-output")
        self.message = W.HTML()
        self.message.add_class("ft-lab-studio-message")
        for form in (self.data.task_form, self.data.data_form, self.model.model_form, self.train.form):
            form.on_change(lambda _f: self._refresh_recipe())
        self.model.method.on_change(lambda _f: self._refresh_recipe())
        self.children = [W.HTML(STYLE + "<h2 style='margin:4px 0'>ft-lab Studio</h2>"), self.recent_box, self.tabs,
                         row(self.export_button, self.export_path),
                         self.message, self.export_html]
        self.add_class("ft-lab-studio")

    def _tab_changed(self, change) -> None:
        shown = self.tabs.children[change["new"]] if change["new"] is not None else None
        if shown is self.playground:
            shown.refresh()
        elif shown is self.export_step:  # Export, Serve, and the Monitor view of what is served
            self.exporter.refresh()
            self.serve.refresh()
            if self.monitor.folder.value:
                self.monitor.load(self.monitor.folder.value)
        self._refresh_recipe()

    def _offer_runs(self) -> None:
        options = run_options(self.runs_dir)
        running = [o for o in options if o[0].endswith("(running)")]
        self.recent.options = (running + [o for o in options if o not in running])[:12]
        if self.recent.options and self.recent.value is None:
            self.recent.value = self.recent.options[0][1]
        # hidden, not removed, while there is no run: the first run does not push the Studio down
        self.recent_box.layout.visibility = "visible" if options else "hidden"

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
        handle = open_run(run_dir)
        try:
            recipe = handle.recipe()
        except (RecipeError, UserError):
            recipe = None  # data files moved away: the run can still be shown
        studio = cls(recipe, runs_dir=str(handle.dir.parent))
        studio.open_run(handle.dir)
        return studio

    # --- recipe ---------------------------------------------------------------------------------
    def _show_field_problems(self, problems: list[str]) -> None:
        rest = self.data.show_problems(problems)
        rest = self.model.show_problems(rest)
        rest = self.train.form.show_problems(rest)
        rest = self.search.show_problems(rest)
        self.train.evaluators.show_problems(rest)

    def validate(self) -> list[str]:
        """Check the whole recipe: every problem at once, each next to its field and once above Start."""
        try:
            self.state.recipe()
            problems = []
        except RecipeError as exc:
            problems = list(exc.problems)
        problems += [p for p in self.data.check_columns() if p not in problems]
        self.train.show_problems(problems)
        return problems

    def recipe(self) -> Recipe:
        """The validated recipe the panels describe; problems are shown in the panels and raised."""
        try:
            recipe = self.state.recipe()
        except RecipeError as exc:
            self.train.show_problems(list(exc.problems))
            raise
        self.train.show_problems([])
        return recipe

    def export_recipe(self, path=None) -> str:
        """The recipe as YAML (shown with its Python equivalent, full width); saved to ``path`` when given."""
        recipe = self.recipe()
        text = recipe.to_yaml()
        saved = ""
        if path:
            atomic_write_text(Path(path), text)
            saved = f"<p style='color:#070'>saved to <code>{_E(str(path))}</code></p>"
        self.export_html.value = recipe_html(text, recipe.to_python(), saved)
        self.message.value = ""
        return text

    def _refresh_recipe(self) -> None:
        """Keep a shown recipe up to date with the panels (only while it is valid)."""
        if not self.export_html.value:
            return
        try:
            recipe = self.state.recipe()
        except RecipeError:
            self.message.value = ("<span style='color:#a60'>the recipe below is from before your last change; "
                                  "the Train step lists what to fix</span>")
            return
        self.message.value = ""
        self.export_html.value = recipe_html(recipe.to_yaml(), recipe.to_python())

    def _export_clicked(self) -> None:
        try:
            self.export_recipe(self.export_path.value.strip() or None)
        except RecipeError as exc:
            self.message.value = (f"<span style='color:#b00'>{len(exc.problems)} problem(s): see the Train step "
                                  "and the fields marked in red</span>")
        except (UserError, OSError) as exc:
            self.message.value = problems_html([str(exc)])

    # --- runs -----------------------------------------------------------------------------------
    @property
    def handle(self):
        return self.train.handle

    def open_run(self, run_dir) -> None:
        """Show a run: follow it live in Train; Evaluate and Errors load when it has ended."""
        handle = open_run(run_dir)
        self.data.load_report(handle.dir)
        self.train.follow(handle)
        self.tabs.selected_index = 2
        self._offer_runs()

    def _finished(self, handle, status: str) -> None:
        if handle is None:
            return
        if handle.layout.metrics.exists():
            self.results.load(handle.dir)
        if handle.layout.predictions("finetuned").exists():
            self.errors.load(handle.dir)
        self.runs.refresh()
        self.playground.refresh(select=str(handle.dir))
        self.exporter.refresh(select=str(handle.dir))
        self.serve.refresh(select=str(handle.dir))
        self._offer_runs()

    def _start_search(self, recipe: Recipe):
        """Start with a search section: the Search step runs it and shows its leaderboard."""
        self.tabs.selected_index = STEPS.index("Search")
        return self.search.start(recipe)

    def wait(self, timeout: float | None = None) -> str:
        """Block until the current run ends, refreshing the panels synchronously; return its status."""
        return self.train.wait(timeout)

    # --- static view ----------------------------------------------------------------------------
    def snapshot_html(self) -> str:
        parts = ["<div class='ft-lab-snapshot'>"]
        h = self.handle
        if h is not None:
            parts.append(f"<p><b>run</b> <code>{_E(h.id)}</code> · status {_E(h.status)}</p>")
            parts.append(_loss_curve(h))
            parts.append(lr_find_html(h.dir))
            if self.results.run_dir is None and h.layout.metrics.exists():
                self.results.load(h.dir)
        body = self.results.static_html()
        parts.append(body or "<h4>Metrics</h4><table class=\"ft-lab-metrics\"><tr><th>metric</th><th>base</th>"
                             "<th>fine-tuned</th><th>change</th></tr></table><p>(no results yet)</p>")
        parts.append("</div>")
        return "".join(parts)

    def static_html(self) -> str:
        """What a saved notebook shows in place of the live Studio (untrusted, or without a kernel): the
        steps with the current one in bold, that step's content, and a finished run's loss curve, verdict
        and metrics, in markup that JupyterLab's sanitiser keeps."""
        current = self.tabs.selected_index or 0
        steps = " · ".join(f"<b>{s}</b>" if i == current else s for i, s in enumerate(STEPS))
        parts = ["<div class='ft-lab-static-view ft-lab-static-studio'><h2 style='margin:4px 0'>ft-lab Studio</h2>",
                 f"<p>{steps} <i>(a static view: run the cell with a kernel to use the Studio)</i></p>",
                 widget_html(self.tabs.children[current])]
        h = self.handle
        if h is not None and h.status in TERMINAL:
            parts.append(f"<h3>Run {_E(h.id)}: {_E(h.status)}</h3>" + _loss_curve(h))
            if self.tabs.children[current] is not self.results and h.layout.metrics.exists():
                if self.results.run_dir != h.dir:
                    self.results.load(h.dir)
                parts.append(self.results.static_html())
        return readable_untrusted("".join(parts) + "</div>")

    def snapshot(self) -> None:
        """Display a static HTML rendering (a text/html output kept in the saved notebook)."""
        from IPython.display import HTML, display
        display(HTML(self.snapshot_html()))
