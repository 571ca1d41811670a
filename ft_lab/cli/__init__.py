"""The ``ft-lab`` command line: ``main`` and the parser; one module per command group.

    ft-lab run RECIPE [--runs-dir DIR]     validate, prepare data, train in a worker, evaluate   (run_commands.py)
    ft-lab resume RUN_DIR                  continue a stopped or interrupted run                 (run_commands.py)
    ft-lab runs [--json] [--tree]          list runs with status and headline metric (--tree: lineage) (run_commands.py)
    ft-lab validate RECIPE                 check a recipe without running it                     (run_commands.py)
    ft-lab plan RECIPE [--gpu NAME] [--gpus N] [--price P]   memory, time and cost before running  (plan_commands.py)
    ft-lab demo                            all-MiniLM-L6-v2 on a bundled sample, offline         (run_commands.py)
    ft-lab data inspect FILE | prepare RECIPE --out DIR                                          (data_commands.py)
    ft-lab eval RUN_DIR | report RUN_DIR --out FILE                                              (eval_commands.py)
    ft-lab export RUN_DIR --out DIR | sweep RECIPE --methods a,b                                 (export_commands.py)
    ft-lab pairs RUN [--worst N] [--out FILE]   preference pairs from a run's worst answers   (preference_commands.py)
    ft-lab serve RUN_OR_EXPORT | monitor SERVE_DIR | monitor export SERVE_DIR --out F          (serve_commands.py)
    ft-lab search RECIPE [--storage URL] [--workers N]   hyperparameter search (Optuna)       (search_commands.py)
    ft-lab plugins [--json]                installed plugins, their components, broken ones      (plugin_commands.py)
    ft-lab plugins new NAME [--kind K] [--out DIR]   a plugin package from plugins/template  (plugin_commands.py)

One dispatch convention: each group module has ``add_commands(subparsers)``, and every command's
parser ends with ``set_defaults(handler=fn)`` where ``fn(args) -> int`` is the exit status. Plugins
add commands the same way through the ``register_commands(subparsers)`` hook. Problems
the user can fix raise ``ft_lab.errors.UserError``: ``main`` prints them one line each and returns
the error's ``exit_code`` (2). Tests call ``main([...])`` (the same function as the console script).
"""
from __future__ import annotations

import argparse
import importlib
import os
import sys

from .. import __version__
from ..core.plugins import get_registry
from ..errors import RecipeError, UserError

#: The command-group modules, in the order their commands appear in ``ft-lab --help``.
COMMAND_GROUPS = ("ft_lab.cli.run_commands", "ft_lab.cli.data_commands", "ft_lab.cli.eval_commands", "ft_lab.cli.export_commands",
                  "ft_lab.cli.serve_commands", "ft_lab.cli.search_commands", "ft_lab.cli.preference_commands",
                  "ft_lab.cli.plugin_commands",
                  "ft_lab.cli.plan_commands")


def build_parser() -> argparse.ArgumentParser:

    parser = argparse.ArgumentParser(prog="ft-lab", description="Fine-tune language models on your own data.")
    parser.add_argument("--version", action="version", version=f"ft-lab {__version__}")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for module in COMMAND_GROUPS:
        importlib.import_module(module).add_commands(sub)
    _plugin_commands(sub)
    return parser


def _plugin_commands(sub) -> None:
    """Commands added by plugins (``register_commands``); one that fails is skipped with a warning."""

    for plugin, add in get_registry().commands:
        try:
            add(subparsers=sub)
        except BaseException as exc:  # noqa: BLE001 - a plugin must not take the command line down
            print(f"warning: plugin '{plugin}': register_commands raised {type(exc).__name__}: {exc}",
                  file=sys.stderr)


def main(argv: list[str] | None = None) -> int:
    """Run one command; returns the exit status (argparse's own exits, ``--help`` included, are returned too)."""
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:  # --help, --version, usage errors: argparse has printed the message
        return exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 2)
    if getattr(args, "allow_code", False):
        os.environ["FT_LAB_ALLOW_CODE"] = "1"  # the worker inherits it
    try:
        return args.handler(args) or 0
    except RecipeError as exc:
        for line in exc.lines():
            print(f"error: {line}", file=sys.stderr)
        return exc.exit_code
    except UserError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return exc.exit_code
    except KeyboardInterrupt:
        return 130
