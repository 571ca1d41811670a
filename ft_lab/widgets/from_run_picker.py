"""The Model step's "Start from" choice: the base model, or a completed run of the runs folder (``model.from_run``),
each shown with its lineage (A -> B -> C) and headline; joint retraining is a tick beside it.

    picker = FromRunPicker("runs", on_pick=lambda run_dir, model: ...)
    picker.choice.value = "/path/to/runs/<id>"   # on_pick(run_dir, its base model); "" is the base model
    picker.chain_html.value                      # "A -> B -> <id>" with each step's headline
"""
from __future__ import annotations

import html

import ipywidgets as W

from ..workflows.runner import list_runs

BASE = ""  # the choice that starts from the model named in the form


def _headline(handle) -> str:
    name, value = handle.headline()
    return f"{name} {value:.4f}" if isinstance(value, (int, float)) else "-"


def chain_of(handle) -> list[str]:
    """The run's lineage as ids, oldest first, the run last (run.json's ``ancestors``)."""
    return [*(handle.info.get("ancestors") or []), handle.id]


def from_run_options(runs_dir) -> list[tuple[str, str]]:
    """("start from the base model", "") then ("A -> B -> C · accuracy 0.9100", run folder) for each completed
    run under ``runs_dir``, newest first."""
    options = [("the base model (no earlier run)", BASE)]
    for h in list_runs(runs_dir):
        if h.status == "completed":
            options.append((f"{' -> '.join(chain_of(h))} · {_headline(h)}", str(h.dir)))
    return options


class FromRunPicker(W.VBox):
    def __init__(self, runs_dir=None, value: str | None = None, joint: bool = False, on_pick=None):
        super().__init__()
        self.runs_dir = runs_dir
        self.on_pick = on_pick  # callback(run_dir or None, that run's base model or None, joint)
        self.choice = W.Dropdown(options=[], description="Start from", style={"description_width": "initial"},
                                 layout=W.Layout(width="100%", max_width="620px"))
        self.joint = W.Checkbox(value=joint, indent=False,
                                description="joint retraining: the base model on this data and every earlier "
                                            "run's rows (the baseline; a full run)")
        self.chain_html = W.HTML()
        self.chain_html.add_class("ft-lab-lineage")
        self.refresh(value)
        self.choice.observe(lambda _c: self._picked(), names="value")
        self.joint.observe(lambda _c: self._picked(), names="value")
        self.children = [self.choice, self.joint, self.chain_html]
        self.add_class("ft-lab-from-run")

    def refresh(self, value: str | None = None) -> None:
        options = from_run_options(self.runs_dir)
        keep = value if value is not None else self.choice.value
        values = [v for _l, v in options]
        if keep and keep not in values:  # a run outside this folder (a recipe's from_run): still shown
            options.append((keep, keep))
        self.choice.options = options
        self.choice.value = keep if keep else BASE
        self._show()

    def _show(self) -> None:
        self.joint.layout.display = None if self.choice.value else "none"
        self.chain_html.value = self._chain_text(self.choice.value)

    def _chain_text(self, run_dir: str) -> str:
        if not run_dir:
            return ""
        by_id = {h.id: h for h in list_runs(self.runs_dir)}
        run = next((h for h in by_id.values() if str(h.dir) == run_dir), None)
        if run is None:
            return f"<span style='color:#777'>lineage: {html.escape(run_dir)}</span>"
        steps = [f"<b>{html.escape(i)}</b> ({html.escape(_headline(by_id[i]))})" if i in by_id
                 else html.escape(i) for i in chain_of(run)]
        return "lineage: " + " -&gt; ".join(steps) + " -&gt; <i>this run</i>"

    def _picked(self) -> None:
        self._show()
        if self.on_pick is None:
            return
        run_dir = self.choice.value or None
        model = None
        if run_dir:
            run = next((h for h in list_runs(self.runs_dir) if str(h.dir) == run_dir), None)
            model = run.info.get("model") if run is not None else None
        self.on_pick(run_dir, model, bool(run_dir) and self.joint.value)
