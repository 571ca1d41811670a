"""The Evaluate step: metric table (base against fine-tuned), outcomes, per class, confusion heatmap.

    panel = ResultsPanel(); panel.load("runs/<id>")
    panel.metrics.value      # '<table class="ft-lab-metrics">...'
"""
from __future__ import annotations

import json
from pathlib import Path

import ipywidgets as W

from ..analysis.report import confusion_html
from .plots import heatmap, metrics_table_html, table_html


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
        self.heatmap_box = W.VBox()
        self.run_dir = None
        self.children = [W.HTML("<h3>Evaluation</h3>"), self.metrics, self.outcomes, self.heatmap_box,
                         self.per_class]
        self.add_class("ft-lab-results-panel")

    def load(self, run_dir) -> None:
        """Read ``metrics.json`` and ``eval_details.json`` of a run directory."""
        from ..errors import UserError
        self.run_dir = Path(run_dir)
        metrics = _read(self.run_dir / "metrics.json", {})
        details = _read(self.run_dir / "eval_details.json", {})
        if not metrics:
            self.metrics.value = "<p style='color:#777'>No metrics in this run yet.</p>"
            return
        self.metrics.value = metrics_table_html(metrics)
        try:
            from ..analysis import base_vs_finetuned
            counts = base_vs_finetuned(self.run_dir).counts
            self.outcomes.value = ("<h4>Base against fine-tuned, per example</h4>"
                                   + table_html(list(counts), [list(counts.values())], cls="ft-lab-outcome-counts"))
        except (UserError, OSError, KeyError, ValueError):
            self.outcomes.value = ""
        cm, per = confusion_of(details)
        if cm:
            self.heatmap_box.children = [W.HTML("<h4>Confusion matrix (fine-tuned)</h4>"),
                                         heatmap(cm["labels"], cm["matrix"])]
            self.per_class.value = "<h4>Per class</h4>" + table_html(
                ["label", "precision", "recall", "F1", "support"],
                [[lab, v.get("precision"), v.get("recall"), v.get("f1"), v.get("support")] for lab, v in per.items()],
                cls="ft-lab-per-class-table")
        else:
            self.heatmap_box.children = []
            self.per_class.value = ""

    def static_html(self) -> str:
        """The same content as plain HTML (the heatmap as a colored table), for snapshots."""
        if self.run_dir is None:
            return ""
        metrics = _read(self.run_dir / "metrics.json", {})
        details = _read(self.run_dir / "eval_details.json", {})
        parts = ["<h4>Metrics</h4>" + metrics_table_html(metrics), self.outcomes.value]
        cm, _per = confusion_of(details)
        if cm:
            parts.append("<h4>Confusion matrix (fine-tuned)</h4>" + confusion_html(cm["labels"], cm["matrix"]))
        parts.append(self.per_class.value)
        return "".join(parts)
