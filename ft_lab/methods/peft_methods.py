"""The peft family: shared save/load/merge, AdaLoRA (with its rank-update step) and IA3.

Every peft method saves an adapter folder (``adapter_config.json`` + ``adapter_model.safetensors``)
that ``PeftModel.from_pretrained`` puts back on the same base. For classification, peft also trains
and saves the new ``score`` head (its ``modules_to_save``).
"""
from __future__ import annotations

import abc
from dataclasses import dataclass, field
from pathlib import Path
from typing import Optional

from ..core.components import Capabilities, Method
from ..errors import UserError


def peft_task_type(task: str):
    from peft import TaskType
    return TaskType.SEQ_CLS if task == "classification" else TaskType.CAUSAL_LM


def peft_targets(target_modules: Optional[list[str]]):
    """``["all-linear"]`` in a recipe means peft's ``"all-linear"``; None means peft's per-model default."""
    if target_modules == ["all-linear"]:
        return "all-linear"
    return target_modules


class PeftMethod(Method):
    """Base of methods built on peft: subclasses implement ``peft_config(task)``."""

    adapter = True

    @abc.abstractmethod
    def peft_config(self, task: str):
        """The peft config (LoraConfig, IA3Config ...) for ``task``."""

    def prepare(self, model, task: str):
        from peft import get_peft_model
        try:
            return get_peft_model(model, self.peft_config(task))
        except ValueError as exc:  # peft's own checks (e.g. target modules not found) speak of modules
            raise UserError(f"method '{self.name}': peft refused this model: {exc}") from None

    def save(self, model, folder) -> None:
        model.save_pretrained(str(folder))

    @classmethod
    def load(cls, base_model, folder):
        from peft import PeftModel
        return PeftModel.from_pretrained(base_model, str(folder))

    def load_trainable(self, base_model, folder):
        from peft import PeftModel
        return PeftModel.from_pretrained(base_model, str(folder), is_trainable=True)
    def restore_pairs(self, model, folder) -> dict:
        """{name: (saved tensor, the prepared model's tensor)} of a saved adapter, to keep training it."""
        from peft import get_peft_model_state_dict
        from safetensors.torch import load_file

        saved = load_file(str(Path(folder) / "adapter_model.safetensors"))
        own = get_peft_model_state_dict(model)
        return {k: (v, own.get(k)) for k, v in saved.items()}

    def merge(self, model):
        if not self.capabilities.mergeable:
            return super().merge(model)
        return model.merge_and_unload()


class AdaLoRA(PeftMethod):
    """AdaLoRA: LoRA whose ranks are reallocated during training to the matrices that matter most."""

    name = "adalora"
    # objectives: TRL's preference trainers add a second (reference) adapter, which AdaLoRA refuses
    capabilities = Capabilities(mergeable=True, quantized=True, objectives=("sft",))

    @dataclass
    class Config:
        init_r: int = field(default=12, metadata={"help": "rank every matrix starts with"})
        target_r: int = field(default=8, metadata={"help": "average rank kept after pruning"})
        alpha: int = field(default=16, metadata={"help": "scaling numerator (alpha / r)"})
        dropout: float = field(default=0.05, metadata={"help": "dropout on the adapter input"})
        target_modules: Optional[list[str]] = field(default=None, metadata={
            "help": "module names to adapt; all-linear for every linear layer; default: the model "
                    "type's usual attention projections"})
        warmup_fraction: float = field(default=0.1, metadata={
            "help": "fraction of the updates trained at init_r before ranks are pruned (peft tinit)"})
        final_fraction: float = field(default=0.2, metadata={
            "help": "fraction of the updates at the end trained with the final ranks fixed (peft tfinal)"})
        update_interval: int = field(default=1, metadata={
            "help": "updates between two rank reallocations (peft deltaT)"})
        beta1: float = field(default=0.85, metadata={"help": "smoothing of the importance scores"})
        beta2: float = field(default=0.85, metadata={"help": "smoothing of the importance uncertainty"})
        orth_reg_weight: float = field(default=0.5, metadata={
            "help": "weight of the orthogonality penalty added to the loss"})
        total_steps: Optional[int] = field(default=None, metadata={
            "help": "number of updates of the run; default: what the training engine computes"})

        def __post_init__(self):
            if not 1 <= self.target_r <= self.init_r:
                raise ValueError(f"target_r must be between 1 and init_r ({self.init_r}), got {self.target_r}")
            if not 0 <= self.dropout < 1:
                raise ValueError(f"dropout must be in [0, 1), got {self.dropout}")
            if self.warmup_fraction < 0 or self.final_fraction < 0 or self.warmup_fraction + self.final_fraction >= 1:
                raise ValueError("warmup_fraction and final_fraction must be 0 or more and add up to less than 1")
            if self.update_interval < 1:
                raise ValueError(f"update_interval must be at least 1, got {self.update_interval}")

    def peft_config(self, task: str):
        from peft import AdaLoraConfig

        cfg = self.config
        total = cfg.total_steps or self.total_steps
        if not total:
            raise UserError("method 'adalora' needs the number of training updates: the engine passes it "
                            "through method.bind(total_steps=...), or set method.total_steps")
        tinit, tfinal = int(total * cfg.warmup_fraction), int(total * cfg.final_fraction)
        if tinit + tfinal >= total:
            raise UserError(f"method 'adalora': {total} updates leave no room to prune ranks after "
                            f"{tinit} warm-up and before {tfinal} final updates; train longer or lower "
                            f"warmup_fraction and final_fraction")
        return AdaLoraConfig(task_type=peft_task_type(task), init_r=cfg.init_r, target_r=cfg.target_r,
                             lora_alpha=cfg.alpha, lora_dropout=cfg.dropout,
                             target_modules=peft_targets(cfg.target_modules), tinit=tinit, tfinal=tfinal,
                             deltaT=cfg.update_interval, beta1=cfg.beta1, beta2=cfg.beta2,
                             orth_reg_weight=cfg.orth_reg_weight, total_step=total)

    def callbacks(self) -> list:
        return [adalora_rank_callback()]


def adalora_rank_callback():
    """A TrainerCallback that runs AdaLoRA's ``update_and_allocate`` after each optimizer step.

    peft requires it after ``optimizer.step()`` and before ``zero_grad()``: the Trainer's
    ``on_optimizer_step`` is that moment (gradients are still there).
    """
    from transformers import TrainerCallback

    class AdaLoraRankUpdate(TrainerCallback):
        def on_optimizer_step(self, args, state, control, model=None, **kwargs):
            if model is not None:
                inner = getattr(model, "module", model)  # DDP wraps the PeftModel
                inner.base_model.update_and_allocate(state.global_step)
            return control

    return AdaLoraRankUpdate()


class IA3(PeftMethod):
    """IA3: learn one scaling vector per adapted activation (keys, values, feed-forward); very few weights."""

    name = "ia3"
    capabilities = Capabilities(mergeable=True, quantized=True)

    @dataclass
    class Config:
        target_modules: Optional[list[str]] = field(default=None, metadata={
            "help": "module names to scale; all-linear for every linear layer; default: the model type's "
                    "keys, values and feed-forward down projection"})
        feedforward_modules: Optional[list[str]] = field(default=None, metadata={
            "help": "which target_modules are feed-forward (scaled at their input, not output); "
                    "default: the model type's usual ones"})

        def __post_init__(self):
            if self.feedforward_modules is not None and self.target_modules is None:
                raise ValueError("feedforward_modules needs target_modules too (it must be a subset of them)")

    def peft_config(self, task: str):
        from peft import IA3Config

        cfg = self.config
        return IA3Config(task_type=peft_task_type(task), target_modules=peft_targets(cfg.target_modules),
                         feedforward_modules=cfg.feedforward_modules)
