"""``ft-lab search RECIPE --storage URL --plan MACHINES``: the line each machine runs to join one search, and a
Slurm job array (docs/search.md, "Several machines")."""
from __future__ import annotations

import csv
import dataclasses
import json
import os
import shlex
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from conftest import banking_rows
from serve_support import free_port
from ft_lab.cli import main
from ft_lab.workflows.search import plan_search
from ft_lab.workflows.search_plan import STORAGE_ENV, write_search_plan

RECIPE = """\
task: classification
data: {path: tickets.csv, columns: {label: category}, max_rows: 80}
model: {max_length: 32, compare_base: false}
method: {name: lora, r: 8, target_modules: [all-linear]}
train: {max_steps: 4, batch_size: 8, logging_steps: 2, eval_steps: 2, learning_rate: 0.01}
evaluate: [accuracy]
baselines: []
search:
  space: {method.r: [4, 8]}
  sampler: grid
  name: shared
"""


def recipe(folder: Path) -> Path:
    with open(folder / "tickets.csv", "w", newline="", encoding="utf-8") as f:
        w = csv.DictWriter(f, fieldnames=["text", "category"])
        w.writeheader()
        w.writerows(banking_rows(per_class=16, classes=5))
    (folder / "recipe.yaml").write_text(RECIPE, encoding="utf-8")
    return folder / "recipe.yaml"


@pytest.mark.parametrize("storage, message", [
    (None, "--plan: give --storage postgresql://USER@HOST/DB"),
    ("sqlite:///{tmp}/study.db", "--plan: machines share a search through a database server"),
    ("postgresql://ftlab@127.0.0.1:{port}/x", "--storage: cannot reach postgresql://***@127.0.0.1:"),
])
def test_a_plan_without_a_shared_database_is_one_line_exit_2(storage, message, tmp_path, tiny_model_dir, capsys):
    path = recipe(tmp_path)
    runs = tmp_path / "runs"
    args = ["search", str(path), "--runs-dir", str(runs), "--plan", "2"]
    if storage:
        args += ["--storage", storage.format(tmp=tmp_path, port=free_port())]
    assert main(args) == 2
    err = capsys.readouterr().err.strip()
    assert message in err and len(err.splitlines()) == 1, err
    assert not (runs / "searches").exists()  # nothing written


def test_the_plan_keeps_a_password_out_of_its_files_and_both_files_are_valid_bash(tmp_path, tiny_model_dir):
    path = recipe(tmp_path)
    plan = plan_search(str(path), tmp_path / "runs")  # its default SQLite study: checked, then replaced
    secret = "s3cret-pw"
    plan = dataclasses.replace(plan, storage_url=f"postgresql://ftlab:{secret}@db.example:5432/searches")
    files = write_search_plan(plan, path, machines=3, workers=2, trials=6)
    lines = files["commands"].read_text(encoding="utf-8").splitlines()
    slurm = files["slurm"].read_text(encoding="utf-8")
    commands = [line for line in lines if line.startswith("ft-lab search ")]
    assert len(commands) == 3 and len(set(commands)) == 1
    words = shlex.split(commands[0])
    assert words[2] == str(path.resolve()) and words[words.index("--runs-dir") + 1] == str((tmp_path / "runs").resolve())
    assert words[words.index("--workers") + 1] == "2" and words[words.index("--trials") + 1] == "6"
    assert words[words.index("--name") + 1] == "shared"
    assert f'--storage "${STORAGE_ENV}"' in commands[0]
    for text in (slurm, "\n".join(lines)):
        assert secret not in text
        assert f'"${{{STORAGE_ENV}:?export {STORAGE_ENV}=' in text  # a machine without it stops at once
    assert "#SBATCH --array=0-2" in slurm and "#SBATCH --gpus-per-node=2" in slurm
    assert slurm.rstrip().splitlines()[-1] == commands[0]
    for f in files.values():
        assert subprocess.run(["bash", "-n", str(f)], capture_output=True).returncode == 0, f.read_text()
    # without the variable, the guard line stops the script before any search starts
    guard = next(line for line in lines if line.startswith(":"))
    done = subprocess.run(["bash", "-c", f"set -u; unset {STORAGE_ENV}; {guard}"], capture_output=True, text=True)
    assert done.returncode != 0 and STORAGE_ENV in done.stderr

    plain = dataclasses.replace(plan, storage_url="postgresql://ftlab@db.example:5432/searches")
    files = write_search_plan(plain, path, machines=1)
    text = files["commands"].read_text(encoding="utf-8")
    assert "--storage postgresql://ftlab@db.example:5432/searches" in text and STORAGE_ENV not in text


@pytest.mark.integration
def test_two_machines_run_the_planned_line_and_share_one_budget(tmp_path, tiny_model_dir, postgres_url):
    import optuna

    path = recipe(tmp_path)
    url = postgres_url.replace("postgresql+psycopg2://", "postgresql://")  # SQLAlchemy's default driver: psycopg 3
    runs = tmp_path / "runs"
    assert main(["search", str(path), "--runs-dir", str(runs), "--storage", url, "--plan", "2"]) == 0
    launch = runs / "searches" / "shared" / "launch"
    lines = [line for line in (launch / "commands.sh").read_text(encoding="utf-8").splitlines()
             if line.startswith("ft-lab search ")]
    assert len(lines) == 2
    # two "machines", each in its own folder, run the written line through a shell at the same time
    env = {**os.environ, "PATH": os.pathsep.join([str(Path(sys.executable).parent), os.environ.get("PATH", "")]),
           "FT_LAB_THREADS": "1", "HF_HUB_OFFLINE": "1"}
    procs = []
    try:
        for i, line in enumerate(lines):
            (tmp_path / f"machine-{i}").mkdir()
            procs.append(subprocess.Popen(["bash", "-c", line], cwd=tmp_path / f"machine-{i}", env=env, text=True,
                                          stdout=subprocess.PIPE, stderr=subprocess.STDOUT, start_new_session=True))
        outs = [p.communicate(timeout=900)[0] for p in procs]
    finally:  # a machine still searching after the wait (or a failed start): stopped with its workers
        for p in procs:
            if p.poll() is None:
                os.killpg(p.pid, signal.SIGKILL)
                p.wait()
    assert [p.returncode for p in procs] == [0, 0], "\n".join(o[-2000:] for o in outs)
    study = optuna.load_study(study_name="shared", storage=url)
    assert sorted(t.params["method.r"] for t in study.trials) == [4, 8]  # the grid once, not once per machine
    assert all(t.state.name == "COMPLETE" for t in study.trials)
    board = json.loads((runs / "searches" / "shared" / "leaderboard.json").read_text(encoding="utf-8"))
    assert sorted(r["params"]["method.r"] for r in board["rows"]) == [4, 8] and board["best"] is not None
    assert all(Path(r["run_dir"]).parent == runs.resolve() for r in board["rows"])
