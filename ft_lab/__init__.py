"""ft-lab: fine-tune language models on your own data, in Jupyter or from the CLI.

    import ft_lab
    handle = ft_lab.run("recipe.yaml")   # trains in a worker process
    handle.wait()
    print(handle.metrics())

Heavy libraries (torch, transformers, datasets) are imported only by the steps that need them.
"""
from __future__ import annotations

__version__ = "0.1.0"

from .core.components import (  # noqa: E402
    Baseline,
    Capabilities,
    Cleaner,
    CleanResult,
    Evaluator,
    Method,
)
from .core.hookspecs import hookimpl  # noqa: E402
from .errors import RecipeError, UserError  # noqa: E402

_LAZY = {
    "Recipe": ("ft_lab.core.recipe", "Recipe"),
    "run": ("ft_lab.workflows.runner", "run"),
    "plan": ("ft_lab.planning.plan", "plan_recipe"),
    "resume": ("ft_lab.workflows.runner", "resume"),
    "open_run": ("ft_lab.workflows.runner", "open_run"),
    "list_runs": ("ft_lab.workflows.runner", "list_runs"),
    "RunHandle": ("ft_lab.workflows.runner", "RunHandle"),
    "search": ("ft_lab.workflows.search", "search"),
    "get_registry": ("ft_lab.core.plugins", "get_registry"),
    "register_plugin": ("ft_lab.core.plugins", "register_plugin"),
    "unregister_plugin": ("ft_lab.core.plugins", "unregister_plugin"),
    "Studio": ("ft_lab.widgets.studio", "Studio"),
    "DataPanel": ("ft_lab.widgets.data_panel", "DataPanel"),
    "ModelPanel": ("ft_lab.widgets.model_panel", "ModelPanel"),
    "TrainPanel": ("ft_lab.widgets.train_panel", "TrainPanel"),
    "ResultsPanel": ("ft_lab.widgets.results_panel", "ResultsPanel"),
    "ErrorsPanel": ("ft_lab.widgets.errors_panel", "ErrorsPanel"),
    "RunsPanel": ("ft_lab.widgets.runs_panel", "RunsPanel"),
}


def __getattr__(name):
    if name in _LAZY:
        import importlib
        module, attr = _LAZY[name]
        return getattr(importlib.import_module(module), attr)
    raise AttributeError(f"module 'ft_lab' has no attribute {name!r}")


__all__ = ["Baseline", "Capabilities", "Cleaner", "CleanResult", "Evaluator", "Method", "RecipeError", "UserError",
           "hookimpl", "__version__", *_LAZY]
