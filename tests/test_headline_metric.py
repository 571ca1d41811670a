"""Which metric a run is judged on (``Recipe.headline_metric``): the first evaluator's main key, also for
evaluators that return several metrics (``rouge`` gives rouge1, rouge2 and rougeL)."""
import pytest

import ft_lab


@pytest.mark.parametrize("evaluate, task, expected", [
    (["rouge", "chrf"], "generation", "rougeL"),
    (["chrf", "rouge"], "generation", "chrf"),
    (["ja_rouge"], "generation", "ja_rougeL"),
    ([{"name": "precision_recall_f1", "averages": ["micro", "macro"]}], "classification", "f1_micro"),
    ([{"name": "llm_judge", "model": "judge-folder", "mode": "pairwise"}], "generation", "judge_win_rate"),
    ([{"name": "llm_judge", "model": "judge-folder"}], "generation", "judge_score"),
    ([{"name": "scenarios", "cases": [{"input": "a", "must_contain": ["b"]}]}], "generation", "scenario_pass_rate"),
    (None, "classification", "accuracy"),
])
def test_headline_is_a_key_the_evaluator_returns(tmp_path, evaluate, task, expected):
    data = tmp_path / "d.jsonl"
    data.write_text('{"text": "a", "label": "x"}\n' if task == "classification" else '{"input": "a", "output": "b"}\n',
                    encoding="utf-8")
    recipe = ft_lab.Recipe(task=task, data={"path": str(data)}, model={"name_or_path": "m"},
                           **({"evaluate": evaluate} if evaluate else {}))
    assert recipe.headline_metric() == expected
