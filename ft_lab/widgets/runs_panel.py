"""The Runs step: past runs from the runs folder, newest first (it opens on the latest run: its loss
curve is drawn and it is picked); open one, or compare two (metrics, loss curves, examples fixed and
broken). Tables use a fixed layout that fits the panel's width.

    panel = RunsPanel("runs"); panel.refresh_button.click()
    panel.run_a.value, panel.run_b.value = dir_a, dir_b; panel.compare_button.click()
"""
from __future__ import annotations

import html

import ipywidgets as W

from ..analysis import compare_runs
from ..errors import UserError
from ..workflows.runner import list_runs, open_run
from .forms import row
from .plots import CompareChart, curves_from_events, table_html
from .state import problems_html
from .static_view import StaticView

_E = html.escape


def run_options(runs_dir, completed_only: bool = False) -> list[tuple[str, str]]:
    """(label, directory) of the runs under ``runs_dir``, newest first."""
    return [(f"{h.id} ({h.status})", str(h.dir)) for h in list_runs(runs_dir)
            if not completed_only or h.status == "completed"]


def refresh_picker(dd: W.Dropdown, runs_dir, select=None, completed_only: bool = False) -> None:
    """Fill a run dropdown; keep its choice (or ``select``) when still there, else pick the newest run."""
    options = run_options(runs_dir, completed_only)
    old = select or dd.value
    dd.options = options
    values = [v for _l, v in options]
    if old in values:
        dd.value = old
    elif values:
        dd.value = values[0]


class RunsPanel(StaticView, W.VBox):
    def __init__(self, runs_dir=None):
        super().__init__()
        self.runs_dir = runs_dir
        self.on_open: list = []   # callbacks(run_dir) when the user opens a run
        self.table = W.HTML()
        self.table.add_class("ft-lab-runs-table")
        self.refresh_button = W.Button(description="Refresh", icon="refresh")
        self.refresh_button.on_click(lambda _b: self.refresh())
        self.pick = W.Dropdown(options=[], description="Run", layout=W.Layout(width="520px", min_width="300px"))
        self.open_button = W.Button(description="Open", icon="folder-open",
                                    tooltip="show this run in the Train, Evaluate and Errors steps (live if running)")
        self.open_button.on_click(lambda _b: self.open_selected())
        self.run_a = W.Dropdown(options=[], description="A", layout=W.Layout(width="520px", min_width="300px"))
        self.run_b = W.Dropdown(options=[], description="B", layout=W.Layout(width="520px", min_width="300px"))
        self.compare_button = W.Button(description="Compare", icon="columns")
        self.compare_button.on_click(lambda _b: self.compare())
        self.comparison = W.HTML()
        self.comparison.add_class("ft-lab-run-comparison")
        self.chart = CompareChart()
        self.chart.figure.layout.width = "100%"
        self.chart.figure.layout.max_width = "620px"
        self.children = [W.HTML("<h3>Runs</h3>"), self.refresh_button, self.table,
                         row(self.pick, self.open_button), W.HTML("<h4>Compare two runs</h4>"),
                         self.run_a, self.run_b, self.compare_button, self.comparison, self.chart.widget]
        self.add_class("ft-lab-runs-panel")
        self.refresh()

    def refresh(self) -> list:
        runs = list_runs(self.runs_dir)
        rows = []
        for h in runs:
            info = h.info
            name, value = h.headline()
            rows.append([h.id, h.status, info.get("task", ""), info.get("model", ""), info.get("method", ""),
                         f"{name} {value:.4f}" if isinstance(value, (int, float)) else "–",
                         " -> ".join([*info.get("ancestors", []), h.id]) if info.get("ancestors") else ""])
        heads = ["run", "status", "task", "model", "method", "headline", "lineage"]
        if not any(r[-1] for r in rows):  # no run continues another: no empty column taking the width
            heads, rows = heads[:-1], [r[:-1] for r in rows]
        self.table.value = table_html(heads, rows, cls="ft-lab-table ft-lab-fit") if rows \
            else "<p style='color:#777'>No runs yet in this folder.</p>"
        for dd in (self.pick, self.run_a, self.run_b):
            refresh_picker(dd, self.runs_dir)
        options = [v for _l, v in self.pick.options]
        if len(options) >= 2 and self.run_a.value == self.run_b.value:
            self.run_a.value, self.run_b.value = options[1], options[0]
        if runs and not self.comparison.value:  # open on the latest run: its curve, not an empty chart
            self.chart.set({f"latest {runs[0].id}": curves_from_events(runs[0].events())["train loss"]})
        self.chart.widget.layout.display = None if runs else "none"
        return runs

    def open_selected(self, run_dir=None) -> None:
        run_dir = run_dir or self.pick.value
        if run_dir:
            for cb in self.on_open:
                cb(run_dir)

    def compare(self) -> dict | None:
        a, b = self.run_a.value, self.run_b.value
        if not a or not b or a == b:
            self.comparison.value = problems_html(["pick two different runs"])
            return None
        try:
            result = compare_runs(a, b)
        except (UserError, OSError) as exc:
            self.comparison.value = problems_html([str(exc)])
            return None
        rows = [[k, v["a"], v["b"], v["delta"]] for k, v in result["metrics"].items()]
        cmp = result["examples"]
        parts = ["<h4>Metrics (fine-tuned)</h4>", table_html(["metric", "A", "B", "change"], rows,
                                                             cls="ft-lab-compare-metrics ft-lab-fit")]
        counts = getattr(cmp, "counts", None)
        if counts:
            parts.append(table_html(list(counts), [list(counts.values())], cls="ft-lab-table ft-lab-fit"))
        for what, title in (("fixed", "Fixed (wrong in A, right in B)"), ("broken", "Broken (right in A, wrong in B)")):
            ex = cmp.where(what) if hasattr(cmp, "where") else []
            if ex:
                keys = [k for k in ex[0] if k not in ("outcome",)][:6]
                parts.append(f"<h4>{_E(title)}: {len(ex)}</h4>"
                             + table_html(keys, [[e.get(k) if isinstance(e.get(k), (int, float)) else str(e.get(k))
                                                  for k in keys] for e in ex[:20]], cls="ft-lab-table ft-lab-fit"))
        self.comparison.value = "".join(parts)
        self.chart.set({f"A {open_run(a).id}": curves_from_events(open_run(a).events())["train loss"],
                        f"B {open_run(b).id}": curves_from_events(open_run(b).events())["train loss"]})
        return result
