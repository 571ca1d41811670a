"""The Search step: what is searched (the toggles beside the fields), the search's settings, Start, a live
leaderboard (running, pruned, failed and completed trials), the plots, and "Use best".

    panel = SearchPanel(state, fields)        # fields: SearchFields of the Studio's forms
    panel.start(); panel.wait(600)            # ``ft-lab search`` in its own process; trials are runs
    panel.board["rows"]                       # the leaderboard as last read (with running trials' progress)
    panel.use_best_button.click()             # the best trial's recipe into every panel

Start writes the recipe (with its ``search`` section) into ``RUNS_DIR/searches/NAME/studio.yaml`` and
runs ``python -m ft_lab.cli search`` on it, so the kernel stays free and the search is the same one
the terminal runs (run the same command again to continue it). A thread reads the search folder
(``ft_lab.workflows.search_live``) at most twice a second and redraws what changed. Stop interrupts
the search process: the running trial's run is asked to stop, and the study keeps what finished.
"""
from __future__ import annotations

import html
import json
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import ipywidgets as W

from ..core.recipe import Recipe, RecipeError
from ..core.sections import SearchSection
from ..errors import UserError
from ..safety.atomic import atomic_write_text
from ..workflows.search import plan_search
from ..workflows.search_live import search_status
from ..workflows.search_outputs import LIVE_STATES, leaderboard_table
from .forms import ConfigForm, problems_box_html, row
from .plots import table_html
from .search_fields import SearchFields
from .state import RecipeState

_E = html.escape
BASIC = ("sampler", "objective", "pruner", "trials", "timeout")
PLOTS = ("history.svg", "params.svg", "pareto.svg")


def _state_text(r: dict) -> str:
    p = r.get("progress") or {}
    if r.get("state") in LIVE_STATES and p.get("max_steps"):
        return f"{r['state']} {p.get('step', 0)}/{p['max_steps']}"
    return r.get("state") or ""


def leaderboard_html(board: dict) -> str:
    """The counts, the best value and the table (best first; running trials with their step)."""
    if not board:
        return "<i style='color:#777'>no trial yet</i>"
    rows = board.get("rows") or []
    maximize = (board.get("directions") or ["maximize"])[0] == "maximize"
    table = leaderboard_table(rows, board.get("objective") or "value", maximize)
    states = {str(r["number"]): _state_text(r) for r in rows}
    body = [[cells[0], states.get(cells[0], cells[1]), *cells[2:]] for cells in table[1:]]
    counts = board.get("counts") or {}
    line = " · ".join(f"{k} {v}" for k, v in counts.items() if v)
    best = board.get("best_row")
    best_text = (f"; best {_E(board.get('objective') or '')} <b>{best['value']:.4f}</b> (trial {best['number']})"
                 if best and isinstance(best.get("value"), (int, float)) else "")
    return (f"<div class='ft-lab-search-progress'><b>{board.get('finished', 0)}/{board.get('budget', '?')} "
            f"trials</b> ({_E(line) or 'none yet'}){best_text}</div>"
            + table_html(list(table[0]), body, cls="ft-lab-table ft-lab-leaderboard"))


class SearchPanel(W.VBox):
    def __init__(self, state: RecipeState | None = None, fields: SearchFields | None = None, recipe_fn=None):
        super().__init__()
        self.state = state or RecipeState()
        self.fields = fields or SearchFields({})
        self.recipe_fn = recipe_fn or self.state.recipe
        section = self.state.sections.get("search") or {}
        self.settings = ConfigForm(SearchSection, {k: v for k, v in section.items() if k != "space"},
                                   skip=("space",), basic=BASIC, path="search")
        self.fields.set_space(section.get("space"))
        self.space_html = W.HTML()
        self.space_html.add_class("ft-lab-search-space")
        method = self.fields.fields.get("method.name")
        self.method_box = W.VBox([row(W.HTML("Method itself:&nbsp;"), method.toggle), method]) if method else W.HTML()
        self.start_button = W.Button(description="Start search", icon="play", button_style="success")
        self.stop_button = W.Button(description="Stop", icon="stop", button_style="warning", disabled=True)
        self.use_best_button = W.Button(description="Use best", icon="check", disabled=True,
                                        tooltip="load the best trial's recipe into the panels")
        for b, cls, fn in ((self.start_button, "ft-lab-search-start", self.start),
                           (self.stop_button, "ft-lab-search-stop", self.stop),
                           (self.use_best_button, "ft-lab-use-best", self.use_best)):
            b.add_class(cls)
            b.on_click(lambda _b, fn=fn: fn())
        self.status = W.HTML("<span style='color:#777'>not started</span>")
        self.status.add_class("ft-lab-search-status")
        self.leaderboard = W.HTML()
        self.leaderboard.add_class("ft-lab-search-leaderboard")
        self.plots = W.HTML()
        self.plots.add_class("ft-lab-search-plots")
        self.folder: Path | None = None
        self.board: dict = {}
        self.process: subprocess.Popen | None = None
        self.on_loaded: list = []  # callbacks(recipe) after "Use best"
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()
        self.fields.on_change.append(lambda _f: self._show_space())
        self.settings.on_change(lambda _f: self._show_space())
        self.state.panels.append(self)
        self._show_space()
        self.children = [W.HTML("<h3>Search</h3>"), row(self.start_button, self.stop_button, self.use_best_button),
                         self.status, W.HTML("<h4>Searched fields</h4>"), self.space_html, self.method_box,
                         W.HTML("<h4>Settings</h4>"), self.settings, W.HTML("<h4>Leaderboard</h4>"), self.leaderboard,
                         self.plots]
        self.add_class("ft-lab-search-panel")

    # --- the recipe's search section ------------------------------------------------------------
    def _show_space(self) -> None:
        self.space_html.value = self.fields.summary_html()

    def sync(self) -> None:
        space = self.fields.space()
        self.state.sections["search"] = {**self.settings.value(), "space": space} if space else None

    def refresh(self) -> None:
        section = self.state.sections.get("search") or {}
        self.settings.set_value({k: v for k, v in section.items() if k != "space"})
        self.fields.set_space(section.get("space"))
        self._show_space()

    def show_problems(self, problems: list[str]) -> list[str]:
        return self.settings.show_problems(self.fields.show_problems(problems))

    def _say(self, text: str, color: str = "#555") -> None:
        self.status.value = f"<span style='color:{color}'>{text}</span>"

    # --- actions --------------------------------------------------------------------------------
    def start(self, recipe: Recipe | None = None) -> Path | None:
        """Start the search the panels describe; returns its folder (None when nothing started: why is shown)."""
        if self.process is not None and self.process.poll() is None:
            self._say("a search is running: stop it first", "#b00")
            return None
        try:
            recipe = recipe or self.recipe_fn()
        except RecipeError as exc:
            self._say("the recipe has problems; nothing was started" + problems_box_html(
                self.show_problems(list(exc.problems))), "#b00")
            return None
        if recipe.search is None or not recipe.search.space:
            self._say("nothing to search: press <b>search</b> beside at least one field", "#b00")
            return None
        name = recipe.search.name or time.strftime("studio-%Y%m%d-%H%M%S")
        try:
            plan = plan_search(recipe, self.state.runs_dir, name=name)
        except UserError as exc:
            self._say("nothing was started" + problems_box_html(self.show_problems([str(exc)])), "#b00")
            return None
        self.show_problems([])
        plan.folder.mkdir(parents=True, exist_ok=True)
        path = atomic_write_text(plan.folder / "studio.yaml", recipe.resolved().to_yaml())
        log = open(plan.folder / "studio.log", "ab")
        self.process = subprocess.Popen(
            [sys.executable, "-m", "ft_lab.cli", "search", str(path), "--runs-dir", str(plan.runs_dir), "--name", name],
            stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
        log.close()
        self.folder, self.board = plan.folder, {}
        self.leaderboard.value, self.plots.value = leaderboard_html({}), ""
        self.start_button.disabled, self.stop_button.disabled, self.use_best_button.disabled = True, False, True
        self._say(f"search <code>{_E(name)}</code> started: {plan.trials} trial(s), folder "
                  f"<code>{_E(str(plan.folder))}</code>")
        self._stop.clear()
        self._thread = threading.Thread(target=self._loop, name=f"ft-lab-search-{name}", daemon=True)
        self._thread.start()
        return plan.folder

    def show(self, folder) -> None:
        """Show an existing search folder (a search started elsewhere, or before a kernel restart)."""
        self.folder = Path(folder)
        self.poll()

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGINT)  # the search asks its running trial to stop, then ends
            self._say("stop requested: the running trial checkpoints and stops")

    def _loop(self) -> None:
        while not self._stop.is_set():
            try:
                if self.poll():
                    return
            except Exception as exc:  # noqa: BLE001 - a display problem must not end the follow silently
                self._say(f"panel update failed: {_E(str(exc))}", "#b00")
            self._stop.wait(0.5)

    def poll(self) -> bool:
        """Read the search folder once and redraw what changed; True once the search process has ended."""
        with self._lock:
            ended = self.process is None or self.process.poll() is not None
            board = search_status(self.folder) if self.folder else {}
            if board != self.board:
                self.board = board
                self.leaderboard.value = leaderboard_html(board)
                self.plots.value = "".join((self.folder / p).read_text(encoding="utf-8") for p in PLOTS
                                           if (self.folder / p).is_file())
            self.use_best_button.disabled = not (board.get("best_row") and (self.folder / "best_recipe.yaml").is_file())
            if ended and self.process is not None:
                code = self.process.returncode
                self.process = None
                self.start_button.disabled, self.stop_button.disabled = False, True
                if code == 0:
                    self._say("search finished")
                else:
                    tail = (self.folder / "studio.log").read_text(encoding="utf-8", errors="replace").strip()
                    self._say(f"the search ended with code {code}: {_E(tail.splitlines()[-1] if tail else '')}",
                              "#b00")
            return ended

    def wait(self, timeout: float | None = None) -> dict:
        """Block until the search process ends (or ``timeout``); return the last leaderboard."""
        if self.process is not None:
            try:
                self.process.wait(timeout)
            except subprocess.TimeoutExpired:
                pass
        if self._thread is not None:
            self._thread.join(timeout=5)
        self.poll()
        return self.board

    def use_best(self) -> Recipe | None:
        """Load the best trial's recipe (``best_recipe.yaml``) into every panel (its search toggles off)."""
        path = self.folder / "best_recipe.yaml" if self.folder else None
        if path is None or not path.is_file():
            self._say("no completed trial yet", "#b00")
            return None
        recipe = Recipe.from_yaml(path)
        self.state.load(recipe)
        best = self.board.get("best_row") or {}
        self._say(f"loaded trial {best.get('number', '?')}'s recipe into the panels ("
                  + _E(json.dumps(best.get("params") or {})) + ")", "#070")
        for cb in self.on_loaded:
            cb(recipe)
        return recipe
