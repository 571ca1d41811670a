"""The trainable parameter count and memory estimate shown before training."""
from ft_lab.methods.budget import describe_budget, estimate_memory, trainable_parameters
from ft_lab.testing import tiny_model
from ft_lab.core.plugins import load_registry

REGISTRY = load_registry(strict=True)


def prepared(name, task="generation", **config):
    cls = REGISTRY.get("method", name)
    return cls(cls.Config(**config)).prepare(tiny_model(task), task)


def test_trainable_parameters_counts_what_each_method_trains():
    full_trainable, total = trainable_parameters(prepared("full"))
    assert full_trainable == total == sum(p.numel() for p in tiny_model("generation").parameters())
    lora_trainable, lora_total = trainable_parameters(prepared("lora", r=4))
    # rank 4 on q_proj (32 -> 32) and v_proj (32 -> 16) in 2 layers: A is 4x32, B is 32x4 or 16x4
    assert lora_trainable == 2 * (4 * 32 + 32 * 4 + 4 * 32 + 16 * 4)
    assert lora_total == total + lora_trainable
    head_trainable, _ = trainable_parameters(prepared("head"))
    assert head_trainable == 300 * 32


def test_memory_estimate_parts_and_what_lowers_them():
    model = prepared("lora")
    fp32 = estimate_memory(model, batch_size=8, seq_len=64, precision="fp32")
    assert set(fp32) == {"weights", "gradients", "optimizer", "activations", "total"}
    assert fp32["total"] == sum(v for k, v in fp32.items() if k != "total")
    trainable, _ = trainable_parameters(model)
    assert fp32["gradients"] == 4 * trainable and fp32["optimizer"] == 8 * trainable
    bf16 = estimate_memory(model, batch_size=8, seq_len=64, precision="bf16")
    checkpointed = estimate_memory(model, batch_size=8, seq_len=64, precision="fp32", gradient_checkpointing=True)
    assert bf16["activations"] < fp32["activations"]
    assert checkpointed["activations"] < fp32["activations"]
    bigger = estimate_memory(model, batch_size=16, seq_len=64, precision="fp32")
    assert bigger["activations"] > fp32["activations"] and bigger["weights"] == fp32["weights"]
    full = estimate_memory(prepared("full"), batch_size=8, seq_len=64, precision="fp32")
    assert full["optimizer"] > 10 * fp32["optimizer"]  # 37.8K weights against 1.8K


def test_describe_budget_is_one_readable_line():
    model = prepared("head")
    line = describe_budget(model, estimate_memory(model, 4, 32))
    assert line.startswith("trainable 9.60K of ")
    assert "memory ~" in line and "optimizer" in line and "\n" not in line
