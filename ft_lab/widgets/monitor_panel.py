"""The Monitor view: what a served model (``ft-lab serve``) was asked, the figures of ``ft-lab monitor``
with its alert line, the latest requests, and feedback buttons that write to the same request log.

    panel = MonitorPanel(); panel.load("serving/r1")
    panel.request.value = "req-..."; panel.label.value = "lost_card"; panel.bad.click()   # a correction
"""
from __future__ import annotations

import html
import time
from pathlib import Path

import ipywidgets as W

from ..cleaners.pii import PiiMask
from ..errors import UserError
from ..safety.atomic import read_json
from ..serving.monitor import report_lines, summarize
from ..serving.store import RequestLog
from .plots import table_html
from .state import problems_html


class MonitorPanel(W.VBox):
    def __init__(self, recent: int = 20):
        super().__init__()
        self.recent, self.store, self.labels = recent, None, []
        self.folder = W.Text(description="serve dir", placeholder="serving/<run name>")
        self.refresh = W.Button(description="Refresh")
        self.summary = W.HTML()
        self.table = W.HTML()
        self.request = W.Dropdown(options=[], description="request")
        self.label = W.Dropdown(options=["(none)"], value="(none)", description="right label")
        self.corrected = W.Text(description="right answer", placeholder="optional corrected answer")
        self.good = W.Button(description="Good", icon="thumbs-up")
        self.bad = W.Button(description="Bad", icon="thumbs-down", tooltip="bad: store the right label or answer given")
        self.message = W.HTML()
        self.refresh.on_click(lambda _: self.load(self.folder.value))
        self.good.on_click(lambda _: self._feedback(1))
        self.bad.on_click(lambda _: self._feedback(-1))
        self.children = [W.HBox([self.folder, self.refresh]), self.summary, self.table,
                         W.HBox([self.request, self.label]), W.HBox([self.corrected, self.good, self.bad]), self.message]

    def load(self, folder) -> None:
        self.folder.value = str(folder)
        try:
            self.store = RequestLog(Path(folder), create=False)
        except UserError as exc:
            self.summary.value, self.table.value = problems_html([str(exc)]), ""
            return
        requests = self.store.requests()
        s = summarize(requests, self.store.feedbacks(), read_json(Path(folder) / "drift.json", None))
        lines = report_lines(s)
        alert = lines[-1]
        color = "#b00" if alert.startswith("ALERT") else "#070"
        self.summary.value = ("<pre style='margin:0'>" + html.escape("\n".join(lines[:-1])) + "</pre>"
                              f"<div style='color:{color};font-weight:bold'>{html.escape(alert)}</div>")
        latest = requests[-self.recent:][::-1]
        self.table.value = table_html(
            ["time", "id", "endpoint", "status", "ms", "input", "answer / label", "p", "similarity"],
            [[time.strftime("%H:%M:%S", time.localtime(r["time"])), r["id"], r["endpoint"], r["status"],
              r["latency_ms"], (r["input_text"] or "")[:80], r["label"] or (r["output_text"] or "")[:80],
              r["probability"], r["similarity"]] for r in latest])
        served = read_json(Path(folder) / "served.json", None) or {}  # written by ft-lab serve: the model's labels
        self.labels = served.get("labels") or sorted({r["label"] for r in requests if r["label"]})
        self.request.options = [r["id"] for r in latest]
        self.label.options = ["(none)", *self.labels]

    def _feedback(self, rating: int) -> None:
        if self.store is None or not self.request.value:
            self.message.value = problems_html(["load a serve folder and choose a request first"])
            return
        label = None if self.label.value == "(none)" else self.label.value
        corrected = PiiMask().mask_row({"text": self.corrected.value}, ["text"])["text"] if self.corrected.value else None
        self.store.feedback(self.request.value, rating, corrected, label)
        self.message.value = html.escape(f"feedback stored for {self.request.value}")
        self.corrected.value = ""
        self.load(self.folder.value)
