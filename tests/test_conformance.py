"""Every first-party component (built-ins and plugins/*) passes the conformance kit ``ft_lab.testing``,
one test id per component and check, exactly as a third-party plugin's tests would run it.

Each method is trained in one place only. The kit's training check (``check_method_learns_and_reloads``:
both tasks, the loss falls by 20%, the reload matches within 1e-4) is run here only for methods trained
nowhere else (qlora, with a GPU). tests/test_methods_training.py trains every built-in method with its
default Config on both tasks under stricter terms (the loss falls by 40%, the reload is bit for bit), and
plugins/ft-lab-reft runs the same kit on LoReFT in its own tests; for those methods the check here
asserts that coverage instead of training again.
"""
from pathlib import Path

import pytest

from ft_lab.core import configs
from ft_lab.cli.docgen import first_party_plugins
from ft_lab.core.plugins import KINDS, get_registry
from ft_lab.testing import check_component, check_method_learns_and_reloads, checks_for, parametrize_with_checks
from test_methods_training import CASES, TASKS

REPO_PLUGINS = Path(__file__).resolve().parent.parent / "plugins"
# method -> the test that runs the kit's training check on it with its default Config
KIT_RUN_ELSEWHERE = {"reft": (REPO_PLUGINS / "ft-lab-reft" / "tests" / "test_reft.py",
                              "@parametrize_with_checks([LoReFTMethod])")}


def first_party_components() -> list:
    reg, keep = get_registry(), first_party_plugins()
    out = []
    for kind in KINDS:
        for name in reg.names(kind.name):
            cls = reg.get(kind.name, name)
            if reg.owner(kind.name, name) in keep and not configs.build(cls.Config, {}, name)[1]:
                out.append(cls)  # components that need settings (a judge's endpoint) have their own tests
    return out


COMPONENTS = first_party_components()


def test_the_built_ins_are_all_here():
    names = {c.name for c in COMPONENTS}
    assert {"normalize", "dedup", "pii_mask", "full", "lora", "accuracy", "chrf", "perplexity"} <= names


def _default(component):
    return component(configs.build(component.Config, {}, component.name)[0])


def trained_elsewhere(component) -> bool:
    name = getattr(component, "name", "")
    return name in KIT_RUN_ELSEWHERE or any(n == name and not config for n, config, _ in CASES)


def check_trained_elsewhere(component) -> None:
    """In place of the kit's training check: the method is trained, with its default Config and on every
    task it declares, by tests/test_methods_training.py (stricter) or by its plugin's own kit run."""
    name = component.name
    if name in KIT_RUN_ELSEWHERE:
        path, line = KIT_RUN_ELSEWHERE[name]
        assert line in path.read_text(encoding="utf-8"), f"{path} no longer runs the kit on '{name}' ({line})"
        return
    tasks = set(_default(component).capabilities.tasks)
    assert tasks <= set(TASKS), f"'{name}' declares tasks {sorted(tasks - set(TASKS))} that test_methods_training skips"


@parametrize_with_checks(COMPONENTS)
def test_conformance(component, check):
    if check is check_method_learns_and_reloads and trained_elsewhere(component):
        check = check_trained_elsewhere
    check(component)


def test_every_first_party_method_is_trained_somewhere():
    """Built-in methods the CPU can train are in test_methods_training's cases with their default Config;
    the rest (a GPU's) keep the kit's training check here."""
    for component in COMPONENTS:
        if check_method_learns_and_reloads in checks_for(component) and not trained_elsewhere(component):
            assert _default(component).capabilities.needs_cuda, f"method '{component.name}' is trained nowhere but the kit: add it to " \
                                    "test_methods_training.CASES with its default Config"


class Forgetful:
    """Not a component at all."""


def test_the_kit_names_the_rule_that_is_broken():
    from dataclasses import dataclass, field

    from ft_lab import Cleaner, CleanResult, Evaluator

    class DropsRows(Cleaner):
        """Keeps the first row only, and says nothing about the others."""

        name = "drops_rows"

        @dataclass
        class Config:
            keep: int = field(default=1)  # no help text

        def clean(self, rows, columns):
            return CleanResult(rows=rows[:self.config.keep])

    class Crashes(Evaluator):
        """Divides by the number of examples."""

        name = "crashes"

        def score(self, examples):
            return {"mean": sum(e["prediction"] == e["reference"] for e in examples) / len(examples)}

    failures = {}
    for component in (DropsRows, Crashes):
        for check in checks_for(component):
            try:
                check(component)
            except AssertionError as exc:
                failures[f"{component.name}-{check.__name__}"] = str(exc)
    assert set(failures) == {"drops_rows-check_help_on_every_field", "drops_rows-check_cleaner_accounts_for_every_row",
                             "crashes-check_evaluator_handles_empty_input"}, failures
    assert "DropsRows.Config fields need metadata={'help': ...}: keep" in failures["drops_rows-check_help_on_every_field"]
    assert "ZeroDivisionError" in failures["crashes-check_evaluator_handles_empty_input"]
    with pytest.raises(AssertionError, match="not a subclass of ft_lab.Cleaner"):
        check_component(Forgetful)
