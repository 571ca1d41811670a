"""The Studio after a page reload, in JupyterLab with "comms over subshells" on (JupyterLab 4.6's default,
which ft-lab's settings override turns off): its widgets' kernel subshell deleted, the page reloaded, Start
starts a run (issue 31's dead Start; the kernel side is tests/test_subshell_routing.py)."""
from __future__ import annotations

import json

import pytest

from browser_fixture import CHROMIUM, KERNEL_IDLE, reload_and_start_again, show_step, wait_status, write_notebook
from studio_support import write_studio_recipe

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(not CHROMIUM.exists(), reason=f"{CHROMIUM} is missing: `make setup` installs Debian's "
                       "chromium package with apt-get (Playwright's own browser download is not used)"),
]

COMMS_MODE = """() => window.jupyterapp.shell.currentWidget.sessionContext.session.kernel.commsOverSubshells"""


@pytest.mark.timeout(900)
def test_start_after_a_reload_when_the_widgets_subshell_is_gone(jupyter_lab, page, tmp_path):
    # a user setting wins over ft-lab's override: the widgets' comms go over one subshell per comm target
    setting = (jupyter_lab.root.parent / "settings" / "@jupyterlab" / "apputils-extension"
               / "kernels-settings.jupyterlab-settings")
    setting.parent.mkdir(parents=True, exist_ok=True)
    setting.write_text(json.dumps({"commsOverSubshells": "perCommTarget"}), encoding="utf-8")
    try:
        recipe = write_studio_recipe(tmp_path, max_steps=4)
        runs = tmp_path / "runs"
        name = write_notebook(jupyter_lab, f"reload_{tmp_path.name}.ipynb", recipe, runs)
        page.goto(jupyter_lab.open_url(name), wait_until="domcontentloaded", timeout=90_000)
        page.wait_for_function(KERNEL_IDLE, timeout=90_000)
        assert page.evaluate(COMMS_MODE) == "perCommTarget"
        page.evaluate("() => window.jupyterapp.commands.execute('notebook:run-all-cells')")
        studio = page.locator(".ft-lab-studio")
        studio.wait_for(state="visible", timeout=90_000)
        show_step(studio, "Train")
        studio.locator(".ft-lab-start").click()  # handled on the subshell: the kernel answers Start's comm there
        wait_status(page, studio, r"^\s*completed", 300)
        reload_and_start_again(page, jupyter_lab, name, runs, forget_subshells=True)
    finally:
        setting.unlink()
