"""The plugin authoring kit end to end: ``ft-lab plugins new`` writes a package from plugins/template, pip
installs it (into a temporary folder put on PYTHONPATH, never into the venv), ``ft-lab plugins`` lists its
component, the Studio offers it with a generated form, and the package's own tests pass (ft-lab's
conformance checks through ``parametrize_with_checks``, the ``ft_lab_registry`` fixture and
``pytest --ft-lab-check``)."""
from __future__ import annotations

import ast
import json
import os
import re
import shutil
import subprocess
import sys
from importlib.metadata import entry_points
from pathlib import Path

import pytest

from conftest import REPO, ft_lab_cli
from ft_lab.cli import main
from ft_lab.cli.scaffold import template_folder
from ft_lab.errors import UserError

#: kind -> (the NAME given, the package, the component, the class)
PLUGINS = {"cleaner": ("ticket-tools", "ft-lab-ticket-tools", "ticket_tools", "TicketToolsCleaner"),
           "evaluator": ("ft-lab-ticket-score", "ft-lab-ticket-score", "ticket_score", "TicketScoreEvaluator"),
           "method": ("ticket_tuning", "ft-lab-ticket-tuning", "ticket_tuning", "TicketTuningMethod")}


@pytest.fixture(scope="module")
def generated(tmp_path_factory) -> dict[str, Path]:
    """One plugin of each kind, written by the real command."""
    root = tmp_path_factory.mktemp("new_plugins")
    folders = {}
    for kind, (name, dist, _, _) in PLUGINS.items():
        folders[kind] = root / dist
        assert main(["plugins", "new", name, "--kind", kind, "--out", str(folders[kind])]) == 0
    return folders


@pytest.fixture(scope="module")
def site(generated, tmp_path_factory) -> Path:
    """The three packages installed with pip into a folder of their own."""
    site = tmp_path_factory.mktemp("site")
    subprocess.run([sys.executable, "-m", "pip", "install", "-q", "--no-deps", "--no-build-isolation", "--no-index",
                    "--target", str(site), *map(str, generated.values())],
                   check=True, capture_output=True, text=True, timeout=300)
    return site


def env_with(site: Path) -> dict:
    return {**os.environ, "PYTHONPATH": os.pathsep.join([str(site), os.environ.get("PYTHONPATH", "")])}


def test_the_package_has_its_files_and_no_placeholder_left(generated):
    folder = generated["cleaner"]
    files = sorted(str(p.relative_to(folder)) for p in folder.rglob("*") if p.is_file())
    assert files == ["README.md", "ft_lab_ticket_tools/__init__.py", "ft_lab_ticket_tools/cleaner.py",
                     "ft_lab_ticket_tools/plugin.py", "pyproject.toml", "tests/test_ft_lab_ticket_tools.py"]
    project = (folder / "pyproject.toml").read_text(encoding="utf-8")
    assert 'name = "ft-lab-ticket-tools"' in project
    assert '[project.entry-points.ft_lab]\nticket_tools = "ft_lab_ticket_tools.plugin"\n' in project
    for folder in generated.values():
        for path in folder.rglob("*"):
            if path.is_file():
                text = path.read_text(encoding="utf-8")
                assert "{{" not in text, f"{path}: a placeholder is left"
                if path.suffix == ".py":
                    ast.parse(text, filename=str(path))


def test_installed_plugins_are_listed_by_ft_lab_plugins(site):
    result = ft_lab_cli("plugins", "--json", env=env_with(site), timeout=120)
    assert result.returncode == 0, result.stderr
    data = json.loads(result.stdout)
    listed = {p["name"]: p for p in data["plugins"]}
    for kind, (_, dist, component, _) in PLUGINS.items():
        assert listed[dist]["version"] == "0.1.0"
        assert listed[dist]["components"][kind + "s"] == [component]
    assert not [b for b in data["broken"] if b["name"] in {d for _, d, _, _ in PLUGINS.values()}]
    table = ft_lab_cli("plugins", env=env_with(site), timeout=120).stdout
    assert re.search(r"^ft-lab-ticket-tools\s+0\.1\.0\s+ticket_tools\s", table, re.M), table


def pytest_args() -> list[str]:
    """The pytest plugin comes from the ``pytest11`` entry point once ft-lab is (re)installed; until then
    (a checkout whose install predates it) it is named explicitly, as ``-p`` on the command line."""
    installed = any(ep.value == "ft_lab.testing.pytest_plugin" for ep in entry_points(group="pytest11"))
    return [] if installed else ["-p", "ft_lab.testing.pytest_plugin"]


@pytest.mark.parametrize("kind", ["cleaner", "evaluator", "method"])
def test_the_generated_plugin_passes_its_own_tests(site, generated, kind):
    from ft_lab.testing import BY_KIND, COMMON

    kit = len(COMMON) + len(BY_KIND[kind])  # the conformance checks of one component of this kind
    expected = kit + 2  # the template's tests: one per check, plus two of its own
    dist = PLUGINS[kind][1]
    # the pytest script (not python -m) runs from the package folder without putting it on sys.path,
    # so the tests import the installed copy; --ft-lab-check adds one test per component and check
    extra = [] if kind == "method" else ["--ft-lab-check", dist]  # (the method's training runs once)
    checks = 0 if kind == "method" else kit
    result = subprocess.run([str(Path(sys.executable).with_name("pytest")), "-q", "-p", "no:cacheprovider",
                             *pytest_args(), *extra],
                            cwd=generated[kind], env=env_with(site), capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-2000:]
    assert f"{expected + checks} passed" in result.stdout, result.stdout[-2000:]
    assert "skipped" not in result.stdout
    if extra:
        listing = subprocess.run([str(Path(sys.executable).with_name("pytest")), "--collect-only", "-q",
                                  "-p", "no:cacheprovider", *pytest_args(), *extra], cwd=generated[kind],
                                 env=env_with(site), capture_output=True, text=True, timeout=300).stdout
        assert f"ft-lab-check[{dist}]::{PLUGINS[kind][2]}-check_config_round_trip" in listing


STUDIO = """
import json, sys
from ft_lab import Studio
studio = Studio(runs_dir=sys.argv[1])
out = {}
lists = {"cleaner": studio.data.cleaners, "evaluator": studio.train.evaluators}
for kind, name, field, typed in json.loads(sys.argv[2]):
    if kind in lists:
        forms = lists[kind]
        offered = list(forms.picker.options)
        forms.add(name)
        component = forms.items[-1]
    else:
        component = studio.model.method
        offered = list(component.choice.options)
        component.choice.value = name
    component.form.widgets[field].value = typed
    out[kind] = {"offered": name in offered, "fields": sorted(component.form.widgets),
                 "summary": component.summary.value, "value": component.value()}
out["torch"] = "torch" in sys.modules
print(json.dumps(out))
"""


def test_the_studio_offers_each_component_with_its_generated_form(site, tmp_path):
    edits = [("cleaner", "ticket_tools", "min_chars", "3"), ("evaluator", "ticket_score", "ignore_case", False),
             ("method", "ticket_tuning", "freeze_layers", "1")]
    result = subprocess.run([sys.executable, "-c", STUDIO, str(tmp_path / "runs"), json.dumps(edits)],
                            env=env_with(site), capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr[-3000:]
    seen = json.loads(result.stdout.strip().splitlines()[-1])
    assert seen["cleaner"]["offered"] and seen["cleaner"]["fields"] == ["min_chars", "strip"]
    assert seen["cleaner"]["value"] == {"name": "ticket_tools", "min_chars": 3, "strip": True}
    assert "reject rows whose text is too short" in seen["cleaner"]["summary"]
    assert "ft-lab-ticket-tools" in seen["cleaner"]["summary"]  # the plugin that supplied it
    assert seen["evaluator"]["offered"] and seen["evaluator"]["value"] == {"name": "ticket_score", "ignore_case": False}
    assert seen["method"]["offered"] and seen["method"]["fields"] == ["freeze_embeddings", "freeze_layers"]
    assert seen["method"]["value"] == {"name": "ticket_tuning", "freeze_layers": 1, "freeze_embeddings": True}
    assert seen["torch"] is False  # a plugin's module and its form import nothing heavy


# --- the command's refusals ------------------------------------------------------------------------
def test_an_existing_folder_is_kept_unless_forced(tmp_path, capsys):
    out = tmp_path / "mine"
    out.mkdir()
    (out / "notes.txt").write_text("keep me", encoding="utf-8")
    assert main(["plugins", "new", "ticket-tools", "--out", str(out)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "not empty" in err and "--force" in err
    assert sorted(p.name for p in out.iterdir()) == ["notes.txt"]
    assert main(["plugins", "new", "ticket-tools", "--out", str(out), "--force"]) == 0
    assert (out / "notes.txt").read_text(encoding="utf-8") == "keep me"
    assert (out / "ft_lab_ticket_tools" / "cleaner.py").is_file()


def test_the_default_folder_is_the_package_name(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    assert main(["plugins", "new", "shout"]) == 0
    assert (tmp_path / "ft-lab-shout" / "ft_lab_shout" / "cleaner.py").is_file()
    assert "class ShoutCleaner(Cleaner)" in (tmp_path / "ft-lab-shout" / "ft_lab_shout" / "cleaner.py").read_text()
    assert "created ft-lab-shout" in capsys.readouterr().out


@pytest.mark.parametrize("name,says", [
    ("Ticket Tools", "plugin name 'Ticket Tools': use lowercase letters, digits and hyphens"),
    ("9lives", "plugin name '9lives': use lowercase letters"),
    ("ticket--tools", "plugin name 'ticket--tools': use lowercase letters"),
    ("ft-lab-", "plugin name 'ft-lab-': use lowercase letters"),
    ("dedup", "plugin name 'dedup': a cleaner named 'dedup' is already registered by 'ft_lab.default_plugins.default_cleaners'"),
])
def test_a_bad_name_is_one_line_and_writes_nothing(name, says, tmp_path, capsys):
    out = tmp_path / "new"
    assert main(["plugins", "new", name, "--out", str(out)]) == 2
    err = capsys.readouterr().err
    assert err.startswith(f"error: {says}") and err.count("\n") == 1, err
    assert not out.exists()


def test_the_template_ships_in_the_wheel(tmp_path):
    project = (REPO / "pyproject.toml").read_text(encoding="utf-8")
    section = project.split("[tool.hatch.build.targets.wheel.force-include]\n")[1].split("\n[")[0]
    assert '"plugins/template" = "ft_lab/plugin_template"' in section
    assert template_folder() == REPO / "plugins" / "template"  # a checkout
    installed = tmp_path / "site-packages" / "ft_lab"
    shutil.copytree(REPO / "plugins" / "template", installed / "plugin_template")
    assert template_folder(installed) == installed / "plugin_template"  # an installed wheel
    with pytest.raises(UserError, match="the plugin template is missing .*; reinstall ft-lab"):
        template_folder(tmp_path / "elsewhere" / "ft_lab")


LOUD = '''
from dataclasses import dataclass

from ft_lab import Cleaner, CleanResult, hookimpl
from ft_lab.core.plugins import register_plugin


class Loud(Cleaner):
    """Upper-case the text."""

    name = "loud"

    @dataclass
    class Config:
        bang: bool = False  # no metadata={"help": ...}: a conformance check must say so

    def clean(self, rows, columns):
        return CleanResult(rows=[{**r, **{c: r[c].upper() for c in columns}} for r in rows])


class Plugin:
    @hookimpl
    def register_cleaners(self, register):
        register(Loud)


register_plugin(Plugin(), "loud-plugin")
'''


def test_ft_lab_check_reports_the_broken_rule_and_refuses_an_unknown_plugin(tmp_path):
    (tmp_path / "conftest.py").write_text(LOUD, encoding="utf-8")
    pytest_exe = str(Path(sys.executable).with_name("pytest"))
    run = [pytest_exe, "-q", "-p", "no:cacheprovider", *pytest_args()]
    result = subprocess.run([*run, "--ft-lab-check", "loud-plugin"], cwd=tmp_path, capture_output=True, text=True,
                            timeout=300)
    assert result.returncode == 1, result.stdout[-3000:] + result.stderr[-2000:]
    assert "FAILED ft-lab-check[loud-plugin]::loud-check_help_on_every_field" in result.stdout
    assert "Loud.Config fields need metadata={'help': ...}: bang" in result.stdout
    from ft_lab.testing import BY_KIND, COMMON
    assert f"1 failed, {len(COMMON) + len(BY_KIND['cleaner']) - 1} passed" in result.stdout
    unknown = subprocess.run([*run, "--ft-lab-check", "no-such-plugin"], cwd=tmp_path, capture_output=True,
                             text=True, timeout=300)
    assert unknown.returncode == 4  # pytest's usage error
    assert "--ft-lab-check no-such-plugin: no installed plugin has that name (installed: " in unknown.stderr


def test_the_kit_is_a_light_pytest_plugin():
    project = (REPO / "pyproject.toml").read_text(encoding="utf-8")
    assert '[project.entry-points.pytest11]\nft_lab = "ft_lab.testing.pytest_plugin"\n' in project
    code = ("import sys, ft_lab.testing.pytest_plugin; "
            "print(sorted(m for m in ('torch', 'transformers', 'datasets', 'ipywidgets') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=120)
    assert out.stdout.strip() == "[]"  # pytest loads it in every test run wherever ft-lab is installed
