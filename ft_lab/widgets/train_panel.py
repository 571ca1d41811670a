"""The Train step: Start / Stop / Resume and live progress at the top, then the curves, then the
hyperparameters (basic, advanced) and the evaluators.

Start builds the recipe from the panels and calls ``ft_lab.workflows.runner.run`` (the training happens in a worker
process); a daemon thread then reads the run's ``events.jsonl`` and updates the widgets at most four
times a second. ``follow(handle)`` picks up any run, e.g. after a kernel restart. Start clears the
previous run's bar, chart and directory first; Resume follows the resumed run until its new end.
A recipe with problems starts nothing: every problem is listed once above Start and shown under its field.

    panel = TrainPanel()
    panel.form.set_field("max_steps", 20)
    panel.start_button.click(); panel.wait()
"""
from __future__ import annotations

import html
import threading

import ipywidgets as W

from ..core.recipe import DEFAULT_EVALUATORS, LaunchSection, TrainSection
from ..errors import RecipeError, UserError
from ..rundir.layout import RunLayout
from ..rundir.progress import Progress, format_eta
from ..rundir.status import RESUMABLE, RUNNING, TERMINAL
from ..safety.atomic import read_json
from ..workflows.runner import RunHandle, resume, run
from .follow import RunFollower
from .forms import ComponentListForm, ConfigForm, plain_label, problems_box_html, row
from .plan_line import PlanLine
from .plots import LossChart, curves_from_events, svg_lr_find, table_html
from .state import RecipeState, problems_html

_E = html.escape
#: the fields shown before "Advanced" in the Train step
BASIC = ("learning_rate", "epochs", "max_steps", "batch_size")
_PHASES = {"evaluate_base": "evaluating the base model", "train": "training",
           "evaluate": "evaluating the fine-tuned model", "baselines": "running the baselines",
           "lr_find": "finding the learning rate"}


def lr_find_html(run_dir) -> str:
    """The range test's plot from ``RUN_DIR/lr_find.json`` ('' when there is none or it cannot be read)."""

    if run_dir is None:
        return ""
    try:
        found = read_json(RunLayout(run_dir).lr_find)
    except (OSError, UserError):
        return ""
    return svg_lr_find(found) if isinstance(found, dict) else ""


class TrainPanel(W.VBox):
    def __init__(self, state: RecipeState | None = None, recipe_fn=None):
        super().__init__()
        self.state = state or RecipeState()
        self.state.panels.append(self)
        self.recipe_fn = recipe_fn or self.state.recipe
        self.form = ConfigForm(TrainSection, self.state.sections.get("train") or {}, basic=BASIC, path="train")
        self.evaluators = ComponentListForm("evaluator", self._evaluate_plain(),
                                            title="Evaluators (the first gives the headline metric)",
                                            path="evaluate")
        self.launch_form = ConfigForm(LaunchSection, self.state.sections.get("launch") or {}, path="launch")
        self.launch = W.Accordion(children=[self.launch_form], titles=("Launch: processes, GPUs, FSDP, "
                                                                        "DeepSpeed, cluster",))
        self.launch.add_class("ft-lab-launch")
        self.start_button = W.Button(description="Start", icon="play", button_style="success")
        self.stop_button = W.Button(description="Stop", icon="stop", button_style="warning", disabled=True)
        self.resume_button = W.Button(description="Resume", icon="redo", disabled=True)
        for b, cls in ((self.start_button, "ft-lab-start"), (self.stop_button, "ft-lab-stop"),
                       (self.resume_button, "ft-lab-resume")):
            b.add_class(cls)
        self.start_button.on_click(lambda _b: self.start())
        self.stop_button.on_click(lambda _b: self.stop())
        self.resume_button.on_click(lambda _b: self.resume())
        self.progress = W.IntProgress(value=0, min=0, max=1, description="",
                                      layout=W.Layout(width="300px", min_width="160px"))
        self.progress.add_class("ft-lab-progress")
        # its own line under the buttons, one line high from the start: it does not jump beside / below the bar
        self.progress_text = W.HTML("", layout=W.Layout(min_height="22px"))
        self.progress_text.add_class("ft-lab-progress-text")
        self.status = W.HTML("<span style='color:#777'>not started</span>")
        self.status.add_class("ft-lab-status")
        self.summary = W.HTML()  # the recipe's problems, each once
        self.summary.add_class("ft-lab-summary")
        self.on_problems: list = []  # callbacks(problems) -> problems not shown next to a field
        self.run_dir_html = W.HTML()
        self.chart = LossChart()
        self.lr_plot = W.HTML()  # the learning-rate range test's curve, when learning_rate is find
        self.lr_plot.add_class("ft-lab-lr-find")
        self.handle: RunHandle | None = None
        self.follower: RunFollower | None = None
        self.on_finished: list = []   # callbacks(handle, status) when a followed run ends
        self.on_search = None  # callback(recipe) for Start with a search section (the Studio's Search step)
        self._reset_live()
        self._lock = threading.Lock()
        self.redraws = 0
        actions = row(self.start_button, self.stop_button, self.resume_button, self.progress)
        actions.add_class("ft-lab-train-actions")
        self.plan_line = PlanLine(self.recipe_fn, self.state.runs_dir)
        self.children = [W.HTML("<h3>Train</h3>"), actions, self.progress_text, self.plan_line, self.status, self.summary,
                         self.run_dir_html, self.chart.widget, self.lr_plot, W.HTML("<h4>Settings</h4>"), self.form, self.evaluators,
                         self.launch]
        self.add_class("ft-lab-train-panel")

    def _evaluate_plain(self) -> list:
        value = self.state.sections.get("evaluate")
        return DEFAULT_EVALUATORS[self.state.task_type] if value is None else value

    def _reset_live(self) -> None:
        self.events: list[dict] = []
        self.live = Progress()  # step, ETA, phase, speed: ft_lab.rundir.progress, as the CLI and sidebar
        self.error = None

    @property
    def step(self) -> int:
        return self.live.step

    @property
    def max_steps(self) -> int:
        return self.live.max_steps or 0

    @property
    def phase(self) -> str | None:
        return self.live.phase

    @property
    def last_status(self) -> str | None:
        return self.live.status

    # --- state ----------------------------------------------------------------------------------
    def sync(self) -> None:
        self.state.sections["train"] = self.form.value()
        self.state.sections["evaluate"] = self.evaluators.value()
        self.state.sections["launch"] = self.launch_form.value()

    def refresh(self) -> None:
        self.form.set_value(self.state.sections.get("train") or {})
        self.evaluators.set_value(self._evaluate_plain())
        self.launch_form.set_value(self.state.sections.get("launch") or {})

    # --- actions --------------------------------------------------------------------------------
    def clear(self) -> None:
        """Forget the shown run: no follower, an empty bar, chart and run directory."""
        if self.follower is not None:
            self.follower.cancel()
        self.follower = None
        self.handle = None
        self._reset_live()
        self.progress.value, self.progress.max = 0, 1
        self.progress_text.value = ""
        self.chart.set({})
        self.run_dir_html.value = ""
        self.lr_plot.value = ""
        self.resume_button.disabled = True
        self.stop_button.disabled = True

    def show_problems(self, problems: list[str]) -> None:
        """Every problem once in the summary above Start; each also next to its field (by the callbacks)."""
        for cb in self.on_problems:
            cb(problems)
        if not problems:
            self.summary.value = ""
            return
        self.summary.value = (f"<b style='color:#b00'>{len(problems)} problem{'s' if len(problems) > 1 else ''} "
                              "to fix (each is also shown next to its field):</b>" + problems_box_html(problems))

    def start(self) -> RunHandle | None:
        if self.follower is not None and not self.follower.ended:
            self._show_status("a run is being followed: stop it first")
            return None
        self.clear()
        try:
            recipe = self.recipe_fn()
        except RecipeError as exc:
            self._show_status("the recipe has problems; nothing was started", "#b00")
            self.show_problems(exc.problems)
            return None
        self.show_problems([])
        if recipe.search is not None and self.on_search is not None:  # the Studio's Search step runs it
            return self.on_search(recipe)
        self._show_status("preparing the data ...")
        self.start_button.disabled = True
        try:
            handle = run(recipe, self.state.runs_dir)
        except (UserError, RecipeError) as exc:
            self.start_button.disabled = False
            self._show_status("the data could not be prepared; nothing was started", "#b00")
            self.show_problems(getattr(exc, "problems", [str(exc)]))
            return None
        self.follow(handle)
        return handle

    def stop(self) -> None:
        if self.handle is not None:
            self.handle.stop()
            self._show_status("stop requested: the worker saves a checkpoint after the current step")

    def resume(self) -> RunHandle | None:
        if self.handle is None:
            return None
        since = len(self.handle.events())  # the resumed run ends only at a status written after these
        try:
            handle = resume(self.handle.dir)
        except UserError as exc:
            self._show_status("cannot resume", problems=[str(exc)])
            return None
        self.follow(handle, since=since)
        self._show_status("resuming from the last checkpoint ...", "#06c")
        return handle

    def follow(self, handle: RunHandle, since: int = 0) -> RunFollower:
        """Show a run live (started here, by the CLI, or before a kernel restart)."""
        if self.follower is not None:
            self.follower.cancel()
        self.handle = handle
        self._reset_live()
        self.chart.set({})
        self.lr_plot.value = ""
        self.run_dir_html.value = f"<span style='color:#777'>run directory: <code>{_E(str(handle.dir))}</code></span>"
        self.start_button.disabled = True
        self.stop_button.disabled = False
        self.resume_button.disabled = True
        self.follower = RunFollower(handle, self.apply_events, on_end=self._ended, since=since)
        self.follower.start()
        return self.follower

    def wait(self, timeout: float | None = None) -> str:
        """Block until the followed run ends, refreshing the widgets from this thread; return its status."""
        if self.follower is None:
            return "created" if self.handle is None else self.handle.status
        return self.follower.wait(timeout)

    # --- display --------------------------------------------------------------------------------
    def _show_status(self, text: str, color: str = "#333", problems: list[str] | None = None) -> None:
        self.status.value = f"<span style='color:{color}'>{_E(text)}</span>" + (
            problems_html(problems) if problems else "")

    def apply_events(self, events: list[dict]) -> None:
        """Fold a batch of events into the display (one redraw per batch)."""
        with self._lock:
            for e in events:
                self._fold(e)
            self.redraws += 1
            self._redraw()

    def _fold(self, e: dict) -> None:
        kind = e.get("type")
        self.events.append(e)
        self.live.update(e)
        if kind == "status" and e.get("error"):
            self.error = e["error"]
        elif kind == "lr_find":
            self.lr_plot.value = lr_find_html(self.handle.dir if self.handle is not None else None)

    def _redraw(self) -> None:
        total = max(self.max_steps, 1)
        self.progress.max = total
        self.progress.value = min(self.step, total)
        parts = [f"step {self.step}/{self.max_steps or '?'}"]
        eta = self.live.eta()
        if eta is not None and self.last_status == RUNNING:
            parts.append(f"ETA {format_eta(eta)}")
        live = self.live
        if live.tokens_per_second is not None:
            parts.append(f"{live.tokens_per_second:,.0f} tokens/s"
                         + (f" (MFU {live.mfu:.0%})" if live.mfu is not None else ""))
        if live.padding_saved:
            parts.append(f"packing saved {live.padding_saved:.0%} padding")
        self.progress_text.value = " · ".join(parts)
        self.chart.set(curves_from_events(self.events))
        status = (self.follower.status if self.follower is not None else None) or self.last_status or "created"
        if status == "running":
            detail = f" ({self.live.phase_detail})" if self.live.phase_detail else ""
            self._show_status("running: " + _PHASES.get(self.phase, self.phase or "starting the worker") + detail,
                              "#06c")
        elif status == "resuming":
            self._show_status("resuming from the last checkpoint ...", "#06c")
        elif status == "completed":
            self._show_status("completed", "#070")
        elif status == "stopped":
            self._show_status(f"stopped at step {self.step}; Resume continues from the last checkpoint", "#a60")
        elif status == "failed":
            self._show_status(f"failed: {self.error or 'see worker.log in the run directory'}", "#b00")
        else:
            self._show_status(status)
        warnings = [e["message"] for e in self.events if e.get("type") == "warning"]
        if warnings:
            self.status.value += problems_html(warnings[-3:]).replace("#b00", "#a60")
        chosen = [c for e in self.events if e.get("type") == "defaults" for c in e.get("choices", [])]
        if chosen:  # the settings left at auto, as resolved for this run (pin any of them in the recipe)
            self.status.value += chosen_settings_html(chosen)

    def _ended(self, status: str) -> None:
        self.start_button.disabled = False
        self.stop_button.disabled = True
        self.resume_button.disabled = status not in RESUMABLE
        if status == "interrupted":
            self._show_status("interrupted: the worker ended without a last word (killed?); Resume continues "
                              "from the last checkpoint", "#a60")
        for cb in list(self.on_finished):
            try:
                cb(self.handle, status)
            except Exception as exc:  # a broken view must not hide the run's own status
                self.status.value += problems_html([f"showing the results failed: {exc}"])

    @property
    def finished(self) -> bool:
        return self.handle is not None and self.handle.status in TERMINAL


def _shown_value(value) -> str:
    if value is None or value is False:
        return "off"
    if value is True:
        return "on"
    if isinstance(value, float):
        return f"{value:g}"
    return str(value)


def chosen_settings_html(chosen: list[dict]) -> str:
    """The settings left at auto as a short table: setting, value, why (pin any of them in the recipe)."""
    rows = [[plain_label(c["field"].rsplit(".", 1)[-1]), _shown_value(c["value"]), c.get("why", "")] for c in chosen]
    return ("<details open class='ft-lab-chosen' style='color:#555'><summary>settings chosen for this run "
            f"({len(rows)}; pin any of them in the recipe)</summary>"
            + table_html(["setting", "value", "why"], rows, cls="ft-lab-table ft-lab-fit") + "</details>")
