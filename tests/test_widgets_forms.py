"""Config -> form, the shared recipe state, and the panels' behaviour without a run (pure Python)."""
from __future__ import annotations

import subprocess
import sys
from dataclasses import dataclass, field
from typing import Literal, Optional

import pytest

import bqplot  # noqa: F401  (hard dependencies: missing is a failure, not a skip)
import ipywidgets  # noqa: F401


@dataclass
class ThirdPartyConfig:
    r: int = field(default=8, metadata={"help": "rank of the update"})
    rate: float = field(default=0.1, metadata={"help": "dropout"})
    mode: Literal["a", "b"] = field(default="a", metadata={"help": "which mode"})
    names: Optional[list[str]] = field(default=None, metadata={"help": "modules to touch"})
    note: Optional[str] = field(default=None, metadata={"help": "free text"})
    flag: bool = field(default=False, metadata={"help": "a switch"})


def test_import_ft_lab_does_not_import_ipywidgets():
    code = "import sys, ft_lab; ft_lab.Studio; print('ipywidgets' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", "import sys, ft_lab; print('ipywidgets' in sys.modules)"],
                         capture_output=True, text=True, check=True).stdout.strip()
    assert out == "False"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.strip()
    assert out == "True"  # the lazy export imports it only when asked for


def test_form_is_generated_from_a_config_with_help_as_tooltip():
    import ipywidgets as W

    from ft_lab.widgets.forms import ConfigForm
    form = ConfigForm(ThirdPartyConfig)
    w = form.widgets
    assert isinstance(w["r"], W.Text) and isinstance(w["rate"], W.Text) and w["r"].value == "8"
    assert isinstance(w["mode"], W.Dropdown) and list(w["mode"].options) == ["a", "b"]
    assert isinstance(w["flag"], W.Checkbox)
    assert w["r"].tooltip == "r: rank of the update" and w["r"].description == "Rank (r)"
    assert w["names"].description == "Names"  # plain words; the field name is in the help line
    helps = [c.value for row in form.rows.values() for c in row.children[0].children if isinstance(c, W.HTML)]
    assert any("rank of the update" in h and "<code" in h and ">r</code>" in h for h in helps)
    assert form.value() == {"r": 8, "rate": 0.1, "mode": "a", "names": None, "note": None, "flag": False}

    w["r"].value = "4"
    w["mode"].value = "b"
    w["names"].value = "[q_proj, v_proj]"
    w["note"].value = "hello"
    w["flag"].value = True
    assert form.value() == {"r": 4, "rate": 0.1, "mode": "b", "names": ["q_proj", "v_proj"], "note": "hello",
                            "flag": True}
    w["names"].value = ""
    assert form.value()["names"] is None
    w["names"].value = "3"
    assert "names: expected a list, got 3" in form.field_errors["names"].value
    assert form.error.value == ""  # shown next to its field, not at the end of the form
    form.set_value({"r": 2})
    assert w["r"].value == "2" and form.value()["mode"] == "a" and form.field_errors["names"].value == ""


def test_a_typed_value_that_is_not_a_number_stays_with_the_reason():
    from ft_lab.widgets.forms import ConfigForm
    form = ConfigForm(ThirdPartyConfig, basic=("r",))
    form.widgets["r"].value = "eight"
    assert form.widgets["r"].value == "eight" and form.value()["r"] == "eight"  # never silently reverted
    assert "r:" in form.field_errors["r"].value and "eight" in form.field_errors["r"].value
    assert form.advanced is not None and form.advanced.selected_index is None  # basic field: advanced stays shut
    form.widgets["rate"].value = "fast"
    assert "rate:" in form.field_errors["rate"].value
    assert form.advanced.selected_index == 0  # an advanced field has a problem: its section opens
    form.widgets["r"].value = "1e1"
    assert form.value()["r"] == 10 and form.field_errors["r"].value == ""


def test_component_list_form_uses_registered_components():
    from ft_lab.widgets.forms import ComponentListForm
    lst = ComponentListForm("cleaner", ["normalize", {"name": "dedup", "method": "near"}])
    assert lst.names() == ["normalize", "dedup"]
    assert lst.value()[1]["method"] == "near"
    lst.add("pii_mask")
    lst.remove(0)
    assert lst.names() == ["dedup", "pii_mask"]


def _recipe(banking_csv):
    from ft_lab import Recipe
    return Recipe(task="classification", data={"path": str(banking_csv), "columns": {"label": "category"}},
                  clean=["normalize", {"name": "dedup", "method": "near"}],
                  method={"name": "lora", "r": 4, "alpha": 8}, train={"max_steps": 7, "learning_rate": 1e-3},
                  evaluate=["accuracy", "macro_f1"])


def test_from_recipe_round_trip_is_exact_and_export_saves(banking_csv, tmp_path):
    from ft_lab import Recipe, Studio
    r = _recipe(banking_csv)
    studio = Studio.from_recipe(r, runs_dir=tmp_path / "runs")
    assert "ft-lab-studio" in studio._dom_classes
    assert studio.recipe() == r
    assert studio.model.method.form.widgets["r"].value == "4"
    assert studio.data.role_widgets["label"].value == "category"
    assert studio.train.form.widgets["max_steps"].value == "7"
    text = studio.export_recipe(tmp_path / "out.yaml")
    assert Recipe.from_yaml(tmp_path / "out.yaml") == r and Recipe.from_yaml(text) == r
    shown = studio.export_html.value
    assert "recipe = Recipe(" in shown and "lora" in shown
    assert shown.count("ft-lab-copy") == 2 and "download='recipe.yaml'" in shown and "download='recipe.py'" in shown
    studio.train.form.widgets["max_steps"].value = "9"  # a shown recipe follows the panels
    assert "max_steps: 9" in studio.export_html.value
    path = tmp_path / "r.yaml"
    r.save(path)
    assert Studio.from_recipe(str(path)).recipe() == Recipe.from_yaml(path)


def test_panel_edits_change_the_recipe_and_problems_are_shown(banking_csv, tmp_path):
    from ft_lab import RecipeError, Studio
    studio = Studio(runs_dir=tmp_path / "runs")
    with pytest.raises(RecipeError):
        studio.recipe()
    assert "data: give `path`" in studio.train.summary.value and "data: give `path`" in studio.data.path_error.value
    studio.data.path.value = str(banking_csv)
    studio.data.preview_button.click()
    assert "<table" in studio.data.preview_html.value and "200 rows" in studio.data.preview_html.value
    assert studio.data.mapping() == {"text": "text", "label": "category"}
    assert studio.recipe().method.named is False  # method auto by default, with the README's cleaners
    assert [c.name for c in studio.recipe().clean] == ["normalize", "dedup"]
    studio.model.auto_method.value = False
    studio.model.method.choice.value = "ia3"
    studio.train.form.widgets["epochs"].value = "2"
    studio.data.cleaners.add("length_filter")
    r = studio.recipe()
    assert r.method.name == "ia3" and r.train.epochs == 2.0 and [c.name for c in r.clean] == [
        "normalize", "dedup", "length_filter"]
    assert studio.train.summary.value == ""
    assert "alpha" not in studio.model.method.form.widgets  # the form follows the picked method
    studio.train.form.widgets["learning_rate"].value = "-1"
    with pytest.raises(RecipeError):
        studio.recipe()
    assert "learning_rate must be greater than 0" in studio.train.form.field_errors["learning_rate"].value
    studio.train.start_button.click()  # nothing starts: the problem is shown in the Train step
    assert studio.handle is None and "nothing was started" in studio.train.status.value
    assert studio.train.summary.value.count("learning_rate must be greater than 0") == 1


def test_capability_warnings_before_anything_runs():
    from ft_lab.widgets import ModelPanel
    panel = ModelPanel()
    panel.method.choice.value = "qlora"
    warnings = panel.update_warnings()
    assert any("qlora" in w and "CUDA" in w for w in warnings)
    assert "CUDA" in panel.warnings_html.value


def test_data_panel_cleaning_shows_report_rejected_and_changes(tmp_path):
    import csv

    from ft_lab.widgets import DataPanel
    path = tmp_path / "d.csv"
    rows = [{"text": f"Ｃａｒｄ　number {i % 30}", "label": ["a", "b", "c"][i % 3]} for i in range(90)]
    with open(path, "w", newline="", encoding="utf-8") as f:
        w = csv.DictWriter(f, fieldnames=["text", "label"])
        w.writeheader()
        w.writerows(rows)
    panel = DataPanel()
    panel.path.value = str(path)
    panel.preview_button.click()
    panel.cleaners.add("normalize")
    panel.cleaners.add("dedup")
    panel.clean_button.click()
    assert "Data report" in panel.report_html.value
    assert "Rejected rows (" in panel.rejected_html.value and "dedup" in panel.rejected_html.value
    assert "Changed rows (" in panel.changes_html.value and "<del>" in panel.changes_html.value


def test_set_dataframe(tmp_path):
    import pandas as pd
    from ft_lab.widgets import DataPanel, RecipeState
    panel = DataPanel(RecipeState(runs_dir=tmp_path / "runs"))
    df = pd.DataFrame({"body": ["hello there", "card lost"], "queue": ["x", "y"]})
    path = panel.set_dataframe(df, name="tickets")
    assert path.endswith(".jsonl") and panel.path.value == path
    assert "hello there" in panel.preview_html.value


def test_upload_is_kept_by_content_and_previewed(tmp_path):
    from datetime import datetime, timezone

    from ft_lab.widgets import DataPanel, RecipeState
    panel = DataPanel(RecipeState(runs_dir=tmp_path / "runs"))
    content = "body,queue\nカードが届きません,card\nhello there,other\n".encode("utf-8")
    panel.upload.value = ({"name": "tickets.csv", "type": "text/csv", "size": len(content),
                           "content": memoryview(content),
                           "last_modified": datetime.now(timezone.utc)},)
    path = panel.path.value
    assert path.startswith(str(tmp_path / "runs" / "_uploads" / "tickets-")) and path.endswith(".csv")
    assert open(path, "rb").read() == content
    assert "カードが届きません" in panel.preview_html.value
    other = "body,queue\nsomething else,x\n".encode("utf-8")
    second = panel.use_upload("tickets.csv", other)  # same name, other content: a new file, nothing overwritten
    assert second != path and open(path, "rb").read() == content
