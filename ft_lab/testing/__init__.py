"""The conformance kit: small named checks that a component (built-in or plugin) follows ft-lab's rules,
shaped like scikit-learn's ``check_estimator`` and ``parametrize_with_checks``.

In a plugin's tests, one pytest id per check (``test_conformance[mask_ticket_ids-check_config_round_trip]``)::

    from ft_lab.testing import parametrize_with_checks

    @parametrize_with_checks([MaskTicketIds, LabelCoverage, MyMethod(MyMethod.Config(rank=4))])
    def test_conformance(component, check):
        check(component)

Or all checks at once, stopping at the first failure: ``check_component(MaskTicketIds)``.
A component is given as its class (its ``Config()`` defaults are used) or as an instance (for a
``Config`` without defaults). Each check raises ``AssertionError`` naming the rule that is broken.
"""
from __future__ import annotations

import copy
import dataclasses
import math
import tempfile

from ..core import configs
from ..core.components import Baseline, Cleaner, Component, Evaluator, Method
from ..errors import UserError
from .tiny_task import check_method, logits, single_thread, tiny_batch, tiny_model, tiny_tokenizer

__all__ = ["check_component", "checks_for", "parametrize_with_checks", "check_method", "logits", "single_thread",
           "tiny_batch", "tiny_model", "tiny_tokenizer"]

SAMPLE_ROWS = [{"text": "Ｈｅｌｌｏ　world", "label": "a", "meta": {}},
               {"text": "カードが届きません。", "label": "b", "meta": {}},
               {"text": "Hello world", "label": "a", "meta": {}}]
SAMPLE_EXAMPLES = [{"id": 0, "input": "q", "reference": "a", "prediction": "a", "meta": {},
                    "probs": {"a": 0.7, "b": 0.3}, "nll": 1.5, "n_tokens": 2},
                   {"id": 1, "input": "q", "reference": "b", "prediction": "a", "meta": {},
                    "probs": {"a": 0.6, "b": 0.4}, "nll": 3.0, "n_tokens": 3}]


def _cls(component) -> type:
    return component if isinstance(component, type) else type(component)


def _instance(component) -> Component:
    """The component to exercise: the instance given, or the class built with its Config defaults."""
    if not isinstance(component, type):
        return component
    config, problems = configs.build(component.Config, {}, component.name)
    assert not problems, (f"{component.__name__}.Config() needs values: pass an instance, "
                          f"e.g. {component.__name__}({component.__name__}.Config(...)) ({'; '.join(problems)})")
    return component(config)


# --- checks for every component ------------------------------------------------------------------
def check_registration_rules(component) -> None:
    """A lowercase ``name``, a dataclass ``Config`` ft-lab can read, the kind's verb implemented."""
    cls = _cls(component)
    assert isinstance(cls, type) and issubclass(cls, (Cleaner, Method, Evaluator, Baseline)), \
        f"{cls!r} is not a subclass of ft_lab.Cleaner, ft_lab.Method, ft_lab.Evaluator or ft_lab.Baseline"
    problems = cls.check()
    assert not problems, "; ".join(problems)


def check_docstring(component) -> None:
    """The docstring's first line is the description shown in tables and forms."""
    cls = _cls(component)
    assert cls.summary(), f"{cls.__name__} needs a docstring: its first line is shown in tables and forms"


def check_help_on_every_field(component) -> None:
    """Every Config field has ``metadata={"help": ...}``: the form, the CLI help and the docs show it."""
    cls = _cls(component)
    missing = [f.name for f in configs.fields_of(cls.Config) if not configs.help_of(f)]
    assert not missing, f"{cls.__name__}.Config fields need metadata={{'help': ...}}: {', '.join(missing)}"


def check_config_round_trip(component) -> None:
    """The Config dumps to plain data (a recipe) and builds back equal."""
    inst = _instance(component)
    cls = type(inst)
    assert dataclasses.is_dataclass(inst.config), f"{cls.__name__}.config is not a Config dataclass instance"
    plain = configs.to_plain(inst.config)
    again, problems = configs.build(cls.Config, plain, cls.name)
    assert not problems and again == inst.config, \
        f"{cls.__name__}.Config does not round-trip through plain data: {plain!r} -> {problems or again!r}"


# --- cleaners ------------------------------------------------------------------------------------
def _clean(component, rows):
    inst = _instance(component)
    result = inst.clean(rows, ["text"])
    assert hasattr(result, "rows") and hasattr(result, "rejected"), \
        f"{type(inst).__name__}.clean must return a CleanResult, got {result!r}"
    return result


def check_cleaner_accounts_for_every_row(component) -> None:
    """Every input row is kept or rejected with a reason: nothing disappears silently."""
    rows = copy.deepcopy(SAMPLE_ROWS)
    result = _clean(component, rows)
    name = _cls(component).__name__
    assert len(result.rows) + len(result.rejected) == len(rows), \
        f"{name}.clean lost rows: every dropped row must be in rejected, with a reason"
    assert all(isinstance(reason, str) and reason for _, reason in result.rejected), \
        f"{name}.clean rejected a row without a reason (a non-empty string)"


def check_cleaner_leaves_input_unchanged(component) -> None:
    """``clean`` returns new rows; the caller's rows stay as they were (the data report compares them)."""
    rows = copy.deepcopy(SAMPLE_ROWS)
    _clean(component, rows)
    assert rows == SAMPLE_ROWS, f"{_cls(component).__name__}.clean changed its input rows in place"


def check_cleaner_handles_empty_input(component) -> None:
    """An empty table gives an empty result (a filter upstream may have dropped everything)."""
    result = _clean(component, [])
    assert list(result.rows) == [] and list(result.rejected) == [], \
        f"{_cls(component).__name__}.clean([]) must return no rows, got {result!r}"


# --- methods -------------------------------------------------------------------------------------
def check_method_learns_and_reloads(component) -> None:
    """For each task it supports: trains the tiny model a few steps (the loss falls by 20% at a learning
    rate of 1e-2 or 1e-1), saves, and reloads onto a fresh base with the same predictions."""
    import importlib.util

    inst = _instance(component)
    caps = inst.capabilities
    missing = [m for m in caps.needs_modules if importlib.util.find_spec(m) is None]
    if caps.needs_cuda or missing:
        import pytest
        import torch
        if missing or not torch.cuda.is_available():
            pytest.skip(f"method '{inst.name}' needs {'CUDA' if caps.needs_cuda else ', '.join(missing)}")
    with single_thread():
        for task in caps.tasks:
            for lr in (1e-2, 1e-1):
                fresh = copy.deepcopy(inst)
                with tempfile.TemporaryDirectory() as folder:
                    try:
                        check_method(fresh, task, folder, lr=lr, drop=0.8, exact=False)
                        break
                    except AssertionError as exc:
                        if lr == 1e-1 or "loss" not in str(exc):
                            raise


# --- evaluators ----------------------------------------------------------------------------------
def _numbers(name: str, scores) -> None:
    assert isinstance(scores, dict), f"{name}.score must return a dict of metric name -> number, got {scores!r}"
    bad = {k: v for k, v in scores.items() if isinstance(v, bool) or not isinstance(v, (int, float))}
    assert not bad, f"{name}.score must return numbers (put tables in details()): {bad!r}"


def check_evaluator_returns_numbers(component) -> None:
    """``score`` returns at least one metric, every value a number; the input examples stay unchanged."""
    inst = _instance(component)
    examples = copy.deepcopy(SAMPLE_EXAMPLES)
    scores = inst.score(examples)
    _numbers(type(inst).__name__, scores)
    assert scores, f"{type(inst).__name__}.score returned no metrics"
    assert examples == SAMPLE_EXAMPLES, f"{type(inst).__name__}.score changed its input examples"


def _same(a: dict, b: dict) -> bool:
    return a.keys() == b.keys() and all(
        (isinstance(a[k], float) and isinstance(b[k], float) and math.isnan(a[k]) and math.isnan(b[k]))
        or a[k] == b[k] for k in a)


def check_evaluator_is_deterministic(component) -> None:
    """The same examples score the same, twice, and on a fresh instance with the same Config."""
    inst = _instance(component)
    first = inst.score(copy.deepcopy(SAMPLE_EXAMPLES))
    again = inst.score(copy.deepcopy(SAMPLE_EXAMPLES))
    fresh = type(inst)(copy.deepcopy(inst.config)).score(copy.deepcopy(SAMPLE_EXAMPLES))
    assert _same(first, again) and _same(first, fresh), \
        f"{type(inst).__name__}.score is not deterministic: {first!r}, then {again!r}, then {fresh!r}"


def check_evaluator_handles_empty_input(component) -> None:
    """No examples: numbers (NaN allowed) or a ``UserError`` that says so; never a crash."""
    inst = _instance(component)
    try:
        scores = inst.score([])
    except UserError:
        return
    except Exception as exc:  # the check's finding, reported as the rule broken
        raise AssertionError(f"{type(inst).__name__}.score([]) raised {type(exc).__name__}: {exc}; return "
                             f"NaN or raise ft_lab.UserError with a message") from exc
    _numbers(type(inst).__name__, scores)


COMMON = (check_registration_rules, check_docstring, check_help_on_every_field, check_config_round_trip)
BY_KIND = {
    Cleaner: (check_cleaner_accounts_for_every_row, check_cleaner_leaves_input_unchanged,
              check_cleaner_handles_empty_input),
    Method: (check_method_learns_and_reloads,),
    Evaluator: (check_evaluator_returns_numbers, check_evaluator_is_deterministic,
                check_evaluator_handles_empty_input),
}


def checks_for(component) -> list:
    """The checks that apply to ``component`` (a class or an instance), in order."""
    cls = _cls(component)
    out = list(COMMON)
    for base, checks in BY_KIND.items():
        if isinstance(cls, type) and issubclass(cls, base):
            out += checks
    return out


def check_component(component, config=None) -> None:
    """Run every check on ``component``; the first broken rule raises ``AssertionError``."""
    if config is not None:
        component = _cls(component)(config)
    for check in checks_for(component):
        check(component)


def parametrize_with_checks(components):
    """A ``pytest.mark.parametrize`` of ``(component, check)`` pairs, one test id per component and check."""
    import pytest

    params, ids = [], []
    for component in components:
        cls = _cls(component)
        label = getattr(cls, "name", "") or cls.__name__
        for check in checks_for(component):
            params.append((component, check))
            ids.append(f"{label}-{check.__name__}")
    return pytest.mark.parametrize("component, check", params, ids=ids)
