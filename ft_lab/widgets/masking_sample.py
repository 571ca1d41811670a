"""The Data step's sample of what a masking cleaner (``pii_mask``, ``pii_ner``) masks, each term with a
"never mask" button that adds it to that cleaner's ``allow`` list::

    sample = MaskingSample()
    sample.show(panel.cleaners, rows, ["text"])   # after "Run cleaning"; rows as loaded, before cleaning

The terms are found again in memory, in the notebook, from the rows as loaded: changes.jsonl and the
report never hold an original value, so this sample is the one place a user sees what was taken out.
"""
from __future__ import annotations

import html
from collections import Counter

import ipywidgets as W

from ..cleaners.text import texts_of
from ..core.plugins import get_registry
from ..data.prepare import load_examples
from ..data.roles import text_columns

SAMPLE_ROWS = 2000


def masked_terms(cleaner, rows: list[dict], columns: list[str], limit: int = 20) -> list[tuple[str, str, int]]:
    """(type, term, rows holding it) for the terms ``cleaner`` masks in ``rows``, most frequent first."""
    texts = [t for row in rows[:SAMPLE_ROWS] for t in texts_of(row, columns)]
    if hasattr(cleaner, "ner"):
        cleaner.ner.prepare(texts)
    found: Counter = Counter()
    for text in dict.fromkeys(texts):
        found.update({(s.type, text[s.start:s.end]) for s in cleaner.detector.find(text)})
    return [(kind, term, n) for (kind, term), n in found.most_common(limit)]


def source_rows(recipe) -> tuple[list[dict], list[str]]:
    """The training rows as loaded (before any cleaner) and their text columns."""
    rows = load_examples(recipe, "path" if recipe.data.path else "train", allow_empty=True)[:SAMPLE_ROWS]
    return rows, (text_columns(recipe.task.type, rows[0]) if rows else [])


def allow_term(form, term: str) -> list[str]:
    """Add ``term`` to the ``allow`` field of a cleaner's form (a ComponentForm); the new list."""
    allow = list(form.form.value().get("allow") or [])
    if term not in allow:
        allow.append(term)
    form.form.set_field("allow", allow)
    form._notify()
    return allow


class MaskingSample(W.VBox):
    """For the first masking cleaner of a ComponentListForm: its masked terms, each with "never mask"."""

    def __init__(self):
        super().__init__()
        self.note = W.HTML()
        self.add_class("ft-lab-masking-sample")

    def show(self, cleaners, rows: list[dict], columns: list[str]) -> list[tuple[str, str, int]]:
        registry = get_registry()
        forms = [f for f in cleaners.items if getattr(registry.get("cleaner", f.choice.value),
                                                      "masks_personal_data", False) is True]
        if not forms or not rows:
            self.children = []
            return []
        form = forms[0]
        cleaner = registry.get("cleaner", form.choice.value)(registry.get("cleaner", form.choice.value).Config(
            **form.form.value()))
        terms = masked_terms(cleaner, rows, columns)
        lines = []
        for kind, term, n in terms:
            button = W.Button(description="never mask", icon="check", tooltip=f"add '{term}' to the allow list",
                              layout=W.Layout(width="120px"))
            button.on_click(lambda _b, term=term: self._allow(form, term))
            lines.append(W.HBox([button, W.HTML(f"<code>&lt;{html.escape(kind)}&gt;</code> "
                                                f"{html.escape(term)} <span style='color:#777'>({n} rows)</span>")]))
        head = W.HTML(f"<h4>Masked by {html.escape(form.choice.value)} (a sample of {min(len(rows), SAMPLE_ROWS)} "
                      f"rows, found again here and kept in this notebook only)</h4>"
                      + ("" if terms else "<p style='color:#777'>nothing masked</p>"))
        self.children = [head, *lines, self.note]
        return terms

    def _allow(self, form, term: str) -> None:
        allow_term(form, term)
        self.note.value = (f"<span style='color:#070'>added '{html.escape(term)}' to {html.escape(form.path)}.allow; "
                           f"run cleaning again to see the effect</span>")
