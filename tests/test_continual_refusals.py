"""Continual runs refused before anything is written: a bad ``model.from_run`` or ``data.replay``, labels that
conflict with the ancestors', regularization without a method that supports it or an ancestor; and the
start anchor of a resumed regularized run (docs/continual.md). The chain itself: tests/test_continual.py.
"""
from __future__ import annotations

from pathlib import Path

import pytest

from ft_lab.cli import main
from ft_lab.rundir.reader import append_event
from ft_lab.testing.sample_data import rows_per_label, write_csv

from conftest import banking_rows, write_recipe
from waiting import wait_for

A_LABELS = sorted({r["category"] for r in banking_rows(classes=5)})
NEW = [l for l in sorted({r["category"] for r in banking_rows()}) if l not in A_LABELS]
B_NEW, C_NEW = NEW[:3], NEW[3:5]


def _csv(path: Path, labels: list[str], per_class: int) -> Path:
    return write_csv(path, rows_per_label(banking_rows(), per=per_class, labels=labels))


# --- bad input: one line, exit 2, nothing written ----------------------------------------------------
def _validate(tmp_path, model_line: str, extra: str = "", task: str = "classification"):
    _csv(tmp_path / "d.csv", B_NEW, 10)
    recipe = write_recipe(tmp_path, f"task: {task}\ndata: {{path: d.csv{extra}}}\nmodel: {model_line}\n")
    return main(["validate", str(recipe)])


@pytest.mark.parametrize("case", ["missing", "not_completed", "other_model", "other_task", "fraction",
                                  "no_ancestor", "joint_alone", "joint_replay"])
def test_bad_from_run_and_replay_are_one_line_exit_2(case, completed_classification_run, tmp_path, capsys):
    a = completed_classification_run.dir
    model, extra, task = f"{{from_run: {a}}}", "", "classification"
    if case == "missing":
        model = f"{{from_run: {tmp_path / 'runs' / 'nope'}}}"
    elif case == "not_completed":
        copy = completed_classification_run.copy(tmp_path).dir
        append_event(copy, {"type": "status", "status": "failed", "error": "crashed"})
        model = f"{{from_run: {copy}}}"
    elif case == "other_model":
        model = f"{{from_run: {a}, name_or_path: some-org/other-model}}"
    elif case == "other_task":
        task = "generation"
        extra = ", columns: {prompt: text, response: category}"
    elif case == "fraction":
        extra = ", replay: 1.5"
    elif case == "no_ancestor":
        model, extra = "{max_length: 32}", ", replay: 0.5"
    elif case == "joint_alone":
        model = "{max_length: 32, joint_retrain: true}"
    elif case == "joint_replay":
        model, extra = f"{{from_run: {a}, joint_retrain: true}}", ", replay: 0.5"
    assert _validate(tmp_path, model, extra, task) == 2
    err = capsys.readouterr().err.strip()
    expected = {"missing": "not a run directory", "not_completed": "not completed", "other_model": "was trained from",
                "other_task": "same task", "fraction": "[0, 1]", "no_ancestor": "needs an earlier run",
                "joint_alone": "model.joint_retrain: joint retraining joins an earlier run's",
                "joint_replay": "already trains on every ancestor's rows"}[case]
    assert expected in err, err
    assert len(err.splitlines()) <= 2, err  # the error line (and the recipe's name above it)


def test_conflicting_labels_stop_the_run_before_anything_is_written(completed_classification_run, tmp_path, capsys):
    _csv(tmp_path / "d.csv", B_NEW, 10)
    recipe = write_recipe(tmp_path, f"task: classification\ndata: {{path: d.csv}}\n"
                                    f"model: {{from_run: {completed_classification_run.dir}}}\n")
    assert main(["run", str(recipe), "--runs-dir", str(tmp_path / "runs")]) == 2
    err = capsys.readouterr().err
    assert "do not appear in the new data" in err and "old_labels" in err
    assert not (tmp_path / "runs").exists()  # refused before the runs folder was made


def test_general_test_set_with_labels_the_run_does_not_train_is_refused(completed_classification_run, tmp_path,
                                                                          capsys):
    _csv(tmp_path / "d.csv", B_NEW, 10)
    _csv(tmp_path / "g.csv", C_NEW, 2)
    recipe = write_recipe(tmp_path, f"task: classification\ndata: {{path: d.csv, replay: 0.1, general_test: g.csv}}\n"
                                    f"model: {{from_run: {completed_classification_run.dir}}}\n")
    assert main(["run", str(recipe), "--runs-dir", str(tmp_path / "runs")]) == 2
    err = capsys.readouterr().err.strip()
    assert f"data.general_test: {tmp_path / 'g.csv'} has label(s) {', '.join(sorted(C_NEW))}" in err, err
    assert len(err.splitlines()) <= 2 and not (tmp_path / "runs").exists()


def test_regularization_needs_a_method_that_supports_it_and_an_ancestor(tmp_path, capsys):
    _csv(tmp_path / "d.csv", B_NEW, 10)
    recipe = write_recipe(tmp_path, "task: generation\ndata: {path: d.csv, columns: {prompt: text, response: "
                                    "category}}\nmethod: prefix_tuning\ntrain: {l2_to_start: 0.1}\n")
    assert main(["validate", str(recipe)]) == 2
    assert "regularization toward the starting weights" in capsys.readouterr().err
    recipe = write_recipe(tmp_path, "task: classification\ndata: {path: d.csv}\ntrain: {ewc: 1.0}\n")
    assert main(["validate", str(recipe)]) == 2
    assert "train.ewc: EWC needs an earlier run" in capsys.readouterr().err
    recipe = write_recipe(tmp_path, "task: classification\ndata: {path: d.csv}\ntrain: {ewc: 1.0}\n"
                                    "model: {from_run: runs/x, joint_retrain: true}\n")
    assert main(["validate", str(recipe)]) == 2
    assert "train.ewc: model.joint_retrain starts from the base model" in capsys.readouterr().err
    (tmp_path / "pairs.csv").write_text("prompt,chosen,rejected\nhi,hello,go away\n", encoding="utf-8")
    recipe = write_recipe(tmp_path, "task: generation\ndata: {path: pairs.csv}\nmethod: lora\n"
                                    "model: {from_run: runs/x, joint_retrain: true}\ntrain: {objective: dpo}\n")
    assert main(["validate", str(recipe)]) == 2
    assert "model.joint_retrain: replay and regularization" in capsys.readouterr().err


def test_a_resumed_regularized_run_anchors_at_its_start_not_at_the_checkpoint(completed_classification_run,
                                                                               tmp_path):
    import ft_lab
    from ft_lab.workflows.runner import TERMINAL

    _csv(tmp_path / "d.csv", B_NEW, 10)
    handle = ft_lab.run({"task": "classification", "baselines": [],
                         "data": {"path": str(tmp_path / "d.csv")},
                         "model": {"max_length": 32, "from_run": str(completed_classification_run.dir),
                                   "compare_base": False, "old_labels": "keep"},
                         "train": {"max_steps": 2000, "batch_size": 4, "learning_rate": 0.005, "save_steps": 2,
                                   "logging_steps": 1, "l2_to_start": 0.1, "ewc": 1.0, "ewc_rows": 8}},
                        runs_dir=str(tmp_path / "runs"))
    wait_for(lambda: handle.events("checkpoint") or handle.status in TERMINAL, "a checkpoint")
    handle.stop()
    assert handle.wait(timeout=300) == "stopped", handle.error
    resumed = ft_lab.resume(handle.dir)

    def trains():
        return [e for e in handle.events("phase") if e["phase"] == "train"]
    wait_for(lambda: len(trains()) == 2 or resumed.status in TERMINAL, "the resumed attempt's training")
    resumed.stop()
    assert resumed.wait(timeout=300) == "stopped", resumed.error
    first, second = trains()
    assert first["resume_from"] is None and "checkpoint-" in second["resume_from"]
    # the resumed attempt loaded weights trained for a few steps, yet pulls toward the run's start
    assert second["anchor"] == first["anchor"] and first["anchor"]["weights"] > 0


def test_start_anchor_penalty_by_hand():
    import torch

    from ft_lab.training.regularize import StartAnchor, fisher_diagonal

    layer = torch.nn.Linear(2, 1, bias=False)
    with torch.no_grad():
        layer.weight.copy_(torch.tensor([[1.0, 2.0]]))
    fisher = {"weight": torch.tensor([[3.0, 0.5]])}
    anchor = StartAnchor(layer, l2=0.1, ewc=2.0, fisher=fisher)
    with torch.no_grad():
        layer.weight.copy_(torch.tensor([[2.0, 0.0]]))  # moved by (1, -2)
    assert float(anchor.penalty().detach()) == pytest.approx(0.1 * (1 + 4) + 2.0 * (3 * 1 + 0.5 * 4))

    class Tiny(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.w = torch.nn.Parameter(torch.tensor([1.0, -1.0]))

        def forward(self, x, labels):
            return type("Out", (), {"loss": ((x * self.w).sum() - labels) ** 2})()

    f = fisher_diagonal(Tiny(), [{"x": torch.tensor([1.0, 0.0]), "labels": torch.tensor(2.0)}])
    # loss (w0 - 2)^2 at w0 = 1: gradient (-2, 0), squared (4, 0), scaled to mean 1: (2, 0)
    assert f["w"].tolist() == [2.0, 0.0]


def test_only_the_main_process_answers_the_general_set(tmp_path, monkeypatch):
    """On several processes (RANK set by Accelerate), the general set's "before" is answered once, by rank 0:
    the others return before touching the model (here None, which they would fail on)."""
    from ft_lab.evaluation.forgetting import GENERAL_START, answer_general_start
    from ft_lab.rundir.layout import RunLayout
    events = []
    monkeypatch.setenv("RANK", "1")
    answer_general_start(tmp_path, None, None, None, ["a"], [{"text": "x", "label": "a"}], events.append)
    assert events == [] and not RunLayout(tmp_path).predictions(GENERAL_START).exists()
