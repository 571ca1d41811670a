"""The JupyterLab extension and its server API, against a real JupyterLab started here.

One server for the module (temporary Jupyter config and data folders, ``--FtLab.runs_dir=runs`` inside
its root folder, the broken test plugin on its PYTHONPATH) and one real run trained from a recipe.
The API tests call every endpoint with and without a token; the browser tests (Debian's chromium
through Playwright, no browser download) use the sidebar, the launcher card and the status bar, and
save screenshots to test-artifacts/labextension/.
"""
from __future__ import annotations

import csv
import json
import os
import queue
import re
import shutil
import subprocess
import sys
import threading
from pathlib import Path

import pytest

from conftest import ARTIFACTS, REPO, banking_rows
from lab_server import LabServer, isolated_jupyter_env, jupyter_outputs
from test_browser import CHROMIUM, CHROMIUM_ARGS
from waiting import wait_for

SHOTS = ARTIFACTS / "labextension"
ANSI = re.compile(r"\x1b\[[0-9;]*m")

RECIPE = """\
task: classification
data:
  path: {csv}
  columns: {{text: text, label: category}}
model: {{name_or_path: tiny, max_length: 32}}
method: {{name: full}}
train: {{max_steps: {steps}, batch_size: 8, learning_rate: 0.001, logging_steps: {log}}}
evaluate: [accuracy, macro_f1]
"""

needs_chromium = pytest.mark.skipif(
    not CHROMIUM.exists(), reason=f"{CHROMIUM} is missing: `make setup` installs Debian's chromium package")


def write_recipe(folder: Path, steps: int, log: int = 1) -> Path:
    csv_path = folder / "tickets.csv"
    if not csv_path.exists():
        with open(csv_path, "w", newline="", encoding="utf-8") as f:
            w = csv.DictWriter(f, fieldnames=["text", "category"])
            w.writeheader()
            w.writerows(banking_rows(per_class=20, classes=4))
    path = folder / f"recipe_{steps}.yaml"
    path.write_text(RECIPE.format(csv=csv_path, steps=steps, log=log), encoding="utf-8")
    return path


@pytest.fixture(scope="module")
def plugin_site(tmp_path_factory):
    """The test plugin package whose import fails, installed with pip into a folder for PYTHONPATH."""
    site = tmp_path_factory.mktemp("site")
    subprocess.run([sys.executable, "-m", "pip", "install", "-q", "--no-deps", "--no-build-isolation", "--no-index",
                    "--target", str(site), str(REPO / "tests" / "plugin_packages" / "ft-lab-broken-plugin")],
                   check=True, capture_output=True, text=True)
    return site


@pytest.fixture(scope="module")
def lab(tmp_path_factory, plugin_site):
    home = tmp_path_factory.mktemp("lab")
    root = home / "notebooks"
    root.mkdir()
    SHOTS.mkdir(parents=True, exist_ok=True)
    with LabServer(home, root, extra_args=["--FtLab.runs_dir=runs",
                                           "--ServerApp.allow_unauthenticated_access=True"],
                   env_extra={"PYTHONPATH": os.pathsep.join(filter(None, [str(plugin_site),
                                                                          os.environ.get("PYTHONPATH")]))},
                   log_path=SHOTS / "jupyterlab.log") as server:
        yield server


@pytest.fixture(scope="module")
def completed_run(lab):
    """A real run trained from a recipe (tiny model, 6 steps) into the server's runs folder."""
    import ft_lab
    handle = ft_lab.run(write_recipe(lab.home, steps=6, log=2), runs_dir=lab.root / "runs")
    status = handle.wait(timeout=600)
    assert status == "completed", (handle.dir / "worker.log").read_text()[-3000:]
    return handle


@pytest.fixture
def long_run(lab):
    """A run long enough (2000 steps) that it is still training when the test stops it (killed at the end
    if the test did not)."""
    import ft_lab
    handle = ft_lab.run(write_recipe(lab.home, steps=2000), runs_dir=lab.root / "runs")
    try:
        wait_for(lambda: any(e["type"] == "log" for e in lab.json(f"ft-lab/api/runs/{handle.id}/events")["events"]),
                 "the first training log event", timeout=300, poll=0.3)
        yield handle
    finally:
        handle.kill()


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
    run_dir = create_run(Recipe.from_yaml(write_recipe(lab.home, steps=6)), runs_dir=lab.root / "runs")
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


# --- in the browser (the chromium `browser` fixture is the Studio browser tests') -------------------
class ChromiumThread:
    """Chromium driven by Playwright from a thread of its own: the sync API allows one Playwright per
    thread, and the Studio browser tests (test_browser.py) hold the main thread's for the whole session."""

    def __init__(self):
        self.jobs: queue.Queue = queue.Queue()
        self.thread = threading.Thread(target=self._serve, name="chromium", daemon=True)
        self.thread.start()

    def _serve(self):
        from playwright.sync_api import sync_playwright
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS)
            while (job := self.jobs.get()) is not None:
                fn, answer = job
                try:
                    answer.put((True, fn(browser)))
                except BaseException as exc:  # handed to the test's thread
                    answer.put((False, exc))
            browser.close()

    def run(self, fn, timeout: float = 900):
        answer: queue.Queue = queue.Queue()
        self.jobs.put((fn, answer))
        ok, value = answer.get(timeout=timeout)
        if not ok:
            raise value
        return value

    def in_page(self, lab, name: str, body):
        """``body(page)`` on a fresh JupyterLab page; console and last screenshot saved under ``name``."""
        def job(browser):
            context = browser.new_context(viewport={"width": 1400, "height": 900})
            page = context.new_page()
            console: list[str] = []
            page.on("console", lambda m: console.append(f"{m.type}: {m.text}"))
            page.on("pageerror", lambda e: console.append(f"pageerror: {e}"))
            try:
                page.goto(lab.lab_url(), wait_until="domcontentloaded", timeout=90_000)
                page.wait_for_selector(".jp-LauncherCard", timeout=90_000)
                return body(page)
            finally:
                (SHOTS / f"{name}.console.txt").write_text("\n".join(console), encoding="utf-8")
                try:  # the page as the test left it (useful when it failed)
                    page.screenshot(path=str(SHOTS / f"{name}.last.png"))
                except Exception:
                    pass
                context.close()
        return self.run(job)

    def close(self):
        self.jobs.put(None)
        self.thread.join(timeout=60)


@pytest.fixture(scope="module")
def chromium():
    runner = ChromiumThread()
    yield runner
    runner.close()


def open_sidebar(page):
    page.locator(".jp-SideBar .lm-TabBar-tab[data-id='ft-lab-sidebar']").click()
    sidebar = page.locator("#ft-lab-sidebar")
    sidebar.wait_for(state="visible", timeout=10_000)
    return sidebar


@pytest.mark.browser
@needs_chromium
def test_sidebar_shows_the_run_its_report_and_the_plugins(lab, completed_run, chromium, request):
    def body(page):
        sidebar = open_sidebar(page)
        card = sidebar.locator(f".ft-lab-run[data-run-id='{completed_run.id}']")
        card.wait_for(timeout=30_000)
        value = completed_run.metrics()["finetuned"]["accuracy"]
        assert card.locator(".ft-lab-run-status").inner_text() == "completed"
        assert card.locator(".ft-lab-run-metric").inner_text() == f"accuracy {value:.4f}"
        assert card.locator(".ft-lab-run-steps").inner_text() == "step 6/6"
        assert card.locator("progress").evaluate("p => p.value") == 1
        page.screenshot(path=str(SHOTS / "sidebar_runs.png"))

        broken = sidebar.locator(".ft-lab-plugin-broken[data-plugin='ft-lab-broken-plugin']")
        broken.wait_for(timeout=30_000)
        assert "a_dependency_that_is_not_installed" in broken.locator(".ft-lab-plugin-error").inner_text()
        methods = sidebar.locator(".ft-lab-plugin-builtin[data-plugin='ft_lab.default_plugins.default_methods']")
        assert "lora" in methods.inner_text() and "built-in" in methods.inner_text()
        broken.scroll_into_view_if_needed()
        page.screenshot(path=str(SHOTS / "sidebar_plugins.png"))

        card.locator(".ft-lab-open-report").click()
        frame = page.frame_locator(".ft-lab-report iframe")
        frame.locator("h1").wait_for(timeout=60_000)
        assert completed_run.id in frame.locator("h1").inner_text()
        assert f"{value:.4g}" in frame.locator("body").inner_text()  # the report's number format
        page.screenshot(path=str(SHOTS / "report_tab.png"))

    chromium.in_page(lab, request.node.name, body)


@pytest.mark.browser
@needs_chromium
def test_sidebar_serves_a_completed_run_and_stops_it(lab, completed_run, chromium, request):
    """Serve on the run's card starts `ft-lab serve` in the Jupyter server (a new key file, a free 127.0.0.1
    port); the card shows the URL and where the key is, never the key; a client with the key gets an answer;
    Stop serving stops it."""
    import httpx

    path = f"ft-lab/api/runs/{completed_run.id}/serve"

    def body(page):
        card = open_sidebar(page).locator(f".ft-lab-run[data-run-id='{completed_run.id}']")
        card.wait_for(timeout=30_000)
        card.locator(".ft-lab-serve").click()
        try:
            card.locator(".ft-lab-serving-url").wait_for(timeout=300_000)
            (run,) = [r for r in lab.json("ft-lab/api/runs")["runs"] if r["id"] == completed_run.id]
            state = run["serving"]
            assert state["state"] == "serving" and card.locator(".ft-lab-serving-url").inner_text().endswith(state["url"])
            assert state["key_file"] == f"serving/{completed_run.id}/api-key" and state["url"].startswith("http://127.0.0.1:")
            assert card.locator(".ft-lab-serving-key").inner_text() == f"key: first line of {state['key_file']}"
            key = (lab.root / state["key_file"]).read_text(encoding="utf-8").strip()
            assert key not in json.dumps(lab.json("ft-lab/api/runs")) and key not in card.inner_text()
            page.screenshot(path=str(SHOTS / "sidebar_serving.png"))
            answer = httpx.post(state["url"] + "/classify", json={"input": "my card was stolen"},
                                headers={"Authorization": f"Bearer {key}"}, timeout=60)
            assert answer.status_code == 200 and answer.json()["data"][0]["label"], answer.text
            assert httpx.post(state["url"] + "/classify", json={"input": "x"}, timeout=60).status_code == 401
            assert lab.json(path, method="POST")["serving"]["state"] == "serving"  # already serving: the same one
            card.locator(".ft-lab-serve-stop").click()
            card.locator(".ft-lab-serve").wait_for(timeout=60_000)
        finally:
            lab.api("DELETE", path)
        (run,) = [r for r in lab.json("ft-lab/api/runs")["runs"] if r["id"] == completed_run.id]
        assert run["serving"] is None and (lab.root / "serving" / completed_run.id / "requests.sqlite").is_file()
        with pytest.raises(httpx.TransportError):
            httpx.get(state["url"] + "/models", timeout=10)

    chromium.in_page(lab, request.node.name, body)


@pytest.mark.browser
@needs_chromium
def test_launcher_card_creates_a_studio_notebook(lab, chromium, request):
    def body(page):
        before = set(lab.root.glob("*.ipynb"))
        card = page.locator(".jp-LauncherCard", has_text="Fine-tune a model")
        page.screenshot(path=str(SHOTS / "launcher.png"))
        card.click()
        created = wait_for(lambda: set(lab.root.glob("*.ipynb")) - before, "the new notebook file", timeout=60, poll=0.3)
        (path,) = created
        nb = wait_for(lambda: _saved_cells(path), "the Studio cell saved in the notebook", timeout=60,
                      poll=0.3)
        assert nb["cells"][0]["cell_type"] == "code" and "from ft_lab import Studio" in "".join(nb["cells"][0]["source"])
        assert nb["metadata"]["kernelspec"]["name"] == "python3"
        # the kernel runs the cell: the Studio renders in the notebook
        page.locator(".jp-Notebook .ft-lab-studio").wait_for(state="visible", timeout=180_000)
        page.screenshot(path=str(SHOTS / "launcher_studio_notebook.png"))

    chromium.in_page(lab, request.node.name, body)


@pytest.mark.browser
@needs_chromium
def test_examples_card_opens_a_copy_of_the_example(lab, chromium, request):
    def body(page):
        from ft_lab.server.handlers import example_title

        (lab.root / "quickstart.ipynb").write_text("{}")  # an existing file is never overwritten
        page.locator(".jp-LauncherCard", has_text="Examples").click()
        # several examples: a dialog lists each as "title (file name)"
        choice = page.locator(".jp-Dialog select")
        choice.wait_for(timeout=60_000)
        examples = sorted(p.name for p in (REPO / "example_notebooks").glob("*.ipynb"))
        options = [o.strip() for o in choice.locator("option").all_inner_texts()]
        assert sorted(o.split(" (")[-1].rstrip(")") for o in options) == examples, options
        quickstart = REPO / "example_notebooks" / "quickstart.ipynb"
        assert f"{example_title(quickstart)} (quickstart.ipynb)" in options, options
        choice.select_option(index=options.index(f"{example_title(quickstart)} (quickstart.ipynb)"))
        page.locator(".jp-Dialog .jp-mod-accept").click()
        copy = lab.root / "quickstart-1.ipynb"
        # Jupyter creates the file, then saves the notebook into it: wait for the saved notebook
        wait_for(lambda: copy.exists() and b'"cells"' in copy.read_bytes(), "the copy of the example notebook",
                 timeout=60, poll=0.3)
        original = json.loads((REPO / "example_notebooks" / "quickstart.ipynb").read_text(encoding="utf-8"))
        assert [c["source"] for c in json.loads(copy.read_text(encoding="utf-8"))["cells"]] == \
            [c["source"] for c in original["cells"]]
        assert (lab.root / "quickstart.ipynb").read_text() == "{}"
        page.locator(".jp-NotebookPanel .jp-MarkdownCell", has_text="ft-lab quickstart").first.wait_for(timeout=60_000)
        page.screenshot(path=str(SHOTS / "examples_copy.png"))

    chromium.in_page(lab, request.node.name, body)


def _saved_cells(path: Path):
    try:
        nb = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return nb if nb.get("cells") and "Studio" in "".join(nb["cells"][0].get("source", "")) else None


@pytest.mark.browser
@needs_chromium
def test_status_bar_follows_a_run_and_the_sidebar_stops_it(lab, long_run, chromium, request):
    def body(page):
        handle = long_run
        item = page.locator(".ft-lab-statusbar")
        item.wait_for(state="visible", timeout=60_000)
        wait_for(lambda: re.fullmatch(r"Fine-tuning \d+% · ETA (\d+:)?\d+:\d\d", item.inner_text()),
                 "progress and ETA in the status bar", timeout=60, poll=0.3, last=item.inner_text)
        page.screenshot(path=str(SHOTS / "statusbar_running.png"))
        sidebar = open_sidebar(page)
        card = sidebar.locator(f".ft-lab-run[data-run-id='{handle.id}']")
        card.wait_for(timeout=30_000)
        assert card.locator(".ft-lab-run-status").inner_text() == "running"
        card.locator(".ft-lab-stop").click()
        assert handle.wait(timeout=300) == "stopped"
        card.locator(".ft-lab-run-status", has_text="stopped").wait_for(timeout=30_000)
        item.wait_for(state="hidden", timeout=30_000)
        page.screenshot(path=str(SHOTS / "sidebar_stopped.png"))

    chromium.in_page(lab, request.node.name, body)
