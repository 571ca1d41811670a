"""ft-lab export (adapter, merged, refused) and ft-lab sweep, on the tiny model and a small CSV."""
from __future__ import annotations

import json

import pytest

from conftest import ft_lab_cli, write_recipe

RECIPE = """\
task: classification
data:
  path: {csv}
  columns: {{text: text, label: category}}
model: {{name_or_path: tiny, max_length: 48}}
method: {method}
train: {{max_steps: {steps}, batch_size: 16, learning_rate: 0.001, logging_steps: 5,
         gradient_checkpointing: {ckpt}}}
evaluate: [accuracy]
"""


def _recipe(folder, csv, method="{name: lora}", steps=20, ckpt="false"):
    folder.mkdir(parents=True, exist_ok=True)
    return write_recipe(folder, RECIPE.format(csv=csv, method=method, steps=steps, ckpt=ckpt))


@pytest.fixture
def lora_run(completed_classification_run, tmp_path):
    """A copy of the session's shared LoRA run (r=8, trained on tickets.csv)."""
    return completed_classification_run.copy(tmp_path)


def _logits(model, tokenizer):
    import torch
    batch = tokenizer(["my card has not arrived yet", "how do I change my PIN"], return_tensors="pt",
                      padding=True)
    with torch.no_grad():
        return model(**batch).logits


def test_export_adapter_and_merged(lora_run, tmp_path):
    from transformers import AutoModelForSequenceClassification, AutoTokenizer

    from ft_lab.models.from_run import load_trained
    from ft_lab.workflows.export import export_run

    events = {e["type"]: e for e in lora_run.events()}
    assert events["resources"]["peak_rss_mib"] > 0

    # adapter, through the CLI
    out = tmp_path / "adapter"
    result = ft_lab_cli("export", str(lora_run.dir), "--out", str(out))
    assert result.returncode == 0, result.stderr
    assert (out / "adapter_config.json").exists() and (out / "adapter_model.safetensors").exists()
    assert (out / "tokenizer_config.json").exists()
    card = (out / "README.md").read_text(encoding="utf-8")
    metrics = lora_run.metrics()
    assert "lora" in card and "r=8" in card and "tickets.csv" in card and "PeftModel" in card
    assert f"{metrics['finetuned']['accuracy']:.4f}" in card and f"{metrics['base']['accuracy']:.4f}" in card
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".adapter")]  # no temp folder left

    # a non-empty --out is refused
    again = ft_lab_cli("export", str(lora_run.dir), "--out", str(out))
    assert again.returncode == 2 and "not empty" in again.stderr

    # merged, through the API: plain transformers loads it, logits match the adapter model
    merged = export_run(lora_run.dir, tmp_path / "merged", merge=True)
    assert (merged / "model.safetensors").exists() and not (merged / "adapter_config.json").exists()
    assert "accuracy" in (merged / "README.md").read_text(encoding="utf-8")
    plain = AutoModelForSequenceClassification.from_pretrained(str(merged)).eval()
    tokenizer = AutoTokenizer.from_pretrained(str(merged))
    adapter_model, _, _ = load_trained(lora_run.dir)
    diff = (_logits(plain, tokenizer) - _logits(adapter_model, tokenizer)).abs().max().item()
    assert diff < 1e-4


def test_export_refuses_unfinished_run(tmp_path, banking_csv):
    from ft_lab.workflows.runner import create_run
    from ft_lab.core.recipe import Recipe

    run_dir = create_run(Recipe.from_yaml(_recipe(tmp_path / "r", banking_csv)), tmp_path / "runs")
    result = ft_lab_cli("export", str(run_dir), "--out", str(tmp_path / "x"))
    assert result.returncode == 2 and "not completed" in result.stderr
    assert not (tmp_path / "x").exists()


def test_sweep_then_refuse_merge(tmp_path, banking_csv, tiny_model_dir):
    recipe = _recipe(tmp_path / "r", banking_csv, steps=10, ckpt="true")
    table = tmp_path / "out" / "table.md"
    result = ft_lab_cli("sweep", str(recipe), "--methods", "ia3,prompt_tuning,prefix_tuning",
                        "--runs-dir", str(tmp_path / "runs"), "--out", str(table))
    assert result.returncode == 0, result.stderr
    rows = {r["method"]: r for r in json.loads((tmp_path / "out" / "sweep.json").read_text())["rows"]}
    assert set(rows) == {"ia3", "prompt_tuning", "prefix_tuning"}
    # prefix tuning cannot train with gradient checkpointing: skipped, with the reason
    assert rows["prefix_tuning"]["status"] == "skipped" and "gradient checkpointing" in rows["prefix_tuning"]["note"]
    for name in ("ia3", "prompt_tuning"):
        row = rows[name]
        assert row["status"] == "completed"
        assert 0 < row["trainable_parameters"] < row["total_parameters"]
        assert row["peak_rss_mib"] > 0 and row["train_runtime"] > 0 and row["tokens_per_second"] > 0
        assert row["validation_loss"] is not None and "accuracy" in row["metrics"]
    md = table.read_text(encoding="utf-8")
    assert md == result.stdout
    assert [l.split("|")[1].strip() for l in md.splitlines()[2:]] == ["ia3", "prompt_tuning", "prefix_tuning"]
    assert "accuracy" in md.splitlines()[0] and "peak RSS MiB" in md
    svg = (tmp_path / "out" / "sweep.svg").read_text(encoding="utf-8")
    assert svg.startswith("<svg") and ">ia3<" in svg and "not plotted: prefix_tuning (skipped)" in svg

    # prompt tuning is not mergeable: --merge is refused before anything is written
    out = tmp_path / "merged"
    refused = ft_lab_cli("export", rows["prompt_tuning"]["run_dir"], "--out", str(out), "--merge")
    assert refused.returncode == 2
    assert "merging into the base" in refused.stderr and len(refused.stderr.strip().splitlines()) == 1
    assert not out.exists() and not [p for p in tmp_path.iterdir() if p.name.startswith(".merged")]


def test_tradeoff_svg_plots_completed_methods_and_names_the_others():
    from ft_lab.workflows.sweep import tradeoff_svg

    rows = [{"method": "lora", "status": "completed", "trainable_parameters": 20_000, "train_runtime": 6.0,
             "metrics": {"accuracy": 0.7, "macro_f1": 0.6}},
            {"method": "full", "status": "completed", "trainable_parameters": 800_000, "train_runtime": 9.0,
             "metrics": {"accuracy": 0.9}},
            {"method": "reft", "status": "failed", "metrics": {}}]
    svg = tradeoff_svg(rows)
    assert svg.startswith("<svg") and svg.endswith("</svg>")
    assert svg.count("<circle") == 4  # two methods, each against parameters and against time
    assert "lora: accuracy 0.7, trainable parameters (log scale) 2e+04" in svg
    assert ">100k<" in svg and ">1M<" in svg  # log ticks in readable units
    assert "not plotted: reft (failed)" in svg
    assert "macro_f1 0.6" in tradeoff_svg(rows, metric="macro_f1")
