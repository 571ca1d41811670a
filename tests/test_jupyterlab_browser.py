"""The JupyterLab extension in Chromium (Debian's, through Playwright; no browser download), against the real
JupyterLab of the session (tests/jupyterlab_fixture.py): the sidebar's run cards, report tab, plugins, serving
and search rows, the launcher cards and the status bar. Screenshots go to test-artifacts/labextension/."""
from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

import pytest

from conftest import REPO
from jupyterlab_fixture import SHOTS, open_sidebar
from browser_fixture import CHROMIUM
from waiting import wait_for

needs_chromium = pytest.mark.skipif(
    not CHROMIUM.exists(), reason=f"{CHROMIUM} is missing: `make setup` installs Debian's chromium package")


# Where the sidebar breaks its names: a run id on two lines or cut, a plugin name broken between two letters.
NAMES_BROKEN = """(root) => {
  const out = [];
  const lines = (el) => { const r = document.createRange(); r.selectNodeContents(el);
    return new Set(Array.from(r.getClientRects()).filter(x => x.width > 0).map(x => Math.round(x.top))).size; };
  for (const el of root.querySelectorAll('.ft-lab-run-id')) {
    if (lines(el) > 1) out.push('run id on two lines: ' + el.textContent);
    if (el.scrollWidth > el.clientWidth + 1) out.push('run id cut: ' + el.textContent);
  }
  for (const el of root.querySelectorAll('.ft-lab-plugin-name')) {
    const walk = document.createTreeWalker(el, NodeFilter.SHOW_TEXT);
    let prev = null, last = '';
    for (let t = walk.nextNode(); t; t = walk.nextNode()) {
      for (let k = 0; k < t.textContent.length; k++) {
        const r = document.createRange(); r.setStart(t, k); r.setEnd(t, k + 1);
        const box = r.getBoundingClientRect(), ch = t.textContent[k];
        if (box.height && prev !== null && box.top > prev + 2 && /[A-Za-z0-9]/.test(last) && /[A-Za-z0-9]/.test(ch))
          out.push('plugin name broken inside a word: ' + el.textContent + ' before "' + t.textContent.slice(k) + '"');
        if (box.height) { prev = box.top; last = ch; }
      }
    }
  }
  return out;
}"""


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
        # at the sidebar's default width: run ids on one line and whole, plugin names broken only after . or _
        assert sidebar.evaluate(NAMES_BROKEN) == []
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
def test_sidebar_shows_a_search_as_one_row_with_its_trials_and_best_value(lab, completed_run, chromium, request):
    """A search folder under the runs folder (a real Optuna study: trials 0 and 1 completed, trial 2 running
    in the session's run) is one row: trials finished of the budget, the running trial's step, the best
    value; its Report button opens the search's page."""
    from test_search import written_search
    folder = written_search(lab.root / "runs", "browser-search", running_dir=completed_run.dir)

    def body(page):
        sidebar = open_sidebar(page)
        row = sidebar.locator(".ft-lab-search[data-search='browser-search']")
        row.wait_for(timeout=30_000)
        assert row.count() == 1 and row.locator(".ft-lab-run-id").inner_text() == "search:browser-search"
        assert row.locator(".ft-lab-run-status").inner_text() == "running"
        assert row.locator(".ft-lab-search-trials").inner_text() == "2/3 trials"
        assert row.locator(".ft-lab-run-elapsed").inner_text() == "trial 2: step 6/6"
        assert row.locator(".ft-lab-search-best").inner_text() == "best accuracy 0.8000 (trial 1)"
        assert row.locator("progress").evaluate("p => p.value") == pytest.approx(2 / 3)
        row.scroll_into_view_if_needed()
        page.screenshot(path=str(SHOTS / "sidebar_search.png"))
        row.locator(".ft-lab-open-search-report").click()
        frame = page.frame_locator(".ft-lab-report iframe")
        frame.locator("h1", has_text="ft-lab search: browser-search").wait_for(timeout=60_000)
        assert "Leaderboard" in frame.locator("body").inner_text()

    try:
        chromium.in_page(lab, request.node.name, body)
    finally:
        shutil.rmtree(folder)


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
