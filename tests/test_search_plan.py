"""``ft-lab search RECIPE --storage URL --plan MACHINES``: the line each machine runs to join one search, and a
Slurm job array (docs/search.md, "Several machines")."""
from __future__ import annotations

import csv
import dataclasses
import shlex
import subprocess
from pathlib import Path

import pytest

from conftest import banking_rows
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


def free_port() -> int:
    import socket
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


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
