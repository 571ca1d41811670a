"""docs/evaluation.md documents every built-in evaluator and each of its Config fields."""
from pathlib import Path

from ft_lab.core import configs
from ft_lab.default_plugins.default_evaluators import BUILTIN

DOC = Path(__file__).resolve().parents[1] / "docs" / "evaluation.md"


def test_every_evaluator_and_config_field_is_documented():
    text = DOC.read_text(encoding="utf-8")
    missing = []
    for cls in BUILTIN:
        if f"### `{cls.name}`" not in text:
            missing.append(cls.name)
        for f in configs.fields_of(cls.Config):
            if f"| `{f.name}` |" not in text.split(f"### `{cls.name}`")[-1].split("###")[0]:
                missing.append(f"{cls.name}.{f.name}")
    assert not missing, f"undocumented in {DOC}: {missing}"
