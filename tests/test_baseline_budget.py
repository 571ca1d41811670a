"""Baselines that ask the base model are bounded: timed on a few test rows, then every row, a random sample
(said so) or skipped with the reason, within a fifth of the expected training time."""
from __future__ import annotations

from types import SimpleNamespace

import pytest

from ft_lab.baselines import time_budget as budget_mod
from ft_lab.baselines import scoring

pytestmark = pytest.mark.unit


class Clock:
    def __init__(self):
        self.now = 0.0

    def __call__(self):
        return self.now


class SlowBaseline:
    """Answers each row with its text; each row costs ``per_row`` seconds of the fake clock."""

    def __init__(self, clock, per_row):
        self.clock, self.per_row, self.calls = clock, per_row, []

    def predict(self, train, test, context):
        self.calls.append(len(test))
        self.clock.now += self.per_row * len(test)
        return [ex["text"] for ex in test]


@pytest.mark.parametrize("per_row,scored,note", [
    (0.1, 100, ""),
    (0.5, 40, "scored 40 of 100 test rows (a random sample): budget 20 s, a fifth of the expected training "
              "time; 0.5 s a row"),
    (2.0, 20, "scored 20 of 100 test rows, the fewest worth scoring, over the budget (budget 20 s, a fifth of "
              "the expected training time; 2.0 s a row)"),
    (6.0, None, "skipped: 20 test rows would take longer than the expected training (budget 20 s, a fifth of "
                "the expected training time; 6.0 s a row)"),
])
def test_a_slow_baseline_scores_a_sample_or_is_skipped(monkeypatch, per_row, scored, note):
    clock = Clock()
    monkeypatch.setattr(scoring.time, "monotonic", clock)
    data = SimpleNamespace(train=[{"text": "t"}], test=[{"text": f"row {i}"} for i in range(100)])
    events = []
    baseline = SlowBaseline(clock, per_row)
    budget = budget_mod.budget_seconds(expected_training=30.0)  # a fifth is 6 s: the 20 s floor holds
    assert budget == budget_mod.MIN_BUDGET_SECONDS == 20.0
    test, answers, said = scoring._within_budget(baseline, "slow", data, None, budget, events.append)
    assert said == note
    if scored is None:
        assert test is None and baseline.calls == [4]
        return
    assert len(test) == len(answers) == scored and answers == [ex["text"] for ex in test]
    assert clock.now <= (budget + per_row if scored > 20 else budget / budget_mod.BUDGET_SHARE)  # the budget held
    assert [e["examples"] for e in events] == [4, scored - 4]  # progress: which baseline, how many rows next
    assert {e["baseline"] for e in events} == {"slow"}
    assert test == sorted(test, key=lambda ex: int(ex["text"].split()[1]))  # the sample keeps test order


def test_the_budget_is_a_fifth_of_the_expected_training_time():
    assert budget_mod.budget_seconds(1000.0) == 200.0
    assert budget_mod.budget_seconds(None) == budget_mod.MIN_BUDGET_SECONDS
