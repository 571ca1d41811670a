"""The forgetting report of a run with ancestors (``model.from_run``): what it kept of each earlier run.

Each ancestor's test split is answered by the new model (``predictions/ancestor_<id>.jsonl``) and scored
with the run's evaluators beside the ancestor's own answers (its ``predictions/finetuned.jsonl``, scored
the same way), per metric and, for classification, per old label (accuracy on that label's rows)::

    report = forgetting_report(run_dir, recipe, model, tokenizer, labels, chain)
    report["verdict"]        # "kept", or "forgot 12.0 points of accuracy on <run id>"
    report["ancestors"][0]   # {"run": id, "rows": n, "metrics": {"accuracy": {"before", "after", "change"}},
                             #  "per_class": {label: {"before", "after", "rows"}}}

``data.general_test`` (any data file) adds ``report["general"]``: that set answered by the model as the run
started (``predictions/general_start.jsonl``) and by the trained one (``predictions/general.jsonl``), in the
same shape, and counted in the verdict ("forgot 5.0 points of accuracy on general set general.csv").

metrics.json's ``forgetting`` holds it; the CLI table and the HTML report show it. A preference run
(``train.objective`` dpo ...) started from an SFT run gets the same report: the SFT run's test set answered
by the tuned model, scored by the preference run's evaluators (rouge, chrf ...); a preference ancestor's
test pairs are answered as generation examples against their good answers.

The worker's step, for either kind of run (the events and metrics.json's ``forgetting``)::

    answer_general_start(run_dir, recipe, model, tokenizer, labels, general_test, emit)  # before training
    report = report_forgetting(run_dir, recipe, model, tokenizer, labels, general_test, emit)  # after it
"""
from __future__ import annotations

import os

from ..data.pairs import generation_examples, is_preference
from ..data.prepare import PreparedData
from ..rundir.layout import RunLayout
from ..rundir.lineage import ancestors
from ..rundir.reader import RunFiles
from ..safety.atomic import read_jsonl
from ..training.launch import rank
from .predict import predict_split
from .verdict import higher_is_better

#: a headline drop of more than this many points (percentage points for 0-1 metrics) is "forgot"
FORGOT_POINTS = 2.0
#: data.general_test's answers: by the model as the run starts, and by the trained model
GENERAL_START, GENERAL = "general_start", "general"


def scorable(evaluators) -> list:
    """The evaluators that score fixed answers (not those that ask a model or a judge)."""
    return [e for e in evaluators if not (e.asks_model or e.compares_pairs or e.calls_model)]


def score_rows(evaluators, rows: list[dict]) -> dict:
    out: dict = {}
    for ev in evaluators:
        out.update({k: float(v) for k, v in ev.score(rows).items()})
    return out


def per_class(rows: list[dict]) -> dict:
    """{label: (correct, rows)} over the rows whose reference is that label."""
    out: dict = {}
    for r in rows:
        c, n = out.get(r["reference"], (0, 0))
        out[r["reference"]] = (c + (r["prediction"] == r["reference"]), n + 1)
    return out


def points(before: float | None, after: float | None) -> float | None:
    """after - before, in percentage points for metrics between 0 and 1."""
    if before is None or after is None:
        return None
    scale = 100.0 if 0 <= before <= 1 and 0 <= after <= 1 else 1.0
    return round((after - before) * scale, 2)


def compare(evaluators, before_rows: list[dict], after_rows: list[dict], task: str) -> dict:
    before, after = score_rows(evaluators, before_rows), score_rows(evaluators, after_rows)
    entry = {"rows": len(after_rows), "metrics": {
        k: {"before": before.get(k), "after": v, "change": points(before.get(k), v)} for k, v in after.items()}}
    if task == "classification":
        b, a = per_class(before_rows), per_class(after_rows)
        entry["per_class"] = {label: {"before": b[label][0] / b[label][1] if label in b else None,
                                      "after": c / n, "rows": n} for label, (c, n) in sorted(a.items())}
    return entry


def verdict(entries: list[dict], headline: str) -> str:
    """"kept", or "forgot N points of <headline> on <run>" for the ancestor with the largest drop."""
    worst = None
    for e in entries:
        change = (e["metrics"].get(headline) or {}).get("change")
        if change is None:
            continue
        loss = -change if higher_is_better(headline) else change
        if loss > FORGOT_POINTS and (worst is None or loss > worst[0]):
            worst = (loss, e["run"])
    return "kept" if worst is None else f"forgot {worst[0]:.1f} points of {headline} on {worst[1]}"


def general_name(recipe) -> str:
    """How the general test set is named in the report and the verdict: ``general set <file name>``."""
    return f"general set {os.path.basename(recipe.data.general_test or '')}"


def forgetting_report(run_dir, recipe, model, tokenizer, labels, chain: list, evaluators,
                      general_test: list[dict] | None = None) -> dict:
    """Answer every ancestor's test split with ``model`` and compare with the ancestor's own answers; and
    ``general_test`` (data.general_test's rows) against the answers of the model the run started from
    (``predictions/general_start.jsonl``, written before training)."""
    layout = RunLayout(run_dir)
    evaluators = scorable(evaluators)
    headline = recipe.headline_metric()
    entries = []
    for anc in chain:
        test = PreparedData.read(anc.layout.data).test
        if test and is_preference(test[0]):  # a preference ancestor answered its pairs' good answers
            test = generation_examples(test)
        rows = predict_split(recipe, model, tokenizer, test, labels, layout.predictions(f"ancestor_{anc.id}"))
        before = anc.prediction_rows("finetuned")
        entries.append({"run": anc.id, **compare(evaluators, before, rows, recipe.task.type)})
    report = {"headline": headline, "ancestors": entries, "threshold_points": FORGOT_POINTS}
    if general_test:
        rows = predict_split(recipe, model, tokenizer, general_test, labels, layout.predictions(GENERAL))
        before = read_jsonl(layout.predictions(GENERAL_START))
        report["general"] = {"run": general_name(recipe), "file": recipe.data.general_test,
                             **compare(evaluators, before, rows, recipe.task.type)}
    report["verdict"] = verdict(compared(report), headline)
    return report


def compared(report: dict) -> list[dict]:
    """The report's entries in display order: each ancestor's test set, then the general set."""
    return list(report.get("ancestors") or []) + ([report["general"]] if report.get("general") else [])


def answer_general_start(run_dir, recipe, model, tokenizer, labels, general_test: list[dict], emit) -> None:
    """``data.general_test`` answered by the model as training starts (the general set's "before"), once, by
    the main process of a run on several (``RANK`` 0)."""
    layout = RunLayout(run_dir)
    if not general_test or layout.predictions(GENERAL_START).exists() or rank() != 0:
        return
    emit({"type": "phase", "phase": "general_test", "examples": len(general_test)})
    predict_split(recipe, model, tokenizer, general_test, labels, layout.predictions(GENERAL_START))
    model.train()
    tokenizer.padding_side = "right"  # generation predicts padded on the left


def report_forgetting(run_dir, recipe, model, tokenizer, labels, general_test: list[dict], emit) -> dict | None:
    """The forgetting report of a run with ancestors or ``data.general_test`` (None otherwise), with its
    ``phase`` and ``forgetting`` events; the caller adds it to metrics.json."""
    chain = ancestors(run_dir)
    if not chain and not general_test:
        return None
    emit({"type": "phase", "phase": "forgetting", "examples": len(general_test) + sum(
        len(PreparedData.read(a.layout.data).test) for a in chain)})
    report = forgetting_report(run_dir, recipe, model, tokenizer, labels, chain, RunFiles(run_dir).evaluators(),
                               general_test)
    emit({"type": "forgetting", **report})
    return report
