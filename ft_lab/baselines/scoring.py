"""Run the recipe's baselines on the test split and score them with the recipe's evaluators.

    run_baselines(run_dir, recipe, data, model=None, tokenizer=None)
    # -> {"tfidf_logreg": {"accuracy": 0.89, "macro_f1": 0.88}}

Each baseline's answers go to ``predictions/baseline_<name>.jsonl`` (same rows as base.jsonl); its
scores to ``metrics.json`` under ``"baselines"``, and its time and any failure to ``eval_details.json``.
A baseline that fails, or needs the model when none is given, is recorded and skipped; it never stops a run.
"""
from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..data.prompts import prompt_text, reference_text
from ..evaluation.baseline_scores import score_rows
from ..evaluation.predict import write_predictions
from ..evaluation.verdict import winner
from ..rundir.layout import RunLayout
from ..safety.atomic import atomic_write_json, json_safe, read_json
from .time_budget import PROBE_ROWS, budget_seconds, expected_training_seconds, rows_within


@dataclass
class BaselineContext:
    recipe: Any
    labels: list | None = None
    model: Any = None
    tokenizer: Any = None


def prediction_rows(predictions: list, test: list[dict], task: str) -> list[dict]:
    """Baseline answers as predictions rows (id, input, reference, prediction, meta)."""
    rows = []
    for i, (pred, ex) in enumerate(zip(predictions, test)):
        row = dict(pred) if isinstance(pred, dict) else {"prediction": pred}
        if task == "classification":
            row.setdefault("input", ex["text"])
            row.setdefault("reference", ex["label"])
        else:
            row.setdefault("input", prompt_text(ex))
            row.setdefault("reference", reference_text(ex))
        row.setdefault("meta", ex.get("meta", {}))
        rows.append({"id": i, **row})
    return rows


def run_baselines(run_dir, recipe, data, model=None, tokenizer=None, labels=None, emit=None) -> dict:

    run_dir = Path(run_dir)
    specs = list(recipe.baselines or [])
    if not specs:
        return {}
    evaluators = [spec.create("evaluator") for spec in recipe.evaluate]
    context = BaselineContext(recipe, labels, model, tokenizer)
    task = recipe.task.type
    emit = emit or (lambda e: None)
    results, info = {}, {}
    budget = None
    for spec in specs:
        baseline = spec.create("baseline")
        if baseline.needs_model and model is None:
            info[spec.name] = {"skipped": "needs the base model"}
            continue
        started = time.monotonic()
        try:
            if baseline.needs_model:  # bounded: at most a fifth of the expected training time
                if budget is None:
                    budget = budget_seconds(expected_training_seconds(recipe, model, tokenizer, data))
                test, answers, note = _within_budget(baseline, spec.name, data, context, budget, emit)
            else:
                emit({"type": "phase", "phase": "baselines", "baseline": spec.name, "examples": len(data.test)})
                test, answers, note = list(data.test), baseline.predict(list(data.train), list(data.test), context), ""
            if test is None:
                info[spec.name] = {"skipped": note}
                emit({"type": "warning", "message": f"baseline {spec.name} {note}"})
                continue
            if len(answers) != len(test):
                raise ValueError(f"returned {len(answers)} answers for {len(test)} test examples")
        except Exception as exc:  # one broken baseline never stops the run
            info[spec.name] = {"error": f"{type(exc).__name__}: {exc}"}
            emit({"type": "warning", "message": f"baseline {spec.name} failed: {type(exc).__name__}: {exc}"})
            continue
        rows = write_predictions(prediction_rows(answers, test, task),
                                 RunLayout(run_dir).baseline_predictions(spec.name))
        scores, failed = score_rows(evaluators, rows)
        seconds = round(time.monotonic() - started, 2)
        results[spec.name] = scores
        info[spec.name] = {"seconds": seconds, **({"failed_evaluators": failed} if failed else {}),
                           **({"sample": note, "rows": len(test)} if note else {})}
        if note:
            emit({"type": "warning", "message": f"baseline {spec.name}: {note}"})
        emit({"type": "baseline", "name": spec.name, "metrics": scores, "seconds": seconds})

    layout = RunLayout(run_dir)
    metrics = read_json(layout.metrics, {}) or {"headline": recipe.headline_metric()}
    metrics["baselines"] = {**(metrics.get("baselines") or {}), **results}
    metrics["winner"] = winner(metrics)
    atomic_write_json(layout.metrics, json_safe(metrics))
    details = read_json(layout.eval_details, {}) or {}
    details["baselines"] = {**(details.get("baselines") or {}), **info}
    atomic_write_json(layout.eval_details, json_safe(details))
    return results


def _within_budget(baseline, name: str, data, context, budget: float, emit) -> tuple[list | None, list, str]:
    """(test rows scored, their answers, a note): every row, a random sample, or (None, [], reason) to skip."""
    import random

    test = list(data.test)
    probe = test[:PROBE_ROWS]
    emit({"type": "phase", "phase": "baselines", "baseline": name, "examples": len(probe)})
    started = time.monotonic()
    answers = list(baseline.predict(list(data.train), probe, context))
    plan = rows_within(budget, time.monotonic() - started, len(probe), len(test))
    if plan.rows == 0:
        return None, [], plan.note
    rest = test[len(probe):]
    if plan.rows < len(test):  # a seeded sample of the other rows, in test order
        keep = sorted(random.Random(0).sample(range(len(rest)), plan.rows - len(probe)))
        rest = [rest[i] for i in keep]
    if rest:
        emit({"type": "phase", "phase": "baselines", "baseline": name, "examples": len(rest)})
        answers += list(baseline.predict(list(data.train), rest, context))
    return probe + rest, answers, plan.note
