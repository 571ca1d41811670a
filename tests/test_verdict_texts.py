"""The verdict in one sentence, the same in Evaluate, the model card and the HTML report."""
from __future__ import annotations

import json

import pytest

from ft_lab.evaluation.verdict import sentence, winner

pytestmark = pytest.mark.integration  # reads the session's shared run (trained once by conftest)


def test_the_verdict_sentence_is_in_the_card_the_report_and_evaluate(completed_classification_run):
    from ft_lab.analysis.html_report import build_report
    from ft_lab.core.plugins import get_registry
    from ft_lab.core.recipe import Recipe
    from ft_lab.rundir.layout import RunLayout
    from ft_lab.widgets.plots import metrics_table_html
    from ft_lab.workflows.export import model_card

    run_dir = completed_classification_run.dir
    metrics = json.loads(RunLayout(run_dir).metrics.read_text(encoding="utf-8"))
    said = sentence(winner(metrics))
    # the three approaches, best first, each with its score (TF-IDF wins this 60-step LoRA run on tiny)
    assert said.startswith("on accuracy, ") and " is best: " in said and said.count(" for ") == 2
    assert all(name in said for name in ("TF-IDF + logistic regression", "the fine-tuned model", "the base model"))
    words = said[0].upper() + said[1:] + "."
    recipe = Recipe.from_yaml(RunLayout(run_dir).recipe)
    card = model_card(run_dir, recipe, get_registry().get("method", recipe.method.name), False, [])
    assert words in card and "baseline: tfidf_logreg" in card
    assert words in build_report(run_dir)
    assert words in metrics_table_html(metrics)
