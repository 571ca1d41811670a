"""Execute example notebooks top to bottom and save them with their outputs (and widget state), so they
read well when opened without a kernel.

    HF_HUB_OFFLINE=1 .venv/bin/python example_notebooks/execute.py [NOTEBOOK ...]

With no argument, every ``*.ipynb`` in this folder. Each runs in this folder with ``FT_LAB_RUNS_DIR``
pointing at a temporary folder, so no run directory is left behind; the kernel is this interpreter's.
``tests/test_example_notebooks.py`` runs the same function on a copy and checks the result.
"""
from __future__ import annotations

import os
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent


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
        client.execute()
    finally:
        if saved is None:
            os.environ.pop("FT_LAB_RUNS_DIR", None)
        else:
            os.environ["FT_LAB_RUNS_DIR"] = saved
    return nb


def main(argv: list[str]) -> int:
    import nbformat

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
