"""The speed switches resolve from the machine, the task and the method's capabilities; throughput
figures reach metrics.json, the events and ``ft-lab runs``."""
from __future__ import annotations

import json

import pytest

from ft_lab.core.method_checks import check_capabilities
from ft_lab.core.plugins import get_registry
from ft_lab.core.recipe import Recipe
from ft_lab.training.speed import SpeedPlan, flops_per_token, mfu, plan_speed, throughput_report


def recipe(tmp_path, task="generation", **train):
    data = tmp_path / "d.jsonl"
    data.write_text('{"prompt": "a", "response": "b"}\n' * 10, encoding="utf-8")
    return Recipe.from_dict({"task": task, "data": {"path": str(data)}, "method": "lora", "train": train})


def method(name):
    return get_registry().get("method", name)


def test_auto_packs_generation_and_fuses_adamw_where_torch_can(tmp_path, monkeypatch):
    import ft_lab.training.speed as speed

    r = recipe(tmp_path)
    cpu = plan_speed(r, method("lora"), cuda=False, liger_installed=True)
    assert (cpu.packing, cpu.compile, cpu.optimizer, cpu.liger, cpu.frozen_dtype) == \
        (True, False, "adamw_torch_fused", False, None)  # torch >= 2.4 fuses AdamW on the CPU too
    monkeypatch.setattr(speed, "fused_on_cpu", lambda: False)
    assert plan_speed(r, method("lora"), cuda=False).optimizer == "adamw_torch"
    gpu = plan_speed(r, method("lora"), cuda=True, liger_installed=True)
    assert (gpu.packing, gpu.optimizer) == (True, "adamw_torch_fused")
    assert (gpu.compile, gpu.liger) == (False, False)  # not measured on a GPU yet: auto leaves them off
    asked = plan_speed(recipe(tmp_path, compile=True, liger=True), method("lora"), cuda=True, liger_installed=True)
    assert (asked.compile, asked.liger) == (True, True)
    assert not plan_speed(recipe(tmp_path, liger=True), method("lora"), cuda=True, liger_installed=False).liger


def test_auto_leaves_out_what_the_method_or_task_cannot_take(tmp_path):
    assert not plan_speed(recipe(tmp_path), method("prefix_tuning"), cuda=False).packing
    assert not plan_speed(recipe(tmp_path, compile=True), method("qlora"), cuda=True).compile
    assert not plan_speed(recipe(tmp_path, task="classification"), method("lora"), cuda=False).packing
    assert not plan_speed(recipe(tmp_path, packing=False), method("lora"), cuda=False).packing
    full = plan_speed(recipe(tmp_path), method("full"), cuda=True)
    assert full.frozen_dtype is None  # full fine-tuning keeps fp32 master weights


def test_asking_explicitly_for_what_a_method_cannot_do_is_refused(tmp_path):
    assert check_capabilities(recipe(tmp_path), method("prefix_tuning")) == []  # auto asks nothing
    problems = check_capabilities(recipe(tmp_path, compile=True), method("qlora"), cuda_available=True)
    assert any("set train.compile: false" in p for p in problems)


def test_recipe_rejects_an_unknown_switch_value(tmp_path):
    with pytest.raises(Exception, match="train.compile"):
        recipe(tmp_path, compile="sometimes")


def test_flops_per_token_counts_frozen_and_full_training():
    import torch
    from transformers import LlamaConfig, LlamaForCausalLM

    model = LlamaForCausalLM(LlamaConfig(vocab_size=100, hidden_size=32, intermediate_size=64, num_hidden_layers=2,
                                         num_attention_heads=4, num_key_value_heads=2))
    linear = sum(m.weight.numel() for m in model.modules() if isinstance(m, torch.nn.Linear))
    attention = 6 * 2 * 32 * 10
    assert flops_per_token(model, full=True, mean_row=10) == 6 * linear + attention
    assert flops_per_token(model, full=False, mean_row=10) == 4 * linear + attention
    assert mfu(1000.0, 1e9, 1e13) == 0.1 and mfu(1000.0, None, 1e13) is None


def test_throughput_reaches_metrics_and_the_runs_table(tmp_path, capsys, banking_csv):
    from ft_lab.cli import main
    from ft_lab.workflows.runner import create_run
    from ft_lab.training.callbacks import EventWriter

    r = Recipe.from_dict({"task": "classification", "data": {"path": str(banking_csv)}, "method": "lora"})
    run_dir = create_run(r, tmp_path / "runs")
    report = throughput_report(5000, 2.0, EventWriter(run_dir, 1e9, 1e13), {"padding_saved": 0.42})
    assert report == {"tokens_per_second": 2500.0, "mfu": 0.25, "padding_saved": 0.42}
    (run_dir / "metrics.json").write_text(json.dumps({"headline": "accuracy", "throughput": report}))
    assert main(["runs", "--runs-dir", str(tmp_path / "runs")]) == 0
    out = capsys.readouterr().out
    assert "tokens/s" in out and "2,500 (MFU 25%)" in out
    assert main(["runs", "--runs-dir", str(tmp_path / "runs"), "--json"]) == 0
    row = json.loads(capsys.readouterr().out)["runs"][0]
    assert row["tokens_per_second"] == 2500.0 and row["mfu"] == 0.25


def test_plan_is_reported_as_plain_values():
    plan = SpeedPlan(packing=True, compile=False, optimizer="adamw_torch", liger=False, frozen_dtype=None)
    assert json.loads(json.dumps(plan.to_dict()))["optimizer"] == "adamw_torch"


def test_train_step_shows_throughput_mfu_and_padding_saved():
    from ft_lab.widgets.train_panel import TrainPanel

    panel = TrainPanel()
    panel.apply_events([
        {"type": "status", "status": "running"},
        {"type": "packing", "rows": 100, "batches": 12, "padding_saved": 0.44},
        {"type": "train_begin", "max_steps": 20, "step": 0},
        {"type": "log", "step": 10, "max_steps": 20, "loss": 1.0, "tokens_per_second": 51234.0, "mfu": 0.31},
    ])
    text = panel.progress_text.value
    assert "51,234 tokens/s (MFU 31%)" in text and "packing saved 44% padding" in text
