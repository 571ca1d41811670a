"""A conformance kit for plugin authors: check that a component follows ft-lab's rules.

    from ft_lab.testing import check_component
    def test_my_cleaner():
        check_component(MyCleaner)
"""
from __future__ import annotations

import dataclasses

from . import configs
from .components import BASES, Cleaner, Evaluator

SAMPLE_ROWS = [{"text": "Ｈｅｌｌｏ　world", "label": "a", "meta": {}},
               {"text": "カードが届きません。", "label": "b", "meta": {}},
               {"text": "Hello world", "label": "a", "meta": {}}]
SAMPLE_EXAMPLES = [{"id": 0, "input": "q", "reference": "a", "prediction": "a", "meta": {},
                    "probs": {"a": 0.7, "b": 0.3}, "nll": 1.5, "n_tokens": 2},
                   {"id": 1, "input": "q", "reference": "b", "prediction": "a", "meta": {},
                    "probs": {"a": 0.6, "b": 0.4}, "nll": 3.0, "n_tokens": 3}]


def check_component(cls, config=None) -> None:
    """Raise AssertionError naming the first rule ``cls`` breaks; a Config without defaults needs ``config``."""
    kind = next((k for k, base in BASES.items() if isinstance(cls, type) and issubclass(cls, base)), None)
    assert kind, f"{cls!r} is not a subclass of ft_lab.Cleaner, ft_lab.Method or ft_lab.Evaluator"
    problems = cls.check()
    assert not problems, "; ".join(problems)
    assert cls.summary(), f"{cls.__name__} needs a docstring: its first line is shown in tables and forms"
    for f in configs.fields_of(cls.Config):
        assert configs.help_of(f), f"{cls.__name__}.Config.{f.name} needs metadata={{'help': ...}}"
    if config is None:
        config, problems = configs.build(cls.Config, {}, cls.name)
        assert not problems, f"{cls.__name__}.Config() needs values: pass config=... ({problems})"
    plain = configs.to_plain(config)
    again, problems = configs.build(cls.Config, plain, cls.name)
    assert not problems and again == config, f"{cls.__name__}.Config does not round-trip through plain data"
    component = cls(config)
    if issubclass(cls, Cleaner):
        rows = [dict(r) for r in SAMPLE_ROWS]
        result = component.clean(rows, ["text"])
        assert rows == SAMPLE_ROWS, f"{cls.__name__}.clean changed its input rows in place"
        assert len(result.rows) + len(result.rejected) == len(rows), \
            f"{cls.__name__}.clean lost rows: every dropped row must be in rejected, with a reason"
        assert all(isinstance(reason, str) and reason for _, reason in result.rejected)
    if issubclass(cls, Evaluator):
        scores = component.score([dict(e) for e in SAMPLE_EXAMPLES])
        assert isinstance(scores, dict) and scores, f"{cls.__name__}.score returned no metrics"
        assert all(isinstance(v, (int, float)) for v in scores.values()), \
            f"{cls.__name__}.score must return numbers (put tables in details())"
    assert dataclasses.is_dataclass(config)
