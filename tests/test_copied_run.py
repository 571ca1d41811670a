"""A run directory copied to another folder (or machine: its data files and the original run gone) still
loads its recipe, re-scores (ft-lab eval), reports (ft-lab report) and exports (ft-lab export)."""
from __future__ import annotations

import json
import shutil

import pytest

from conftest import write_recipe
from ft_lab.cli import main

RECIPE = """\
task: classification
data:
  path: {csv}
  columns: {{text: text, label: category}}
model: {{name_or_path: tiny, max_length: 48}}
method: {{name: lora}}
train: {{max_steps: 8, batch_size: 16, learning_rate: 0.001, logging_steps: 4}}
evaluate: [accuracy, macro_f1]
"""


@pytest.fixture
def copied_run(tmp_path, banking_csv, tiny_model_dir):
    """A completed run, copied elsewhere; the data file, the recipe's folder and the original run deleted."""
    import ft_lab.workflows.runner as runs

    (tmp_path / "project").mkdir()
    recipe = write_recipe(tmp_path / "project", RECIPE.format(csv=banking_csv))
    handle = runs.run(recipe, tmp_path / "runs")
    assert handle.wait(timeout=600) == "completed", handle.error
    copy = tmp_path / "elsewhere" / handle.dir.name
    shutil.copytree(handle.dir, copy)
    banking_csv.unlink()
    shutil.rmtree(tmp_path / "project")
    shutil.rmtree(tmp_path / "runs")
    return copy


def test_a_copied_run_loads_rescores_reports_and_exports(copied_run, tmp_path, capsys):
    from ft_lab.core.environment import environment_problems
    from ft_lab.rundir.reader import RunFiles

    # the recipe still parses (types, names), and the environment check says what this machine lacks
    run = RunFiles(copied_run)
    assert run.recipe() is not None and run.task == "classification"
    assert [e.name for e in run.evaluators()] == ["accuracy", "macro_f1"]
    assert any(p.startswith("data.path: file not found") for p in environment_problems(run.recipe()))

    # eval: metrics.json rewritten with numbers from the copied predictions
    before = json.loads((copied_run / "metrics.json").read_text())
    spoiled = {**before, "finetuned": {**before["finetuned"], "accuracy": -1.0, "macro_f1": -1.0}}
    (copied_run / "metrics.json").write_text(json.dumps(spoiled))
    assert main(["eval", str(copied_run), "--quiet"]) == 0, capsys.readouterr().err
    metrics = json.loads((copied_run / "metrics.json").read_text())
    for which in ("base", "finetuned"):
        assert 0.0 <= metrics[which]["accuracy"] <= 1.0 and 0.0 <= metrics[which]["macro_f1"] <= 1.0
    assert metrics["finetuned"]["accuracy"] == pytest.approx(before["finetuned"]["accuracy"])
    assert metrics["headline"] == "accuracy"
    assert (copied_run / "eval_details.json").is_file()

    # report: one HTML file naming the run and its metric
    out_html = tmp_path / "report.html"
    assert main(["report", str(copied_run), "--out", str(out_html)]) == 0, capsys.readouterr().err
    page = out_html.read_text(encoding="utf-8")
    assert page.lstrip().lower().startswith("<!doctype html") and "accuracy" in page and copied_run.name in page

    # export: the adapter loads onto the base and answers as the run's trained model does
    out = tmp_path / "exported"
    assert main(["export", str(copied_run), "--out", str(out)]) == 0, capsys.readouterr().err
    assert (out / "adapter_model.safetensors").is_file() and (out / "README.md").is_file()
    _same_logits_as_the_run(out, copied_run)


def _same_logits_as_the_run(exported, run_dir):
    import torch
    from peft import PeftModel
    from transformers import AutoModelForSequenceClassification, AutoTokenizer

    from ft_lab.models.from_run import load_trained, run_labels
    from ft_lab.models.tiny import ensure_tiny

    labels = run_labels(run_dir)
    tokenizer = AutoTokenizer.from_pretrained(str(exported))
    base = AutoModelForSequenceClassification.from_pretrained(
        str(ensure_tiny()), num_labels=len(labels), id2label=dict(enumerate(labels)),
        label2id={l: i for i, l in enumerate(labels)})
    base.config.pad_token_id = tokenizer.pad_token_id
    loaded = PeftModel.from_pretrained(base, str(exported)).eval()
    trained, _, _ = load_trained(run_dir)
    batch = tokenizer(["my card has not arrived yet", "how do I change my PIN"], return_tensors="pt", padding=True)
    with torch.no_grad():
        diff = (loaded(**batch).logits - trained(**batch).logits).abs().max().item()
    assert diff < 1e-4
