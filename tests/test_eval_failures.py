"""A failing evaluator: fatal for `ft-lab eval` (the user asked for it), recorded for the training worker."""
import json

import pytest

from eval_run_builder import make_run
from ft_lab.default_plugins.default_evaluators import Accuracy
from ft_lab.evaluation.rescore import evaluate_run


def examples():
    refs, preds = ["a", "b", "a", "b"], ["a", "b", "b", "b"]
    return [{"id": i, "input": f"t{i}", "reference": r, "prediction": p, "meta": {}}
            for i, (r, p) in enumerate(zip(refs, preds))]


def test_a_failing_evaluator_is_recorded_and_the_others_still_score(tmp_path, monkeypatch):
    run = make_run(tmp_path, "classification", None, examples(), evaluate=["accuracy", "macro_f1"])

    def broken(self, rows):
        raise RuntimeError("boom")

    monkeypatch.setattr(Accuracy, "score", broken)
    with pytest.raises(RuntimeError, match="boom"):
        evaluate_run(run)
    seen, failures = [], []
    metrics = evaluate_run(run, strict=False, progress=seen.append,
                           on_error=lambda *failure: failures.append(failure))
    assert failures == [("finetuned", "accuracy", "boom")]  # structured, for the worker's warning event
    assert "accuracy" not in metrics["finetuned"] and metrics["finetuned"]["macro_f1"] > 0
    details = json.loads((run / "eval_details.json").read_text())
    assert details["finetuned"]["accuracy"] == {"error": "RuntimeError: boom"}
    assert "finetuned: accuracy failed: boom" in seen
