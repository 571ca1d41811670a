"""A search shared by several machines, as a plan: the same ``ft-lab search`` line for each machine, and a Slurm
job array that runs it once per node. Nothing is trained where the plan is written.

    ft-lab search recipe.yaml --storage postgresql://USER@HOST/DB --plan 4 [--workers 2]

Every machine is a worker of the one Optuna study in the database: the trial budget is the search's, whichever
machine trains the trials, and a machine that joins late or is started again takes what is left. The recipe and
the runs folder are named by absolute path, so they must be on a filesystem every machine sees. A password in
the storage URL is never written: the files read it from ``FT_LAB_SEARCH_STORAGE`` on each machine.
"""
from __future__ import annotations

import shlex
from pathlib import Path
from urllib.parse import urlsplit

from ..errors import UserError
from ..safety.atomic import atomic_write_text
from .search import Plan

STORAGE_ENV = "FT_LAB_SEARCH_STORAGE"

SLURM = """#!/bin/bash
# Slurm job array for ft-lab search {name}: {machines} node(s), {workers} trial(s) at once on each
# (one GPU each; on CPU nodes drop the --gpus-per-node line).
# Submit from a login node: sbatch {script}
# Every node must see {runs_dir} and the recipe (a shared filesystem); follow it with: ft-lab runs
#SBATCH --job-name=ft-lab-search-{name}
#SBATCH --array=0-{last}
#SBATCH --nodes=1
#SBATCH --ntasks=1
#SBATCH --gpus-per-node={workers}
#SBATCH --output={launch}/slurm-%A_%a.log
set -euo pipefail
{guard}{command}
"""


def _has_password(url: str) -> bool:
    try:
        return bool(urlsplit(url).password)
    except ValueError:  # a URL urllib cannot split (an odd port): keep it out of the files to be safe
        return True


def search_command(plan: Plan, recipe_path: Path, workers: int, storage_arg: str, trials: int | None = None,
                   timeout: float | None = None) -> str:
    """The one command line every machine runs (the storage as ``storage_arg``, a URL or ``"$VAR"``)."""
    words = ["ft-lab", "search", str(Path(recipe_path).resolve()), "--name", plan.name,
             "--runs-dir", str(plan.runs_dir.resolve()), "--workers", str(workers)]
    words += ["--trials", str(trials)] if trials is not None else []
    words += ["--timeout", f"{timeout:g}"] if timeout is not None else []
    line = shlex.join(words)
    storage = storage_arg if storage_arg.startswith('"$') else shlex.quote(storage_arg)
    return f"{line} --storage {storage}"


def write_search_plan(plan: Plan, recipe_path: Path, machines: int, workers: int = 1, trials: int | None = None,
                      timeout: float | None = None) -> dict[str, Path]:
    """``SEARCH_FOLDER/launch/commands.sh`` (one line per machine) and ``search.sbatch`` (a job array)."""
    if machines < 1:
        raise UserError(f"--plan: the number of machines must be 1 or more, got {machines}")
    if workers < 1:
        raise UserError(f"--workers: must be 1 or more, got {workers}")
    url = plan.storage_url
    if url.startswith("sqlite:"):
        raise UserError("--plan: machines share a search through a database server; give --storage "
                        "postgresql://USER@HOST/DB (a SQLite file does not lock reliably on a shared filesystem)")
    secret = _has_password(url)
    storage_arg = f'"${STORAGE_ENV}"' if secret else url
    command = search_command(plan, recipe_path, workers, storage_arg, trials, timeout)
    guard = (f': "${{{STORAGE_ENV}:?export {STORAGE_ENV}=<the storage URL with its password> first}}"\n'
             if secret else "")
    launch = plan.folder / "launch"
    head = [f"# ft-lab search {plan.name}: run this line once on each of {machines} machine(s); each trains "
            f"{workers} trial(s) at once, and all share one study and its budget."]
    if secret:
        head.append(f"# The storage URL has a password, so it is not written here: export {STORAGE_ENV} on each "
                    "machine first.")
    out = {"commands": atomic_write_text(launch / "commands.sh",
                                         "\n".join(head + [guard.strip()] * bool(guard) + [command] * machines)
                                         + "\n")}
    out["slurm"] = atomic_write_text(launch / "search.sbatch", SLURM.format(
        name=plan.name, machines=machines, workers=workers, script=launch / "search.sbatch",
        runs_dir=plan.runs_dir.resolve(), last=machines - 1, launch=launch, guard=guard, command=command))
    return out
