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

from ..baselines.scoring import BaselineContext
from ..core import configs
from ..core.components import TASKS, Component
from ..core.plugins import KINDS
from ..errors import UserError
from .tiny_task import (
    check_method,
    logits,
    single_thread,
    tiny_batch,
    tiny_model,
    tiny_tokenizer,
)

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
    bases = [f"ft_lab.{k.base.__name__}" for k in KINDS]
    assert isinstance(cls, type) and issubclass(cls, tuple(k.base for k in KINDS)), \
        f"{cls!r} is not a subclass of {', '.join(bases[:-1])} or {bases[-1]}"
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


def _flag(cls, name: str) -> bool:
    value = getattr(cls, name)
    assert isinstance(value, bool), f"{cls.__name__}.{name} must be True or False, got {value!r}"
    return value


PII_ROWS = [{"text": "Mail taro@example.com or call 03-1234-5678.", "label": "a", "meta": {}},
            {"text": "No personal data here.", "label": "b", "meta": {}}]


def check_cleaner_masking_is_declared_and_honoured(component) -> None:
    """A cleaner that declares ``masks_personal_data`` implements ``mask_row(row, columns)`` (the data step
    masks the rows dropped or changed before it with it): it returns a row with the same fields, leaves
    its input unchanged and masks a row as ``clean`` does; ``clean`` reports ``info["pii_found"]`` (count
    by type, the data report's table) and keeps no originals (``before`` is None in its changes)."""
    cls = _cls(component)
    if not _flag(cls, "masks_personal_data"):
        return
    inst = _instance(component)
    assert callable(getattr(inst, "mask_row", None)), \
        f"{cls.__name__}.masks_personal_data is True: it must implement mask_row(row, columns)"
    rows = copy.deepcopy(SAMPLE_ROWS + PII_ROWS)
    result = _clean(inst, copy.deepcopy(rows))
    found = result.info.get("pii_found")
    assert isinstance(found, dict) and all(isinstance(k, str) and isinstance(v, int) and not isinstance(v, bool)
                                           for k, v in found.items()), \
        f"{cls.__name__}.clean must report info['pii_found'] as {{type: count}}, got {found!r}"
    kept = [ch for ch in result.changes if ch.get("before") is not None]
    assert not kept, f"{cls.__name__}.clean keeps personal data in changes[...]['before']: leave it None"
    masked = []
    for row in rows:
        given = copy.deepcopy(row)
        out = inst.mask_row(given, ["text"])
        assert given == row, f"{cls.__name__}.mask_row changed its input row in place"
        assert isinstance(out, dict) and set(out) == set(row), \
            f"{cls.__name__}.mask_row must return the row (same fields) with its text masked, got {out!r}"
        masked.append(out)
    if not result.rejected and len(result.rows) == len(rows):
        assert masked == list(result.rows), \
            f"{cls.__name__}.mask_row must mask a row as clean does: {masked!r} != {list(result.rows)!r}"


def check_cleaner_empty_rows_are_declared_and_honoured(component) -> None:
    """A cleaner that declares ``drops_empty_rows`` rejects, with a reason, rows whose text is empty (the
    data step lets them through loading for it)."""
    cls = _cls(component)
    if not _flag(cls, "drops_empty_rows"):
        return
    rows = [{"text": "", "label": "a", "meta": {}}, {"text": "   ", "label": "b", "meta": {}},
            {"text": "Hello", "label": "a", "meta": {}}]
    result = _clean(component, copy.deepcopy(rows))
    dropped = [row for row, _ in result.rejected]
    assert rows[0] in dropped and rows[1] in dropped and rows[2] in result.rows, \
        f"{cls.__name__}.drops_empty_rows is True: clean must reject the rows with empty text and keep the others"


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


def _examples(inst) -> list[dict]:
    """The sample examples as scoring hands them to ``inst``: with ``base_prediction`` when it compares pairs."""
    examples = copy.deepcopy(SAMPLE_EXAMPLES)
    if inst.compares_pairs:
        examples = [{**e, "base_prediction": e["reference"]} for e in examples]
    return examples


def check_evaluator_returns_numbers(component) -> None:
    """``score`` returns at least one metric, every value a number; the input examples stay unchanged."""
    inst = _instance(component)
    examples = _examples(inst)
    scores = inst.score(examples)
    _numbers(type(inst).__name__, scores)
    assert scores, f"{type(inst).__name__}.score returned no metrics"
    assert examples == _examples(inst), f"{type(inst).__name__}.score changed its input examples"


def _same(a: dict, b: dict) -> bool:
    return a.keys() == b.keys() and all(
        (isinstance(a[k], float) and isinstance(b[k], float) and math.isnan(a[k]) and math.isnan(b[k]))
        or a[k] == b[k] for k in a)


def check_evaluator_is_deterministic(component) -> None:
    """The same examples score the same, twice, and on a fresh instance with the same Config."""
    inst = _instance(component)
    first = inst.score(_examples(inst))
    again = inst.score(_examples(inst))
    fresh = type(inst)(copy.deepcopy(inst.config)).score(_examples(inst))
    assert _same(first, again) and _same(first, fresh), \
        f"{type(inst).__name__}.score is not deterministic: {first!r}, then {again!r}, then {fresh!r}"


def check_evaluator_declarations(component) -> None:
    """``tasks`` names known tasks; ``compares_pairs``, ``asks_model`` and ``calls_model`` are booleans on the instance
    (a property may read the Config); one that asks the model has a ``responder`` the run engine sets.
    One that compares pairs is given examples with ``base_prediction`` in the other checks, as scoring
    gives them."""
    inst = _instance(component)
    name = type(inst).__name__
    assert isinstance(inst.tasks, tuple) and inst.tasks and set(inst.tasks) <= set(TASKS), \
        f"{name}.tasks must be a non-empty tuple of {', '.join(TASKS)}, got {inst.tasks!r}"
    for flag in ("compares_pairs", "asks_model", "calls_model"):
        assert isinstance(getattr(inst, flag), bool), \
            f"{name}.{flag} must be True or False, got {getattr(inst, flag)!r}"
    if inst.asks_model:
        assert hasattr(inst, "responder"), f"{name}.asks_model is True: it needs a responder attribute"


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


# --- baselines -----------------------------------------------------------------------------------
SAMPLE_DATA = {
    "classification": ([{"text": "the card never arrived", "label": "card"},
                        {"text": "my card has not come", "label": "card"},
                        {"text": "how do I top up", "label": "top_up"},
                        {"text": "top up failed", "label": "top_up"}],
                       [{"text": "card not arrived", "label": "card"}, {"text": "top up please", "label": "top_up"}]),
    "generation": ([{"prompt": "Say hello", "response": "Hello."}, {"prompt": "Say goodbye", "response": "Goodbye."},
                    {"prompt": "Count to two", "response": "One, two."}],
                   [{"prompt": "Say hello please", "response": "Hello."}, {"prompt": "Count", "response": "One."}]),
}


def check_baseline_declarations(component) -> None:
    """``tasks`` names known tasks; ``needs_model`` and ``default`` are booleans."""
    cls = _cls(component)
    assert isinstance(cls.tasks, tuple) and cls.tasks and set(cls.tasks) <= set(TASKS), \
        f"{cls.__name__}.tasks must be a non-empty tuple of {', '.join(TASKS)}, got {cls.tasks!r}"
    _flag(cls, "needs_model")
    _flag(cls, "default")


def check_baseline_answers_every_test_example(component) -> None:
    """For each task it supports, ``predict`` returns one answer per test example (a label or text, or a
    row with ``prediction``), twice the same, leaving train and test unchanged. A baseline that
    ``needs_model`` is exercised with a model in its own tests (skipped here)."""

    inst = _instance(component)
    name = type(inst).__name__
    if inst.needs_model:
        import pytest
        pytest.skip(f"baseline '{inst.name}' needs the base model")
    for task in inst.tasks:
        train, test = SAMPLE_DATA[task]
        labels = sorted({r["label"] for r in train}) if task == "classification" else None
        context = BaselineContext(recipe=None, labels=labels)
        t1, t2 = copy.deepcopy(train), copy.deepcopy(test)
        first = inst.predict(t1, t2, context)
        assert (t1, t2) == (train, test), f"{name}.predict changed its train or test examples"
        assert isinstance(first, list) and len(first) == len(test), \
            f"{name}.predict must return a list of one answer per test example ({len(test)}), got {first!r}"
        bad = [a for a in first if not (isinstance(a, str) or (isinstance(a, dict) and "prediction" in a))]
        assert not bad, f"{name}.predict answers must be strings or rows with 'prediction', got {bad!r}"
        again = inst.predict(copy.deepcopy(train), copy.deepcopy(test), context)
        assert again == first, f"{name}.predict is not deterministic: {first!r}, then {again!r}"


COMMON = (check_registration_rules, check_docstring, check_help_on_every_field, check_config_round_trip)
#: The checks of each kind, by kind name; ``ft_lab.core.plugins.KINDS`` is the table of kinds.
BY_KIND = {
    "cleaner": (check_cleaner_accounts_for_every_row, check_cleaner_leaves_input_unchanged,
                check_cleaner_handles_empty_input, check_cleaner_masking_is_declared_and_honoured,
                check_cleaner_empty_rows_are_declared_and_honoured),
    "method": (check_method_learns_and_reloads,),
    "evaluator": (check_evaluator_declarations, check_evaluator_returns_numbers, check_evaluator_is_deterministic,
                  check_evaluator_handles_empty_input),
    "baseline": (check_baseline_declarations, check_baseline_answers_every_test_example),
}
assert set(BY_KIND) == {k.name for k in KINDS}, "every kind in ft_lab.core.plugins.KINDS needs its checks here"


def checks_for(component) -> list:
    """The checks that apply to ``component`` (a class or an instance), in order."""
    cls = _cls(component)
    out = list(COMMON)
    for kind in KINDS:
        if isinstance(cls, type) and issubclass(cls, kind.base):
            out += BY_KIND[kind.name]
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
