"""Plans: memory, time and cost of a recipe on an accelerator, from the model built on the meta device,
and each run's plan against what it measured (docs/plan.md)."""
import json
from dataclasses import replace

import pytest

from ft_lab.cli import main
from ft_lab.core.plugins import get_registry
from ft_lab.planning.accelerators import load_accelerators
from ft_lab.planning.plan import Setup, estimate, with_changes
from ft_lab.planning.shape import apply_method, meta_model, shape_of
from ft_lab.planning.workload import Workload


def smollm2_config():  # SmolLM2-135M's shape (its GGUF's metadata)
    from transformers import LlamaConfig
    return LlamaConfig(hidden_size=576, intermediate_size=1536, num_hidden_layers=30, num_attention_heads=9,
                       num_key_value_heads=3, vocab_size=49152, tie_word_embeddings=True)


def minilm_config():  # all-MiniLM-L6-v2's shape
    from transformers import BertConfig
    return BertConfig(hidden_size=384, intermediate_size=1536, num_hidden_layers=6, num_attention_heads=12,
                      vocab_size=30522)


def tiny_config(tiny_model_dir):
    from transformers import AutoConfig
    return AutoConfig.from_pretrained(tiny_model_dir)


def shape(config, method="full", task="generation", labels=None, **method_config):
    cls = get_registry().get("method", method)
    m = cls(cls.Config(**method_config))
    model = apply_method(m, meta_model(config, task, labels), task)
    assert all(p.is_meta for p in model.parameters())  # nothing allocated, nothing read
    return shape_of(model, m, task)


@pytest.fixture
def no_weight_reading(monkeypatch):
    import safetensors
    import safetensors.torch
    import torch

    def refuse(*a, **k):
        raise AssertionError("a plan read weights")
    for mod, name in ((safetensors, "safe_open"), (safetensors.torch, "load_file"), (torch, "load")):
        monkeypatch.setattr(mod, name, refuse)


def test_shapes_of_tiny_minilm_and_smollm2_on_meta_count_exactly(tiny_model_dir, no_weight_reading):
    full = shape(smollm2_config())
    assert full.total == full.trainable == 134_515_008  # SmolLM2-135M, tied embeddings counted once
    lora = shape(smollm2_config(), "lora", r=8)
    assert lora.trainable == 30 * 8 * ((576 + 576) + (576 + 192))  # q_proj and v_proj by default
    qlora = shape(smollm2_config(), "qlora", r=8)
    assert qlora.quantized_bits == 4 and qlora.trainable == lora.trainable and qlora.frozen_linear > 0.7 * full.total
    bert = shape(minilm_config(), "full", "classification", ["a", "b", "c"])
    assert 22_000_000 < bert.total < 23_500_000 and bert.outputs == 3
    tiny = shape(tiny_config(tiny_model_dir), "lora", r=4)
    assert tiny.outputs == 4096 and tiny.layers == 2


def test_memory_parts_follow_precision_sharding_and_checkpointing():
    acc = load_accelerators()
    full = shape(smollm2_config())
    work = Workload.from_lengths([256] * 64, batch_size=8)
    base = Setup(method="full", adapter=False, workload=work, batch_size=8)
    h100 = estimate(full, base, acc["H100"])
    assert h100.memory["gradients"] == 4 * full.trainable and h100.memory["optimizer"] == 8 * full.trainable
    ckpt = estimate(full, replace(base, gradient_checkpointing=True), acc["H100"])
    assert ckpt.memory["activations"] < h100.memory["activations"] / 3 and ckpt.flops > h100.flops
    fsdp = estimate(full, replace(base, gpus=4, strategy="fsdp"), acc["H100"])
    assert fsdp.memory["optimizer"] == h100.memory["optimizer"] // 4 and fsdp.seconds < h100.seconds
    zero1 = estimate(full, replace(base, gpus=4, strategy="deepspeed", zero_stage=1), acc["H100"])
    assert zero1.memory["optimizer"] == fsdp.memory["optimizer"]
    assert zero1.memory["gradients"] == h100.memory["gradients"]
    lora = shape(smollm2_config(), "lora")
    lora_gpu = estimate(lora, replace(base, method="lora", adapter=True), acc["H100"])
    lora_cpu = estimate(lora, replace(base, method="lora", adapter=True), acc["cpu"])
    assert lora_gpu.memory["weights"] < 0.6 * lora_cpu.memory["weights"]  # a bf16 frozen base on a GPU
    qlora = estimate(shape(smollm2_config(), "qlora"), replace(base, method="qlora", adapter=True), acc["H100"])
    assert qlora.memory["weights"] < 0.5 * lora_gpu.memory["weights"]
    assert h100.cost == pytest.approx(h100.seconds / 3600 * 3.00)


def test_a_plan_that_does_not_fit_lists_changes_that_each_fit():
    acc = load_accelerators()["T4"]
    work = Workload.from_lengths([1024] * 500, batch_size=16)
    setup = Setup(method="full", adapter=False, workload=work, batch_size=16, epochs=1)
    plan = estimate(shape(smollm2_config()), setup, acc)
    assert not plan.fits
    plan = with_changes(plan, lambda m: shape(smollm2_config(), m))
    assert len(plan.changes) >= 3
    whats = [c.what for c in plan.changes]
    assert any("gradient_checkpointing" in w for w in whats) and any("batch_size" in w for w in whats)
    for c in plan.changes:
        assert c.plan.fits and c.plan.peak_bytes <= c.plan.capacity_bytes, c.what
    costs = [c.plan.cost for c in plan.changes]
    assert costs == sorted(costs)
    text = "\n".join(plan.lines())
    assert "DOES NOT FIT" in text and "changes that make it fit" in text


def test_plan_command_for_a_recipe_and_bad_input(completed_classification_run, tmp_path, capsys, no_weight_reading):
    recipe = str(completed_classification_run.dir / "recipe.yaml")
    assert main(["plan", recipe, "--gpu", "t4", "--price", "0.5", "--runs-dir", str(tmp_path)]) == 0
    out = capsys.readouterr().out
    assert "plan on 1x T4" in out and "fits" in out and "$0.50/h" in out and "meta device" in out
    assert main(["plan", recipe, "--json", "--gpus", "2", "--runs-dir", str(tmp_path)]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["gpus"] == 2 and data["accelerator"] == "cpu" and data["utilization_source"] == "table default"
    for args, expected in ((["--gpu", "X100"], "unknown accelerator 'X100' (known: H100, H200, A100-80"),
                           (["--price", "cheap"], "--price: expected a price"),
                           (["--gpus", "0"], "--gpus: expected a whole number")):
        assert main(["plan", recipe, *args]) == 2
        err = capsys.readouterr().err
        assert expected in err and len(err.strip().splitlines()) == 1


def test_users_add_accelerators_in_a_file(completed_classification_run, tmp_path, capsys):
    table = tmp_path / "acc.yaml"
    table.write_text("accelerators:\n  MI300X: {memory_gib: 192, bf16_tflops: 1307, fp32_tflops: 163, "
                     "price_per_hour: 4.5}\n  H100: {price_per_hour: 2.1}\n")
    recipe = str(completed_classification_run.dir / "recipe.yaml")
    assert main(["plan", recipe, "--gpu", "mi300x", "--accelerators", str(table), "--runs-dir", str(tmp_path)]) == 0
    assert "plan on 1x MI300X: 192.00 GiB each" in capsys.readouterr().out
    assert load_accelerators(table)["H100"].price_per_hour == 2.1
    table.write_text("accelerators:\n  X: {memory_gib: lots}\n")
    assert main(["plan", recipe, "--gpu", "X", "--accelerators", str(table)]) == 2
    assert "accelerators.X.memory_gib: expected a number" in capsys.readouterr().err


def test_a_run_records_its_plan_beside_what_it_measured(completed_classification_run, tmp_path):
    from ft_lab.analysis.html_report import _fmt, build_report
    from ft_lab.planning.calibration import calibrated_utilization
    from ft_lab.rundir.reader import RunFiles

    run = RunFiles(completed_classification_run.dir)
    (plan,) = run.events("plan")
    (check,) = run.events("plan_check")
    assert plan["accelerator"] == "cpu" and plan["method"] == "lora" and plan["fits"]
    assert plan["steps"] == 60 and plan["utilization_source"] == "table default"
    assert check["measured_peak_mib"] > 100 and check["measured_seconds"] > 0 and check["utilization"] > 0
    assert check["memory_ratio"] == pytest.approx(check["measured_peak_mib"] / check["estimated_peak_mib"], rel=1e-2)
    recorded = run.metrics()["plan"]
    assert recorded["measured"] == {k: v for k, v in check.items() if k not in ("type", "time")}
    html = build_report(run.dir)
    assert "Plan against actual" in html
    # as the report prints it (690.0 -> "690", 1234.5 -> "1,234"): the raw float failed on a whole number of MiB
    assert f'<td class="num">{_fmt(check["measured_peak_mib"])}</td>' in html.split("Plan against actual")[1]
    util, source = calibrated_utilization(run.dir.parent, "cpu", "lora", plan["parameters"], default=0.3)
    assert util == pytest.approx(check["utilization"], rel=1e-3) and "calibrated from 1 run" in source
    assert calibrated_utilization(run.dir.parent, "H100", "lora", 1e6, default=0.3) == (0.3, "table default")


def test_the_train_step_plans_before_start(completed_classification_run, tmp_path):
    from ft_lab.core.recipe import Recipe
    from ft_lab.widgets.plan_line import PlanLine

    line = PlanLine(lambda: Recipe.from_yaml(completed_classification_run.dir / "recipe.yaml"), runs_dir=tmp_path)
    assert "H100" in line.gpu.options and "cpu" in line.gpu.options
    line.gpu.value, line.gpus.value = "L4", 2
    line.plan_button.click()
    assert line.html.value.startswith("L4: peak ") and "fits" in line.html.value and "$" in line.html.value
    assert "plan on 2x L4 (ddp)" in line.details.value
