"""Execute example notebooks top to bottom and save them with their outputs (and widget state), so they
read well when opened without a kernel.

    HF_HUB_OFFLINE=1 .venv/bin/python example_notebooks/execute.py [NOTEBOOK ...]
    .venv/bin/python example_notebooks/execute.py --outputs-only [NOTEBOOK ...]   # for_readers only

With no argument, every ``*.ipynb`` in this folder. Each runs in this folder with ``FT_LAB_RUNS_DIR``
pointing at a temporary folder, so no run directory is left behind; the kernel is this interpreter's.
``tests/test_example_notebooks.py`` runs the same function on a copy and checks the result.

Saved outputs are made for a reader who opens the notebook untrusted (JupyterLab's sanitiser drops
inline SVG, scripts and the colours it cannot parse): ``for_readers`` turns inline SVG charts into images
(``<img>`` with an SVG data URI, which the sanitiser keeps), ``hsla()``/``rgba()`` colours into plain hex,
gives widget outputs a static HTML view instead of their Python repr (a Studio's or RunsPanel's own
``static_html()``, as the widget stood after the last cell: a Studio shows its finished run), and replaces this machine's paths
(the checkout, temporary folders, the home folder) with placeholders.
"""
from __future__ import annotations

import json
import os
import re
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
WIDGET_VIEW = "application/vnd.jupyter.widget-view+json"
#: run in the kernel after the notebook's last cell: each live widget's static view as it is now (a Studio
#: shown before its run shows the finished run), by model id; the cell is removed before saving
STATIC_VIEWS = '''import json as _json
from ipywidgets.widgets.widget import _instances as _widgets
from ft_lab.widgets.static_view import StaticView as _StaticView
print(_json.dumps({_id: _w.static_html() for _id, _w in list(_widgets.items()) if isinstance(_w, _StaticView)}))'''


def machine_paths(runs_dir: Path | None = None) -> list[tuple[str, str]]:
    """(path, placeholder) for this machine's folders, longest first: the runs folder, the checkout (this
    one, and the one ``ft_lab`` is imported from), temporary folders, the home folder."""
    import ft_lab

    tmp = tempfile.gettempdir()
    pairs = [(str(runs_dir), "runs")] if runs_dir else []
    pairs += [(str(HERE.parent), "ft-lab"), (str(Path(ft_lab.__file__).resolve().parents[1]), "ft-lab"),
              (tmp, "TMPDIR"), (str(Path.home()), "~")]
    return sorted(pairs, key=lambda p: -len(p[0]))


def _text(value, fix) -> str | list:
    return [fix(v) for v in value] if isinstance(value, list) else fix(value)


def for_readers(nb, runs_dir: Path | None = None):
    """The notebook's outputs as an untrusted reader sees them well (see the module's docstring)."""
    from ft_lab.widgets.static_view import SVG, readable_untrusted, svg_img

    pairs = machine_paths(runs_dir)

    def scrub(text: str) -> str:
        text = re.sub(re.escape(tempfile.gettempdir()) + r"/ft-lab-nb-\w+", "runs", text)  # an earlier run's
        for path, placeholder in pairs:
            text = text.replace(path, placeholder)
        return text

    def html(text: str) -> str:
        return readable_untrusted(scrub(text))

    state = nb.metadata.get("widgets")
    if state:  # the saved widget state is shown without a kernel too: the same paths replaced in it
        nb.metadata["widgets"] = json.loads(scrub(json.dumps(state)))
    for cell in nb.cells:
        for out in cell.get("outputs", []):
            if "text" in out:
                out["text"] = _text(out["text"], scrub)
            data = out.get("data") or {}
            if "image/svg+xml" in data:  # not shown untrusted: an image instead
                data.setdefault("text/html", SVG.sub(svg_img, "".join(data.pop("image/svg+xml"))))
            if WIDGET_VIEW in data:
                plain = "".join(data.get("text/plain", "")) or "widget"
                name = plain.split("(", 1)[0]
                data["text/plain"] = f"{name} (a widget: run the cell to use it)"
                data.setdefault("text/html", f"<p><b>{name}</b>: an interactive widget; run the notebook's "
                                             "cells with a kernel to use it.</p>")
            for mime in list(data):
                if mime == "text/html":
                    data[mime] = _text(data[mime], html)
                elif mime.startswith("text/"):
                    data[mime] = _text(data[mime], scrub)
    return nb


def execute(path: Path, runs_dir: Path, kernel_name: str = "python3", timeout: int = 900):
    """Run the notebook at ``path`` in its folder with runs going to ``runs_dir``; returns the executed
    notebook (not saved). A cell that raises stops the run with ``nbclient.exceptions.CellExecutionError``."""
    import nbclient
    import nbformat

    nb = nbformat.read(path, as_version=4)
    saved = os.environ.get("FT_LAB_RUNS_DIR")
    os.environ["FT_LAB_RUNS_DIR"] = str(runs_dir)
    try:
        client = nbclient.NotebookClient(nb, timeout=timeout, kernel_name=kernel_name, store_widget_state=True,
                                         resources={"metadata": {"path": str(path.parent)}})
        nb.cells.append(nbformat.v4.new_code_cell(STATIC_VIEWS))
        client.execute()
        views = json.loads("".join(o.get("text", "") for o in nb.cells.pop().outputs if o.get("name") == "stdout"))
        for out in [o for c in nb.cells for o in c.get("outputs", [])]:
            model = (out.get("data") or {}).get(WIDGET_VIEW, {}).get("model_id")
            if model in views:
                out["data"]["text/html"] = views[model]
        for_readers(nb, runs_dir)
    finally:
        if saved is None:
            os.environ.pop("FT_LAB_RUNS_DIR", None)
        else:
            os.environ["FT_LAB_RUNS_DIR"] = saved
    return nb


def main(argv: list[str]) -> int:
    import nbformat

    if argv[:1] == ["--outputs-only"]:  # rewrite the saved outputs for readers, without running anything
        for path in [Path(a).resolve() for a in argv[1:]] or sorted(HERE.glob("*.ipynb")):
            nbformat.write(for_readers(nbformat.read(path, as_version=4)), path)
            print(f"{path.name}: outputs rewritten for readers")
        return 0
    paths = [Path(a).resolve() for a in argv] or sorted(HERE.glob("*.ipynb"))
    for path in paths:
        started = time.monotonic()
        with tempfile.TemporaryDirectory(prefix="ft-lab-nb-") as runs:
            nb = execute(path, Path(runs))
        nbformat.write(nb, path)
        print(f"{path.name}: executed and saved in {time.monotonic() - started:.0f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
