"""Docs live with the code: the generated reference is current and every hook and component is documented."""
import inspect
import subprocess
import sys

import pytest

from conftest import REPO
from ft_lab import hookspecs
from ft_lab.docgen import render

HOOKS = [n for n, f in inspect.getmembers(hookspecs, inspect.isfunction) if hasattr(f, "ft_lab_spec")]


def test_reference_is_up_to_date():
    current = (REPO / "docs" / "reference.md").read_text(encoding="utf-8")
    assert current == render(), "docs/reference.md is stale: run `python -m ft_lab.docgen > docs/reference.md`"


@pytest.mark.parametrize("hook", HOOKS)
def test_every_hook_is_documented_with_its_signature(hook):
    signature = f"{hook}{inspect.signature(getattr(hookspecs, hook))}"
    assert f"`{signature}`" in (REPO / "docs" / "plugins.md").read_text(encoding="utf-8")
    assert f"### `{signature}`" in (REPO / "docs" / "reference.md").read_text(encoding="utf-8")


def test_readme_starts_with_the_two_commands():
    text = (REPO / "README.md").read_text(encoding="utf-8")
    head = text[:text.index("## A tour")]
    assert "make demo" in head and "make test" in head


def test_import_ft_lab_is_cheap():
    code = ("import sys, ft_lab; from ft_lab.plugins import load_registry; load_registry(); "
            "print(sorted(m for m in ('torch', 'transformers', 'datasets', 'peft', 'sklearn', 'pandas') "
            "if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"


def test_readme_recipe_is_valid(tmp_path):
    from ft_lab import Recipe

    text = (REPO / "README.md").read_text(encoding="utf-8")
    block = text.split("```yaml")[1].split("```")[0]
    (tmp_path / "tickets.csv").write_text("body,queue\nhello,a\nbye,b\nhi,a\n", encoding="utf-8")
    (tmp_path / "recipe.yaml").write_text(block, encoding="utf-8")
    recipe = Recipe.from_yaml(tmp_path / "recipe.yaml")
    assert [c.name for c in recipe.clean] == ["normalize", "dedup", "pii_mask"]
