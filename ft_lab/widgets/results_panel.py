"""The Evaluate step: metric table (base against fine-tuned, baselines, throughput), outcomes, the
confusion matrix (counts or row percentages; readable from 2 to 80 classes) and per-class scores.

    panel = ResultsPanel(); panel.load("runs/<id>")
    panel.metrics.value      # '<table class="ft-lab-metrics">...'
"""
from __future__ import annotations

import json
from pathlib import Path

import ipywidgets as W

from ..analysis import base_vs_finetuned
from ..analysis.html_report import confusion_html
from ..errors import UserError
from ..rundir.layout import RunLayout
from .plots import confusion_table_html, metrics_table_html, table_html


def _read(path: Path, default):
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (FileNotFoundError, json.JSONDecodeError):
        return default


def confusion_of(details: dict, which: str = "finetuned") -> tuple[dict | None, dict]:
    for det in (details.get(which) or {}).values():
        if isinstance(det, dict) and "confusion_matrix" in det:
            return det["confusion_matrix"], det.get("per_class") or {}
    return None, {}


class ResultsPanel(W.VBox):
    def __init__(self):
        super().__init__()
        self.metrics = W.HTML("<p style='color:#777'>No results yet: start a run or pick one in Runs.</p>")
        self.metrics.add_class("ft-lab-metrics-widget")
        self.outcomes = W.HTML()
        self.outcomes.add_class("ft-lab-outcomes")
        self.per_class = W.HTML()
        self.per_class.add_class("ft-lab-per-class")
        self.normalize = W.ToggleButtons(options=[("counts", False), ("row %", True)], value=False,
                                         style={"button_width": "70px"},
                                         tooltips=["examples per cell", "share of each reference row"])
        self.normalize.observe(lambda _c: self._draw_confusion(), names="value")
        self.confusion = W.HTML()
        self.confusion.add_class("ft-lab-confusion-widget")
        self.heatmap_box = W.VBox()
        self._cm = None
        self.run_dir = None
        self.children = [W.HTML("<h3>Evaluation</h3>"), self.metrics, self.outcomes, self.heatmap_box,
                         self.per_class]
        self.add_class("ft-lab-results-panel")

    def load(self, run_dir) -> None:
        """Read ``metrics.json`` and ``eval_details.json`` of a run directory."""
        self.run_dir = Path(run_dir)
        layout = RunLayout(self.run_dir)
        metrics = _read(layout.metrics, {})
        details = _read(layout.eval_details, {})
        if not metrics:
            self.metrics.value = "<p style='color:#777'>No metrics in this run yet.</p>"
            return
        self.metrics.value = metrics_table_html(metrics)
        try:
            counts = base_vs_finetuned(self.run_dir).counts
            self.outcomes.value = ("<h4>Base against fine-tuned, per example</h4>"
                                   + table_html(list(counts), [list(counts.values())], cls="ft-lab-outcome-counts"))
        except (UserError, OSError, KeyError, ValueError):
            self.outcomes.value = ""
        cm, per = confusion_of(details)
        self._cm = cm
        if cm:
            self._draw_confusion()
            self.heatmap_box.children = [W.HTML("<h4>Confusion matrix (fine-tuned)</h4>"), self.normalize,
                                         self.confusion]
            self.per_class.value = "<h4>Per class</h4>" + table_html(
                ["label", "precision", "recall", "F1", "support"],
                [[lab, v.get("precision"), v.get("recall"), v.get("f1"), v.get("support")] for lab, v in per.items()],
                cls="ft-lab-per-class-table ft-lab-fit")
        else:
            self.heatmap_box.children = []
            self.per_class.value = ""

    def _draw_confusion(self) -> None:
        if self._cm:
            self.confusion.value = confusion_table_html(self._cm["labels"], self._cm["matrix"],
                                                        normalize=self.normalize.value)

    def static_html(self) -> str:
        """The same content as plain HTML (the heatmap as a colored table), for snapshots."""
        if self.run_dir is None:
            return ""
        layout = RunLayout(self.run_dir)
        metrics = _read(layout.metrics, {})
        details = _read(layout.eval_details, {})
        parts = ["<h4>Metrics</h4>" + metrics_table_html(metrics), self.outcomes.value]
        cm, _per = confusion_of(details)
        if cm:
            parts.append("<h4>Confusion matrix (fine-tuned)</h4>" + confusion_html(cm["labels"], cm["matrix"]))
        parts.append(self.per_class.value)
        return "".join(parts)
