"""Scores of the baselines' answers (``predictions/baseline_<name>.jsonl``) by the recipe's evaluators.

    scores, failed = score_rows(evaluators, rows)     # evaluators that need the model are skipped
    rescore_baselines(run_dir, evaluators, metrics)   # ft-lab eval: every baseline file scored again
"""
from __future__ import annotations

from pathlib import Path

from ..rundir.layout import RunLayout
from ..rundir.predictions import PredictionsFile


def score_rows(evaluators, rows: list[dict]) -> tuple[dict, dict]:
    """Scores of every evaluator that can score these rows without the model; failures in the second dict."""
    scores, failed = {}, {}
    for ev in evaluators:
        if ev.asks_model or ev.compares_pairs:
            continue  # scenario tests and pairwise judges ask or compare models, not fixed answers
        try:
            result = ev.score(rows)
        except Exception as exc:  # e.g. perplexity on answers that carry no likelihoods
            failed[ev.name] = f"{type(exc).__name__}: {exc}"
            continue
        scores.update({k: float(v) for k, v in result.items()
                       if isinstance(v, (int, float)) and not isinstance(v, bool)})
    return scores, failed


def rescore_baselines(run_dir: Path, evaluators, metrics: dict) -> None:
    """Score every ``predictions/baseline_<name>.jsonl`` again with ``evaluators``, into ``metrics``."""

    found = RunLayout(run_dir).baseline_prediction_files()
    for path in found:
        name = path.stem[len("baseline_"):]
        scores, _ = score_rows(evaluators, PredictionsFile(path).load())
        metrics.setdefault("baselines", {})
        metrics["baselines"][name] = {**(metrics["baselines"].get(name) or {}), **scores}
