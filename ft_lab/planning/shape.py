"""What a plan needs to know of a model, read from the model built on the meta device (no weights).

    shape = model_shape(recipe, labels=["a", "b"])          # the recipe's model with its method applied
    shape.total, shape.trainable, shape.quantizable, shape.hidden, shape.layers

The config comes from the model folder's ``config.json``, a GGUF file's metadata (``gguf_file``; its
tensors are not read), the hub cache, or the built-in ``tiny`` model; the model is then built under
``torch.device("meta")`` and the recipe's method applied to it, so parameter counts are exact and
nothing is loaded. QLoRA is planned as LoRA over a base whose linear weights count at 4 (or 8) bits.
"""
from __future__ import annotations

from dataclasses import asdict, dataclass

from ..errors import UserError
from ..methods.lora import LoRA
from ..models.gguf import check_gguf_support, gguf_kwargs, gguf_location
from ..models.tiny import ensure_tiny
from ..training.speed import matmul_parameters


@dataclass(frozen=True)
class ModelShape:
    total: int            # parameters, the adapter's included
    trainable: int
    frozen_linear: int    # frozen weights of linear layers inside the body (what QLoRA stores in 4 bits)
    matmul: int           # weights that take part in a matrix product per token (the head included)
    hidden: int
    layers: int
    heads: int
    outputs: int          # vocabulary (generation) or labels (classification head)
    quantized_bits: int | None = None  # 4 or 8 for QLoRA
    double_quant: bool = True

    @property
    def frozen(self) -> int:
        return self.total - self.trainable

    def to_dict(self) -> dict:
        return asdict(self)


def model_config(recipe):
    """The recipe's model config, read without its weights."""
    from transformers import AutoConfig


    spec = recipe.model
    name = spec.name_or_path
    if gguf_location(spec) is not None:
        check_gguf_support()
    source = str(ensure_tiny()) if name == "tiny" else gguf_location(spec)[0] if gguf_location(spec) else name
    try:
        config = AutoConfig.from_pretrained(source, revision=spec.revision, trust_remote_code=spec.trust_remote_code,
                                            **gguf_kwargs(spec))
    except (OSError, ValueError) as exc:
        raise UserError(f"model.name_or_path: cannot read the config of {name!r} ({type(exc).__name__}: "
                        f"{str(exc).splitlines()[0][:200]})") from None
    if getattr(config, "quantization_config", None) is not None and gguf_location(spec) is not None:
        del config.quantization_config  # a GGUF file is de-quantized to train
    return config


def meta_model(config, task: str, labels: list[str] | None):
    """The model of ``config`` for ``task`` on the meta device: parameters with shapes and no storage."""
    import torch
    from transformers import AutoModelForCausalLM, AutoModelForSequenceClassification

    if task == "classification":
        config.num_labels = max(2, len(labels or ()) or 2)
    auto = AutoModelForSequenceClassification if task == "classification" else AutoModelForCausalLM
    with torch.device("meta"):
        return auto.from_config(config)


def apply_method(method, model, task: str):
    """``method.prepare`` on a meta model; a quantizing method (QLoRA) prepares as its unquantized parent."""

    if _quantized_bits(method) and isinstance(method, LoRA):
        return LoRA.prepare(method, model, task)
    return method.prepare(model, task)


def _quantized_bits(method) -> int | None:
    caps = method.capabilities
    if caps.needs_cuda and "bitsandbytes" in caps.needs_modules:
        return int(getattr(method.config, "bits", 4))
    return None


def shape_of(model, method=None, task: str = "generation") -> ModelShape:
    """Counts of a (meta) model with its method applied."""
    import torch.nn as nn


    total = trainable = frozen_linear = 0
    head_names = ("lm_head", "score", "classifier")
    for name, module in model.named_modules():
        if isinstance(module, nn.Linear) and not any(h in name.split(".") for h in head_names):
            w = module.weight
            if not w.requires_grad:
                frozen_linear += w.numel()
    seen = set()
    for p in model.parameters():
        if id(p) in seen:
            continue
        seen.add(id(p))
        total += p.numel()
        trainable += p.numel() if p.requires_grad else 0
    config = getattr(model, "config", None)
    get = (lambda k, d=0: getattr(config, k, None) or d)
    outputs = get("num_labels") if task == "classification" else get("vocab_size")
    bits = _quantized_bits(method) if method is not None else None
    return ModelShape(total=total, trainable=trainable, frozen_linear=frozen_linear if bits else 0,
                      matmul=matmul_parameters(model), hidden=get("hidden_size"), layers=get("num_hidden_layers", 1),
                      heads=get("num_attention_heads", 1), outputs=outputs or get("vocab_size"),
                      quantized_bits=bits, double_quant=bool(getattr(getattr(method, "config", None),
                                                                     "double_quant", True)))


def model_shape(recipe, labels: list[str] | None = None, method=None, config=None) -> ModelShape:
    """The recipe's model (or ``config``) with ``method`` (default: the recipe's) applied, counted on meta."""
    method = method if method is not None else recipe.method.create("method")
    task = recipe.model_task()
    config = config if config is not None else model_config(recipe)
    if getattr(method, "total_steps", None) is None:
        method.bind(total_steps=1000)  # AdaLoRA's schedule needs a length; its parameter count does not
    model = apply_method(method, meta_model(config, task, labels), task)
    return shape_of(model, method, task)
