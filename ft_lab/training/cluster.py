"""A cluster launch plan: the same run on several machines, each running every rank's worker.

    ft-lab run recipe.yaml --plan     # prepares RUN_DIR, writes RUN_DIR/launch/, trains nothing here

``cluster_plan`` writes the Accelerate config, one ``accelerate launch`` line per machine (they differ by
``--machine_rank``) and a Slurm script that runs the same line on every node. The run directory must be
on a filesystem every machine sees; only global rank 0 writes to it.
"""
from __future__ import annotations

import shlex
from pathlib import Path

from ..rundir.layout import RunLayout
from ..safety.atomic import atomic_write_text
from .launch import accelerate_command, config_path, processes

SLURM = """#!/bin/bash
# Slurm job for ft-lab run {run_id}: {machines} node(s) x {per_node} process(es), strategy {strategy}.
# Submit from a login node: sbatch {script}
# The run directory must be on a filesystem every node sees; follow it with: ft-lab runs
#SBATCH --job-name=ft-lab-{run_id}
#SBATCH --nodes={machines}
#SBATCH --ntasks-per-node=1
#SBATCH --gpus-per-node={per_node}
#SBATCH --output={run_dir}/launch/slurm-%j.log
set -euo pipefail
export MAIN_IP=$(scontrol show hostnames "$SLURM_JOB_NODELIST" | head -n 1)
srun bash -c '{command}'
"""


def cluster_plan(recipe, run_dir: Path, python: str = "python") -> dict[str, Path]:
    """Write the launch config, one command line per node, and a Slurm script into ``RUN_DIR/launch/``."""

    run_dir = Path(run_dir).resolve()
    launch = recipe.launch
    out: dict[str, Path] = {"config": config_path(recipe, run_dir, cpu=launch.cpu)}
    folder = RunLayout(run_dir).launch
    ip = launch.main_process_ip or "MAIN_NODE_ADDRESS"
    lines = ["# ft-lab: run one line on each node (the run directory must be shared by all of them)"]
    for node in range(launch.num_machines):
        lines.append(shlex.join(accelerate_command(recipe, run_dir, machine_rank=str(node), main_process_ip=ip,
                                                   python=python)))
    out["commands"] = atomic_write_text(folder / "commands.sh", "\n".join(lines) + "\n")
    shell_vars = ("$SLURM_NODEID", "$MAIN_IP")  # expanded on each node, by the shell srun starts there
    srun = " ".join(a if a in shell_vars else shlex.quote(a) for a in accelerate_command(
        recipe, run_dir, machine_rank=shell_vars[0], main_process_ip=shell_vars[1], python=python))
    out["slurm"] = atomic_write_text(folder / "slurm.sbatch", SLURM.format(
        run_id=run_dir.name, machines=launch.num_machines, per_node=processes(recipe), strategy=launch.strategy,
        script=folder / "slurm.sbatch", run_dir=run_dir, command=srun.replace("'", "'\\''")))
    return out


def print_plan(recipe, run_dir: Path) -> None:
    plan = cluster_plan(recipe, run_dir)
    print(f"accelerate config: {plan['config']}")
    print(f"one command per node: {plan['commands']}")
    print(plan["commands"].read_text(encoding="utf-8"))
    print(f"Slurm script: sbatch {plan['slurm']}")
    print(f"follow it with: ft-lab runs; resume with: ft-lab resume {run_dir}")
