"""``ft-lab search``: a hyperparameter search over the recipe's ``search`` section (ft_lab.workflows.search).

    ft-lab search recipe.yaml [--storage URL] [--workers N] [--trials N] [--timeout S] [--runs-dir DIR]

Run the same command again to continue a search that was stopped or killed; run it on several machines
with one ``--storage`` database URL to share the work.
"""
from __future__ import annotations

import argparse
import sys

from ..workflows.search import search
from ..workflows.search_outputs import leaderboard_table, read_leaderboard
from .run_commands import RUNS_DIR_HELP
from .table import print_table


def cmd_search(args) -> int:
    result = search(args.recipe, args.runs_dir, storage=args.storage, workers=args.workers, trials=args.trials,
                    timeout=args.timeout, name=args.name, worker_index=args.worker_index)
    if args.worker_index:  # a worker started by another search process: that one prints the table
        return 0
    board = read_leaderboard(result.folder)
    print_table(leaderboard_table(result.rows, board.get("objective", "value"),
                                  (board.get("directions") or ["maximize"])[0] == "maximize"))
    if result.best is not None:
        print(f"\nbest: trial {result.best['number']}, {board.get('objective')} {result.best['value']:.4f} "
              f"({result.best['run_dir']})\nbest recipe: {result.folder / 'best_recipe.yaml'}", file=sys.stderr)
    return 0 if result.best is not None else 1


def add_commands(subparsers) -> None:
    p = subparsers.add_parser("search", help="search hyperparameters (the recipe's search section) with Optuna")
    p.add_argument("recipe", help="recipe YAML file with a search section")
    p.add_argument("--storage", help="Optuna storage URL shared by several machines (postgresql://...); "
                                     "default: study.db in the search folder")
    p.add_argument("--workers", type=int, default=1, help="trials trained at once on this machine (processes)")
    p.add_argument("--trials", type=int, help="trial budget of the whole search (overrides search.trials)")
    p.add_argument("--timeout", type=float, help="wall-time budget of this call, in seconds")
    p.add_argument("--name", help="the search's name (default: search.name, else the recipe file's name)")
    p.add_argument("--runs-dir", help=RUNS_DIR_HELP)
    p.add_argument("--worker-index", type=int, default=0, help=argparse.SUPPRESS)  # set by --workers
    p.set_defaults(handler=cmd_search)
