"""Hyperparameter search (ft-lab search): samplers, pruning, resume after kill -9, workers sharing a study
(SQLite, a real PostgreSQL), trackers (a real MLflow server, TensorBoard files, W&B offline), bad input.

Trials are tiny: the tiny model, 80 rows, 4 updates, a validation every 2."""
from __future__ import annotations

import csv
import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from conftest import banking_rows
from serve_support import free_port
from waiting import wait_for
from wandb_records import offline_run

from ft_lab.cli import main
from ft_lab.rundir.reader import read_events

RECIPE = """\
task: classification
data: {{path: tickets.csv, columns: {{label: category}}, max_rows: 80}}
model: {{max_length: 32, compare_base: false}}
method: {{name: lora, r: 8, target_modules: [all-linear]}}
train: {{max_steps: 4, batch_size: 8, logging_steps: 2, eval_steps: 2, learning_rate: 0.01}}
evaluate: [accuracy]
baselines: []
{extra}
search:
{search}
"""


def write(folder: Path, search: str, extra: str = "", name: str = "recipe.yaml") -> Path:
    if not (folder / "tickets.csv").exists():
        with open(folder / "tickets.csv", "w", newline="", encoding="utf-8") as f:
            w = csv.DictWriter(f, fieldnames=["text", "category"])
            w.writeheader()
            w.writerows(banking_rows(per_class=16, classes=5))
    path = folder / name
    path.write_text(RECIPE.format(search=search, extra=extra), encoding="utf-8")
    return path


def board(runs: Path, name: str) -> dict:
    return json.loads((runs / "searches" / name / "leaderboard.json").read_text(encoding="utf-8"))


def trial_dirs(runs: Path) -> list[Path]:
    return sorted(p for p in runs.iterdir() if (p / "run.json").exists()) if runs.is_dir() else []


def events(run_dir: Path) -> list[dict]:
    return [json.loads(line) for line in (run_dir / "events.jsonl").read_text(encoding="utf-8").splitlines()]


def written_search(runs: Path, name: str = "made", running_dir: Path | None = None) -> Path:
    """A search folder as ``search_outputs.write_all`` writes it, from a real Optuna study built here without
    training: trials 0 and 1 completed (accuracy 0.6 and 0.8), and with ``running_dir`` trial 2 running
    (that run directory its run)."""
    import optuna
    from optuna.distributions import FloatDistribution
    from optuna.trial import TrialState, create_trial

    from ft_lab.core.recipe import Recipe
    from ft_lab.core.search_space import dimensions
    from ft_lab.workflows.search import Plan
    from ft_lab.workflows.search_outputs import write_all
    recipe = Recipe.from_dict({"task": "classification", "data": {"path": "x.csv"}, "method": {"name": "lora"},
                               "search": {"space": {"train.learning_rate": {"low": 1e-4, "high": 1e-2, "log": True}},
                                          "trials": 3}})
    plain = recipe.to_dict()
    plain.pop("search")
    folder = runs / "searches" / name
    folder.mkdir(parents=True)
    plan = Plan(name, folder, runs, recipe, plain, dimensions(recipe.search.space), "accuracy", ["maximize"], "", 3,
                None)
    study = optuna.create_study(direction="maximize")
    dist = {"train.learning_rate": FloatDistribution(1e-4, 1e-2, log=True)}
    for lr, acc in ((1e-3, 0.6), (3e-3, 0.8)):
        study.add_trial(create_trial(params={"train.learning_rate": lr}, distributions=dist, value=acc,
                                     user_attrs={"steps": 4, "train_runtime": 1.5}))
    if running_dir is not None:
        study.add_trial(create_trial(params={"train.learning_rate": 5e-3}, distributions=dist, state=TrialState.RUNNING,
                                     user_attrs={"run_dir": str(running_dir), "started": "new"}))
    write_all(plan, study)
    return folder


# --- grid + pruning (median), loss objective; unreachable trackers only warn -------------------
@pytest.mark.integration
def test_grid_search_prunes_the_bad_trial_and_writes_the_folder(tmp_path, tiny_model_dir, capsys, monkeypatch):
    monkeypatch.setenv("MLFLOW_TRACKING_URI", f"http://127.0.0.1:{free_port()}")  # nothing listens there
    monkeypatch.setenv("MLFLOW_HTTP_REQUEST_MAX_RETRIES", "0")
    monkeypatch.setenv("MLFLOW_HTTP_REQUEST_TIMEOUT", "3")
    wandb_in_tmp(tmp_path / "wandb-home", monkeypatch)
    for key, value in (("WANDB_MODE", "online"), ("WANDB_BASE_URL", f"http://127.0.0.1:{free_port()}"),
                       ("WANDB_API_KEY", WANDB_KEY), ("WANDB_INIT_TIMEOUT", "2"), ("WANDB_DIR", str(tmp_path / "w"))):
        monkeypatch.setenv(key, value)
    recipe = write(tmp_path, "  space: {train.learning_rate: [0.05, 1.0e-7]}\n  sampler: grid\n  objective: loss\n"
                             "  pruner: median\n  pruner_startup_trials: 1\n  seed: 2", extra="track: [mlflow, wandb]")
    # 40 updates: room for the pruner's stop (sent after the first validation) to land before the end
    recipe.write_text(recipe.read_text(encoding="utf-8").replace("max_steps: 4,", "max_steps: 40,"), encoding="utf-8")
    runs = tmp_path / "runs"
    code = main(["search", str(recipe), "--runs-dir", str(runs)])
    out = capsys.readouterr().out
    assert code == 0, out
    b = board(runs, "recipe")
    rows = {r["number"]: r for r in b["rows"]}
    assert b["budget"] == 2 and set(rows) == {0, 1}  # the grid's size is the budget
    # the seed visits 1e-7 first (the loss barely moves); 0.05 then diverges, worse at its first validation
    assert rows[0]["params"] == {"train.learning_rate": 1e-7} and rows[0]["state"] == "complete"
    assert rows[1]["params"] == {"train.learning_rate": 0.05} and rows[1]["state"] == "pruned", rows
    pruned_run = Path(rows[1]["run_dir"])
    assert rows[1]["steps"] < 40  # stopped at a validation step, before the end
    assert any(e["type"] == "trial" and e.get("state") == "pruned" for e in events(pruned_run))
    assert json.loads((pruned_run / "run.json").read_text())["search"]["number"] == 1
    assert b["best"] == 0 and "pruned" in out and "complete" in out
    best = yaml.safe_load((runs / "searches" / "recipe" / "best_recipe.yaml").read_text(encoding="utf-8"))
    assert best["train"]["learning_rate"] == 1e-7 and "search" not in best
    for name in ("history.svg", "params.svg", "importances.json", "study.db", "search.yaml"):
        assert (runs / "searches" / "recipe" / name).exists(), name
    # the unreachable MLflow and W&B servers: a warning event each, the run completed all the same
    done = Path(rows[0]["run_dir"])
    assert any(e["type"] == "status" and e["status"] == "completed" for e in events(done))
    for name in ("mlflow", "wandb"):
        assert any(e["type"] == "warning" and f"tracker '{name}'" in e["message"] for e in events(done)), name
    # ft-lab runs: the search is one row (its trials are not listed one by one)
    assert main(["runs", "--runs-dir", str(runs), "--json"]) == 0
    listed = json.loads(capsys.readouterr().out)
    assert [s["name"] for s in listed["searches"]] == ["recipe"] and listed["searches"][0]["finished"] == 2
    assert not [r for r in listed["runs"] if r.get("search")]
    assert main(["runs", "--runs-dir", str(runs)]) == 0
    table = capsys.readouterr().out
    assert "search:recipe" in table and "2/2" in table


# --- kill -9 in the middle of a trial, then the same command: random sampler, LoRA r searched -------
@pytest.mark.integration
def test_killed_search_resumes_without_rerunning_finished_trials(tmp_path, tiny_model_dir, capsys):
    recipe = write(tmp_path, "  space: {method.r: [2, 4, 8], train.learning_rate: {low: 0.001, high: 0.05, log: true}}\n"
                             "  sampler: random\n  trials: 2")
    runs = tmp_path / "runs"
    command = [sys.executable, "-m", "ft_lab.cli", "search", str(recipe), "--runs-dir", str(runs)]
    proc = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    try:
        def second_trial_training():
            if proc.poll() is not None:
                raise AssertionError(f"the search ended early: {proc.stderr.read()[-2000:]}")
            dirs = trial_dirs(runs)
            return len(dirs) == 2 and any(e["type"] == "train_begin" for e in events(dirs[1]))
        wait_for(second_trial_training, "the second trial's training to begin", timeout=300, poll=0.2)
    finally:
        proc.send_signal(signal.SIGKILL)
        proc.wait()
    assert main(["search", str(recipe), "--runs-dir", str(runs), "--trials", "2", "--timeout", "900"]) == 0
    capsys.readouterr()
    rows = board(runs, "recipe")["rows"]
    states = sorted(r["state"] for r in rows)
    assert states == ["complete", "complete", "failed"], rows
    failed = next(r for r in rows if r["state"] == "failed")
    retry = next(r for r in rows if r.get("retry_of") is not None)
    assert retry["retry_of"] == failed["number"] == 1 and "died" in failed["note"]
    assert retry["started"].startswith(("taken over", "resumed")) and retry["params"] == failed["params"]
    assert len(trial_dirs(runs)) == 2  # nothing trained twice: the retry took over the dead search's run
    assert {type(r["params"]["method.r"]) for r in rows} == {int}


# --- two worker processes sharing the SQLite study (TPE) ----------------------------------------------
@pytest.mark.integration
def test_two_workers_share_one_sqlite_study(tmp_path, tiny_model_dir, capsys):
    recipe = write(tmp_path, "  space: {train.learning_rate: {low: 0.001, high: 0.05, log: true}}\n"
                             "  sampler: tpe\n  trials: 2")
    runs = tmp_path / "runs"
    assert main(["search", str(recipe), "--runs-dir", str(runs), "--workers", "2", "--name", "shared"]) == 0
    capsys.readouterr()
    rows = board(runs, "shared")["rows"]
    assert len(rows) == 2 and {r["state"] for r in rows} == {"complete"}
    assert {r["worker"] for r in rows} == {0, 1}  # each process ran one trial
    # two trials at once share the cores: each worker trains on its share, never on every core
    threads = [e["threads"] for r in rows for e in read_events(Path(r["run_dir"]))[0] if e["type"] == "resources"]
    assert threads == [max(1, (os.cpu_count() or 1) // 2)] * 2
    best = max(rows, key=lambda r: r["value"])
    assert board(runs, "shared")["best"] == best["number"]


# --- a real PostgreSQL shared by two processes (postgres_fixture.py); a real MLflow server; TensorBoard files --
def wandb_in_tmp(home: Path, monkeypatch) -> None:
    """W&B's caches, settings and staging files, and wandb-core's debug log (under $XDG_CACHE_HOME, else
    ~/.cache/wandb/logs) in ``home``: nothing in the user's folders. ft-lab's own cache (the built tiny
    model) stays where it is: pinned by FT_LAB_CACHE before XDG_CACHE_HOME moves (else it is rebuilt, 30 s)."""
    from ft_lab.models.tiny import cache_dir
    monkeypatch.setenv("FT_LAB_CACHE", str(cache_dir()))
    for key, sub in (("WANDB_CACHE_DIR", "c"), ("WANDB_CONFIG_DIR", "f"), ("WANDB_DATA_DIR", "d"),
                     ("XDG_CACHE_HOME", "xdg-cache"), ("XDG_DATA_HOME", "xdg-data")):
        monkeypatch.setenv(key, str(home / sub))


WANDB_KEY = "e26" + "0123456789abcdef" * 2 + "wxyzw"  # 40 characters, as W&B's keys are


@pytest.fixture
def mlflow_server(tmp_path):
    port = free_port()
    store = tmp_path / "mlflow-server"
    store.mkdir()
    exe = Path(sys.executable).with_name("mlflow")
    proc = subprocess.Popen([str(exe), "server", "--host", "127.0.0.1", "--port", str(port), "--workers", "1",
                             "--backend-store-uri", f"sqlite:///{store / 'mlflow.db'}",
                             "--artifacts-destination", str(store / "artifacts")],
                            stdout=open(store / "log", "wb"), stderr=subprocess.STDOUT, start_new_session=True)
    url = f"http://127.0.0.1:{port}"
    try:
        import urllib.request

        def up():
            if proc.poll() is not None:
                raise AssertionError((store / "log").read_text(errors="replace")[-2000:])
            try:
                return urllib.request.urlopen(url + "/health", timeout=2).status == 200
            except OSError:
                return False
        wait_for(up, "the MLflow server to answer /health", timeout=180, poll=0.5)
        yield url
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        proc.wait(timeout=60)


@pytest.mark.integration
def test_postgres_study_two_processes_tracked_by_mlflow_tensorboard_and_wandb(tmp_path, tiny_model_dir, postgres_url,
                                                                                 mlflow_server, monkeypatch, capsys):
    monkeypatch.setenv("MLFLOW_TRACKING_URI", mlflow_server)
    wandb_in_tmp(tmp_path / "wandb-home", monkeypatch)  # W&B offline: no network; its runs in RUNS_DIR/wandb
    for key, value in (("WANDB_MODE", "offline"), ("WANDB_API_KEY", WANDB_KEY)):
        monkeypatch.setenv(key, value)
    monkeypatch.delenv("WANDB_DIR", raising=False)
    recipe = write(tmp_path, "  space: {method.r: [4, 8]}\n  sampler: grid\n  name: pg-search",
                   extra="track: [mlflow, tensorboard, wandb]")
    runs = tmp_path / "runs"
    assert main(["search", str(recipe), "--runs-dir", str(runs), "--storage", postgres_url, "--workers", "2"]) == 0
    capsys.readouterr()
    b = board(runs, "pg-search")
    assert not (runs / "searches" / "pg-search" / "study.db").exists() and b["storage"].startswith("postgresql")
    assert sorted(r["params"]["method.r"] for r in b["rows"]) == [4, 8] and {r["worker"] for r in b["rows"]} == {0, 1}
    import optuna
    study = optuna.load_study(study_name="pg-search", storage=postgres_url)
    assert len(study.trials) == 2 and all(t.state.name == "COMPLETE" for t in study.trials)

    from mlflow.tracking import MlflowClient
    client = MlflowClient(mlflow_server)
    experiment = client.get_experiment_by_name("ft-lab")
    found = client.search_runs([experiment.experiment_id])
    parent = [r for r in found if r.data.tags.get("ft_lab.search_parent") == "true"]
    children = [r for r in found if r.data.tags.get("mlflow.parentRunId") == parent[0].info.run_id]
    assert len(parent) == 1 and len(children) == 2
    child = children[0]
    assert child.data.params["method.r"] in ("4", "8") and child.data.params["train.max_steps"] == "4"
    history = client.get_metric_history(child.info.run_id, "train_loss")
    assert [m.step for m in history] == [2, 4]
    assert "validation_loss" in child.data.metrics
    artifacts = {a.path for a in client.list_artifacts(child.info.run_id)}
    assert {"recipe.yaml", "metrics.json", "model_card.md"} <= artifacts
    assert child.info.status == "FINISHED"

    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator
    run_id = Path(b["rows"][0]["run_dir"]).name
    acc = EventAccumulator(str(runs / "tensorboard" / run_id))
    acc.Reload()
    assert [s.step for s in acc.Scalars("train/loss")] == [2, 4]
    assert "validation/loss" in acc.Tags()["scalars"]

    # W&B (offline): a run per trial in the search's group, read back from its .wandb file
    logged = [offline_run(p) for p in sorted((runs / "wandb").glob("wandb/offline-run-*/run-*.wandb"))]
    assert len(logged) == 2 and {w["group"] for w in logged} == {"pg-search"}, logged
    trial = next(w for w in logged if w["name"] == run_id)
    assert trial["job_type"] == "trial" and trial["config"]["train.max_steps"] == "4"
    assert trial["config"]["method.r"] == str(b["rows"][0]["params"]["method.r"]) and trial["config"]["search.trial"] in (0, 1)
    assert sorted(s for s, values in trial["history"].items() if "train/loss" in values) == [2, 4]
    assert "validation/loss" in trial["history"][4] and "test_finetuned/accuracy" in trial["summary"]
    assert trial["artifacts"] == {f"run-{run_id}": sorted(["recipe.yaml", "metrics.json", "model_card.md",
                                                           "report.json"])} and trial["exit_code"] == 0
    # the key in the environment reaches no file of the runs folder (run directories, W&B's and MLflow's files)
    leaked = [p for p in runs.rglob("*") if p.is_file() and WANDB_KEY.encode() in p.read_bytes()]
    assert not leaked, leaked


# --- bad input: one line, exit 2, nothing written ---------------------------------------------------
BAD = [
    ("  space: {train.learning_rate: {low: 0.01, high: 0.001}}", [], "empty or inverted range"),
    ("  space: {train.learning_rate: {low: 0.01, high: 0.01}}", [], "empty or inverted range"),
    ("  space: {train.learning_rat: [0.1, 0.2]}", [], "did you mean 'learning_rate'"),
    ("  space: {method.rank: [4, 8]}", [], "unknown field of method lora"),
    ("  space: {method.r: [8]}", [], "at least two values"),
    ("  space: {method.r: [4, 8]}\n  trials: 0", [], "trials must be at least 1"),
    ("  space: {method.r: [4, 8]}", ["--trials", "0"], "--trials: the budget must be greater than 0"),
    ("  space: {method.r: [4, 8]}", ["--storage", "postgresql+psycopg2://nobody@127.0.0.1:{port}/x"], "cannot reach"),
    ("  space: {method.r: [4, 8]}\n  objective: bleu", [], "not a validation metric"),
]


@pytest.mark.unit
@pytest.mark.parametrize("search,flags,message", BAD, ids=[b[2][:24] for b in BAD])
def test_bad_search_input_is_one_line_exit_2_nothing_written(tmp_path, capsys, search, flags, message):
    recipe = write(tmp_path, search)
    runs = tmp_path / "runs"
    flags = [f.format(port=free_port()) for f in flags]
    code = main(["search", str(recipe), "--runs-dir", str(runs), *flags])
    err = capsys.readouterr().err.strip()
    assert code == 2 and message in err and len(err.splitlines()) == 1, err
    assert not runs.exists()


# --- in-process: the space's grid, the leaderboard and plots of a two-objective study ----------------
@pytest.mark.unit
def test_grid_values_of_each_kind_of_range():
    from ft_lab.core.search_space import dimensions
    lr, r, steps, drop = dimensions({"train.learning_rate": {"low": 1e-4, "high": 1e-2, "log": True},
                                     "method.r": {"low": 4, "high": 16, "log": True},
                                     "train.max_steps": {"low": 10, "high": 30, "step": 10},
                                     "method.dropout": {"low": 0.0, "high": 0.2, "points": 5}})
    assert lr.kind == "float" and lr.grid() == [1e-4, 1e-3, 1e-2]
    assert r.kind == "int" and r.grid() == [4, 8, 16]
    assert steps.grid() == [10, 20, 30]
    assert drop.grid() == [0.0, 0.05, 0.1, 0.15, 0.2]


@pytest.mark.unit
def test_a_two_objective_study_gives_a_pareto_front_in_the_folder(tmp_path):
    import optuna
    from optuna.distributions import FloatDistribution
    from optuna.trial import create_trial

    from ft_lab.core.recipe import Recipe
    from ft_lab.core.search_space import dimensions
    from ft_lab.workflows.search import Plan
    from ft_lab.workflows.search_outputs import write_all
    recipe = Recipe.from_dict({"task": "classification", "data": {"path": "x.csv"}, "method": {"name": "lora"},
                               "search": {"space": {"train.learning_rate": {"low": 1e-4, "high": 1e-2}},
                                          "time_objective": True}})
    plain = recipe.to_dict()
    plain.pop("search")
    plan = Plan("two", tmp_path, tmp_path, recipe, plain, dimensions(recipe.search.space), "accuracy",
                ["maximize", "minimize"], "", 3, None)
    study = optuna.create_study(directions=["maximize", "minimize"])
    dist = {"train.learning_rate": FloatDistribution(1e-4, 1e-2)}
    for lr, acc, seconds in ((1e-3, 0.8, 10.0), (2e-3, 0.9, 30.0), (5e-3, 0.7, 40.0)):
        study.add_trial(create_trial(params={"train.learning_rate": lr}, distributions=dist, values=[acc, seconds]))
    rows = write_all(plan, study)
    assert [r["pareto"] for r in rows] == [True, True, False]  # 0.7 in 40 s is beaten on both counts
    assert json.loads((tmp_path / "leaderboard.json").read_text())["best"] == 1
    svg = (tmp_path / "pareto.svg").read_text()
    assert svg.count("<circle") == 3 and "<polyline" in svg
    best = yaml.safe_load((tmp_path / "best_recipe.yaml").read_text())
    assert best["train"]["learning_rate"] == 2e-3


@pytest.mark.integration
def test_report_of_a_search_folder_is_its_page(tmp_path, completed_classification_run, capsys):
    folder = written_search(tmp_path / "runs", running_dir=completed_classification_run.dir)
    out = tmp_path / "search.html"
    assert main(["report", str(folder), "--out", str(out)]) == 0
    page = out.read_text(encoding="utf-8")
    assert "<h1>ft-lab search: made</h1>" in page and "2/3 trials" in page
    for section in ("Leaderboard", "Best recipe", "Parameter importances", "Plots"):
        assert f"<h2>{section}</h2>" in page, section
    assert "ft-lab-search-history" in page and "<script" not in page
    assert "learning_rate: 0.003" in page  # the best trial's recipe
    assert "running (step 60/60)" in page  # the running trial's step, read from its run directory
    capsys.readouterr()
    assert main(["runs", "--runs-dir", str(tmp_path / "runs")]) == 0  # one row: progress, the running trial, best
    row = next(line for line in capsys.readouterr().out.splitlines() if line.startswith("search:made"))
    assert "2/3 trials, trial 2 at step 60/60" in row and "accuracy=0.8000" in row
    assert main(["report", str(tmp_path / "runs" / "searches"), "--out", str(tmp_path / "x.html")]) == 2
    assert not (tmp_path / "x.html").exists()
