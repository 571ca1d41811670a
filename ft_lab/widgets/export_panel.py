"""The Export step: write a completed run's adapter (or trained weights), a merged model and a model card,
as ``ft-lab export`` does (``ft_lab.workflows.export.export_run``), in a short-lived process.

    panel = ExportPanel("runs")
    panel.out.value = "exports/tickets"; panel.merge.value = True
    panel.export_button.click(); panel.wait()     # panel.card.value: the model card
"""
from __future__ import annotations

import html

import ipywidgets as W

from .forms import row
from .jobs import Job
from .playground import JobPanel

_E = html.escape


class ExportPanel(JobPanel):
    def __init__(self, runs_dir=None):
        super().__init__(runs_dir, label_width="120px")
        style = {"description_width": "120px"}
        self.out = W.Text(description="Folder", placeholder="a new folder, e.g. exports/my-model", style=style,
                          tooltip="--out: a new (or empty) folder; an existing export is never overwritten",
                          layout=W.Layout(width="520px", min_width="300px"))
        self.merge = W.Checkbox(value=False, description="Merge into the base weights", indent=False,
                                layout=W.Layout(width="auto", margin="0 12px 0 124px"),
                                tooltip="--merge: a plain transformers model that loads without ft-lab or peft")
        self.export_button = W.Button(description="Export", icon="download", button_style="primary")
        self.export_button.add_class("ft-lab-export-run")
        self.export_button.on_click(lambda _b: self.export())
        self.status.add_class("ft-lab-export-status")
        self.card = W.HTML()
        self.card.add_class("ft-lab-model-card")
        self.children = [W.HTML("<h3>Export</h3><span style='color:#555'>The adapter or trained weights, the "
                                "tokenizer and a model card (README.md); with merge, one plain model.</span>"),
                         self.run, self.out, row(self.merge, self.export_button),
                         self.status, self.card]
        self.add_class("ft-lab-export-panel")
        self.refresh()

    def export(self) -> Job | None:
        self.card.value = ""
        out = self.out.value.strip()
        return self._launch(self.export_button, "export", {"out": out, "merge": self.merge.value},
                            [] if out else ["give a new folder to export into"], "exporting ...", self.show)

    def show(self, result: dict) -> None:
        self.status.value = (f"<span style='color:#070'>exported to <code>{_E(result['out'])}</code>: "
                             f"{_E(', '.join(result['files']))}</span>")
        self.card.value = ("<h4>Model card (README.md)</h4><pre style='white-space:pre-wrap;word-break:break-word;"
                           f"max-height:400px;overflow:auto'>{_E(result['card'])}</pre>")
