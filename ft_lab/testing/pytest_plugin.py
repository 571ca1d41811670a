"""ft-lab's pytest plugin (the ``pytest11`` entry point ``ft_lab``): pytest loads it wherever ft-lab is
installed, so a plugin author's tests get, with no conftest:

- the fixture ``ft_lab_registry``: the plugin registry loaded strictly (a plugin that fails to import or
  registers something invalid fails the test with its error), e.g.
  ``assert ft_lab_registry.owner("cleaner", "ticket_tools") == "ft-lab-ticket-tools"``;
- the fixture ``ft_lab_check``: ``ft_lab_check(MyCleaner)`` runs every conformance check on a component
  (a class, or an instance for a Config without defaults), the first broken rule failing the test;
- the option ``pytest --ft-lab-check PLUGIN``: one test per component and check for every component the
  installed plugin PLUGIN registers (the name ``ft-lab plugins`` lists; repeat the option for several),
  with no test code at all.

Loading it imports only pytest and, when the option or a fixture is used, ft-lab's light core (never torch).
"""
from __future__ import annotations

import pytest

from ft_lab.core.plugins import load_registry
from ft_lab.testing import check_component, checks_for


def pytest_addoption(parser) -> None:
    group = parser.getgroup("ft-lab", "ft-lab plugin conformance")
    group.addoption("--ft-lab-check", action="append", default=[], metavar="PLUGIN",
                    help="run ft-lab's conformance checks on every component of the installed plugin PLUGIN "
                         "(as listed by ft-lab plugins); repeat for several")


@pytest.fixture
def ft_lab_registry():
    """The registry of every installed plugin, loaded strictly: a broken plugin raises its error."""
    return load_registry(strict=True)


@pytest.fixture
def ft_lab_check():
    """``ft_lab_check(component)``: every conformance check on ``component``; the first failure raises."""
    return check_component


class ConformanceCheck(pytest.Item):
    """One conformance check on one registered component (collected by ``--ft-lab-check``)."""

    def __init__(self, *, component, check, **kwargs):
        super().__init__(**kwargs)
        self.component, self.check = component, check

    def runtest(self) -> None:
        self.check(self.component)

    def repr_failure(self, excinfo, style=None):
        if isinstance(excinfo.value, AssertionError) and str(excinfo.value):
            return f"{self.name}: {excinfo.value}"  # the rule broken, in words: no traceback into the kit
        return super().repr_failure(excinfo, style=style)

    def reportinfo(self):
        return self.path, None, f"ft-lab conformance: {self.name}"


def components_of(plugin: str) -> list[type]:
    """The component classes the installed plugin ``plugin`` registers; a UsageError names the known ones."""

    registry = load_registry()
    if not any(p.name == plugin for p in registry.plugins):
        known = ", ".join(p.name for p in registry.plugins if not p.builtin) or "none"
        broken = [b["error"] for b in registry.broken if b["name"] == plugin]
        why = f"it is broken: {broken[0]}" if broken else f"no installed plugin has that name (installed: {known})"
        raise pytest.UsageError(f"--ft-lab-check {plugin}: {why}")
    return [cls for kind, by_name in registry.components.items() for name, cls in by_name.items()
            if registry.owner(kind, name) == plugin]


def pytest_collection_modifyitems(session, config, items) -> None:
    plugins = config.getoption("ft_lab_check")
    if not plugins:
        return

    for plugin in plugins:
        found = components_of(plugin)
        if not found:
            raise pytest.UsageError(f"--ft-lab-check {plugin}: the plugin registers no components")
        for cls in found:
            for check in checks_for(cls):
                name = f"{cls.name}-{check.__name__}"
                items.append(ConformanceCheck.from_parent(session, name=name, component=cls, check=check,
                                                          nodeid=f"ft-lab-check[{plugin}]::{name}"))
