"""The Studio's Search step: "search" toggles beside the fields write the recipe's search section; Start runs
the search (``ft-lab search`` in its own process) with a live leaderboard and its plots; "Use best" loads the
best trial's recipe into the panels. The search is one trial of the tiny model (4 updates)."""
from __future__ import annotations

import pytest
import yaml
from test_search import write
from waiting import wait_for

import ipywidgets  # noqa: F401  (a hard dependency: missing is a failure, not a skip)


def studio_for(folder, search: str = "  space: {}"):
    from ft_lab import Studio
    folder.mkdir(parents=True, exist_ok=True)
    recipe = write(folder, search)
    if search == "  space: {}":  # a recipe without a search section
        recipe.write_text(recipe.read_text(encoding="utf-8").split("search:")[0], encoding="utf-8")
    return Studio.from_recipe(str(recipe), runs_dir=str(folder / "runs"))


@pytest.mark.unit
def test_toggles_beside_fields_write_the_search_section_and_show_its_problems(tmp_path):
    studio = studio_for(tmp_path)
    fields = studio.search_fields
    assert studio.tabs.titles[3] == "Search" and studio.state.recipe().search is None
    # numbers (also "auto"-or-number fields), dropdowns and the method itself have a toggle; text fields do not
    assert {"train.learning_rate", "train.epochs", "method.r", "method.dropout", "train.scheduler",
            "method.name"} <= set(fields.fields)
    assert "method.target_modules" not in fields and "data.template" not in fields
    lr = fields["train.learning_rate"]
    assert lr.toggle in studio.train.form.rows["learning_rate"].children[0].children  # beside the field
    assert lr.editor.layout.display == "none"
    lr.toggle.value = True  # opens the range, around the field's value (0.01) on a log scale
    assert lr.editor.layout.display is None and lr.spec() == {"low": 0.001, "high": 0.1, "log": True}
    fields["method.r"].toggle.value = True
    assert fields["method.r"].spec() == {"low": 4, "high": 16}
    fields["method.r"].choices.value = "2, 4"  # a list instead of the range
    fields["train.scheduler"].toggle.value = True  # a dropdown: its value and the next one
    assert fields["train.scheduler"].spec() == ["cosine", "linear"]
    studio.search.settings.widgets["sampler"].value = "random"
    studio.search.settings.widgets["trials"].value = "3"
    assert "method.r" in studio.search.space_html.value
    search = studio.recipe().search
    assert search.space == {"train.learning_rate": {"low": 0.001, "high": 0.1, "log": True}, "method.r": [2, 4],
                            "train.scheduler": ["cosine", "linear"]}
    assert search.sampler == "random" and search.trials == 3
    assert yaml.safe_load(studio.export_recipe())["search"]["space"]["method.r"] == [2, 4]  # in the YAML shown
    # an inverted range: the recipe's own validation, shown under that range, and Start starts nothing
    lr.low.value, lr.high.value = "0.5", "0.001"
    problems = studio.validate()
    assert any(p.startswith("search.space.train.learning_rate:") for p in problems)
    assert "inverted" in lr.error.value and not fields["method.r"].error.value
    studio.train.start_button.click()
    assert studio.search.process is None and studio.handle is None
    assert "problems" in studio.train.status.value
    studio.search.start_button.click()  # the Search step's own Start says the same
    assert studio.search.process is None and "problems" in studio.search.status.value
    # another method: its own fields get toggles (LoRA's rank is gone)
    studio.model.method.choice.value = "full"
    assert "method.r" not in fields.space() and "method.r" not in fields
    # a recipe with a search section: the toggles come back on with its ranges
    again = studio_for(tmp_path / "again", "  space: {train.learning_rate: {low: 0.001, high: 0.05, log: true}, "
                                           "method.r: [2, 8]}\n  trials: 2")
    assert again.search_fields["method.r"].toggle.value and again.search_fields["method.r"].choices.value == "2, 8"
    assert again.search_fields["train.learning_rate"].high.value == "0.05"
    assert again.recipe().search.space == {"train.learning_rate": {"low": 0.001, "high": 0.05, "log": True},
                                           "method.r": [2, 8]}
    # turning every toggle off drops the section (Start then trains one run)
    for f in again.search_fields.fields.values():
        f.toggle.value = False
    assert again.recipe().search is None


@pytest.mark.integration
def test_start_with_a_search_shows_a_live_leaderboard_plots_and_use_best(tmp_path, tiny_model_dir):
    studio = studio_for(tmp_path, "  space: {train.learning_rate: {low: 0.001, high: 0.05, log: true}}\n"
                                  "  sampler: random\n  trials: 1\n  name: studio-test")
    panel = studio.search
    studio.train.start_button.click()  # Start with a search section: the Search step runs it
    assert studio.tabs.selected_index == 3 and panel.process is not None, panel.status.value
    assert panel.start_button.disabled and not panel.stop_button.disabled

    def running():  # the leaderboard shows the trial running, its step read from its run directory
        rows = panel.board.get("rows") or []
        return rows and rows[0]["state"] == "running" and rows[0].get("progress") is not None and rows[0]
    row = wait_for(running, "the leaderboard to show the running trial", timeout=240, poll=0.1)
    assert row["run_dir"] and "running" in panel.leaderboard.value
    board = panel.wait(300)
    assert board["counts"]["complete"] == 1 and board["finished"] == 1, panel.status.value
    assert "search finished" in panel.status.value and not panel.start_button.disabled
    best = board["best_row"]
    assert "1/1 trials" in panel.leaderboard.value and f"{best['value']:.4f}" in panel.leaderboard.value
    assert "ft-lab-search-history" in panel.plots.value and "ft-lab-search-params" in panel.plots.value
    assert (tmp_path / "runs" / "searches" / "studio-test" / "studio.yaml").is_file()
    # Use best: the best trial's recipe in the panels, the search toggles off
    assert not panel.use_best_button.disabled
    panel.use_best_button.click()
    assert studio.train.form.value()["learning_rate"] == best["params"]["train.learning_rate"]
    assert not studio.search_fields["train.learning_rate"].toggle.value
    assert studio.recipe().search is None and "loaded trial 0" in panel.status.value
