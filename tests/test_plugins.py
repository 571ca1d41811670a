"""Plugins: built-ins through the hooks, real installed third-party packages, broken ones isolated."""
import json
import os
import subprocess
import sys

import pytest

from conftest import REPO, ft_lab_cli, write_recipe
from ft_lab import Cleaner, CleanResult, hookimpl
from ft_lab.errors import PluginError
from ft_lab.core.plugins import load_registry

PACKAGES = REPO / "tests" / "plugin_packages"


@pytest.fixture(scope="module")
def plugin_site(tmp_path_factory):
    """The three test plugin packages, installed with pip into a folder put on PYTHONPATH."""
    site = tmp_path_factory.mktemp("site")
    subprocess.run([sys.executable, "-m", "pip", "install", "-q", "--no-deps", "--no-build-isolation",
                    "--no-index", "--target", str(site),
                    *(str(PACKAGES / p) for p in ("ft-lab-example-plugin", "ft-lab-broken-plugin",
                                                  "ft-lab-clash-plugin", "ft-lab-rude-plugin"))],
                   check=True, capture_output=True, text=True)
    return site


def env_with(site, **extra):
    return {"PYTHONPATH": os.pathsep.join([str(site), os.environ.get("PYTHONPATH", "")]), **extra}


def plugins_json(site, **extra):
    result = ft_lab_cli("plugins", "--json", env=env_with(site, **extra))
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


def test_builtins_are_registered_through_the_hooks():
    reg = load_registry()
    names = {p.name for p in reg.plugins}
    assert {"ft_lab.default_plugins.default_cleaners", "ft_lab.default_plugins.default_methods", "ft_lab.default_plugins.default_evaluators"} <= names
    assert {"full", "lora"} <= set(reg.names("method"))
    assert {"accuracy", "macro_f1", "exact_match", "chrf"} <= set(reg.names("evaluator"))
    assert reg.owner("cleaner", "dedup") == "ft_lab.default_plugins.default_cleaners"


def test_installed_plugin_is_listed_and_broken_ones_are_isolated(plugin_site):
    data = plugins_json(plugin_site)
    by_name = {p["name"]: p for p in data["plugins"]}
    example = by_name["ft-lab-example-plugin"]
    assert example["version"] == "1.2.0"
    assert example["components"] == {"cleaners": ["mask_ticket_ids"], "methods": [], "evaluators": ["label_coverage"],
                                     "baselines": []}
    broken = {b["name"]: b["error"] for b in data["broken"]}
    assert "ModuleNotFoundError" in broken["ft-lab-broken-plugin"]
    assert "a_dependency_that_is_not_installed" in broken["ft-lab-broken-plugin"]
    clash_errors = [b["error"] for b in data["broken"] if b["name"] == "ft-lab-clash-plugin"]
    assert any("cleaner 'dedup' is registered by both 'ft_lab.default_plugins.default_cleaners' and 'ft-lab-clash-plugin'" in e
               for e in clash_errors)
    assert any("register_evaluators raised RuntimeError: evaluator hook exploded" in e for e in clash_errors)
    # the clash plugin's valid cleaner still works
    assert by_name["ft-lab-clash-plugin"]["components"]["cleaners"] == ["lowercase"]


def test_plugins_table_is_readable(plugin_site):
    result = ft_lab_cli("plugins", env=env_with(plugin_site))
    assert result.returncode == 0
    row = next(line for line in result.stdout.splitlines() if line.startswith("ft-lab-example-plugin"))
    assert row.split()[:3] == ["ft-lab-example-plugin", "1.2.0", "mask_ticket_ids"]
    assert "broken: ft-lab-broken-plugin: could not load entry point" in result.stdout


def test_allow_and_block_lists(plugin_site):
    data = plugins_json(plugin_site, FT_LAB_PLUGINS="example")
    assert "ft-lab-example-plugin" in {p["name"] for p in data["plugins"]} and data["broken"] == []
    data = plugins_json(plugin_site, FT_LAB_BLOCK_PLUGINS="broken,clash,rude_exit,rude_interrupt,rude_typo")
    assert data["broken"] == []
    data = plugins_json(plugin_site, FT_LAB_PLUGINS="")
    assert {p["name"] for p in data["plugins"]} == {"ft_lab.default_plugins.default_cleaners", "ft_lab.default_plugins.default_methods",
                                                    "ft_lab.default_plugins.default_evaluators",
                                                    "ft_lab.default_plugins.default_baselines",
                                                        "ft_lab.default_plugins.default_trackers"}


def test_strict_mode_reraises(plugin_site):
    code = "from ft_lab.core.plugins import load_registry; load_registry()"
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                            env={**os.environ, **env_with(plugin_site, FT_LAB_STRICT_PLUGINS="1",
                                                          FT_LAB_BLOCK_PLUGINS="broken,rude_exit,rude_interrupt,rude_typo")})
    assert result.returncode != 0
    assert "PluginError" in result.stderr and "is registered by both" in result.stderr


def test_invalid_component_is_refused(monkeypatch):
    from ft_lab import Cleaner
    from ft_lab.core.plugins import Registry, _admit

    class NoName(Cleaner):
        pass

    reg = Registry()
    problem = _admit(reg, "cleaner", NoName, "p")
    assert "name must be a lowercase identifier" in problem
    assert "NoName must implement clean" in problem  # a missing verb is refused at discovery, not mid-run
    assert "not a subclass of ft_lab.Evaluator" in _admit(reg, "evaluator", NoName, "p")
    with pytest.raises(PluginError):
        from ft_lab.core import plugins
        monkeypatch.setattr(plugins, "_admit", lambda *a: "bad component")
        load_registry(strict=True)


def test_third_party_components_work_in_a_run_while_a_broken_plugin_is_listed(plugin_site, tmp_path, banking_csv):
    import csv
    rows = list(csv.DictReader(banking_csv.open(encoding="utf-8")))
    for row in rows:
        row["text"] = f"Ticket #12345: {row['text']}"
    with banking_csv.open("w", newline="", encoding="utf-8") as f:
        writer = csv.DictWriter(f, fieldnames=["text", "category"])
        writer.writeheader()
        writer.writerows(rows)
    recipe = write_recipe(tmp_path, f"""
task: classification
data: {{path: {banking_csv}, columns: {{text: text, label: category}}}}
clean: [mask_ticket_ids]
model: {{max_length: 48}}
method: full
train: {{max_steps: 30, batch_size: 16, learning_rate: 0.002, logging_steps: 10}}
evaluate: [accuracy, label_coverage]
""")
    result = ft_lab_cli("run", str(recipe), "--runs-dir", str(tmp_path / "runs"), env=env_with(plugin_site))
    assert result.returncode == 0, result.stdout + result.stderr
    assert "label_coverage" in result.stdout
    run_dir = next((tmp_path / "runs").iterdir())
    metrics = json.loads((run_dir / "metrics.json").read_text())
    assert 0 < metrics["finetuned"]["label_coverage"] <= 1
    for split in ("train", "validation", "test"):
        text = (run_dir / "data" / f"{split}.jsonl").read_text(encoding="utf-8")
        assert "#12345" not in text and text.count("Ticket <TICKET>:") == len(text.splitlines())


def test_exit_and_interrupt_in_a_plugin_never_take_the_cli_down(plugin_site, tmp_path):
    data = plugins_json(plugin_site)  # exit status 0 checked there
    rude = [b["error"] for b in data["broken"] if b["name"] == "ft-lab-rude-plugin"]
    assert any("could not load entry point 'rude_exit = ft_lab_rude_exit': SystemExit: it called sys.exit("
               in e for e in rude), rude
    assert any("hook register_cleaners raised KeyboardInterrupt" in e for e in rude)
    assert any("hook register_methods raised Impatient: gave up" in e for e in rude)
    assert any("'register_cleaner' is not an ft-lab hook; did you mean 'register_cleaners'?" in e for e in rude)
    assert "mask_ticket_ids" in {c for p in data["plugins"] for c in p["components"]["cleaners"]}
    table = ft_lab_cli("plugins", env=env_with(plugin_site))
    assert table.returncode == 0 and "broken: ft-lab-rude-plugin: could not load entry point" in table.stdout
    recipe = write_recipe(tmp_path, "task: classification\ndata: {path: data.csv}\nclean: [mask_ticket_ids]\n")
    (tmp_path / "data.csv").write_text("text,label\n" + "hello #1234,a\nbye,b\n" * 10, encoding="utf-8")
    result = ft_lab_cli("validate", str(recipe), env=env_with(plugin_site))
    assert result.returncode == 0, result.stderr
    assert "valid (classification" in result.stdout


class Shout(Cleaner):
    """Upper-case the text columns."""

    name = "shout_in_process"

    def clean(self, rows, columns):
        return CleanResult(rows=[{**r, **{c: r[c].upper() for c in columns}} for r in rows])


class InProcessPlugin:
    @hookimpl(specname="register_cleaners")
    def add_my_cleaners(self, register):
        register(Shout)


def test_a_plugin_object_registered_in_process_is_dispatched_by_pluggy():
    from ft_lab.core.plugins import get_registry, register_plugin, unregister_plugin

    name = register_plugin(InProcessPlugin(), "in-process-test")
    try:
        reg = get_registry()
        assert reg.owner("cleaner", "shout_in_process") == "in-process-test"
        info = next(p for p in reg.plugins if p.name == "in-process-test")
        assert info.components["cleaners"] == ["shout_in_process"]
    finally:
        unregister_plugin(name)
    assert "shout_in_process" not in get_registry().names("cleaner")
