"""The JupyterLab server of the extension tests (test_jupyterlab_api.py, test_jupyterlab_browser.py), shared
by the session: one server (temporary Jupyter config and data folders, ``--FtLab.runs_dir=runs`` inside its root
folder, the broken test plugin on its PYTHONPATH), one real run trained from a recipe into its runs folder, and
Chromium driven from a thread of its own. conftest.py imports the fixtures; screenshots and the server's log go
to test-artifacts/labextension/."""
from __future__ import annotations

import csv
import os
import queue
import subprocess
import sys
import threading
from pathlib import Path

import pytest

from conftest import ARTIFACTS, REPO, banking_rows
from lab_server import LabServer
from waiting import wait_for

SHOTS = ARTIFACTS / "labextension"

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

def write_lab_recipe(folder: Path, steps: int, log: int = 1) -> Path:
    csv_path = folder / "tickets.csv"
    if not csv_path.exists():
        with open(csv_path, "w", newline="", encoding="utf-8") as f:
            w = csv.DictWriter(f, fieldnames=["text", "category"])
            w.writeheader()
            w.writerows(banking_rows(per_class=20, classes=4))
    path = folder / f"recipe_{steps}.yaml"
    path.write_text(RECIPE.format(csv=csv_path, steps=steps, log=log), encoding="utf-8")
    return path


@pytest.fixture(scope="session")
def lab_plugin_site(tmp_path_factory):
    """The test plugin package whose import fails, installed with pip into a folder for PYTHONPATH."""
    site = tmp_path_factory.mktemp("site")
    subprocess.run([sys.executable, "-m", "pip", "install", "-q", "--no-deps", "--no-build-isolation", "--no-index",
                    "--target", str(site), str(REPO / "tests" / "plugin_packages" / "ft-lab-broken-plugin")],
                   check=True, capture_output=True, text=True)
    return site


@pytest.fixture(scope="session")
def lab(tmp_path_factory, lab_plugin_site):
    home = tmp_path_factory.mktemp("lab")
    root = home / "notebooks"
    root.mkdir()
    SHOTS.mkdir(parents=True, exist_ok=True)
    with LabServer(home, root, extra_args=["--FtLab.runs_dir=runs",
                                           "--ServerApp.allow_unauthenticated_access=True"],
                   env_extra={"PYTHONPATH": os.pathsep.join(filter(None, [str(lab_plugin_site),
                                                                          os.environ.get("PYTHONPATH")]))},
                   log_path=SHOTS / "jupyterlab.log") as server:
        yield server


@pytest.fixture(scope="session")
def completed_run(lab):
    """A real run trained from a recipe (tiny model, 6 steps) into the server's runs folder."""
    import ft_lab
    handle = ft_lab.run(write_lab_recipe(lab.home, steps=6, log=2), runs_dir=lab.root / "runs")
    status = handle.wait(timeout=600)
    assert status == "completed", (handle.dir / "worker.log").read_text()[-3000:]
    return handle


@pytest.fixture
def long_run(lab):
    """A run long enough (2000 steps) that it is still training when the test stops it (killed at the end
    if the test did not)."""
    import ft_lab
    handle = ft_lab.run(write_lab_recipe(lab.home, steps=2000), runs_dir=lab.root / "runs")
    try:
        wait_for(lambda: any(e["type"] == "log" for e in lab.json(f"ft-lab/api/runs/{handle.id}/events")["events"]),
                 "the first training log event", timeout=300, poll=0.3)
        yield handle
    finally:
        handle.kill()


class ChromiumThread:
    """Chromium driven by Playwright from a thread of its own: the sync API allows one Playwright per
    thread, and the Studio browser tests (test_browser.py) hold the main thread's for the whole session."""

    def __init__(self, home: Path):
        self.home = home  # Chromium's cache and config folders
        self.jobs: queue.Queue = queue.Queue()
        self.thread = threading.Thread(target=self._serve, name="chromium", daemon=True)
        self.thread.start()

    def _serve(self):
        from playwright.sync_api import sync_playwright

        from browser_fixture import CHROMIUM, CHROMIUM_ARGS, chromium_env  # the Studio browser tests' Chromium
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS,
                                        env=chromium_env(self.home))
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


@pytest.fixture(scope="session")
def chromium(tmp_path_factory):
    runner = ChromiumThread(tmp_path_factory.mktemp("chromium"))
    yield runner
    runner.close()


def open_sidebar(page):
    page.locator(".jp-SideBar .lm-TabBar-tab[data-id='ft-lab-sidebar']").click()
    sidebar = page.locator("#ft-lab-sidebar")
    sidebar.wait_for(state="visible", timeout=10_000)
    return sidebar
