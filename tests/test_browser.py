"""The Studio in a real browser: headless Chromium (Debian's package, driven by Playwright) against one
Jupyter server (JupyterLab and Notebook 7 both) with temporary Jupyter folders (tests/browser_fixture.py).

In each app the test clicks through every step and, by clicks and typing only: Start, Stop (the run
stops at a checkpoint), Resume (the panel follows the resumed run to "completed"), the Playground (base
and fine-tuned answers side by side) and Export (the model card appears). Every step is screenshotted at
1400 and 1000 px wide into test-artifacts/browser/ and checked for overlapping widgets and cut labels by
their bounding boxes.

`make setup` installs /usr/bin/chromium with apt-get where it is missing.
"""
from __future__ import annotations

import re
import time

import pytest

from browser_fixture import (CHROMIUM, KERNEL_IDLE, PROGRESS, WIDTHS, reload_and_start_again, show_step, status_text,
                             wait_status, write_notebook)
from conftest import REPO
from studio_support import artifact_dir, write_studio_recipe
from waiting import wait_for

STEPS = ("Data", "Model", "Train", "Search", "Evaluate", "Errors", "Playground", "Export", "Runs")

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(not CHROMIUM.exists(), reason=f"{CHROMIUM} is missing: `make setup` installs Debian's "
                       "chromium package with apt-get (Playwright's own browser download is not used)"),
]


# Overlaps between visible leaf widgets (a widget with no widget inside it), labels cut short, and content
# wider than the Studio. Returns a list of readable problems.
LAYOUT_PROBLEMS = """(root) => {
  const visible = (el) => { const r = el.getBoundingClientRect(); const s = getComputedStyle(el);
    return r.width > 1 && r.height > 1 && s.visibility !== 'hidden' && el.offsetParent !== null; };
  const name = (el) => (el.className && el.className.toString().split(' ').filter(c => c.startsWith('widget-')
      || c.startsWith('ft-lab') || c.startsWith('bqplot')).slice(0, 3).join('.')) + ' "' +
      (el.innerText || '').trim().slice(0, 30).replace(/\s+/g, ' ') + '"';
  const all = Array.from(root.querySelectorAll('.jupyter-widgets, .bqplot')).filter(visible);
  const leaves = all.filter(el => el.classList.contains('bqplot') ||
      !Array.from(el.querySelectorAll('.jupyter-widgets')).some(visible));
  const top = leaves.filter(el => !leaves.some(o => o !== el && o.contains(el)));
  const out = [];
  for (let i = 0; i < top.length; i++) {
    const a = top[i].getBoundingClientRect();
    for (let j = i + 1; j < top.length; j++) {
      if (top[i].contains(top[j]) || top[j].contains(top[i])) continue;
      const b = top[j].getBoundingClientRect();
      const w = Math.min(a.right, b.right) - Math.max(a.left, b.left);
      const h = Math.min(a.bottom, b.bottom) - Math.max(a.top, b.top);
      if (w > 3 && h > 3) out.push('overlap: ' + name(top[i]) + ' / ' + name(top[j]) + ` (${w.toFixed(0)}x${h.toFixed(0)} px)`);
    }
  }
  for (const el of root.querySelectorAll('.widget-label, .widget-label-basic span, .lm-TabBar-tabLabel, .p-TabBar-tabLabel, .widget-button, .jupyter-button')) {
    if (visible(el) && el.scrollWidth > el.clientWidth + 2) out.push('cut: ' + name(el) + ` (${el.scrollWidth} > ${el.clientWidth} px)`);
  }
  for (const el of root.querySelectorAll('table.ft-lab-fit, .ft-lab-metrics')) {
    const box = el.closest('.jupyter-widgets');
    if (visible(el) && box && el.getBoundingClientRect().right > root.getBoundingClientRect().right + 2)
      out.push('wider than the Studio: ' + name(el));
  }
  // the Studio wider than its box (a horizontal scrollbar under it)
  for (const el of [root, root.parentElement]) {
    if (el && el.scrollWidth > el.clientWidth + 1) out.push(`horizontal overflow: ${name(el)} needs ` +
        `${el.scrollWidth} px in ${el.clientWidth} px`);
  }
  // chart legends inside their figure and on no curve (points along each line, in page coordinates)
  for (const fig of Array.from(root.querySelectorAll('.bqplot')).filter(visible)) {
    const f = fig.getBoundingClientRect();
    for (const leg of fig.querySelectorAll('g.g_legend')) {
      const l = leg.getBoundingClientRect();
      if (l.width < 1) continue;
      if (l.left < f.left - 1 || l.right > f.right + 1 || l.top < f.top - 1 || l.bottom > f.bottom + 1)
        out.push('legend cut: ' + name(fig));
      for (const path of fig.querySelectorAll('path.line')) {
        const m = path.getScreenCTM(), n = path.getTotalLength();
        for (let k = 0; m && k <= 50; k++) {
          const p = path.getPointAtLength(n * k / 50), x = m.a * p.x + m.c * p.y + m.e, y = m.b * p.x + m.d * p.y + m.f;
          if (n > 0 && x > l.left && x < l.right && y > l.top && y < l.bottom) {
            out.push('legend on a curve: ' + name(fig)); break; }
        }
      }
    }
  }
  // table cells: no word broken between two letters or digits (breaks after _ / - and spaces are fine)
  const word = /[\p{L}\p{N}]/u;
  for (const cell of Array.from(root.querySelectorAll('td, th')).filter(visible).slice(0, 600)) {
    const walk = document.createTreeWalker(cell, NodeFilter.SHOW_TEXT);
    for (let t = walk.nextNode(); t; t = walk.nextNode()) {
      for (const m of t.textContent.matchAll(/\S{2,}/g)) {
        const range = document.createRange();
        range.setStart(t, m.index); range.setEnd(t, m.index + m[0].length);
        const tops = new Set(Array.from(range.getClientRects()).filter(r => r.width > 0).map(r => Math.round(r.top)));
        if (tops.size < 2) continue;
        let prev = null;
        for (let k = 0; k < m[0].length; k++) {
          range.setStart(t, m.index + k); range.setEnd(t, m.index + k + 1);
          const r = range.getBoundingClientRect();
          if (!r.height) continue;
          if (prev !== null && r.top > prev + 2) {
            if (word.test(m[0][k - 1]) && word.test(m[0][k]))
              out.push(`word broken: "${m[0].slice(0, k)} / ${m[0].slice(k)}" in ` + name(cell.closest('table') || cell));
            break;
          }
          prev = r.top;
        }
      }
    }
  }
  return out;
}"""


def _shoot_steps(page, studio, app: str, width: int, shots: Path) -> list[str]:
    """Every step at ``width`` px: a screenshot each, and the layout problems found."""
    page.set_viewport_size({"width": width, "height": 900})
    problems = []
    for step in STEPS:
        show_step(studio, step)
        page.wait_for_timeout(300)
        slug = step.lower().replace(" ", "_")
        studio.screenshot(path=str(shots / f"{app}_{width}_{slug}.png"))
        problems += [f"{app} {width}px {step}: {p}" for p in studio.evaluate(LAYOUT_PROBLEMS)]
    return problems


@pytest.mark.timeout(1500)  # a loaded 2-core machine; the waits inside are on what the page shows
@pytest.mark.parametrize("app", ["lab", "notebook"])
def test_studio_by_clicks(jupyter_lab, page, tmp_path, app):
    recipe = write_studio_recipe(tmp_path, max_steps=60, save_steps=10)
    runs = tmp_path / "runs"
    name = write_notebook(jupyter_lab, f"studio_{app}_{tmp_path.name}.ipynb", recipe, runs)
    shots = artifact_dir("browser")
    t0 = time.monotonic()
    marks = {}

    page.goto(jupyter_lab.open_url(name, app), wait_until="domcontentloaded", timeout=90_000)
    page.wait_for_selector(".jp-Notebook .jp-Cell", timeout=90_000)
    page.wait_for_function(KERNEL_IDLE, timeout=90_000)
    page.evaluate("() => window.jupyterapp.commands.execute('notebook:run-all-cells')")
    studio = page.locator(".ft-lab-studio")
    studio.wait_for(state="visible", timeout=90_000)
    marks["rendered"] = time.monotonic()
    layout = _shoot_steps(page, studio, app, WIDTHS[0], shots)
    (shots / f"{app}_layout_problems.txt").write_text("\n".join(layout), encoding="utf-8")

    # Start, then Stop as soon as the bar moves: the run stops at a checkpoint.
    from playwright.sync_api import expect
    show_step(studio, "Train")
    start = studio.locator(".ft-lab-start")
    assert start.inner_text().strip() == "Start"
    start.click()
    bar = studio.locator(".ft-lab-progress")
    wait_for(lambda: bar.evaluate(PROGRESS) > 0, "the progress bar to move", timeout=240, poll=0.1,
             last=lambda: f"status {status_text(studio)!r}", sleep=lambda s: page.wait_for_timeout(s * 1000))
    studio.locator(".ft-lab-stop").click()
    stopped = wait_status(page, studio, r"stopped at step \d+|completed", 240)
    assert "stopped at step" in stopped, f"the run ended before Stop took effect: {stopped!r}"
    page.screenshot(path=str(shots / f"{app}_stopped.png"), full_page=True)
    marks["stopped"] = time.monotonic()
    print(f"{app}: stopped after {marks['stopped'] - t0:.0f} s")

    # Resume: the panel follows the resumed run to its new end.
    resume = studio.locator(".ft-lab-resume")
    expect(resume).to_be_enabled(timeout=60_000)
    resume.click()
    wait_status(page, studio, r"^\s*completed", 480)
    assert bar.evaluate(PROGRESS) == 100
    marks["completed"] = time.monotonic()
    table = studio.locator(".ft-lab-metrics-widget table.ft-lab-metrics").first
    table.wait_for(state="attached", timeout=60_000)
    show_step(studio, "Evaluate")
    assert "accuracy" in table.inner_text()

    # Playground: both models answer, side by side.
    show_step(studio, "Playground")
    studio.locator(".ft-lab-playground-input textarea").fill("my card was stolen\nhow do I top up?")
    studio.locator(".ft-lab-try").click()
    answers = studio.locator(".ft-lab-playground-table")
    answers.wait_for(state="visible", timeout=240_000)
    heads = answers.locator("th").all_inner_texts()
    assert heads == ["input", "base model", "fine-tuned model"], heads
    assert answers.locator("tbody tr").count() == 2
    marks["playground"] = time.monotonic()

    # Export: adapter or weights, tokenizer and the model card.
    show_step(studio, "Export")
    out = tmp_path / f"export_{app}"
    studio.locator(".ft-lab-export-panel input[type=text]").first.fill(str(out))
    studio.locator(".ft-lab-export-run").click()
    card = studio.locator(".ft-lab-model-card pre")
    card.wait_for(state="visible", timeout=240_000)
    assert "## Evaluation" in card.inner_text() and (out / "README.md").exists()
    marks["exported"] = time.monotonic()

    layout += _shoot_steps(page, studio, app, WIDTHS[1], shots)
    layout += _shoot_steps(page, studio, app, WIDTHS[0], shots)  # with results in every step
    broken = studio.locator(".jupyter-widgets-error-widget")
    assert broken.count() == 0, f"{broken.count()} widget(s) of the Studio failed to render"
    (shots / f"{app}_layout_problems.txt").write_text("\n".join(layout), encoding="utf-8")
    assert not layout, "\n".join(layout)
    if app == "lab":
        reload_and_start_again(page, jupyter_lab, name, runs)
        marks["started after a reload"] = time.monotonic()
    print(f"{app}: marks {[(k, round(v - t0, 1)) for k, v in marks.items()]}")


# In the outputs of an untrusted notebook: text on a background of its own colour (white on white), charts
# that did not load, a widget shown as its Python repr, an SVG JupyterLab refused to show.
UNTRUSTED_PROBLEMS = """() => {
  const out = [];
  const outputs = Array.from(document.querySelectorAll('.jp-Notebook .jp-OutputArea-output'));
  const bg = (el) => { for (; el; el = el.parentElement) { const c = getComputedStyle(el).backgroundColor;
    if (c && c !== 'rgba(0, 0, 0, 0)' && c !== 'transparent') return c; } return 'rgb(255, 255, 255)'; };
  for (const o of outputs) {
    const text = o.innerText || '';
    if (/children=\\(|Cannot display an untrusted SVG/.test(text)) out.push('shown as text: ' + text.slice(0, 80));
    for (const img of o.querySelectorAll('img'))
      if (!img.complete || img.naturalWidth === 0) out.push('an image that did not load: ' + (img.alt || img.src.slice(0, 40)));
    for (const cell of o.querySelectorAll('td, th, span')) {
      if ((cell.innerText || '').trim() && cell.children.length === 0 && getComputedStyle(cell).color === bg(cell))
        out.push(`text in its background's colour: "${cell.innerText.trim().slice(0, 20)}"`);
    }
  }
  return out;
}"""


def test_example_notebook_reads_well_untrusted(jupyter_lab, page):
    """The quickstart as a reader opens it (not trusted: this server never ran it): its loss curve and
    confusion matrix show, as images and readable colours, and the Studio cell shows a static view of its
    panels: the steps, the run's verdict, metric table and loss curve."""
    import shutil
    name = "quickstart_untrusted.ipynb"
    shutil.copy(REPO / "example_notebooks" / "quickstart.ipynb", jupyter_lab.root / name)
    page.goto(jupyter_lab.open_url(name), wait_until="domcontentloaded", timeout=90_000)
    page.wait_for_selector(".jp-Notebook .jp-OutputArea-output", timeout=90_000)
    assert page.evaluate("() => window.jupyterapp.shell.currentWidget.content.model.cells.get(0).trusted") is False
    charts = page.locator(".jp-Notebook .jp-OutputArea-output img[alt=chart]")
    # the Studio cell's saved static view: its steps, the current one's panel, the finished run
    static = page.locator(".jp-Notebook .jp-OutputArea-output").filter(
        has_text="a static view: run the cell with a kernel to use the Studio")
    images = page.locator(".jp-Notebook .jp-OutputArea-output img")
    # every output rendered (the snapshot's chart and the Studio's static view among them), its images loaded
    wait_for(lambda: charts.count() > 0 and static.count() > 0
             and all(images.nth(i).evaluate("i => i.complete") for i in range(images.count())),
             "the saved chart and the Studio's static view", timeout=90, poll=0.25,
             last=lambda: "; ".join(page.evaluate(UNTRUSTED_PROBLEMS)) or "no chart or no static view yet",
             sleep=lambda s: page.wait_for_timeout(s * 1000))
    charts.first.scroll_into_view_if_needed()  # the saved snapshot (curve, confusion matrix) as a reader sees it
    page.screenshot(path=str(artifact_dir("browser") / "quickstart_untrusted.png"))
    problems = page.evaluate(UNTRUSTED_PROBLEMS)
    assert not problems, "\n".join(problems)
    studio = static.first
    studio.scroll_into_view_if_needed()
    page.screenshot(path=str(artifact_dir("browser") / "quickstart_untrusted_studio.png"))
    shown = studio.inner_text()
    assert "is best:" in shown and "fine-tuned" in shown, shown[:600]  # the run's verdict and metric table
    assert studio.locator("table").count() >= 1 and studio.locator("img[alt=chart]").count() == 1, shown[:600]
