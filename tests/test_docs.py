"""Docs live with the code: the generated reference is current and every hook and component is documented."""
import inspect
import subprocess
import sys

import pytest

from conftest import REPO
from ft_lab.core import hookspecs
from ft_lab.cli.docgen import render

HOOKS = [n for n, f in inspect.getmembers(hookspecs, inspect.isfunction) if hasattr(f, "ft_lab_spec")]


def test_reference_is_up_to_date():
    current = (REPO / "docs" / "reference.md").read_text(encoding="utf-8")
    assert current == render(), "docs/reference.md is stale: run `python -m ft_lab.cli.docgen > docs/reference.md`"


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
    code = ("import sys, ft_lab; from ft_lab.core.plugins import load_registry; load_registry(); "
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


# --- docs/plugins.md covers the whole plugin API ---------------------------------------------------
def api_marks(hook_module, bases) -> list[str]:
    """What docs/plugins.md must show: each hook as `hook(params)`, each public method of a component base
    class as `method(params)` (its parameters and defaults, no self or cls; a return type may follow) and
    each public class attribute as `name`."""
    marks = [f"`{n}{inspect.signature(f)}`" for n, f in inspect.getmembers(hook_module, inspect.isfunction)
             if hasattr(f, "ft_lab_spec")]
    for base in bases:
        for attr, value in vars(base).items():
            if attr.startswith("_"):
                continue
            fn = value.__func__ if isinstance(value, (classmethod, staticmethod)) else value
            if not inspect.isfunction(fn):
                marks.append(f"`{attr}`")
                continue
            params = list(inspect.signature(fn).parameters.values())[0 if isinstance(value, staticmethod) else 1:]
            text = ", ".join(p.name if p.default is p.empty else f"{p.name}={p.default!r}" for p in params)
            marks.append(f"`{attr}({text})")
    return marks


def undocumented(text: str, hook_module=hookspecs, bases=None) -> list[str]:
    from ft_lab.core.components import Baseline, Cleaner, Component, Evaluator, Method
    bases = (Component, Cleaner, Method, Evaluator, Baseline) if bases is None else bases
    return [m for m in api_marks(hook_module, bases) if m not in text]


def test_every_hook_and_base_class_member_is_in_plugins_md():
    text = (REPO / "docs" / "plugins.md").read_text(encoding="utf-8")
    marks = api_marks(hookspecs, ())
    assert len(marks) == len(HOOKS) >= 5  # the scan finds the hooks it must check
    assert not undocumented(text), f"docs/plugins.md does not mention: {', '.join(undocumented(text))}"


def test_an_undocumented_hook_or_method_is_reported():
    import types

    from ft_lab import Cleaner
    from ft_lab.core import hookspecs as real

    fake_hooks = types.ModuleType("fake_hookspecs")

    @real.hookspec
    def register_tokenizers(register, where="here"):
        """A hook nobody documented."""

    fake_hooks.register_tokenizers = register_tokenizers

    class Fancy(Cleaner):
        verbose = True

        def frobnicate(self, rows, times=2):
            return rows

        @classmethod
        def build(cls, spec):
            return cls()

    text = "`register_cleaners(register)` `clean(rows, columns)` `verbose`"
    assert undocumented(text, fake_hooks, (Fancy,)) == ["`register_tokenizers(register, where='here')`",
                                                         "`frobnicate(rows, times=2)", "`build(spec)"]


def test_the_worked_example_passes_the_conformance_checks():
    from ft_lab.testing import check_component

    text = (REPO / "docs" / "plugins.md").read_text(encoding="utf-8")
    section = text[text.index("## A worked example"):text.index("## Checking a plugin")]
    namespace: dict = {}
    exec(section.split("```python\n")[1].split("```")[0], namespace)  # noqa: S102 - the docs' own example
    cls = namespace["RefundMentionsEvaluator"]
    check_component(cls)
    rows = [{"reference": "You get a refund", "prediction": "a Refund is on its way"},
            {"reference": "Freeze the card", "prediction": "we sent your money back"}]
    assert cls().score(rows) == {"refund_mentions": 0.5}
