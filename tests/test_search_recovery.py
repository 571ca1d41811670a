"""A search shared across machines through a database URL: a trial whose search process died on another
machine stays RUNNING in the study, but its heartbeat stops; the next ``ft-lab search --storage URL`` on any
machine fails it (the leaderboard says why) and trains it again, while a trial whose heartbeat is fresh is
left to its machine. The other machine is simulated in the study itself (SQLite URL, an Optuna RDB storage
as PostgreSQL is): its trials, their host and pid, their last heartbeat."""
from __future__ import annotations

import sqlite3

import pytest
from test_search import board, write

from ft_lab.cli import main


def another_machines_trial(study, run_dir: str):
    """A RUNNING trial asked by a search process on another machine (marked as search_loop marks them)."""
    from optuna.distributions import CategoricalDistribution
    trial = study.ask({"method.r": CategoricalDistribution([2, 4])})
    for key, value in (("host", "gpu-node-7"), ("pid", 4242), ("worker", 0), ("run_dir", run_dir),
                       ("started", "new")):
        trial.set_user_attr(key, value)
    return trial


@pytest.mark.integration
def test_a_trial_whose_heartbeat_stopped_on_another_machine_is_failed_and_run_again(tmp_path, tiny_model_dir,
                                                                                     capsys):
    from ft_lab.workflows.search import open_study, plan_search
    from ft_lab.workflows.search_recovery import Heartbeat
    recipe = write(tmp_path, "  space: {method.r: [2, 4]}\n  sampler: random\n  trials: 2\n  name: shared")
    db, runs = tmp_path / "shared.db", tmp_path / "runs"
    url = f"sqlite:///{db}"
    study = open_study(plan_search(str(recipe), runs_dir=runs, storage=url))
    dead = another_machines_trial(study, "/on/gpu-node-7/runs/dead-trial")
    study._storage.record_heartbeat(dead._trial_id)
    with sqlite3.connect(db) as con:  # the dead machine's last heartbeat was an hour ago
        con.execute("UPDATE trial_heartbeats SET heartbeat = datetime('now', '-1 hour') WHERE trial_id = ?",
                    (dead._trial_id,))
    alive = another_machines_trial(study, "/on/gpu-node-7/runs/live-trial")
    with Heartbeat(study, alive):  # the live machine keeps beating while this one searches
        assert main(["search", str(recipe), "--storage", url, "--runs-dir", str(runs)]) == 0
    out = capsys.readouterr()
    rows = {r["number"]: r for r in board(runs, "shared")["rows"]}
    assert rows[0]["state"] == "failed" and "no heartbeat" in rows[0]["note"] and "gpu-node-7" in rows[0]["note"]
    assert rows[1]["state"] == "running" and rows[1]["note"] is None  # fresh heartbeat: its machine's to finish
    assert rows[2]["retry_of"] == 0 and rows[2]["params"] == rows[0]["params"], rows
    assert rows[2]["started"] == "re-run" and rows[2]["state"] == "complete"  # its run directory is elsewhere
    assert set(rows) == {0, 1, 2}  # the budget of 2: the live trial and the retry
    assert "re-run (trial 0)" in out.out and "trials 0 were left running" in out.err
