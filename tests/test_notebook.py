"""The Studio in a real kernel, headless (nbclient): build it, click Start, wait, find the metric table.

The example notebooks are executed by test_example_notebooks.py.
"""
from __future__ import annotations

import time
from pathlib import Path

import nbclient
import nbformat
import pytest

from studio_support import artifact_dir, kernel_name, write_studio_recipe  # noqa: F401  (kernel_name: a fixture)

METRICS_TABLE = '<table class="ft-lab-metrics">'

CLICK_START = '''\
def find(widget, css):
    """The first widget under ``widget`` with the CSS class ``css`` (depth first)."""
    if css in getattr(widget, "_dom_classes", ()):
        return widget
    for child in getattr(widget, "children", ()) or ():
        found = find(child, css)
        if found is not None:
            return found
    return None

start = find(studio, "ft-lab-start")
assert start is not None and start.description == "Start", start
start.click()
'''


def _execute(nb, cwd: Path, kernel_name: str, timeout: int = 600):
    client = nbclient.NotebookClient(nb, timeout=timeout, kernel_name=kernel_name,
                                     resources={"metadata": {"path": str(cwd)}})
    try:
        client.execute()
    finally:
        nbformat.write(nb, artifact_dir("notebook") / f"{nb.metadata.get('ft_lab_test', 'nb')}.ipynb")
    return nb


def _outputs_text(cell) -> str:
    parts = []
    for out in cell.get("outputs", []):
        if out.get("output_type") == "stream":
            parts.append(out.get("text", ""))
        for value in (out.get("data") or {}).values():
            parts.append(value if isinstance(value, str) else str(value))
    return "\n".join(parts)


@pytest.mark.timeout(900)  # a loaded 2-core machine; the wait inside ends on the run's status
def test_studio_click_start_wait_snapshot(tmp_path, kernel_name):
    recipe = write_studio_recipe(tmp_path)
    runs = tmp_path / "runs"
    v4 = nbformat.v4
    nb = v4.new_notebook(metadata={"ft_lab_test": "studio_click"})
    nb.cells = [
        v4.new_code_cell(f"from ft_lab import Studio\n"
                         f"studio = Studio.from_recipe({str(recipe)!r}, runs_dir={str(runs)!r})\nstudio"),
        v4.new_code_cell(CLICK_START),
        v4.new_code_cell("status = studio.wait(timeout=540)\nprint('status:', status)\n"
                         "assert status == 'completed', (status, studio.handle)"),
        v4.new_code_cell("studio.snapshot()"),
        v4.new_code_cell("print('run dir:', studio.handle.dir)"),
    ]
    t0 = time.monotonic()
    _execute(nb, tmp_path, kernel_name)
    print(f"notebook executed in {time.monotonic() - t0:.1f}s")

    shown = nb.cells[0].outputs[0]["data"]
    assert "application/vnd.jupyter.widget-view+json" in shown, shown.keys()
    assert "status: completed" in _outputs_text(nb.cells[2])
    assert METRICS_TABLE in _outputs_text(nb.cells[3])
    run_dir = Path(_outputs_text(nb.cells[4]).split("run dir:", 1)[1].strip())
    assert run_dir.parent == runs and (run_dir / "metrics.json").exists()
    # The widget state was saved with the notebook, so it renders where the kernel is gone.
    assert nb.metadata.get("widgets", {}).get("application/vnd.jupyter.widget-state+json")
