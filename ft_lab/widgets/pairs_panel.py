"""Preference pairs in the Errors step (generation runs): turn the example picked there into a pair for the
pairs file that ``ft-lab pairs`` writes and a ``train.objective: dpo`` run reads; and, for a preference run,
its held-out pairs with the starting model's answer (before) and the tuned model's (after).

    box = PairsBox(errors_panel)                 # errors_panel.review_id picks the example
    box.out.value = "pairs.jsonl"
    box.prefer_reference.click()                 # wrong answer: the reference is the good one
    box.better.value = "Freeze it in the app."; box.prefer_better.click()   # or your own answer
    box.prefer_answer.click()                    # right answer: preferred to the base model's
    view = PreferenceView(); view.load("runs/<dpo run>")   # chosen, rejected, before, after
"""
from __future__ import annotations

import html
from pathlib import Path

import ipywidgets as W

from ..analysis import diff_html
from ..analysis.preference_pairs import add_pairs, marked_pair, preference_examples
from ..errors import UserError
from ..rundir.reader import RunFiles
from .forms import row
from .plots import table_html
from .state import problems_html

_E = html.escape


class PairsBox(W.VBox):
    def __init__(self, errors):
        super().__init__()
        self.errors = errors  # the ErrorsPanel whose picked example (review_id) becomes a pair
        style = {"description_width": "80px"}
        self.out = W.Text(description="pairs file", placeholder="pairs-<run>.jsonl (what ft-lab pairs writes)",
                          style=style, layout=W.Layout(width="420px"))
        self.better = W.Textarea(description="better", placeholder="a better answer than the model's (optional)",
                                 style=style, layout=W.Layout(width="100%", max_width="720px", height="60px"))
        self.prefer_reference = W.Button(description="Wrong: prefer the reference", icon="thumbs-down",
                                         layout=W.Layout(width="auto"),
                                         tooltip="chosen: the reference, rejected: the model's answer")
        self.prefer_better = W.Button(description="Wrong: prefer my answer", icon="pencil",
                                      layout=W.Layout(width="auto"),
                                      tooltip="chosen: the answer typed above, rejected: the model's answer")
        self.prefer_answer = W.Button(description="Right: prefer it to the base model's", icon="thumbs-up",
                                      layout=W.Layout(width="auto"),
                                      tooltip="chosen: the fine-tuned answer, rejected: the base model's answer")
        for button, kind in ((self.prefer_reference, "reference"), (self.prefer_better, "better"),
                             (self.prefer_answer, "answer")):
            button.add_class(f"ft-lab-pair-{kind}")
            button.on_click(lambda _b, kind=kind: self.mark(kind))
        self.status = W.HTML()
        self.status.add_class("ft-lab-pair-status")
        self.children = [W.HTML("<h4>Make a preference pair</h4><span style='color:#555'>from the example picked "
                                "above, for a <code>train.objective: dpo</code> run</span>"),
                         self.out, self.better, row(self.prefer_reference, self.prefer_better, self.prefer_answer),
                         self.status]

    def load(self, run_dir, task: str | None) -> None:
        self.layout.display = None if task == "generation" else "none"  # pairs are made of generated answers
        if not self.out.value.strip():
            self.out.value = f"pairs-{Path(run_dir).name}.jsonl"

    def mark(self, kind: str) -> dict | None:
        e = self.errors
        example = next((x for x in (e.examples or []) if x["id"] == e.review_id.value), None)
        if example is None:
            self.status.value = problems_html(["pick an example first (the example list above)"])
            return None
        who = e.reviewer.value.strip()
        person = f"person:{who}" if who else "person"
        answer = str(example.get("prediction") or "")
        try:
            if kind == "answer":
                if e.which.value != "finetuned":
                    raise UserError("show the fine-tuned model's answers to prefer one to the base model's")
                base = {x["id"]: x for x in RunFiles(e.run_dir).prediction_rows("base")}.get(example["id"])
                if base is None:
                    raise UserError(f"{e.run_dir}: no base model answer for example {example['id']}")
                pair = marked_pair(e.run_dir.name, example, answer, base.get("prediction"), person, "model:base")
            else:
                chosen = example.get("reference") if kind == "reference" else self.better.value
                if kind == "better" and not chosen.strip():
                    raise UserError("type the better answer first")
                pair = marked_pair(e.run_dir.name, example, chosen, answer,
                                   "reference" if kind == "reference" else person, f"model:{e.which.value}")
            rows = add_pairs([pair], self.out.value.strip() or f"pairs-{e.run_dir.name}.jsonl")
        except (UserError, OSError) as exc:
            self.status.value = problems_html([str(exc)])
            return None
        self.status.value = (f"<span style='color:#070'>pair for example {example['id']} written to "
                             f"<code>{_E(self.out.value)}</code> ({len(rows)} pair(s) in the file)</span>")
        self.better.value = ""
        return pair


class PreferenceView(W.VBox):
    """A preference run's held-out pairs: the prompt, the chosen and rejected answers, the starting model's
    answer (before) and the tuned model's (after), each answer marked against the chosen one."""

    def __init__(self, page_size: int = 25):
        super().__init__()
        self.page_size = page_size
        self.figures = W.HTML()
        self.table = W.HTML()
        self.table.add_class("ft-lab-preference-table")
        self.examples: list[dict] = []
        self.start = 0  # the first pair shown (an index into examples)
        self.previous = W.Button(description="Previous", icon="chevron-left", layout=W.Layout(width="auto"))
        self.next = W.Button(description="Next", icon="chevron-right", layout=W.Layout(width="auto"))
        self.position = W.HTML()
        self.previous.on_click(lambda _: self.show(self.start - self.page_size))
        self.next.on_click(lambda _: self.show(self.start + self.page_size))
        self.pager = row(self.previous, self.position, self.next)
        self.children = [W.HTML("<h4>Preference pairs: before and after</h4>"), self.figures, self.pager,
                         self.table]
        self.layout.display = "none"

    def load(self, run_dir) -> bool:
        """Show the run's pairs; hidden (False) when the run is not a preference run."""
        try:
            examples = preference_examples(run_dir)
        except (UserError, OSError):
            self.layout.display = "none"
            return False
        pref = RunFiles(run_dir).metrics().get("preference") or {}
        self.figures.value = ("<span style='color:#555'>held-out pairs: " + ", ".join(
            f"{k.replace('_', ' ')} {v:.3g}" for k, v in pref.items() if isinstance(v, (int, float))) + "</span>"
            if pref else "")
        self.examples = examples
        self.show(0)
        self.layout.display = None
        return True

    def show(self, start: int) -> None:
        """The page of pairs from ``start`` (kept within the pairs), and "pairs 26-50 of N" above it."""
        last = max(0, (len(self.examples) - 1) // self.page_size * self.page_size)
        self.start = min(max(0, start), last)
        page = self.examples[self.start: self.start + self.page_size]
        rows = [[x["id"], _E(x["prompt"]), _E(x["chosen"]), _E(x["rejected"] or "–"),
                 _answer(x["before"], x["chosen"]), _answer(x["after"], x["chosen"])] for x in page]
        self.table.value = table_html(["id", "prompt", "chosen", "rejected", "before (starting model)",
                                       "after (tuned)"], rows, cls="ft-lab-fit", raw_columns=(1, 2, 3, 4, 5))
        self.position.value = (f"pairs {self.start + 1}-{self.start + len(page)} of {len(self.examples)}"
                               if page else "no pairs")
        self.previous.disabled = self.start == 0
        self.next.disabled = self.start + self.page_size >= len(self.examples)
        self.pager.layout.display = None if len(self.examples) > self.page_size else "none"


def _answer(answer, chosen: str) -> str:
    return "–" if answer is None else diff_html(str(answer), chosen)
