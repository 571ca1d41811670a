"""The JupyterLab extension's install and its server API, against the real JupyterLab of the session
(tests/jupyterlab_fixture.py): every endpoint with and without a token, the run ids that cannot leave the runs
folder, and the answers (runs, searches, events, report, recipe, plugins, examples, stop, serve)."""
from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

import pytest

from conftest import REPO
from jupyterlab_fixture import write_lab_recipe
from lab_server import isolated_jupyter_env, jupyter_outputs

ANSI = re.compile(r"\x1b\[[0-9;]*m")


# --- install ----------------------------------------------------------------------------------------
def test_extensions_are_installed_and_enabled(tmp_path):
    labext, server = jupyter_outputs(["labextension", "list"], ["server", "extension", "list"],
                                     env=isolated_jupyter_env(tmp_path))
    out = ANSI.sub("", labext)
    assert re.search(r"ft-lab v\S+ enabled\s+OK", out), out
    out = ANSI.sub("", server)
    assert re.search(r"ft_lab\.server\s+enabled", out), out
    assert re.search(r"ft_lab\.server\s+OK", out), out


# --- authentication and run ids ----------------------------------------------------------------------
def _endpoints(run_id: str) -> list[tuple[str, str]]:
    return [("GET", "ft-lab/api/environment"), ("GET", "ft-lab/api/plugins"), ("GET", "ft-lab/api/runs"),
            ("GET", f"ft-lab/api/runs/{run_id}"), ("GET", f"ft-lab/api/runs/{run_id}/events?since=0"),
            ("GET", f"ft-lab/api/runs/{run_id}/report"), ("GET", f"ft-lab/api/runs/{run_id}/recipe"),
            ("POST", f"ft-lab/api/runs/{run_id}/stop"), ("POST", f"ft-lab/api/runs/{run_id}/serve"),
            ("DELETE", f"ft-lab/api/runs/{run_id}/serve"), ("GET", "ft-lab/api/examples"),
            ("GET", "ft-lab/api/examples/quickstart.ipynb")]


def test_every_endpoint_refuses_requests_without_a_token(lab, completed_run):
    for method, path in _endpoints(completed_run.id):
        status, body = lab.api(method, path, token=False)
        assert status in (401, 403), f"{method} {path} without a token answered {status}: {body[:200]}"
        assert "accuracy" not in body and completed_run.id not in body
    # a wrong token is no better than none
    lab_token, lab.token = lab.token, "0" * 48
    try:
        assert lab.api("GET", "ft-lab/api/runs")[0] in (401, 403)
    finally:
        lab.token = lab_token


def test_run_ids_cannot_leave_the_runs_folder(lab, completed_run, tmp_path):
    outside = tmp_path / "elsewhere"
    outside.mkdir()
    (outside / "run.json").write_text("{}")
    (outside / "recipe.yaml").write_text("secret: 1\n")
    link = lab.root / "runs" / "escape"
    link.symlink_to(outside)
    try:
        assert not {"escape", "elsewhere"} & {r["id"] for r in lab.json("ft-lab/api/runs")["runs"]}
        _refused(lab, completed_run)
    finally:
        link.unlink()
    assert lab.api("GET", f"ft-lab/api/runs/{completed_run.id}/recipe")[0] == 200


def _refused(lab, completed_run):
    for path in ["ft-lab/api/runs/..%2F..%2Fetc/recipe", "ft-lab/api/runs/%2E%2E/recipe",
                 "ft-lab/api/runs/..%2Fnotebooks%2Fruns%2F" + completed_run.id + "/recipe",
                 "ft-lab/api/runs/escape/recipe", "ft-lab/api/runs/no-such-run/events",
                 "ft-lab/api/runs/%2Fetc%2Fpasswd/report"]:
        status, body = lab.api("GET", path)
        assert status in (400, 404), f"GET {path} answered {status}: {body[:200]}"
        assert "secret" not in body and "root:" not in body


# --- answers ---------------------------------------------------------------------------------------
def test_environment_names_the_runs_folder_and_the_kernel(lab):
    import ft_lab
    env = lab.json("ft-lab/api/environment")
    assert env["version"] == ft_lab.__version__
    assert Path(env["runs_dir"]) == (lab.root / "runs").resolve()
    assert env["kernel"] == "python3"


def test_runs_lists_the_run_with_progress_and_headline_metric(lab, completed_run):
    answer = lab.json("ft-lab/api/runs")
    assert Path(answer["runs_dir"]) == (lab.root / "runs").resolve()
    run = {r["id"]: r for r in answer["runs"]}[completed_run.id]
    metrics = completed_run.metrics()
    assert run["status"] == "completed" and run["task"] == "classification" and run["method"] == "full"
    assert run["headline"] == {"name": "accuracy", "value": metrics["finetuned"]["accuracy"], "final": True}
    assert run["step"] == run["max_steps"] == 6 and run["progress"] == 1.0 and run["eta"] is None
    assert run["elapsed"] > 0
    assert run["recipe_path"] == f"runs/{completed_run.id}/recipe.yaml"
    assert lab.json(f"ft-lab/api/runs/{completed_run.id}") == run
    assert run["active"] is False


def test_a_search_is_one_row_with_its_progress_best_value_and_page(lab, completed_run):
    from test_search import written_search
    folder = written_search(lab.root / "runs", "sidebar-search", running_dir=completed_run.dir)
    try:
        answer = lab.json("ft-lab/api/runs")
        (search,) = [s for s in answer["searches"] if s["name"] == "sidebar-search"]
        assert search["finished"] == 2 and search["budget"] == 3 and search["progress"] == pytest.approx(2 / 3)
        assert search["best_value"] == 0.8 and search["best_trial"] == 1 and search["objective"] == "accuracy"
        assert search["active"] and search["live_trials"] == [{"number": 2, "step": 6, "max_steps": 6}]
        status, page = lab.api("GET", "ft-lab/api/searches/sidebar-search/report")
        assert status == 200 and "<h1>ft-lab search: sidebar-search</h1>" in page and "<h2>Leaderboard</h2>" in page
        assert lab.api("GET", "ft-lab/api/searches/sidebar-search/report", token=False)[0] in (401, 403)
        for bad in ("..%2F..%2Fetc", "%2E%2E", "no-such-search"):
            assert lab.api("GET", f"ft-lab/api/searches/{bad}/report")[0] in (400, 404), bad
    finally:
        shutil.rmtree(folder.parent)


def test_a_run_never_handed_to_a_worker_is_not_active(lab):
    from ft_lab.core.recipe import Recipe
    from ft_lab.workflows.runner import create_run
    run_dir = create_run(Recipe.from_yaml(write_lab_recipe(lab.home, steps=6)), runs_dir=lab.root / "runs")
    run = lab.json(f"ft-lab/api/runs/{run_dir.name}")
    assert run["status"] == "created" and run["active"] is False and run["elapsed"] is None


def test_events_since_a_step(lab, completed_run):
    everything = lab.json(f"ft-lab/api/runs/{completed_run.id}/events")
    assert everything["events"] == completed_run.events() and everything["step"] == 6
    assert everything["status"] == "completed"
    later = lab.json(f"ft-lab/api/runs/{completed_run.id}/events?since=2")["events"]
    logs = [e["step"] for e in later if e["type"] == "log"]
    assert logs and min(logs) == 4
    assert later == everything["events"][len(everything["events"]) - len(later):]
    assert later[-1] == {**later[-1], "type": "status", "status": "completed"}
    assert lab.json(f"ft-lab/api/runs/{completed_run.id}/events?since=6")["events"] == []
    status, body = lab.api("GET", f"ft-lab/api/runs/{completed_run.id}/events?since=two")
    assert status == 400 and "since" in body


def test_report_and_recipe(lab, completed_run):
    status, html = lab.api("GET", f"ft-lab/api/runs/{completed_run.id}/report")
    assert status == 200 and html.startswith("<!DOCTYPE html>")
    assert completed_run.id in html and "<h2>Metrics</h2>" in html and "<script" not in html
    status, recipe = lab.api("GET", f"ft-lab/api/runs/{completed_run.id}/recipe")
    assert status == 200 and recipe == (completed_run.dir / "recipe.yaml").read_text(encoding="utf-8")
    status, body = lab.api("POST", f"ft-lab/api/runs/{completed_run.id}/stop")
    assert status == 409 and "completed" in body


def test_plugins_lists_builtins_and_the_broken_plugin(lab):
    data = lab.json("ft-lab/api/plugins")
    by_name = {p["name"]: p for p in data["plugins"]}
    methods = by_name["ft_lab.default_plugins.default_methods"]
    assert methods["builtin"] is True and {"full", "lora"} <= set(methods["components"]["methods"])
    assert "accuracy" in by_name["ft_lab.default_plugins.default_evaluators"]["components"]["evaluators"]
    broken = {b["name"]: b["error"] for b in data["broken"]}
    assert "ModuleNotFoundError" in broken["ft-lab-broken-plugin"]
    assert "a_dependency_that_is_not_installed" in broken["ft-lab-broken-plugin"]


def test_examples_are_listed_and_served(lab):
    listed = lab.json("ft-lab/api/examples")["examples"]
    assert listed[0]["name"] == "quickstart.ipynb"  # the Examples dialog starts on the quickstart
    examples = {e["name"]: e["title"] for e in listed}
    assert examples["quickstart.ipynb"].startswith("ft-lab quickstart")
    served = lab.json("ft-lab/api/examples/quickstart.ipynb")
    assert served == json.loads((REPO / "example_notebooks" / "quickstart.ipynb").read_text(encoding="utf-8"))
    for name in ["..%2Fpyproject.toml", "..%2F..%2Fetc%2Fpasswd", "nothing.ipynb"]:
        assert lab.api("GET", f"ft-lab/api/examples/{name}")[0] == 404


def test_a_stop_request_stops_a_tiny_run(lab, long_run):
    handle = long_run
    status, body = lab.api("POST", f"ft-lab/api/runs/{handle.id}/stop")
    assert status == 202, body
    assert json.loads(body) == {"id": handle.id, "status": "running", "stop_requested": True}
    assert handle.wait(timeout=300) == "stopped"
    run = lab.json(f"ft-lab/api/runs/{handle.id}")
    assert run["status"] == "stopped" and 0 < run["step"] < 2000 and run["eta"] is None
    # no fine-tuned test value: the latest validation value (not the base model's test accuracy), if any
    validation = [e["metrics"]["accuracy"] for e in handle.events("eval")
                  if e.get("split") == "validation" and "accuracy" in e["metrics"]]
    assert run["headline"] == {"name": "accuracy", "value": validation[-1] if validation else None, "final": False}


def test_serve_refuses_unknown_runs_and_a_stop_of_what_is_not_served(lab, completed_run):
    """The serve endpoint's refusals (serving itself: test_sidebar_serves_a_completed_run_and_stops_it)."""
    assert lab.api("POST", "ft-lab/api/runs/no-such-run/serve")[0] == 404
    assert lab.api("POST", "ft-lab/api/runs/..%2Fetc/serve")[0] in (400, 404)
    status, body = lab.api("DELETE", f"ft-lab/api/runs/{completed_run.id}/serve")
    assert status == 404 and "not served" in body
    (run,) = [r for r in lab.json("ft-lab/api/runs")["runs"] if r["id"] == completed_run.id]
    assert run["serving"] is None
