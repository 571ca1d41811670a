"""What a run will cost before it starts: trainable parameters and an estimate of memory.

    trainable, total = trainable_parameters(model)
    est = estimate_memory(model, batch_size=8, seq_len=256, precision="bf16")
    print(describe_budget(model, est))
    # trainable 0.42M of 124.8M parameters (0.34%); memory ~2.1 GiB (weights 0.46, gradients 0.00,
    #   optimizer 0.00, activations 1.6 GiB)

The memory figure is an estimate for planning (per process, AdamW, no offload), not a measurement:
activations follow Korthikanti et al. 2022 (34·s·b·h + 5·a·s²·b bytes per layer at 16 bits).
"""
from __future__ import annotations

_BYTES = {"fp32": 4, "bf16": 2, "fp16": 2}


def trainable_parameters(model) -> tuple[int, int]:
    """(parameters that train, all parameters); 4-bit weights are counted as their unpacked number."""
    trainable = total = 0
    for p in model.parameters():
        n = p.numel()
        if getattr(p, "quant_state", None) is not None or type(p).__name__ == "Params4bit":
            n *= 2  # two 4-bit weights per stored byte
        total += n
        if p.requires_grad:
            trainable += n
    return trainable, total


def _weight_bytes(model) -> int:
    out = 0
    for p in model.parameters():
        out += p.numel() * p.element_size()  # 4-bit weights are stored packed in uint8
    for b in model.buffers():
        out += b.numel() * b.element_size()
    return out


def estimate_memory(model, batch_size: int, seq_len: int, precision: str = "fp32",
                    gradient_checkpointing: bool = False) -> dict:
    """Bytes per part: weights, gradients, optimizer (AdamW), activations and their total.

    ``precision`` is the training compute precision (fp32, bf16, fp16; auto counts as fp32).
    """
    act_bytes = _BYTES.get(precision, 4)
    trainable = [p for p in model.parameters() if p.requires_grad]
    weights = _weight_bytes(model)
    grads = sum(p.numel() * p.element_size() for p in trainable)
    optimizer = sum(p.numel() * 8 for p in trainable)  # AdamW: two fp32 moments per weight
    cfg = getattr(model, "config", None)
    get = (lambda k, d=0: getattr(cfg, k, None) or d)
    hidden, layers = get("hidden_size"), get("num_hidden_layers", 1)
    heads, vocab = get("num_attention_heads", 1), get("vocab_size")
    s, b = seq_len, batch_size
    per_layer = (34 * s * b * hidden + 5 * heads * s * s * b) * act_bytes / 2
    if gradient_checkpointing:  # keep each layer's input; recompute one layer at a time
        activations = layers * s * b * hidden * act_bytes + per_layer
    else:
        activations = layers * per_layer
    activations += 2 * b * s * vocab * 4  # fp32 logits and their gradient
    total = weights + grads + optimizer + activations
    return {"weights": int(weights), "gradients": int(grads), "optimizer": int(optimizer),
            "activations": int(activations), "total": int(total)}


def _count(n: int) -> str:
    for div, unit in ((1e9, "B"), (1e6, "M"), (1e3, "K")):
        if n >= div:
            return f"{n / div:.2f}{unit}"
    return str(n)


def _gib(n: int) -> str:
    return f"{n / 2**30:.2f} GiB" if n >= 2**27 else f"{n / 2**20:.1f} MiB"


def describe_budget(model, estimate: dict | None = None) -> str:
    """One line for the run log: trainable parameters and, when given, the memory estimate."""
    trainable, total = trainable_parameters(model)
    line = f"trainable {_count(trainable)} of {_count(total)} parameters ({100 * trainable / max(total, 1):.2f}%)"
    if estimate:
        parts = ", ".join(f"{k} {_gib(estimate[k])}" for k in ("weights", "gradients", "optimizer", "activations"))
        line += f"; memory ~{_gib(estimate['total'])} ({parts})"
    return line
