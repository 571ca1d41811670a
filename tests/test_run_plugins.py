"""Plugins registered in-process (a notebook's cells) reach the worker process of a run: saved into the
run directory when the run is created, loaded by the worker before it reads the recipe."""
from __future__ import annotations

import os
import subprocess
import sys
import textwrap
import threading

import pytest

from conftest import REPO

# Run as a script, so that its classes live in __main__ as a notebook's cells do: nothing can import them.
CREATOR = textwrap.dedent("""
    import sys
    from dataclasses import dataclass, field
    import ft_lab
    from ft_lab import Cleaner, CleanResult, Evaluator, hookimpl
    from ft_lab.rundir.inline_plugins import save_run_plugins

    class Shout(Cleaner):
        \"\"\"Upper-case the text.\"\"\"
        name = "shout_nb"

        @dataclass
        class Config:
            suffix: str = field(default="!", metadata={"help": "added at the end"})

        def clean(self, rows, columns):
            out = [{**r, **{c: r[c].upper() + self.config.suffix for c in columns}} for r in rows]
            return CleanResult(rows=out, changed=len(out))

    class Length(Evaluator):
        \"\"\"Mean prediction length.\"\"\"
        name = "length_nb"
        tasks = ("classification", "generation")

        def score(self, examples):
            return {"mean_length": sum(len(e["prediction"]) for e in examples) / max(1, len(examples))}

    class NotebookPlugin:
        @hookimpl(specname="register_cleaners")
        def cleaners(self, register):
            register(Shout)

        @hookimpl(specname="register_evaluators")
        def evaluators(self, register):
            register(Length)

    ft_lab.register_plugin(NotebookPlugin(), "notebook-plugin")
    recipe = ft_lab.Recipe(task="classification", data={"path": sys.argv[2]}, clean=[{"name": "shout_nb",
                           "suffix": "?"}], evaluate=["accuracy", "length_nb"])
    print(save_run_plugins(sys.argv[1], recipe))
""")

LOADER = textwrap.dedent("""
    import sys
    from ft_lab.core.plugins import get_registry
    from ft_lab.rundir.inline_plugins import load_run_plugins
    from ft_lab.core.recipe import Recipe

    assert "shout_nb" not in get_registry().names("cleaner")
    print(load_run_plugins(sys.argv[1]))
    recipe = Recipe.from_dict({"task": "classification", "data": {"path": sys.argv[2]},
                               "clean": [{"name": "shout_nb", "suffix": "?"}], "evaluate": ["length_nb"]})
    cleaner = recipe.clean[0].create("cleaner")
    print(cleaner.clean([{"text": "hi", "label": "a", "meta": {}}], ["text"]).rows[0]["text"])
    print(recipe.evaluate[0].create("evaluator").score([{"prediction": "abcd"}]))
""")


def _python(script: str, *args, tmp_path) -> subprocess.CompletedProcess:
    path = tmp_path / f"script_{abs(hash(script))}.py"
    path.write_text(script, encoding="utf-8")
    env = dict(os.environ, PYTHONPATH=str(REPO))
    return subprocess.run([sys.executable, str(path), *map(str, args)], capture_output=True, text=True, env=env,
                          cwd=tmp_path, timeout=120)


@pytest.fixture
def data_file(tmp_path):
    path = tmp_path / "d.csv"
    path.write_text("text,label\n" + "".join(f"row {i},{'ab'[i % 2]}\n" for i in range(20)), encoding="utf-8")
    return path


def test_plugins_defined_in_main_reach_another_process(tmp_path, data_file):
    run_dir = tmp_path / "run"
    run_dir.mkdir()
    made = _python(CREATOR, run_dir, data_file, tmp_path=tmp_path)
    assert made.returncode == 0, made.stderr
    assert made.stdout.strip() == "['notebook-plugin']"
    assert (run_dir / "plugins.pkl").is_file()

    loaded = _python(LOADER, run_dir, data_file, tmp_path=tmp_path)
    assert loaded.returncode == 0, loaded.stderr
    assert loaded.stdout.splitlines() == ["['notebook-plugin']", "HI?", "{'mean_length': 4.0}"]


def test_no_in_process_plugins_no_file(tmp_path):
    from ft_lab.rundir.inline_plugins import load_run_plugins, save_run_plugins

    assert save_run_plugins(tmp_path, recipe=None) == []
    assert not (tmp_path / "plugins.pkl").exists()
    assert load_run_plugins(tmp_path) == []


class _Unpicklable:
    """A cleaner plugin holding a lock, which cannot be pickled."""

    def __init__(self):
        self.lock = threading.Lock()

    from ft_lab import hookimpl

    @hookimpl
    def register_cleaners(self, register):
        from ft_lab.cleaners.normalize import Normalize

        class LockedNormalize(Normalize):
            name = "locked_normalize"
        register(LockedNormalize)


def test_a_plugin_that_cannot_travel_is_named_only_when_the_recipe_uses_it(tmp_path, data_file):
    from ft_lab import Recipe, UserError
    from ft_lab.core.plugins import register_plugin, unregister_plugin
    from ft_lab.rundir.inline_plugins import save_run_plugins

    register_plugin(_Unpicklable(), "locked-plugin")
    try:
        unused = Recipe(task="classification", data={"path": str(data_file)})
        assert save_run_plugins(tmp_path, unused) == []
        assert not (tmp_path / "plugins.pkl").exists()
        used = Recipe(task="classification", data={"path": str(data_file)}, clean=["locked_normalize"])
        with pytest.raises(UserError, match="in-process plugin 'locked-plugin' cannot be sent to the training "
                                            "worker.*lock"):
            save_run_plugins(tmp_path, used)
    finally:
        unregister_plugin("locked-plugin")


def test_registering_a_name_again_replaces_the_plugin():
    """A notebook cell that registers a plugin, run twice, must not leave the plugin broken as a duplicate."""
    import ft_lab
    from ft_lab.core.plugins import get_registry

    try:
        ft_lab.register_plugin(_Unpicklable(), "twice")
        ft_lab.register_plugin(_Unpicklable(), "twice")
        reg = get_registry()
        assert reg.owner("cleaner", "locked_normalize") == "twice"
        assert not reg.broken, reg.broken
    finally:
        ft_lab.unregister_plugin("twice")
    assert "locked_normalize" not in get_registry().names("cleaner")
