"""The Jupyter server and the Chromium of the Studio's browser tests (test_browser.py,
test_browser_reload.py), shared by the session: JupyterLab and Notebook 7 from one server with temporary
Jupyter folders, headless Chromium (Debian's package, driven by Playwright). conftest.py imports the fixtures."""
from __future__ import annotations

import json
import os
import re
import secrets
import socket
import subprocess
import sys
import urllib.request
from pathlib import Path

import pytest

from conftest import REPO
from lab_server import stop_jupyter
from studio_support import KERNEL_NAME, artifact_dir, isolated_jupyter
from waiting import wait_for

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run"]
WIDTHS = (1400, 1000)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Lab:
    def __init__(self, url: str, token: str, root: Path, proc: subprocess.Popen):
        self.url, self.token, self.root, self.proc = url, token, root, proc

    def open_url(self, notebook: str, app: str = "lab") -> str:
        if app == "notebook":
            return f"{self.url}/notebooks/{notebook}?token={self.token}"
        return f"{self.url}/lab/tree/{notebook}?token={self.token}&reset"


@pytest.fixture(scope="session")
def jupyter_lab(tmp_path_factory):
    """A Jupyter server (JupyterLab and Notebook 7) for the whole session, with temporary Jupyter folders."""
    home = tmp_path_factory.mktemp("jupyter")
    root = home / "notebooks"
    root.mkdir()
    jenv = isolated_jupyter(home)
    config = Path(jenv["JUPYTER_CONFIG_DIR"])
    (config / "labconfig").mkdir(parents=True, exist_ok=True)
    # No "receive Jupyter news?" toast and no network calls for it (the network is closed).
    (config / "labconfig" / "page_config.json").write_text(json.dumps(
        {"disabledExtensions": {"@jupyterlab/apputils-extension:announcements": True}}))
    env = {**os.environ, **jenv}
    kernel_name = KERNEL_NAME
    port, token = _free_port(), secrets.token_hex(24)
    log_path = artifact_dir("browser") / "jupyterlab.log"
    log = open(log_path, "wb")
    cmd = [sys.executable, "-m", "jupyterlab", "--no-browser", "--allow-root", "--ip=127.0.0.1",
           f"--port={port}", "--ServerApp.port_retries=0", f"--IdentityProvider.token={token}",
           f"--ServerApp.root_dir={root}", "--LabApp.expose_app_in_browser=True",
           "--JupyterNotebookApp.expose_app_in_browser=True",
           "--LabApp.check_for_updates_class=jupyterlab.NeverCheckForUpdate",
           f"--MappingKernelManager.default_kernel_name={kernel_name}"]
    proc = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT, env=env, cwd=root,
                            start_new_session=True)
    url = f"http://127.0.0.1:{port}"
    try:
        def answers() -> bool:
            if proc.poll() is not None:
                raise RuntimeError(f"JupyterLab exited with {proc.returncode}; see {log_path}")
            try:
                with urllib.request.urlopen(f"{url}/api/status?token={token}", timeout=2) as r:
                    return r.status == 200
            except OSError:
                return False
        wait_for(answers, f"JupyterLab to answer on {url} (see {log_path})", timeout=120, poll=0.3)
        yield Lab(url, token, root, proc)
    finally:
        stop_jupyter(proc)
        log.close()


def chromium_env(folder: Path) -> dict[str, str]:
    """Chromium's environment: its cache and config folders (dconf among them) under ``folder``, not the home's."""
    for name in ("cache", "config"):
        (folder / name).mkdir(parents=True, exist_ok=True)
    return {**os.environ, "XDG_CACHE_HOME": str(folder / "cache"), "XDG_CONFIG_HOME": str(folder / "config")}


@pytest.fixture(scope="session")
def browser(tmp_path_factory):
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS,
                              env=chromium_env(tmp_path_factory.mktemp("chromium")))
        try:
            yield b
        finally:
            b.close()


@pytest.fixture
def page(browser, request):
    context = browser.new_context(viewport={"width": WIDTHS[0], "height": 900})
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


def write_notebook(lab: Lab, name: str, recipe: Path, runs: Path) -> str:
    import nbformat
    v4 = nbformat.v4
    nb = v4.new_notebook(metadata={"kernelspec": {"name": KERNEL_NAME, "display_name": "Python (ft-lab test)",
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

# Every subshell of the current notebook's kernel deleted; returns their ids.
DELETE_SUBSHELLS = """async () => {
  const kernel = window.jupyterapp.shell.currentWidget.sessionContext.session.kernel;
  const ids = (await kernel.requestListSubshell({}).done).content.subshell_id;
  for (const id of ids) await kernel.requestDeleteSubshell({subshell_id: id}).done;
  return ids;
}"""

PROGRESS = """(el) => {
  const bar = el.querySelector('.progress-bar');
  return bar ? parseFloat(bar.style.width || bar.style.height || '0') : -1;
}"""


def show_step(studio, title: str) -> None:
    """Click a step's tab so that its widgets are visible."""
    tab = studio.locator(".lm-TabBar-tab, .p-TabBar-tab").filter(has_text=re.compile(rf"^\s*{re.escape(title)}\s*$"))
    tab.first.click()


def status_text(studio) -> str:
    return studio.locator(".ft-lab-status").first.inner_text()


def wait_status(page, studio, pattern: str, timeout_s: float) -> str:
    seen = [""]

    def matches():
        seen[0] = status_text(studio)
        return seen[0] if re.search(pattern, seen[0]) else None
    return wait_for(matches, f"the Train status to match {pattern!r}", timeout=timeout_s, poll=0.25,
                    last=lambda: seen[0], sleep=lambda s: page.wait_for_timeout(s * 1000))


def reload_and_start_again(page, lab: Lab, name: str, runs: Path, forget_subshells: bool = False) -> None:
    """After a finished run: save the notebook, reload the page (the Studio is restored from the kernel, the
    cell is not run again), and Start: a new run starts (then Stop it). With ``forget_subshells``, the kernel's
    subshells are deleted before the reload, as JupyterLab does when its count of comms on one falls to 0:
    ipykernel 7.4 then dropped the restored widgets' messages ("Unknown subshell_id", the dead Start of
    issue 31) until ``ft_lab.widgets.subshell_routing`` (docs/jupyterlab.md)."""
    from jupyterlab.commands import get_app_dir
    from playwright.sync_api import expect

    shipped = REPO / "jupyter-config" / "lab-settings" / "overrides.d" / "ft-lab.json"
    installed = Path(get_app_dir()) / "settings" / "overrides.d" / "ft-lab.json"
    assert installed.exists() and installed.read_text() == shipped.read_text(), \
        f"{installed} is missing or differs from {shipped}: `make setup` (pip install -e .) installs it"
    runs_made = lambda: len([d for d in runs.iterdir() if (d / "run.json").exists()])  # noqa: E731
    before = runs_made()
    page.wait_for_function(KERNEL_IDLE, timeout=60_000)
    page.evaluate("() => window.jupyterapp.commands.execute('docmanager:save')")
    wait_for(lambda: "widget-view" in (lab.root / name).read_text(encoding="utf-8"),
             "the notebook to be saved with the Studio's view", timeout=30, poll=0.2,
             sleep=lambda s: page.wait_for_timeout(s * 1000))

    if forget_subshells:
        deleted = page.evaluate(DELETE_SUBSHELLS)
        assert deleted, "the page's widgets used no kernel subshell: comms over subshells is off"
    page.reload(wait_until="domcontentloaded", timeout=90_000)
    studio = page.locator(".ft-lab-studio")
    studio.wait_for(state="visible", timeout=90_000)
    page.wait_for_function(KERNEL_IDLE, timeout=90_000)
    show_step(studio, "Train")
    assert re.search(r"^\s*completed", status_text(studio)), status_text(studio)
    start = studio.locator(".ft-lab-start")
    expect(start).to_be_enabled(timeout=60_000)
    start.click()
    wait_for(lambda: runs_made() == before + 1, "Start after the reload to start a new run", timeout=120,
             poll=0.25, last=lambda: f"{runs_made()} run(s); status {status_text(studio)!r}",
             sleep=lambda s: page.wait_for_timeout(s * 1000))
    stop = studio.locator(".ft-lab-stop")
    expect(stop).to_be_enabled(timeout=120_000)
    stop.click()
    wait_status(page, studio, r"stopped at step \d+|^\s*completed|interrupted", 240)
