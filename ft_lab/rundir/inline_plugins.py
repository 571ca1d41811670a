"""Plugins registered in-process (``register_plugin``, e.g. in a notebook cell) travel with a run to its
worker process, which cannot import a notebook's cells.

``create_run`` saves those whose components the recipe uses into ``RUN_DIR/plugins.pkl`` with cloudpickle (by value when defined in
``__main__``: a notebook or a script; by reference when they live in an importable module); the worker
loads them before it reads the recipe, so the run's cleaners, evaluators and methods are found there
too::

    save_run_plugins(run_dir, recipe)   # in the notebook's process, when the run is created
    load_run_plugins(run_dir)           # in the worker (and its resumes), before Recipe.from_yaml

Only the worker of the run loads the file (it runs the run's code anyway); views of a run (panels,
``ft-lab runs``, the JupyterLab sidebar) never do.
"""
from __future__ import annotations

import pickle
from pathlib import Path

from ..core.plugins import get_registry, in_process_plugins, register_plugin
from ..errors import UserError
from ..safety.atomic import atomic_write_bytes
from .layout import PLUGINS

FILE = PLUGINS  # RUN_DIR/plugins.pkl (ft_lab.rundir.layout)


def _used_plugins(recipe, registry) -> set[str]:
    """Names of the plugins that supply a component the recipe uses."""
    used = [("method", recipe.method)] + [("cleaner", c) for c in recipe.clean or []] \
        + [("evaluator", e) for e in recipe.evaluate or []] + [("baseline", b) for b in recipe.baselines or []]
    return {registry.owners.get((kind, spec.name)) for kind, spec in used if spec is not None}


def save_run_plugins(run_dir: Path, recipe) -> list[str]:
    """Write the in-process plugins whose components the recipe uses into ``run_dir``; returns their names.
    One that cannot be pickled stops with a UserError that says what to do."""

    plugins = in_process_plugins()
    if not plugins:
        return []
    import cloudpickle

    used = _used_plugins(recipe, get_registry())
    saved = []
    for name, obj in plugins:
        if name not in used:  # the worker needs only the plugins whose components the recipe names
            continue
        try:
            saved.append((name, cloudpickle.dumps(obj)))
        except Exception as exc:  # noqa: BLE001 - anything cloudpickle refuses
            raise UserError(f"in-process plugin '{name}' cannot be sent to the training worker "
                            f"({type(exc).__name__}: {exc}); keep it free of open files, locks and "
                            f"widgets, or move it into a module or package (docs/plugins.md)") from None
    if saved:
        atomic_write_bytes(Path(run_dir) / FILE, pickle.dumps(saved))
    return [n for n, _ in saved]


def load_run_plugins(run_dir: Path) -> list[str]:
    """Register the plugins saved in ``run_dir`` (none when there is no file); returns their names."""

    path = Path(run_dir) / FILE
    if not path.exists():
        return []
    import cloudpickle  # noqa: F401 - cloudpickle's by-value classes need it importable when loaded

    names = []
    for name, blob in pickle.loads(path.read_bytes()):
        try:
            obj = pickle.loads(blob)
        except Exception as exc:  # noqa: BLE001 - e.g. a module the plugin imports is missing here
            raise UserError(f"{path}: cannot load in-process plugin '{name}' in the worker "
                            f"({type(exc).__name__}: {exc}); install what it imports in this environment") from None
        names.append(register_plugin(obj, name))
    return names
