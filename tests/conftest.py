"""Shared fixtures: offline settings, a runs folder per test, small real data files."""
from __future__ import annotations

import csv
import json
import os
import subprocess
import sys
from importlib import resources
from pathlib import Path

import pytest

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("HF_DATASETS_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
os.environ.setdefault("TRANSFORMERS_NO_ADVISORY_WARNINGS", "1")

REPO = Path(__file__).resolve().parent.parent
ARTIFACTS = REPO / "test-artifacts"


@pytest.fixture(autouse=True)
def _runs_dir(tmp_path, monkeypatch):
    monkeypatch.setenv("FT_LAB_RUNS_DIR", str(tmp_path / "runs"))


@pytest.fixture
def no_orphan_workers(tmp_path):
    """A test that fails on a timeout must not leave its worker training in the background."""
    yield
    from ft_lab.workflows.runner import lock_holder
    for lock in tmp_path.glob("**/worker.lock"):
        pid = lock_holder(lock.parent)
        if pid:
            os.kill(pid, 9)


@pytest.fixture(scope="session")
def tiny_model_dir():
    from ft_lab.models.tiny import ensure_tiny
    return ensure_tiny()


def banking_rows(per_class: int | None = None, classes: int | None = None) -> list[dict]:
    text = resources.files("ft_lab").joinpath("assets/banking77_sample.csv").read_text(encoding="utf-8")
    rows = list(csv.DictReader(text.splitlines()))
    if classes:
        keep = sorted({r["category"] for r in rows})[:classes]
        rows = [r for r in rows if r["category"] in keep]
    if per_class:
        seen: dict[str, int] = {}
        out = []
        for r in rows:
            if seen.get(r["category"], 0) < per_class:
                seen[r["category"]] = seen.get(r["category"], 0) + 1
                out.append(r)
        rows = out
    return rows


@pytest.fixture
def banking_csv(tmp_path) -> Path:
    """200 rows, 5 intents, of the bundled BANKING77 sample (CC BY 4.0)."""
    path = tmp_path / "tickets.csv"
    rows = banking_rows(per_class=40, classes=5)
    with open(path, "w", newline="", encoding="utf-8") as f:
        w = csv.DictWriter(f, fieldnames=["text", "category"])
        w.writeheader()
        w.writerows(rows)
    return path


@pytest.fixture
def qa_jsonl(tmp_path) -> Path:
    """Short Japanese and English prompt/response pairs a tiny model can learn to copy."""
    path = tmp_path / "qa.jsonl"
    pairs = []
    for i, (q, a) in enumerate([("カードが届きません", "配送状況を確認します"), ("暗証番号を忘れました", "再設定できます"),
                                ("My card is lost", "Freeze it in the app"), ("Exchange rate?", "See the rates page")] * 12):
        pairs.append({"prompt": q, "response": a, "source": "ja" if i % 4 < 2 else "en"})
    path.write_text("".join(json.dumps(p, ensure_ascii=False) + "\n" for p in pairs), encoding="utf-8")
    return path


def write_recipe(folder: Path, text: str) -> Path:
    path = folder / "recipe.yaml"
    path.write_text(text, encoding="utf-8")
    return path


def ft_lab_cli(*args, env=None, cwd=None, timeout=600) -> subprocess.CompletedProcess:
    """Run the installed ``ft-lab`` console script as a user would."""
    exe = Path(sys.executable).with_name("ft-lab")
    full_env = {**os.environ, **(env or {})}
    return subprocess.run([str(exe), *args], capture_output=True, text=True, env=full_env, cwd=cwd,
                          timeout=timeout)
