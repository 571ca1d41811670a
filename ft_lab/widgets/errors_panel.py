"""The Errors step: per-example table (wrong answers first; classification predictions as labels in green
or red, generation answers as a highlighted diff against the reference), slice table, most confused
pairs (each opening its examples), and a rating and comment per example, stored with the run.

    panel = ErrorsPanel(); panel.load("runs/<id>")
    panel.correct.value = "wrong"; panel.search.value = "card"     # the table follows
    panel.review_id.value = 3; panel.rating.value = 4; panel.save_review.click()
    panel.pairs.prefer_reference.click()     # a generation run's wrong answer as a preference pair (pairs_panel)
"""
from __future__ import annotations

import html
from pathlib import Path

import ipywidgets as W

from ..analysis import ExampleSet, ReviewStore, diff_html
from ..errors import UserError
from .forms import row
from .pairs_panel import PairsBox, PreferenceView
from .plots import breakable, table_html
from .state import problems_html

_E = html.escape
_SORTS = ("worst first", "best first", "id")


#: a classifier's per-example score: the probability it gave the reference label (worst first: the most
#: confidently wrong examples first)
P_REFERENCE = "p(reference)"


class ErrorsPanel(W.VBox):
    def __init__(self, page_size: int = 25):
        super().__init__()
        self.page_size = page_size
        self.examples = None
        self.run_dir = None
        style = {"description_width": "80px"}
        self.which = W.Dropdown(options=["finetuned", "base"], value="finetuned", description="model", style=style)
        self.correct = W.Dropdown(options=["all", "wrong", "right"], value="wrong", description="show", style=style)
        self.label = W.Dropdown(options=["(any)"], value="(any)", description="reference", style=style)
        self.predicted = W.Dropdown(options=["(any)"], value="(any)", description="predicted", style=style)
        self.search = W.Text(description="contains", style=style, placeholder="text in input, reference or prediction")
        self.sort = W.Dropdown(options=_SORTS, value="worst first", description="sort", style=style)
        self.score = W.Dropdown(options=[], description="score", style=style)
        self.table = W.HTML()
        self.table.add_class("ft-lab-examples")
        self.count = W.HTML()
        self.slice_by = W.Dropdown(options=["label", "predicted", "length"], value="label", description="slice by",
                                   style=style)
        self.slices = W.HTML()
        self.slices.add_class("ft-lab-slices")
        self.pairs_box = W.VBox()
        self.review_id = W.Dropdown(options=[], description="example", style=style)
        self.rating = W.ToggleButtons(options=[("–", 0), ("1", 1), ("2", 2), ("3", 3), ("4", 4), ("5", 5)],
                                      value=0, description="rating", style={"button_width": "36px"},
                                      tooltips=["no rating", "bad", "poor", "fair", "good", "excellent"])
        self.comment = W.Text(description="comment", style=style, layout=W.Layout(width="420px"))
        self.reviewer = W.Text(description="reviewer", style=style)
        self.save_review = W.Button(description="Save review", icon="save")
        self.save_review.add_class("ft-lab-save-review")
        self.save_review.on_click(lambda _b: self.review())
        self.review_status = W.HTML()
        self.pairs = PairsBox(self)  # the picked example as a preference pair (generation runs)
        self.preference = PreferenceView()  # a preference run's pairs, before and after
        for w in (self.correct, self.label, self.predicted, self.search, self.sort, self.score):
            w.observe(lambda _c: self.show(), names="value")
        self.which.observe(lambda _c: self.load(self.run_dir) if self.run_dir else None, names="value")
        self.slice_by.observe(lambda _c: self.show_slices(), names="value")
        self.children = [
            W.HTML("<h3>Errors</h3>"), row(self.which, self.correct, self.sort, self.score),
            row(self.label, self.predicted, self.search), self.count, self.table,
            W.HTML("<h4>Rate an example</h4>"), row(self.review_id, self.rating),
            row(self.comment, self.reviewer, self.save_review), self.review_status, self.pairs, self.preference,
            W.HTML("<h4>Slices</h4>"), self.slice_by, self.slices,
            W.HTML("<h4>Most confused pairs</h4>"), self.pairs_box]
        self.add_class("ft-lab-errors-panel")

    def load(self, run_dir) -> None:
        self.run_dir = Path(run_dir)
        try:
            self.examples = ExampleSet.from_run(self.run_dir, which=self.which.value)
        except (UserError, OSError) as exc:
            self.examples = None
            self.table.value = problems_html([str(exc)])
            return
        ex = list(self.examples)
        if ex and all(isinstance(e.get("probs"), dict) for e in ex):  # a classifier's probabilities
            self.examples.add_score(P_REFERENCE, [e["probs"].get(str(e.get("reference")), 0.0) for e in ex])
        labels = sorted({str(e.get("reference")) for e in ex if isinstance(e.get("reference"), str)})
        preds = sorted({str(e.get("prediction")) for e in ex if isinstance(e.get("prediction"), str)})
        classification = self.examples.task == "classification"
        with self.hold_trait_notifications():
            self.label.options = ["(any)", *labels] if classification else ["(any)"]
            self.predicted.options = ["(any)", *preds] if classification else ["(any)"]
            names = self.examples.score_names
            self.score.options = sorted(names, key=lambda n: n != P_REFERENCE)
            self.score.value = self.score.options[0] if names else None  # a filter is never left empty
            self.score.layout.display = None if names else "none"  # no per-example score: no filter, no column
            meta = sorted({k for e in ex for k in (e.get("meta") or {})})
            self.slice_by.options = ["label", "predicted", "length", *meta] if classification else ["length", *meta]
        self.show()
        self.show_slices()
        self.show_pairs()
        self.pairs.load(self.run_dir, self.examples.task)
        self.preference.load(self.run_dir)

    def selected(self) -> list[dict]:
        """The examples the filters and sort select (all of them, not only the shown page)."""
        if self.examples is None:
            return []
        ex = self.examples
        if self.correct.value != "all":
            ex = ex.filter(correct=self.correct.value == "right")
        if self.label.value != "(any)":
            ex = ex.filter(label=self.label.value)
        if self.predicted.value != "(any)":
            ex = ex.filter(predicted=self.predicted.value)
        if self.search.value.strip():
            ex = ex.filter(text=self.search.value.strip())
        by = self.score.value or None
        if self.sort.value == "id":
            return sorted(ex, key=lambda e: e["id"])
        return ex.worst(len(ex), by=by) if self.sort.value == "worst first" else ex.best(len(ex), by=by)

    def show(self) -> None:
        if self.examples is None:
            return
        rows_in = self.selected()
        classification = self.examples.task == "classification"
        rows = []
        for e in rows_in[: self.page_size]:
            pred, ref = str(e.get("prediction", "")), str(e.get("reference", ""))
            score = (e.get("scores") or {}).get(self.score.value) if self.score.value else None
            shown = label_html(pred, pred == ref) if classification else diff_html(pred, ref)
            rows.append([e["id"], _E(str(e.get("input", ""))), breakable(_E(ref)), shown,
                         "–" if score is None else f"{score:.3g}"][: 5 if self.score.value else 4])
        self.count.value = f"<span style='color:#555'>{len(rows_in)} of {len(self.examples)} examples" + (
            f" (first {self.page_size} shown)" if len(rows_in) > self.page_size else "") + "</span>"
        head = "prediction (green: right, red: wrong)" if classification else "prediction (diff against reference)"
        self.table.value = table_html(["id", "input", "reference", head, self.score.value][: 5 if self.score.value else 4], rows,
                                      cls="ft-lab-examples-table ft-lab-fit", raw_columns=(1, 2, 3, 4))
        shown_ids = [(f"{e['id']}: {str(e.get('input'))[:40]}", e["id"]) for e in rows_in[: self.page_size]]
        if shown_ids:  # rate one of the examples on show
            keep = self.review_id.value if self.review_id.value in [v for _l, v in shown_ids] else None
            self.review_id.options = shown_ids
            self.review_id.value = keep if keep is not None else shown_ids[0][1]

    def show_slices(self) -> None:
        if self.examples is None or not len(self.examples):
            self.slices.value = ""
            return
        try:
            st = self.examples.slices(self.slice_by.value)
        except (UserError, KeyError, ValueError, TypeError) as exc:
            self.slices.value = problems_html([str(exc)])
            return
        rows = [[str(r["slice"]) + (" ⚠" if r["flagged"] else ""), r["n"], r["value"], r["delta"]] for r in st.rows]
        self.slices.value = (f"<span style='color:#555'>{_E(str(st.metric))}: overall {st.overall:.4f}; ⚠ marks "
                             f"slices well below it</span>" if isinstance(st.overall, (int, float)) else "") + \
            table_html(["slice", "n", str(st.metric), "change"], rows, cls="ft-lab-slice-table")

    def show_pairs(self) -> None:
        if self.examples is None or self.examples.task != "classification":
            self.pairs_box.children = [W.HTML("<span style='color:#777'>(classification only)</span>")]
            return
        buttons = []
        for p in self.examples.confused_pairs(10):
            b = W.Button(description=f"{p['reference']} → {p['predicted']} ({p['count']})",
                         layout=W.Layout(width="auto"), tooltip="show these examples")
            b.on_click(lambda _b, p=p: self.open_pair(p["reference"], p["predicted"]))
            b.add_class("ft-lab-confused-pair")
            buttons.append(b)
        self.pairs_box.children = buttons or [W.HTML("<span style='color:#777'>no confusions</span>")]

    def open_pair(self, reference: str, predicted: str) -> None:
        with self.hold_trait_notifications():
            self.correct.value = "all"
            self.search.value = ""
            self.label.value = reference if reference in self.label.options else "(any)"
            self.predicted.value = predicted if predicted in self.predicted.options else "(any)"
        self.show()

    def review(self) -> dict | None:
        if self.run_dir is None or self.review_id.value is None:
            self.review_status.value = problems_html(["pick an example first"])
            return None
        try:
            rec = ReviewStore(self.run_dir, which=self.which.value).add(
                self.review_id.value, rating=self.rating.value or None, comment=self.comment.value,
                reviewer=self.reviewer.value)
        except UserError as exc:
            self.review_status.value = problems_html([str(exc)])
            return None
        summary = ReviewStore(self.run_dir, which=self.which.value).summary()
        self.review_status.value = (f"<span style='color:#070'>saved for example {rec['id']}</span> · "
                                    f"{summary['reviewed']} example(s) reviewed, mean rating "
                                    f"{summary['mean_rating'] if summary['mean_rating'] is not None else '–'}")
        self.comment.value = ""
        return rec


def label_html(label: str, right: bool) -> str:
    """A predicted label as a coloured tag: green when right, red when wrong."""
    color, bg = ("#064", "#e3f4e8") if right else ("#900", "#fde8e8")
    return (f"<span class='ft-lab-label ft-lab-{'right' if right else 'wrong'}' style='color:{color};background:{bg};"
            f"padding:1px 6px;border-radius:8px;overflow-wrap:normal;display:inline-block'>{'✓' if right else '✗'}"
            f" {_E(label).replace('_', '_<wbr>')}</span>")
