"""Every first-party component (built-ins and plugins/*) passes the conformance kit ``ft_lab.testing``,
one test id per component and check, exactly as a third-party plugin's tests would run it."""
import pytest

from ft_lab.core import configs
from ft_lab.cli.docgen import first_party_plugins
from ft_lab.core.plugins import KINDS, get_registry
from ft_lab.testing import check_component, checks_for, parametrize_with_checks


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


@parametrize_with_checks(COMPONENTS)
def test_conformance(component, check):
    check(component)


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
