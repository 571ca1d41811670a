"""Helpers shared by the Studio tests (notebook and browser): a small recipe, a kernelspec, artifacts."""
from __future__ import annotations

import csv
import json
import subprocess
import sys
from pathlib import Path

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


def write_studio_recipe(folder: Path, max_steps: int = 60) -> Path:
    """A recipe file and its CSV (5 intents x 40 rows of the bundled BANKING77 sample) in ``folder``."""
    folder.mkdir(parents=True, exist_ok=True)
    with open(folder / "tickets.csv", "w", newline="", encoding="utf-8") as f:
        w = csv.DictWriter(f, fieldnames=["text", "category"])
        w.writeheader()
        w.writerows(banking_rows(per_class=40, classes=5))
    path = folder / "recipe.yaml"
    path.write_text(STUDIO_RECIPE.replace("max_steps: 60", f"max_steps: {max_steps}"), encoding="utf-8")
    return path


def install_kernelspec() -> str:
    """Install (idempotently) a kernelspec named ft-lab-test into this interpreter's prefix."""
    spec = Path(sys.prefix) / "share" / "jupyter" / "kernels" / KERNEL_NAME / "kernel.json"
    if not spec.exists() or json.loads(spec.read_text()).get("argv", [None])[0] != sys.executable:
        subprocess.run([sys.executable, "-m", "ipykernel", "install", "--sys-prefix", "--name", KERNEL_NAME,
                        "--display-name", "Python (ft-lab test)"], check=True, capture_output=True)
    return KERNEL_NAME


def artifact_dir(name: str) -> Path:
    path = ARTIFACTS / name
    path.mkdir(parents=True, exist_ok=True)
    return path
