"""Notebook panels (ipywidgets): the Studio and its steps, each also usable on its own.

    from ft_lab import Studio
    Studio()                                  # Data, Model, Train, Search, Evaluate, Errors, Playground, Export (and Serve, Monitor), Runs
    Studio.from_recipe("recipe.yaml")         # panels filled from a recipe
    Studio.attach("runs/<id>")                # follow a run started elsewhere (or before a restart)

Modules: ``forms`` (Config dataclass -> form), ``state`` (the recipe the panels share), ``follow``
(reads a run's events from a thread), ``plots`` (bqplot charts and static HTML/SVG), one module per
panel, and ``studio``; ``subshell_routing`` keeps ipykernel from dropping widget
messages after a page reload. The panels read the run directory only; none of them trains or imports torch.
"""
from __future__ import annotations

from ft_lab.widgets import subshell_routing as _subshell_routing

_subshell_routing.install()  # inside a kernel: no widget message routed to a deleted subshell

_LAZY = {
    "Studio": "studio", "DataPanel": "data_panel", "ModelPanel": "model_panel", "TrainPanel": "train_panel",
    "ResultsPanel": "results_panel", "ErrorsPanel": "errors_panel", "RunsPanel": "runs_panel",
    "ConfigForm": "forms", "RecipeState": "state", "SearchPanel": "search_panel",
}


def __getattr__(name):
    if name in _LAZY:
        import importlib
        return getattr(importlib.import_module(f"{__name__}.{_LAZY[name]}"), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


__all__ = list(_LAZY)
