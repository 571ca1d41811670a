"""The Studio in a real browser: headless Chromium (Debian's package, driven by Playwright) against a
JupyterLab server started here. The Studio renders, Start starts a run, the progress bar moves, the
metric table appears; screenshots go to test-artifacts/browser/ (gitignored).

One JupyterLab server per test session (127.0.0.1, an ephemeral port, a random token), stopped at
the end. `make setup` installs /usr/bin/chromium with apt-get where it is missing.
"""
from __future__ import annotations

import json
import os
import re
import secrets
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from studio_support import artifact_dir, install_kernelspec, write_studio_recipe

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run"]

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(not CHROMIUM.exists(), reason=f"{CHROMIUM} is missing: `make setup` installs Debian's "
                       "chromium package with apt-get (Playwright's own browser download is not used)"),
]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Lab:
    def __init__(self, url: str, token: str, root: Path, proc: subprocess.Popen):
        self.url, self.token, self.root, self.proc = url, token, root, proc

    def open_url(self, notebook: str) -> str:
        return f"{self.url}/lab/tree/{notebook}?token={self.token}&reset"


@pytest.fixture(scope="session")
def jupyter_lab(tmp_path_factory):
    """A JupyterLab server for the whole session, isolated from the user's Jupyter settings."""
    kernel_name = install_kernelspec()
    home = tmp_path_factory.mktemp("jupyter")
    root = home / "notebooks"
    root.mkdir()
    config = home / "config"
    (config / "labconfig").mkdir(parents=True)
    # No "receive Jupyter news?" toast and no network calls for it (the network is closed).
    (config / "labconfig" / "page_config.json").write_text(json.dumps(
        {"disabledExtensions": {"@jupyterlab/apputils-extension:announcements": True}}))
    env = {**os.environ, "JUPYTER_CONFIG_DIR": str(config), "JUPYTER_RUNTIME_DIR": str(home / "runtime"),
           "JUPYTERLAB_SETTINGS_DIR": str(home / "settings"), "JUPYTERLAB_WORKSPACES_DIR": str(home / "ws"),
           "JUPYTER_PLATFORM_DIRS": "1"}
    port, token = _free_port(), secrets.token_hex(24)
    log_path = artifact_dir("browser") / "jupyterlab.log"
    log = open(log_path, "wb")
    cmd = [sys.executable, "-m", "jupyterlab", "--no-browser", "--allow-root", "--ip=127.0.0.1",
           f"--port={port}", "--ServerApp.port_retries=0", f"--IdentityProvider.token={token}",
           f"--ServerApp.root_dir={root}", "--LabApp.expose_app_in_browser=True",
           "--LabApp.check_for_updates_class=jupyterlab.NeverCheckForUpdate",
           f"--MappingKernelManager.default_kernel_name={kernel_name}"]
    proc = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT, env=env, cwd=root,
                            start_new_session=True)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 90
        while True:
            if proc.poll() is not None:
                raise RuntimeError(f"JupyterLab exited with {proc.returncode}; see {log_path}")
            try:
                with urllib.request.urlopen(f"{url}/api/status?token={token}", timeout=2) as r:
                    if r.status == 200:
                        break
            except OSError:
                pass
            if time.monotonic() > deadline:
                raise RuntimeError(f"JupyterLab did not answer on {url} within 90 s; see {log_path}")
            time.sleep(0.3)
        yield Lab(url, token, root, proc)
    finally:
        if proc.poll() is None:
            proc.send_signal(signal.SIGINT)  # a clean shutdown also shuts its kernels down
            try:
                proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                proc.send_signal(signal.SIGINT)
                try:
                    proc.wait(timeout=10)
                except subprocess.TimeoutExpired:
                    os.killpg(proc.pid, signal.SIGKILL)
                    proc.wait()
        log.close()


@pytest.fixture(scope="session")
def browser():
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS)
        try:
            yield b
        finally:
            b.close()


@pytest.fixture
def page(browser, request):
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    page = context.new_page()
    console: list[str] = []
    page.on("console", lambda m: console.append(f"{m.type}: {m.text}"))
    page.on("pageerror", lambda e: console.append(f"pageerror: {e}"))
    yield page
    out = artifact_dir("browser")
    (out / f"{request.node.name}.console.txt").write_text("\n".join(console), encoding="utf-8")
    try:  # the page as the test left it (useful when it failed)
        page.screenshot(path=str(out / f"{request.node.name}.last.png"), full_page=True)
    except Exception:
        pass
    context.close()


def _write_notebook(lab: Lab, name: str, recipe: Path, runs: Path) -> str:
    import nbformat
    v4 = nbformat.v4
    nb = v4.new_notebook(metadata={"kernelspec": {"name": install_kernelspec(), "display_name": "Python (ft-lab test)",
                                                  "language": "python"}})
    nb.cells = [v4.new_code_cell(f"from ft_lab import Studio\n"
                                 f"studio = Studio.from_recipe({str(recipe)!r}, runs_dir={str(runs)!r})\nstudio")]
    nbformat.write(nb, lab.root / name)
    return name


KERNEL_IDLE = """() => {
  const w = window.jupyterapp && window.jupyterapp.shell.currentWidget;
  const k = w && w.sessionContext && w.sessionContext.session && w.sessionContext.session.kernel;
  return !!k && k.status === 'idle';
}"""

PROGRESS = """(el) => {
  const bar = el.querySelector('.progress-bar');
  return bar ? parseFloat(bar.style.width || bar.style.height || '0') : -1;
}"""


def _show_step(page, studio, title: str) -> None:
    """Click a step's tab or accordion title (if the Studio has one) so that its widgets are visible."""
    tab = studio.locator(".lm-TabBar-tab, .p-TabBar-tab, .jupyter-widget-Collapse-header, "
                         ".p-Collapse-header").filter(has_text=re.compile(rf"^\s*{re.escape(title)}\s*$"))
    if tab.count():
        tab.first.click()


def test_studio_start_progress_metrics(jupyter_lab, page, tmp_path):
    recipe = write_studio_recipe(tmp_path)
    runs = tmp_path / "runs"
    name = _write_notebook(jupyter_lab, f"studio_{tmp_path.name}.ipynb", recipe, runs)
    shots = artifact_dir("browser")
    t0 = time.monotonic()
    marks = {}

    page.goto(jupyter_lab.open_url(name), wait_until="domcontentloaded", timeout=60_000)
    page.wait_for_selector(".jp-Notebook .jp-Cell", timeout=60_000)
    page.wait_for_function(KERNEL_IDLE, timeout=60_000)
    page.evaluate("() => window.jupyterapp.commands.execute('notebook:run-all-cells')")

    studio = page.locator(".ft-lab-studio")
    studio.wait_for(state="visible", timeout=60_000)
    _show_step(page, studio, "Train")
    start = studio.locator(".ft-lab-start")
    start.wait_for(state="visible", timeout=10_000)
    assert start.inner_text().strip() == "Start"
    page.screenshot(path=str(shots / "studio_before_start.png"), full_page=True)
    marks["rendered"] = time.monotonic()
    start.click()

    # The progress bar moves: some read is larger than the read before it, short of 100%.
    bar = studio.locator(".ft-lab-progress")
    bar.wait_for(state="visible", timeout=10_000)
    reads, moved, deadline = [], False, time.monotonic() + 180
    while time.monotonic() < deadline:
        value = bar.evaluate(PROGRESS)
        moved = moved or bool(reads and 0 <= reads[-1] < value)
        reads.append(value)
        if value >= 100 or (moved and any(0 < v < 100 for v in reads)):
            break
        page.wait_for_timeout(100)
    distinct = sorted(set(reads))
    assert moved, f"the progress bar never moved: distinct reads {distinct}"
    assert any(0 < v < 100 for v in distinct), f"no intermediate progress seen: {distinct}"

    marks["moved"] = time.monotonic()
    page.screenshot(path=str(shots / "studio_training.png"), full_page=True)

    # The metric table appears when the run has ended (it may sit in a hidden Evaluate tab until shown).
    table = studio.locator(".ft-lab-metrics-widget table.ft-lab-metrics").first
    table.wait_for(state="attached", timeout=240_000)
    marks["table"] = time.monotonic()
    status = studio.locator(".ft-lab-status").first.text_content()
    progress_text = studio.locator(".ft-lab-progress-text").first.text_content()
    final = bar.evaluate(PROGRESS)
    page.screenshot(path=str(shots / "studio_trained.png"), full_page=True)
    if not table.is_visible():
        _show_step(page, studio, "Evaluate")
    table.wait_for(state="visible", timeout=10_000)
    text = table.inner_text()
    assert "accuracy" in text, text
    page.screenshot(path=str(shots / "studio.png"), full_page=True)
    # Every widget of the Studio rendered: none shows ipywidgets' "Click to show javascript error" box.
    broken = studio.locator(".jupyter-widgets-error-widget")
    if broken.count():
        _show_step(page, studio, "Train")
        page.screenshot(path=str(shots / "studio_widget_errors.png"), full_page=True)
    assert broken.count() == 0, (f"{broken.count()} widget(s) of the Studio failed to render (see "
                                 f"{shots}/studio_widget_errors.png and the browser console log there)")
    print(f"progress reads {distinct}, final {final}; status {status!r}; progress text {progress_text!r}")
    assert final == 100, final
    (run_dir,) = [p for p in runs.iterdir() if p.is_dir()]
    end = [json.loads(x) for x in (run_dir / "events.jsonl").read_text().splitlines() if '"train_end"' in x]
    print(f"train_runtime with the browser open: {end[-1]['train_runtime'] if end else None}s; "
          f"marks {[(k, round(v - t0, 1)) for k, v in marks.items()]}")
