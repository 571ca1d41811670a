"""``lora`` (with rsLoRA, DoRA and peft's initialisations) and ``qlora`` (LoRA on a 4/8-bit base).

PiSSA and OLoRA initialise the adapter from the base weights and change those weights; to keep the
saved adapter usable on the original base, ``prepare`` keeps the initial adapter and ``save`` converts
the trained one into a plain LoRA adapter of twice the rank (peft's weight conversion).
"""
from __future__ import annotations

import os
from dataclasses import dataclass, field
from typing import Literal, Optional

from ..core.components import Capabilities
from ..errors import UserError
from .peft_methods import PeftMethod, peft_targets, peft_task_type

#: recipe word -> peft ``init_lora_weights``
INITS = {"default": True, "gaussian": "gaussian", "orthogonal": "orthogonal", "pissa": "pissa",
         "pissa_fast": "pissa_niter_16", "olora": "olora"}
#: initialisations that rewrite the base weights (the saved adapter is converted back)
RESIDUAL_INITS = {"pissa", "pissa_fast", "olora"}


class LoRA(PeftMethod):
    """Low-rank adapters (peft LoRA): train small matrices beside the frozen weights."""

    name = "lora"
    capabilities = Capabilities(mergeable=True, quantized=True)

    @dataclass
    class Config:
        r: int = field(default=8, metadata={"help": "rank of the update matrices"})
        alpha: int = field(default=16, metadata={"help": "scaling numerator (alpha / r, or alpha / sqrt(r) "
                                                         "with rslora)"})
        dropout: float = field(default=0.05, metadata={"help": "dropout on the adapter input"})
        target_modules: Optional[list[str]] = field(default=None, metadata={
            "help": "module names to adapt (e.g. q_proj, v_proj); all-linear for every linear layer; "
                    "default: the model type's usual attention projections"})
        rslora: bool = field(default=False, metadata={
            "help": "rank-stabilised scaling alpha / sqrt(r): keeps higher ranks learning (rsLoRA)"})
        dora: bool = field(default=False, metadata={
            "help": "weight-decomposed LoRA: learn each weight's magnitude apart from its direction "
                    "(DoRA; slower, often better at low rank)"})
        init: Literal["default", "gaussian", "orthogonal", "pissa", "pissa_fast", "olora"] = field(
            default="default", metadata={
                "help": "adapter initialisation: default (B = 0, starts as a no-op), gaussian, orthogonal, "
                        "pissa (principal singular vectors of the weight; pissa_fast: randomised SVD), "
                        "olora (QR of the weight)"})
        bias: Literal["none", "all", "lora_only"] = field(default="none", metadata={
            "help": "which biases train too: none, all, or only those of adapted layers"})

        def __post_init__(self):
            if self.r < 1:
                raise ValueError(f"r must be at least 1, got {self.r}")
            if not 0 <= self.dropout < 1:
                raise ValueError(f"dropout must be in [0, 1), got {self.dropout}")

    def __init__(self, config=None):
        super().__init__(config)
        self._initial_adapter = None  # TemporaryDirectory holding the PiSSA/OLoRA starting adapter

    def peft_config(self, task: str):
        from peft import LoraConfig

        cfg = self.config
        return LoraConfig(task_type=peft_task_type(task), r=cfg.r, lora_alpha=cfg.alpha,
                          lora_dropout=cfg.dropout, target_modules=peft_targets(cfg.target_modules),
                          use_rslora=cfg.rslora, use_dora=cfg.dora, init_lora_weights=INITS[cfg.init],
                          bias=cfg.bias)

    def prepare(self, model, task: str):
        if self.config.init in RESIDUAL_INITS and task == "classification":
            # peft cannot convert the trained adapter back when the new score head is saved beside it
            raise UserError(f"method.init: {self.config.init!r} is for generation; for classification "
                            f"choose default, gaussian or orthogonal")
        model = super().prepare(model, task)
        if self.config.init in RESIDUAL_INITS:
            import tempfile
            self._initial_adapter = tempfile.TemporaryDirectory(prefix="ft-lab-lora-init-")
            model.save_pretrained(self._initial_adapter.name)
        return model

    def save(self, model, folder) -> None:
        if self._initial_adapter is None:
            model.save_pretrained(str(folder))
            return
        # the residual inits changed the base weights: save the difference as a plain LoRA (rank 2r)
        model.save_pretrained(str(folder), path_initial_model_for_weight_conversion=self._initial_adapter.name)


class QLoRA(LoRA):
    """QLoRA: LoRA on a base loaded in 4-bit NF4 (or 8-bit) through bitsandbytes; needs a CUDA GPU."""

    name = "qlora"
    # compile: bitsandbytes' 4-bit layers break torch.compile's graphs (not measured on a GPU here)
    capabilities = Capabilities(mergeable=True, quantized=True, needs_cuda=True, fsdp=False, deepspeed=False,
                                compile=False,
                                needs_modules=("bitsandbytes",))

    @dataclass
    class Config(LoRA.Config):
        bits: Literal[4, 8] = field(default=4, metadata={"help": "bits per base weight: 4 (NF4/FP4) or 8"})
        quant_type: Literal["nf4", "fp4"] = field(default="nf4", metadata={
            "help": "4-bit data type: nf4 (normal float, the QLoRA paper's) or fp4"})
        double_quant: bool = field(default=True, metadata={
            "help": "also quantize the quantization constants (saves ~0.4 bits per weight)"})
        compute_dtype: Literal["bfloat16", "float16", "float32"] = field(default="bfloat16", metadata={
            "help": "dtype the 4-bit weights are expanded to for each matrix product"})

        def __post_init__(self):
            super().__post_init__()
            if self.init in RESIDUAL_INITS:
                raise ValueError(f"init {self.init!r} rewrites the base weights, which a quantized base "
                                 f"cannot hold exactly; use default, gaussian or orthogonal")

    def load_kwargs(self) -> dict:
        import torch
        from transformers import BitsAndBytesConfig

        cfg = self.config
        if cfg.bits == 4:
            quant = BitsAndBytesConfig(load_in_4bit=True, bnb_4bit_quant_type=cfg.quant_type,
                                       bnb_4bit_use_double_quant=cfg.double_quant,
                                       bnb_4bit_compute_dtype=getattr(torch, cfg.compute_dtype))
        else:
            quant = BitsAndBytesConfig(load_in_8bit=True)
        # each process puts the whole quantized base on its own GPU
        return {"quantization_config": quant, "device_map": {"": int(os.environ.get("LOCAL_RANK", 0))},
                "dtype": getattr(torch, cfg.compute_dtype)}

    def prepare(self, model, task: str):
        if not getattr(model, "is_quantized", False):
            raise UserError("method 'qlora' needs the base loaded quantized: load it with "
                            "from_pretrained(..., **method.load_kwargs()); for a full-precision base "
                            "choose method: lora")
        from peft import prepare_model_for_kbit_training
        checkpointing = getattr(model, "is_activation_checkpointing", None)  # transformers >= 5.2x
        if checkpointing is None:
            checkpointing = getattr(model, "is_gradient_checkpointing", False)
        model = prepare_model_for_kbit_training(model, use_gradient_checkpointing=bool(checkpointing))
        return super().prepare(model, task)

    @classmethod
    def load(cls, base_model, folder):
        """Reload on a quantized base to continue as trained, or on a full-precision base to merge."""
        return super().load(base_model, folder)

    def merge(self, model):
        if getattr(model.get_base_model(), "is_quantized", False):
            raise UserError("a qlora adapter is merged into a full-precision copy of the base: reload the "
                            "base without quantization, then QLoRA.load(base, folder) and merge")
        return model.merge_and_unload()
