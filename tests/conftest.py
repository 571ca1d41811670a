"""Shared fixtures: offline settings, a runs folder per test, small real data files; the test tiers.

Every test gets exactly one tier marker (``pytest -m unit|integration|e2e``), decided here:

- ``e2e``: notebooks executed with nbclient, a JupyterLab server, a browser (E2E_FILES, the ``browser`` marker);
- ``integration``: starts a process: a training worker (``ft_lab.run``, ``runner.run``/``resume``/``sweep``,
  ``main(["run", ...])``), the ``ft-lab`` console script, any subprocess; found by reading the names the
  test, its fixtures and the test helpers they call use (PROCESS_NAMES, RUN_OWNERS, PROCESS_COMMANDS);
- ``unit`` otherwise: in-process and fast (``make test-fast``).

A test marked by hand (``@pytest.mark.unit`` etc.) keeps its mark. A unit test that starts a process anyway
fails with a message saying to mark it ``integration`` (``pytest_configure`` below).
"""
from __future__ import annotations

import ast
import csv
import inspect
import json
import os
import shutil
import subprocess
import sys
import textwrap
import types
from pathlib import Path

import pytest

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("HF_DATASETS_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
os.environ.setdefault("TRANSFORMERS_NO_ADVISORY_WARNINGS", "1")
os.environ.setdefault("FT_LAB_DEFAULT_MODEL", "tiny")  # a new Studio starts on tiny here, not the real model

REPO = Path(__file__).resolve().parent.parent
ARTIFACTS = REPO / "test-artifacts"


TIERS = ("unit", "integration", "e2e")
E2E_FILES = {"test_notebook.py", "test_example_notebooks.py", "test_jupyterlab_api.py", "test_jupyterlab_browser.py",
             "test_browser.py"}
E2E_NAMES = {"nbclient", "NotebookClient", "LabServer", "sync_playwright"}
# names whose use starts a process: a worker, the console script, a subprocess
PROCESS_NAMES = {"ft_lab_cli", "subprocess", "Popen", "start_worker", "resume", "sweep",
                 "completed_classification_run"}
RUN_OWNERS = {"ft_lab", "runs", "runner"}  # ft_lab.run(...), runs.run(...): a worker
PROCESS_COMMANDS = {"run", "resume", "sweep", "demo", "search"}  # main(["run", ...]) starts a worker
HELPER_DIRS = (REPO / "tests", REPO / "plugins")


def _code_names(code: types.CodeType, names: set) -> None:
    names.update(code.co_names)
    for const in code.co_consts:
        if isinstance(const, types.CodeType):  # lambdas, nested functions, comprehensions
            _code_names(const, names)


def _cli_commands(func) -> set:
    """The commands of ``main([COMMAND, ...])`` calls in ``func``'s source (the CLI run in-process)."""
    try:
        tree = ast.parse(textwrap.dedent(inspect.getsource(func)))
    except (OSError, TypeError, SyntaxError):
        return set()
    out = set()
    for node in ast.walk(tree):
        if (isinstance(node, ast.Call) and getattr(node.func, "id", getattr(node.func, "attr", None)) == "main"
                and node.args and isinstance(node.args[0], ast.List) and node.args[0].elts
                and isinstance(node.args[0].elts[0], ast.Constant)):
            out.add(node.args[0].elts[0].value)
    return out


def _names_used(func, names: set, commands: set, seen: set, depth: int = 3) -> None:
    """The global and attribute names ``func`` uses and the CLI commands it runs in-process, with those of
    the test helpers it calls (functions defined under tests/ or plugins/), ``depth`` calls deep."""
    func = inspect.unwrap(getattr(func, "__func__", func))
    code = getattr(func, "__code__", None)
    if code is None or code in seen:
        return
    seen.add(code)
    before = set(names)
    _code_names(code, names)
    if "main" in code.co_names or any(isinstance(c, types.CodeType) for c in code.co_consts):
        commands |= _cli_commands(func)
    if depth == 0:
        return
    for name in names - before:
        helper = getattr(func, "__globals__", {}).get(name)
        if isinstance(helper, type):  # a helper class: its methods
            helpers = [m for m in vars(helper).values() if inspect.isfunction(m)]
        else:
            helpers = [helper] if inspect.isfunction(helper) else []
        for h in helpers:
            if _is_helper(h):
                _names_used(h, names, commands, seen, depth - 1)


def _is_helper(func) -> bool:
    code = getattr(inspect.unwrap(func), "__code__", None)
    return code is not None and any(Path(code.co_filename).resolve().is_relative_to(d) for d in HELPER_DIRS)


def tier_of(item) -> str:
    """The tier a test belongs to, from its file, its markers and what it (and its fixtures) call."""
    if item.path.name in E2E_FILES or item.get_closest_marker("browser"):
        return "e2e"
    names, commands, seen = set(item.fixturenames), set(), set()
    funcs = [getattr(item, "function", None)]
    fixtureinfo = getattr(item, "_fixtureinfo", None)
    for defs in (fixtureinfo.name2fixturedefs.values() if fixtureinfo else ()):
        funcs += [d.func for d in defs if _is_helper(d.func)]  # the suite's fixtures, not pytest's own
    for func in funcs:
        if func is not None:
            _names_used(func, names, commands, seen)
    if names & E2E_NAMES:
        return "e2e"
    starts = (names & PROCESS_NAMES or ("run" in names and names & RUN_OWNERS)
              or commands & PROCESS_COMMANDS)
    return "integration" if starts else "unit"


def pytest_collection_modifyitems(config, items):
    """Every test gets exactly one tier marker; two tiers by hand on one test is an error."""
    for item in items:
        given = [t for t in TIERS if item.get_closest_marker(t)]
        if len(given) > 1:
            raise pytest.UsageError(f"{item.nodeid}: marked {' and '.join(given)}; a test has one tier")
        if not given:
            item.add_marker(tier_of(item))


_CURRENT: list = [None]


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_protocol(item, nextitem):
    _CURRENT[0] = item
    try:
        yield
    finally:
        _CURRENT[0] = None


def pytest_configure(config):
    """A unit test starts no process: one that does fails, naming the tier to mark it with."""
    original = subprocess.Popen._execute_child
    if getattr(original, "_ft_lab_tier_guard", False):
        return

    def guarded(self, args, *rest, **kwargs):
        item = _CURRENT[0]
        if item is not None and item.get_closest_marker("unit"):
            raise AssertionError(f"{item.nodeid} is a unit test but starts a process ({args!r}): "
                                 "mark it @pytest.mark.integration, or teach tier_of in tests/conftest.py")
        return original(self, args, *rest, **kwargs)
    guarded._ft_lab_tier_guard = True
    guarded._ft_lab_original = original
    subprocess.Popen._execute_child = guarded


def pytest_unconfigure(config):
    original = getattr(subprocess.Popen._execute_child, "_ft_lab_original", None)
    if original is not None:
        subprocess.Popen._execute_child = original


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


SHARED_RUN_RECIPE = """\
task: classification
data: {path: tickets.csv}
model: {max_length: 48}
method: {name: lora, r: 8, target_modules: [all-linear]}
train: {max_steps: 60, batch_size: 16, learning_rate: 0.005, logging_steps: 10}
"""


class CompletedRun:
    """A finished run shared by the tests that only read one: ``dir`` (read it, never write into it),
    ``exit_code`` (of the ``ft-lab run`` that trained it), ``handle()``, and ``copy(folder)`` for a test
    that writes into the run (re-scoring, a report beside it): a copy under ``folder/runs/``."""

    def __init__(self, exit_code: int, run_dir: Path):
        self.exit_code, self.dir = exit_code, run_dir

    def handle(self, run_dir: Path | None = None):
        from ft_lab.workflows.runner import open_run
        return open_run(run_dir or self.dir)

    def copy(self, folder: Path):
        target = Path(folder) / "runs" / self.dir.name
        shutil.copytree(self.dir, target, ignore=shutil.ignore_patterns("worker.lock"))
        return self.handle(target)


@pytest.fixture(scope="session")
def completed_classification_run(tmp_path_factory, tiny_model_dir) -> CompletedRun:
    """One LoRA classification run (tiny model, 200 rows of 5 intents in ``tickets.csv``, 60 steps, base and
    fine-tuned predictions, adapter in final/), trained once per session through ``main(["run", ...])``
    (the CLI, in-process, starting the worker as ``ft-lab run`` does)."""
    from ft_lab.cli import main

    root = tmp_path_factory.mktemp("completed_classification_run")
    with open(root / "tickets.csv", "w", newline="", encoding="utf-8") as f:
        w = csv.DictWriter(f, fieldnames=["text", "category"])
        w.writeheader()
        w.writerows(banking_rows(per_class=40, classes=5))
    code = main(["run", str(write_recipe(root, SHARED_RUN_RECIPE)), "--runs-dir", str(root / "runs")])
    (run_dir,) = (root / "runs").iterdir()
    log = run_dir / "worker.log"
    assert code == 0, log.read_text(encoding="utf-8")[-3000:] if log.exists() else f"exit code {code}"
    return CompletedRun(code, run_dir)


def banking_rows(per_class: int | None = None, classes: int | None = None) -> list[dict]:
    from ft_lab.testing.sample_data import banking_sample, rows_per_label

    rows = banking_sample()
    keep = sorted({r["category"] for r in rows})[:classes] if classes else None
    return rows_per_label(rows, per=per_class or None, labels=keep)


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


# The JupyterLab server of the extension tests, one for the session (its helpers import this module's names,
# defined above, hence the import at the end).
from browser_fixture import browser, jupyter_lab, page  # noqa: E402,F401
from jupyterlab_fixture import chromium, completed_run, lab, lab_plugin_site, long_run  # noqa: E402,F401
from postgres_fixture import postgres_url  # noqa: E402,F401
