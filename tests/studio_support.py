"""Helpers shared by the Studio tests (notebook and browser): a small recipe, isolated Jupyter folders with
a kernelspec in them, artifacts."""
from __future__ import annotations

import csv
import json
import sys
from pathlib import Path

import pytest

from conftest import ARTIFACTS, banking_rows

KERNEL_NAME = "ft-lab-test"

# Long enough (60 steps, logged every 5) that a progress bar is seen moving; small enough for 2 cores.
STUDIO_RECIPE = """\
task: classification
data:
  path: tickets.csv
  columns: {text: text, label: category}
model: {name_or_path: tiny, max_length: 48}
method: {name: full}
train: {max_steps: 60, batch_size: 8, learning_rate: 0.001, logging_steps: 5}
evaluate: [accuracy, macro_f1]
"""


def write_studio_recipe(folder: Path, max_steps: int = 60, save_steps: int | None = None) -> Path:
    """A recipe file and its CSV (5 intents x 40 rows of the bundled BANKING77 sample) in ``folder``."""
    folder.mkdir(parents=True, exist_ok=True)
    with open(folder / "tickets.csv", "w", newline="", encoding="utf-8") as f:
        w = csv.DictWriter(f, fieldnames=["text", "category"])
        w.writeheader()
        w.writerows(banking_rows(per_class=40, classes=5))
    path = folder / "recipe.yaml"
    text = STUDIO_RECIPE.replace("max_steps: 60", f"max_steps: {max_steps}")
    if save_steps:
        text = text.replace("logging_steps: 5", f"logging_steps: 5, save_steps: {save_steps}")
    path.write_text(text, encoding="utf-8")
    return path


def isolated_jupyter(root: Path) -> dict[str, str]:
    """Temporary Jupyter config, data, runtime, IPython and JupyterLab settings folders under ``root``, with a
    kernelspec for this interpreter written there: nothing goes into the venv or the user's folders.
    Returns the environment variables that point Jupyter at them."""
    dirs = {"JUPYTER_CONFIG_DIR": root / "config", "JUPYTER_DATA_DIR": root / "data",
            "JUPYTER_RUNTIME_DIR": root / "runtime", "IPYTHONDIR": root / "ipython",
            "JUPYTERLAB_SETTINGS_DIR": root / "settings", "JUPYTERLAB_WORKSPACES_DIR": root / "workspaces"}
    for path in dirs.values():
        path.mkdir(parents=True, exist_ok=True)
    spec = dirs["JUPYTER_DATA_DIR"] / "kernels" / KERNEL_NAME
    spec.mkdir(parents=True, exist_ok=True)
    (spec / "kernel.json").write_text(json.dumps({
        "argv": [sys.executable, "-m", "ipykernel_launcher", "-f", "{connection_file}"],
        "display_name": "Python (ft-lab test)", "language": "python"}), encoding="utf-8")
    return {**{k: str(v) for k, v in dirs.items()}, "JUPYTER_PLATFORM_DIRS": "1"}


def artifact_dir(name: str) -> Path:
    path = ARTIFACTS / name
    path.mkdir(parents=True, exist_ok=True)
    return path


@pytest.fixture(scope="module")
def kernel_name(tmp_path_factory):
    """A kernelspec in temporary Jupyter folders (nothing installed into the venv or the user's folders)."""
    with pytest.MonkeyPatch.context() as mp:
        for key, value in isolated_jupyter(tmp_path_factory.mktemp("jupyter")).items():
            mp.setenv(key, value)
        yield KERNEL_NAME

