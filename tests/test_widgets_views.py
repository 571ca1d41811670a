"""Studio v2 without a training run: the follower's end rule, validation where the user looks, compact
forms, and the result views (metric tables with baselines and throughput, confusion matrix, labels)."""
from __future__ import annotations

import csv
import json
import os
import subprocess
import sys

import pytest

import bqplot  # noqa: F401  (hard dependencies: missing is a failure, not a skip)
import ipywidgets  # noqa: F401


# --- following a run: ends at a terminal status after the last resuming/running -----------------
def test_ended_status_rule():
    from ft_lab.widgets.follow import ended_status
    assert ended_status([(0, "created"), (1, "running")]) is None
    assert ended_status([(0, "created"), (1, "running"), (5, "completed")]) == "completed"
    stopped = [(0, "created"), (1, "running"), (5, "stopped")]
    assert ended_status(stopped) == "stopped"
    assert ended_status(stopped, since=6) is None  # Resume clicked after the stop: the old stop does not count
    assert ended_status([*stopped, (6, "resuming")]) is None
    assert ended_status([*stopped, (6, "resuming"), (7, "running")]) is None
    assert ended_status([*stopped, (6, "resuming"), (7, "running"), (9, "completed")], since=6) == "completed"
    assert ended_status([*stopped, (6, "resuming"), (8, "interrupted")]) == "interrupted"
    assert ended_status([*stopped, (6, "resuming"), (8, "failed")]) == "failed"


def _fake_run(tmp_path, statuses, pid):
    run = tmp_path / "run"
    run.mkdir()
    (run / "run.json").write_text(json.dumps({"id": "run"}))
    (run / "worker.pid").write_text(str(pid))
    with open(run / "events.jsonl", "w") as f:
        for s in statuses:
            f.write(json.dumps({"type": "status", "status": s}) + "\n")
    return run


def _append(run, status):
    from ft_lab.workflows.runner import append_event
    append_event(run, {"type": "status", "status": status})


def test_follower_keeps_following_a_resumed_run_to_its_new_end(tmp_path):
    from ft_lab.workflows.runner import RunHandle
    from ft_lab.widgets.follow import RunFollower
    run = _fake_run(tmp_path, ["created", "running", "stopped"], os.getpid())  # a live pid: this process
    seen, ended = [], []
    since = len(RunHandle(run).events())  # what a Resume click records
    f = RunFollower(RunHandle(run), seen.extend, on_end=ended.append, since=since)
    assert f.poll() is False and f.status == "resuming"  # the old "stopped" does not end it
    _append(run, "resuming")
    _append(run, "running")
    assert f.poll() is False and f.status == "running"
    _append(run, "completed")
    assert f.poll() is True and ended == ["completed"] and f.status == "completed"
    assert [e["status"] for e in seen] == ["created", "running", "stopped", "resuming", "running", "completed"]


def test_follower_ends_when_the_worker_is_gone_without_a_last_word(tmp_path):
    from ft_lab.workflows.runner import RunHandle
    from ft_lab.widgets.follow import RunFollower
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    run = _fake_run(tmp_path, ["created", "running", "stopped", "resuming"], dead.pid)
    ended = []
    f = RunFollower(RunHandle(run), lambda _e: None, on_end=ended.append, since=3)
    assert f.wait(timeout=30) in ("interrupted", "failed") and ended == [f.status]


# --- result views --------------------------------------------------------------------------------
def test_metric_table_shows_baselines_and_throughput_rows(tmp_path):
    from ft_lab.widgets import ResultsPanel
    metrics = {"headline": "accuracy",
               "base": {"accuracy": 0.2, "macro_f1": 0.1},
               "baselines": {"majority": {"accuracy": 0.25, "macro_f1": 0.08},
                             "tfidf_logreg": {"accuracy": 0.71, "macro_f1": 0.69}},
               "finetuned": {"accuracy": 0.8375, "macro_f1": 0.8},
               "throughput": {"tokens_per_second": 5123.4, "mfu": 0.31, "padding_saved": 0.42},
               "validation_loss": 0.5}
    (tmp_path / "metrics.json").write_text(json.dumps(metrics))
    panel = ResultsPanel()
    panel.load(tmp_path)
    html = panel.metrics.value
    for text in ("baseline: majority", "baseline: tfidf_logreg", "0.7100", "0.8375", "+0.6375",
                 "Throughput", "tokens_per_second", "5,123", "mfu", "0.3100", "padding_saved", "0.4200"):
        assert text in html, text
    head = html.split("</p>", 1)[1].split("</thead>")[0]
    assert head.index("base<") < head.index("baseline: majority") < head.index("fine-tuned")
    assert html.startswith("<p class='ft-lab-verdict'><b>On accuracy, the fine-tuned model is best: 0.84 against "
                           "0.71 for TF-IDF + logistic regression, 0.25 for baseline majority and 0.20 for the "
                           "base model.</b></p>")
    assert "runner_up" not in html and "Winner" not in html
    # on a CPU there is no MFU: the row is left out, not shown as "-"
    metrics["throughput"] = {"tokens_per_second": 5123.4, "mfu": None, "padding_saved": None}
    metrics["winner"] = {"best": "finetuned", "runner_up": "tfidf_logreg"}
    (tmp_path / "metrics.json").write_text(json.dumps(metrics))
    panel.load(tmp_path)
    assert "tokens_per_second" in panel.metrics.value and "mfu" not in panel.metrics.value
    assert "padding_saved" not in panel.metrics.value and "runner_up" not in panel.metrics.value


@pytest.mark.parametrize("n", [2, 12, 80])
def test_confusion_matrix_readable_from_2_to_80_classes(n):
    from ft_lab.widgets.plots import confusion_table_html
    labels = [f"a_rather_long_intent_name_number_{i}" for i in range(n)]
    matrix = [[(10 if i == j else (i + j) % 3) for j in range(n)] for i in range(n)]
    html = confusion_table_html(labels, matrix)
    assert html.count("<tr>") == n + 1
    assert f"title='reference: {labels[-1]}'" in html and f"title='predicted: {labels[-1]}'" in html
    assert "writing-mode:vertical-rl" in html  # column labels never overlap side by side
    assert "color:#fff" in html  # counts on dark cells are white
    if n > 25:
        assert ">a_rather_long_i…<" in html  # shortened, the full name on hover
    pct = confusion_table_html(labels, matrix, normalize=True)
    assert "% of each reference row" in pct


def test_classification_predictions_are_coloured_labels():
    from ft_lab.widgets.errors_panel import label_html
    assert "ft-lab-right" in label_html("card_lost", True) and "ft-lab-wrong" in label_html("x", False)
    assert "<del>" not in label_html("declined_card_payment", False)


# --- validation where the user looks; compact forms ----------------------------------------------
def _csv(tmp_path, rows, fields=("text", "category")):
    path = tmp_path / "d.csv"
    with open(path, "w", newline="", encoding="utf-8") as f:
        w = csv.DictWriter(f, fieldnames=list(fields))
        w.writeheader()
        w.writerows(rows)
    return path


def test_preview_reports_every_problem_next_to_its_field(tmp_path):
    from ft_lab import Recipe, Studio
    rows = [{"text": f"message {i}", "category": ["a", "b", "c"][i % 3]} for i in range(60)]
    path = _csv(tmp_path, rows)
    recipe = Recipe.from_dict({"task": "classification",
                               "data": {"path": str(path), "columns": {"text": "text", "label": "category"}},
                               "method": "lora"})
    studio = Studio.from_recipe(recipe, runs_dir=tmp_path / "runs")
    studio.data.role_widgets["label"].value = "text"  # text and label on one column
    studio.train.form.widgets["early_stopping_metric"].value = "acuracy"
    studio.model.method.form.widgets["r"].value = "eight"
    studio.data.preview_button.click()
    problems = studio.validate()
    both = [p for p in problems if "both mapped to column 'text'" in p]
    assert len(both) == 2, problems
    assert "both mapped" in studio.data.role_errors["label"].value and "both mapped" in \
        studio.data.role_errors["text"].value
    assert "did you mean 'accuracy'" in studio.train.form.field_errors["early_stopping_metric"].value
    assert "method.r" in studio.model.method.form.field_errors["r"].value
    assert studio.model.method.form.widgets["r"].value == "eight"
    summary = studio.train.summary.value
    assert f"{len(problems)} problems" in summary
    for p in problems:
        assert summary.count(p) == 1, p
    studio.train.start_button.click()
    assert studio.handle is None and "nothing was started" in studio.train.status.value


def test_preview_flags_a_misspelt_column_and_never_offers_it(tmp_path):
    from ft_lab import Studio
    path = _csv(tmp_path, [{"text": f"m {i}", "category": "ab"[i % 2]} for i in range(20)])
    studio = Studio(runs_dir=tmp_path / "runs")
    studio.state.sections["data"] = {"path": str(path), "columns": {"label": "categry"}}
    studio.data.refresh()
    studio.data.preview_button.click()
    label = studio.data.role_widgets["label"]
    assert "categry" not in label.options and label.value == ""
    assert "column 'categry' is not in the file; did you mean 'category'?" in studio.data.role_errors["label"].value
    assert studio.data.mapping()["label"] == "categry"  # kept aside: Start would say the same
    label.value = "category"
    assert studio.data.role_errors["label"].value == "" and studio.data.mapping()["label"] == "category"


def test_a_bad_path_is_shown_under_the_path_and_the_old_preview_goes(tmp_path):
    from ft_lab.widgets import DataPanel
    good = _csv(tmp_path, [{"text": "x y", "category": "a"}, {"text": "z", "category": "b"}])
    panel = DataPanel()
    panel.path.value = str(good)
    panel.preview_button.click()
    assert "<table" in panel.preview_html.value
    panel.path.value = str(tmp_path / "nope.csv")
    panel.preview_button.click()
    assert panel.preview_html.value == "" and "nope.csv" in panel.path_error.value


def test_fields_that_do_not_apply_to_the_task_are_hidden():
    from ft_lab.widgets import DataPanel
    panel = DataPanel()
    rows = panel.task_form.rows
    assert rows["max_new_tokens"].layout.display == "none" and rows["classify_prompt"].layout.display == "none"
    assert rows["classifier"].layout.display is None
    panel.task_form.widgets["classifier"].value = "lm"
    assert rows["classify_prompt"].layout.display is None
    panel.task_form.widgets["type"].value = "generation"
    assert rows["classifier"].layout.display == "none" and rows["max_new_tokens"].layout.display is None
    assert panel.data_form.rows["template"].layout.display is None
    assert list(panel.role_widgets) == ["prompt", "response", "messages", "chosen", "rejected", "completion", "label"]


def test_train_step_has_actions_on_top_and_basic_settings_before_advanced():
    from ft_lab.widgets import TrainPanel
    panel = TrainPanel()
    kinds = [getattr(c, "_dom_classes", ()) for c in panel.children]
    actions = next(i for i, k in enumerate(kinds) if "ft-lab-train-actions" in k)
    form = panel.children.index(panel.form)
    assert actions == 1 and actions < form
    assert panel.start_button in panel.children[actions].children
    assert panel.progress in panel.children[actions].children
    shown = [c for c in panel.form.children if "ft-lab-field" in getattr(c, "_dom_classes", ())]
    assert len(shown) == 4  # learning rate, epochs, max steps, batch size; the rest under Advanced
    assert "Advanced (" in panel.form.advanced.get_title(0)


def test_start_with_a_bad_recipe_clears_the_previous_run(tmp_path):
    from ft_lab import Studio
    studio = Studio(runs_dir=tmp_path / "runs")
    t = studio.train
    t.progress.max, t.progress.value = 20, 20
    t.run_dir_html.value = "run directory: old"
    t.chart.set({"train loss": [(1, 2.0), (2, 1.0)]})
    t.start_button.click()
    assert t.progress.value == 0 and t.run_dir_html.value == "" and len(t.chart.train.y) == 0
    assert t.resume_button.disabled and studio.handle is None


def test_studio_offers_recent_runs_to_attach_to(tmp_path):
    from ft_lab import Studio
    runs = tmp_path / "runs"
    # no run yet: the row keeps its place, hidden (the first run does not push the Studio down)
    assert Studio(runs_dir=runs).recent_box.layout.visibility == "hidden"
    run = runs / "20260101-000000-class-lora-abcd"
    run.mkdir(parents=True)
    (run / "run.json").write_text(json.dumps({"id": run.name, "created": "2026-01-01T00:00:00+00:00"}))
    (run / "events.jsonl").write_text(json.dumps({"type": "status", "status": "completed"}) + "\n")
    studio = Studio(runs_dir=runs)
    assert studio.recent_box.layout.visibility == "visible"
    assert studio.recent.value == str(run.resolve())
    studio.attach_button.click()
    assert studio.handle is not None and studio.handle.dir == run.resolve()
    assert studio.train.wait(timeout=30) == "completed"
