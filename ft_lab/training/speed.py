"""Which speed-ups a run uses, and what it achieved: the ``train`` switches (``auto`` resolved from the
machine, the task and the method's capabilities) and the throughput figures (tokens/s, MFU).

    plan = plan_speed(recipe, method, cuda=torch.cuda.is_available())
    plan.packing, plan.compile, plan.optimizer, plan.liger, plan.frozen_dtype
    flops = flops_per_token(model, full=not method.adapter, mean_row=331)   # for MFU
"""
from __future__ import annotations

from dataclasses import asdict, dataclass

from .packing import use_packed_attention

#: ``auto`` for torch.compile and Liger: off until the GPU benchmark (benchmarks/train_throughput.py
#: --device cuda) has shown them paying and stable with packed batches; ``true`` turns them on
COMPILE_BY_DEFAULT = LIGER_BY_DEFAULT = False

#: dense bf16 tensor-core peaks (FLOP/s) by a word in the device name, without sparsity
BF16_PEAKS = {"H200": 989e12, "H100": 989e12, "GH200": 989e12, "B200": 2250e12, "A100": 312e12,
              "L40S": 362e12, "L40": 181e12, "L4": 121e12, "A10G": 70e12, "A10": 125e12, "RTX 4090": 165e12}


@dataclass
class SpeedPlan:
    packing: bool
    compile: bool
    optimizer: str
    liger: bool
    frozen_dtype: str | None  # the frozen base's dtype for an adapter method on a GPU, else None

    def to_dict(self) -> dict:
        return asdict(self)


def _switch(value, default: bool, supported: bool) -> bool:
    return supported and (default if value == "auto" else bool(value))


def plan_speed(recipe, method, cuda: bool, liger_installed: bool | None = None) -> SpeedPlan:
    """Resolve the recipe's switches for ``method`` (an instance or class) on this machine."""
    t, caps = recipe.train, method.capabilities
    generation = recipe.model_task() == "generation"
    if liger_installed is None:
        import importlib.util
        liger_installed = importlib.util.find_spec("liger_kernel") is not None
    quantized = bool(caps.needs_cuda and "bitsandbytes" in caps.needs_modules)
    optimizer = t.optimizer if t.optimizer != "auto" else ("adamw_torch_fused" if cuda or fused_on_cpu()
                                                           else "adamw_torch")
    frozen = None
    if cuda and getattr(method, "adapter", False) and not quantized and t.precision in ("auto", "bf16", "fp16"):
        frozen = "float16" if t.precision == "fp16" or not _bf16_supported() else "bfloat16"
    return SpeedPlan(
        packing=_switch(t.packing, generation, caps.packing and generation),
        compile=_switch(t.compile, cuda and COMPILE_BY_DEFAULT, caps.compile),
        optimizer=optimizer,
        liger=_switch(t.liger, cuda and LIGER_BY_DEFAULT, caps.liger and liger_installed),
        frozen_dtype=frozen)


def fused_on_cpu() -> bool:
    """torch 2.4 and newer have a fused AdamW for the CPU: 3-5x faster steps than the per-tensor loop the
    Trainer uses there otherwise (all-MiniLM-L6-v2 full fine-tuning on 2 cores: 530 -> 104 ms a step)."""
    import torch
    major, minor = (int(x) for x in torch.__version__.split("+")[0].split(".")[:2])
    return (major, minor) >= (2, 4)


def _bf16_supported() -> bool:
    import torch
    return torch.cuda.is_available() and torch.cuda.is_bf16_supported()


def cast_trainable_to_fp32(model) -> None:
    """Trainable parameters stay fp32 (the optimizer's master weights) over a bf16/fp16 frozen base."""
    import torch
    for p in model.parameters():
        if p.requires_grad and p.dtype != torch.float32:
            p.data = p.data.float()


def apply_liger(model) -> bool:
    """Patch Liger's kernels into ``model`` in place (a peft model's base too); False when not possible."""
    try:
        from liger_kernel.transformers import _apply_liger_kernel_to_instance
    except ImportError:
        return False
    base = model.get_base_model() if hasattr(model, "get_base_model") else model
    try:
        _apply_liger_kernel_to_instance(model=base)
    except (ValueError, TypeError, AttributeError, NotImplementedError):
        return False
    return True


def matmul_parameters(model) -> int:
    """Weights that take part in a matrix product per token (every linear layer, the output head
    included; embedding lookups excluded)."""
    total = 0
    for module in model.modules():
        fin, fout = getattr(module, "in_features", None), getattr(module, "out_features", None)
        if isinstance(fin, int) and isinstance(fout, int) and not list(module.children()):
            total += fin * fout
    return total


def flops_per_token(model, full: bool, mean_row: float) -> float:
    """Training FLOPs per real token: 6N for full fine-tuning, 4N when the base is frozen (no weight
    gradients), plus causal attention over rows of mean length ``mean_row`` (forward and backward)."""
    n = matmul_parameters(model)
    config = getattr(model, "config", None)
    layers = getattr(config, "num_hidden_layers", 0) or 0
    heads = getattr(config, "num_attention_heads", 0) or 0
    head_dim = getattr(config, "head_dim", None) or ((getattr(config, "hidden_size", 0) or 0) // max(heads, 1))
    attention = 6 * layers * heads * head_dim * mean_row  # 2 products x 2 FLOPs x mean_row/2 keys, x3 for training
    return (6 if full else 4) * n + attention


def peak_flops(precision_is_half: bool) -> float | None:
    """The GPU's dense bf16 peak (None on a CPU, in fp32, or for a GPU not in the table)."""
    import torch
    if not precision_is_half or not torch.cuda.is_available():
        return None
    name = torch.cuda.get_device_name()
    for word, peak in BF16_PEAKS.items():
        if word in name:
            return peak
    return None


def mfu(tokens_per_second: float, flops: float | None, peak: float | None) -> float | None:
    if not flops or not peak:
        return None
    return round(tokens_per_second * flops / peak, 4)


def prepare_fast(method, model, task: str, plan: SpeedPlan):
    """``method.prepare`` with the plan's model-side speed-ups around it."""
    if plan.liger:
        plan.liger = apply_liger(model)
    model = method.prepare(model, task)
    if plan.frozen_dtype:
        cast_trainable_to_fp32(model)
    if plan.packing:
        use_packed_attention(model)
    return model


def meter_figures(model, method, recipe, rows: list[dict]) -> tuple[float | None, float | None]:
    """(training FLOPs per token, the GPU's peak FLOP/s) for MFU; (…, None) on a CPU."""
    lengths = [len(r["input_ids"]) for r in rows] or [1]
    peak = peak_flops(recipe.train.precision != "fp32")
    if peak is None:
        return None, None
    return flops_per_token(model, full=not getattr(method, "adapter", False),
                           mean_row=sum(lengths) / len(lengths)), peak


def throughput_report(tokens: int, seconds: float | None, meter, packing: dict | None) -> dict:
    """metrics.json's ``throughput``: real tokens/s over the whole run, MFU on a GPU, padding saved."""
    rate = round(tokens / seconds, 1) if tokens and seconds else None
    return {"tokens_per_second": rate,
            "mfu": mfu(rate, meter.flops_per_token, meter.peak_flops) if rate else None,
            "padding_saved": packing["padding_saved"] if packing else None}
