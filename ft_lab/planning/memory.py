"""Peak memory per GPU (or per CPU process) of a training step, part by part.

    parts = memory_parts(shape, setup, half=True, frozen_half=True)
    # {"weights": ..., "gradients": ..., "optimizer": ..., "activations": ..., "logits": ..., "runtime": ...}

Weights at their dtype (a frozen base in bf16 on a GPU, QLoRA's linear weights at 4 bits plus their
quantization constants, trainable weights fp32); gradients fp32; AdamW two fp32 moments per trainable
weight (8-bit optimizers: 2 bytes); activations after Korthikanti et al. 2022 (34·s·b·h bytes per layer at
16 bits; no s² term on a GPU, where sdpa/flash attention keeps no scores, but on the CPU padded rows
keep each layer's scores and probabilities; a frozen base keeps fewer of them), gradient checkpointing
keeping one hidden state per layer plus one layer's worth; the logits of the batch in fp32 with their
log-softmax and gradient; then the share of each part one process holds under DDP, FSDP or DeepSpeed ZeRO.
"""
from __future__ import annotations

#: what a process holds before any model: Python, torch, transformers, tokenizer, data (CPU, measured on
#: the tiny model's runs) and the CUDA context with the allocator's slack (GPU)
RUNTIME_CPU = 0.52 * 2**30
RUNTIME_GPU = 0.75 * 2**30
#: share of the full-fine-tuning activations a frozen base keeps (no inputs saved for frozen weights)
FROZEN_ACTIVATIONS = 0.70


def quantized_bytes(bits: int, double_quant: bool) -> float:
    """Bytes per weight stored by bitsandbytes: the packed weight and its blockwise constants."""
    if bits == 8:
        return 1 + 4 / 4096
    return 0.5 + (0.127 / 8 if double_quant else 4 / 64)


def memory_parts(shape, setup, half: bool, frozen_half: bool, cuda: bool) -> dict[str, int]:
    """Bytes one process holds at its peak; ``setup`` is a plan's Setup (batch, packing, sharding ...)."""
    trainable, frozen = shape.trainable, shape.frozen
    if shape.quantized_bits:
        frozen_bytes = (shape.frozen_linear * quantized_bytes(shape.quantized_bits, shape.double_quant)
                        + (frozen - shape.frozen_linear) * 2)
    else:
        frozen_bytes = frozen * (2 if frozen_half else 4)
    weights = frozen_bytes + trainable * 4
    if half and not frozen_half and trainable > frozen:  # full fine-tuning under autocast: bf16 copies
        weights += shape.matmul * 2
    gradients = trainable * 4
    optimizer = trainable * (2 if "8bit" in setup.optimizer else 0 if setup.optimizer.startswith("sgd") else 8)
    weights, gradients, optimizer, extra = _sharded(weights, gradients, optimizer, shape, setup)
    act_bytes = 2 if half else 4
    tokens = setup.peak_tokens  # tokens of the largest micro-batch (padded rows, or a packed budget)
    per_layer = 34 * tokens * shape.hidden * act_bytes / 2
    if shape.trainable < shape.total / 2:
        per_layer *= FROZEN_ACTIVATIONS
    if not cuda and not setup.packing:
        # the CPU's sdpa runs its math kernel under a padding mask: scores and probabilities, heads x s² a row
        per_layer += 2 * shape.heads * tokens * setup.workload.longest * act_bytes
    if setup.gradient_checkpointing:
        activations = shape.layers * tokens * shape.hidden * act_bytes + per_layer
    else:
        activations = shape.layers * per_layer
    logits = tokens * shape.outputs * (10 if half else 12)
    return {"weights": int(weights), "gradients": int(gradients), "optimizer": int(optimizer),
            "activations": int(activations), "logits": int(logits), "sharding": int(extra),
            "runtime": int(RUNTIME_GPU if cuda else RUNTIME_CPU)}


def _sharded(weights: float, gradients: float, optimizer: float, shape, setup) -> tuple[float, float, float, float]:
    """(weights, gradients, optimizer, extra) one of ``setup.gpus`` processes holds."""
    n = setup.gpus
    if n <= 1:
        return weights, gradients, optimizer, 0
    if setup.strategy == "fsdp" and setup.fsdp_sharding != "no_shard":
        gathered = 2 * weights / max(shape.layers, 1)  # the unit being computed and the one prefetched
        if setup.fsdp_sharding == "shard_grad_op":
            return weights, gradients / n, optimizer / n, 0
        return weights / n, gradients / n, optimizer / n, gathered
    if setup.strategy == "deepspeed":
        stage = setup.zero_stage
        opt = 0 if setup.offload else optimizer / n if stage >= 1 else optimizer
        grads = gradients / n if stage >= 2 else gradients
        w = weights / n if stage >= 3 else weights
        return w, grads, opt, (2 * weights / max(shape.layers, 1) if stage >= 3 else gradients / 4)
    return weights, gradients, optimizer, gradients  # DDP: its gradient buckets are a second copy
