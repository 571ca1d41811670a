"""``ft-lab search``: a hyperparameter search over the recipe's ``search`` section (ft_lab.workflows.search).

    ft-lab search recipe.yaml [--storage URL] [--workers N] [--trials N] [--timeout S] [--runs-dir DIR]
    ft-lab search recipe.yaml --storage postgresql://USER@HOST/DB --plan MACHINES   # writes, trains nothing

Run the same command again to continue a search that was stopped or killed; run it on several machines
with one ``--storage`` database URL to share the work (``--plan`` writes that line and a Slurm job array).
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

from ..errors import UserError
from ..workflows.search import plan_search, search
from ..workflows.search_plan import write_search_plan
from ..workflows.search_outputs import leaderboard_table, read_leaderboard
from .run_commands import RUNS_DIR_HELP
from .table import print_table


def cmd_search(args) -> int:
    if args.plan is not None:
        return _write_plan(args)
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


def _write_plan(args) -> int:
    if not args.storage:
        raise UserError("--plan: give --storage postgresql://USER@HOST/DB, the database every machine's search "
                        "shares")
    plan = plan_search(args.recipe, args.runs_dir, storage=args.storage, trials=args.trials, timeout=args.timeout,
                       name=args.name)
    files = write_search_plan(plan, Path(args.recipe), args.plan, args.workers, args.trials, args.timeout)
    print(f"one command per machine: {files['commands']}")
    print(files["commands"].read_text(encoding="utf-8"))
    print(f"Slurm job array ({args.plan} tasks): sbatch {files['slurm']}")
    print(f"follow it with: ft-lab runs --runs-dir {plan.runs_dir}")
    return 0


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
    p.add_argument("--plan", type=int, metavar="MACHINES",
                   help="write the command each of MACHINES machines runs to join this search (and a Slurm job "
                        "array) into the search folder's launch/, instead of searching here; needs --storage")
    p.add_argument("--worker-index", type=int, default=0, help=argparse.SUPPRESS)  # set by --workers
    p.set_defaults(handler=cmd_search)
