"""The ``ft-lab`` command line.

    ft-lab run RECIPE [--runs-dir DIR]     validate, prepare data, train in a worker, evaluate
    ft-lab resume RUN_DIR                  continue a stopped or interrupted run from its last checkpoint
    ft-lab runs [--json]                   list runs with status and headline metric
    ft-lab plugins [--json]                installed plugins, their components, and broken ones
    ft-lab validate RECIPE                 check a recipe without running it
    ft-lab demo                            the built-in example on the tiny model, offline

Bad input (recipe, data, model) is reported as one line per problem, with exit status 2.
"""
from __future__ import annotations

import argparse
import json
import os
import signal
import sys
from importlib import resources
from pathlib import Path

from .errors import RecipeError, UserError

OPTIONAL_COMMANDS = (("ft_lab.cli_data", "add_data_commands"), ("ft_lab.cli_eval", "add_eval_commands"),
                     ("ft_lab.cli_methods", "add_method_commands"))


def _follow(handle) -> str:
    """Print progress until the worker ends; Ctrl-C asks it to save a checkpoint and stop."""
    from .progress import ProgressPrinter, metric_table

    printer = ProgressPrinter()

    def interrupt(signum, frame):
        print("\nstop requested: saving a checkpoint ...", flush=True)
        handle.stop()

    old = signal.signal(signal.SIGINT, interrupt)
    try:
        status = handle.wait(on_event=printer)
    finally:
        signal.signal(signal.SIGINT, old)
    if status == "completed":
        print()
        print(metric_table(handle.metrics()))
        print(f"\nrun directory: {handle.dir}")
    elif status in ("stopped", "interrupted"):
        print(f"run {status}; continue with: ft-lab resume {handle.dir}")
    else:
        print(f"run failed: {handle.error or 'see ' + str(handle.dir / 'worker.log')}", file=sys.stderr)
    return status


def cmd_run(args) -> int:
    from .recipe import Recipe
    from .runs import create_run, start_worker

    recipe = Recipe.from_yaml(args.recipe)
    run_dir = create_run(recipe, args.runs_dir)
    print(f"run {run_dir.name} in {run_dir}")
    status = _follow(start_worker(run_dir))
    return 0 if status == "completed" else 1


def cmd_resume(args) -> int:
    from .runs import resume

    handle = resume(args.run_dir)
    print(f"resuming {handle.dir}")
    return 0 if _follow(handle) == "completed" else 1


def cmd_validate(args) -> int:
    from .recipe import Recipe

    recipe = Recipe.from_yaml(args.recipe)
    print(f"{args.recipe}: valid ({recipe.task.type}, model {recipe.model.name_or_path}, "
          f"method {recipe.method.name})")
    return 0


def cmd_runs(args) -> int:
    from .runs import list_runs

    rows = []
    for h in list_runs(args.runs_dir):
        info = h.info
        name, value = h.headline()
        speed = h.metrics().get("throughput") or {}
        rows.append({"id": h.id, "status": h.status, "task": info.get("task"), "model": info.get("model"),
                     "method": info.get("method"), "metric": name or info.get("headline"), "value": value,
                     "tokens_per_second": speed.get("tokens_per_second"), "mfu": speed.get("mfu"),
                     "path": str(h.dir)})
    if args.json:
        print(json.dumps({"runs": rows}, indent=2, ensure_ascii=False))
        return 0
    if not rows:
        print("no runs yet")
        return 0
    table = [("id", "status", "task", "model", "method", "headline", "tokens/s")]
    for r in rows:
        head = f"{r['metric']}={r['value']:.4f}" if isinstance(r["value"], float) else "-"
        speed = f"{r['tokens_per_second']:,.0f}" if r["tokens_per_second"] else "-"
        if r["mfu"] is not None:
            speed += f" (MFU {r['mfu']:.0%})"
        table.append((r["id"], r["status"], r["task"] or "", Path(str(r["model"])).name, r["method"] or "", head,
                      speed))
    _print_table(table)
    return 0


def cmd_plugins(args) -> int:
    from .plugins import load_registry

    reg = load_registry()
    data = reg.as_json()
    if args.json:
        print(json.dumps(data, indent=2))
        return 0
    table = [("plugin", "version", "cleaners", "methods", "evaluators")]
    for p in data["plugins"]:
        c = p["components"]
        table.append((p["name"], p["version"], ", ".join(c["cleaners"]) or "-", ", ".join(c["methods"]) or "-",
                      ", ".join(c["evaluators"]) or "-"))
    _print_table(table)
    for b in data["broken"]:
        print(f"broken: {b['name']}: {b['error']}")
    return 0


def cmd_demo(args) -> int:
    from .recipe import Recipe
    from .runs import create_run, start_worker

    path = resources.files("ft_lab").joinpath("assets/demo_recipe.yaml")
    with resources.as_file(path) as recipe_path:
        recipe = Recipe.from_yaml(recipe_path)
    print("ft-lab demo: fine-tune the built-in tiny model to route banking support messages (10 intents,\n"
          "a BANKING77 sample, CC BY 4.0), on this machine's CPU, offline.\n")
    run_dir = create_run(recipe, args.runs_dir)
    print(f"run {run_dir.name} in {run_dir}")
    return 0 if _follow(start_worker(run_dir)) == "completed" else 1


def _print_table(rows) -> None:
    widths = [max(len(str(r[i])) for r in rows) for i in range(len(rows[0]))]
    for j, r in enumerate(rows):
        print("  ".join(str(c).ljust(w) for c, w in zip(r, widths)).rstrip())
        if j == 0:
            print("  ".join("-" * w for w in widths))


def build_parser() -> argparse.ArgumentParser:
    from . import __version__

    parser = argparse.ArgumentParser(prog="ft-lab", description="Fine-tune language models on your own data.")
    parser.add_argument("--version", action="version", version=f"ft-lab {__version__}")
    sub = parser.add_subparsers(dest="command", required=True)
    runs_dir_help = "folder of runs (default: ./runs or $FT_LAB_RUNS_DIR)"

    p = sub.add_parser("run", help="validate a recipe, prepare its data, train and evaluate")
    p.add_argument("recipe")
    p.add_argument("--runs-dir", help=runs_dir_help)
    p.set_defaults(func=cmd_run)
    p = sub.add_parser("resume", help="continue a stopped or interrupted run from its last checkpoint")
    p.add_argument("run_dir")
    p.set_defaults(func=cmd_resume)
    p = sub.add_parser("validate", help="check a recipe without running it")
    p.add_argument("recipe")
    p.set_defaults(func=cmd_validate)
    p = sub.add_parser("runs", help="list runs")
    p.add_argument("--runs-dir", help=runs_dir_help)
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_runs)
    p = sub.add_parser("plugins", help="list plugins and their components")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_plugins)
    p = sub.add_parser("demo", help="fine-tune the built-in tiny model on a bundled sample, offline")
    p.add_argument("--runs-dir", help=runs_dir_help)
    p.set_defaults(func=cmd_demo)
    for module, func in OPTIONAL_COMMANDS:
        try:
            mod = __import__(module, fromlist=[func])
        except ImportError:
            continue
        getattr(mod, func)(sub)
    return parser


def main(argv=None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return args.func(args) or 0
    except RecipeError as exc:
        for line in exc.lines():
            print(f"error: {line}", file=sys.stderr)
        return 2
    except UserError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())
