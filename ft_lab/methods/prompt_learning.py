"""Virtual-token methods (peft prompt learning): prefix tuning, prompt tuning and p-tuning.

They add trained vectors in front of every sequence and leave every weight of the model untouched, so
they cannot be merged, and they do not work with packed sequences (one prefix per packed row would be
shared by several examples).
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal, Optional

from ..core.components import Capabilities
from ..errors import UserError
from .peft_methods import PeftMethod, peft_task_type

# objectives: TRL's preference trainers score a chosen and a rejected answer per prompt with a reference copy
# of the adapter, which has not been made to work with virtual tokens
_PROMPT_CAPS = Capabilities(mergeable=False, quantized=True, packing=False, fsdp=False, objectives=("sft",))


def _check_tokens(n: int) -> None:
    if not 1 <= n <= 512:
        raise ValueError(f"num_virtual_tokens must be between 1 and 512, got {n}")


class PrefixTuning(PeftMethod):
    """Prefix tuning: trained key/value vectors prepended at every attention layer."""

    name = "prefix_tuning"
    # peft passes the prefix as past key values, which gradient checkpointing refuses to recompute
    # regularize: peft saves the prefix computed through its projection, not the weights trained
    capabilities = Capabilities(mergeable=False, quantized=True, packing=False, gradient_checkpointing=False,
                                fsdp=False, regularize=False, objectives=("sft",))

    @dataclass
    class Config:
        num_virtual_tokens: int = field(default=16, metadata={"help": "length of the trained prefix in tokens"})
        projection: bool = field(default=False, metadata={
            "help": "produce the prefix through a two-layer MLP (more stable training, more weights)"})
        projection_hidden_size: Optional[int] = field(default=None, metadata={
            "help": "hidden size of that MLP; default: the model's hidden size"})

        def __post_init__(self):
            _check_tokens(self.num_virtual_tokens)

    def peft_config(self, task: str):
        from peft import PrefixTuningConfig

        cfg = self.config
        kwargs = {"encoder_hidden_size": cfg.projection_hidden_size} if cfg.projection_hidden_size else {}
        return PrefixTuningConfig(task_type=peft_task_type(task), num_virtual_tokens=cfg.num_virtual_tokens,
                                  prefix_projection=cfg.projection, **kwargs)


class PromptTuning(PeftMethod):
    """Prompt tuning: trained input embeddings (soft prompt) prepended to the input."""

    name = "prompt_tuning"
    capabilities = _PROMPT_CAPS

    @dataclass
    class Config:
        num_virtual_tokens: int = field(default=16, metadata={"help": "length of the soft prompt in tokens"})
        init: Literal["random", "text"] = field(default="random", metadata={
            "help": "start from random vectors, or from the embeddings of init_text"})
        init_text: Optional[str] = field(default=None, metadata={
            "help": "text whose token embeddings start the soft prompt (repeated or cut to fit), e.g. "
                    "'Classify the sentiment of this review:'"})

        def __post_init__(self):
            _check_tokens(self.num_virtual_tokens)
            if self.init == "text" and not self.init_text:
                raise ValueError("init is 'text' but init_text is empty: give the text to start from")

    def peft_config(self, task: str):
        from peft import PromptTuningConfig

        # text initialisation is done in prepare with the run's own tokenizer (peft would load one by name)
        return PromptTuningConfig(task_type=peft_task_type(task), num_virtual_tokens=self.config.num_virtual_tokens)

    def prepare(self, model, task: str):
        cfg = self.config
        if cfg.init == "text" and self.tokenizer is None:
            raise UserError("method 'prompt_tuning' with init: text needs the run's tokenizer "
                            "(the engine passes it through method.bind(tokenizer=...))")
        embeddings = model.get_input_embeddings()
        model = super().prepare(model, task)
        if cfg.init == "text":
            import torch
            ids = self.tokenizer(cfg.init_text, add_special_tokens=False)["input_ids"]
            if not ids:
                raise UserError("method.init_text: the tokenizer turns it into no tokens; write some words")
            ids = (ids * (cfg.num_virtual_tokens // len(ids) + 1))[:cfg.num_virtual_tokens]
            soft = model.prompt_encoder[model.active_adapter].embedding
            with torch.no_grad():
                ids_t = torch.tensor(ids, device=embeddings.weight.device)
                soft.weight.copy_(embeddings(ids_t).detach().to(soft.weight.dtype))
        return model


class PTuning(PeftMethod):
    """P-tuning: virtual tokens produced by a small trained encoder (MLP or LSTM)."""

    name = "p_tuning"
    capabilities = _PROMPT_CAPS

    @dataclass
    class Config:
        num_virtual_tokens: int = field(default=16, metadata={"help": "number of virtual tokens"})
        encoder: Literal["MLP", "LSTM"] = field(default="MLP", metadata={
            "help": "network that produces the virtual tokens"})
        encoder_hidden_size: int = field(default=128, metadata={"help": "hidden size of that network"})
        encoder_dropout: float = field(default=0.0, metadata={"help": "dropout inside that network"})

        def __post_init__(self):
            _check_tokens(self.num_virtual_tokens)
            if self.encoder_hidden_size < 1:
                raise ValueError(f"encoder_hidden_size must be at least 1, got {self.encoder_hidden_size}")
            if not 0 <= self.encoder_dropout < 1:
                raise ValueError(f"encoder_dropout must be in [0, 1), got {self.encoder_dropout}")

    def peft_config(self, task: str):
        from peft import PromptEncoderConfig

        cfg = self.config
        return PromptEncoderConfig(task_type=peft_task_type(task), num_virtual_tokens=cfg.num_virtual_tokens,
                                   encoder_reparameterization_type=cfg.encoder,
                                   encoder_hidden_size=cfg.encoder_hidden_size,
                                   encoder_dropout=cfg.encoder_dropout)
