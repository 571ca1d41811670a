"""``freeze`` and ``head``: train part of the model's own weights and keep the rest frozen.

``freeze`` trains the top N decoder layers (transfer learning: lower layers keep general features)
and/or the modules whose parameter names match patterns; ``head`` trains only the classification or
LM head (linear probing). Both save the whole model, so the result needs no base to load.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field

from ..core.components import Capabilities, Method
from ..errors import UserError
from . import model_parts


def _train_only(model, names: set[str]) -> None:
    for n, p in model.named_parameters():
        p.requires_grad_(n in names)
    # With gradient checkpointing and frozen embeddings, checkpointed blocks would see inputs that
    # need no gradient and skip their own: make the embedding output require grad.
    if hasattr(model, "enable_input_require_grads"):
        model.enable_input_require_grads()


class FreezeLayers(Method):
    """Train only the top N layers (and/or modules matching names); freeze the rest."""

    name = "freeze"
    capabilities = Capabilities(mergeable=True, quantized=False)

    @dataclass
    class Config:
        train_top_layers: int = field(default=2, metadata={
            "help": "number of decoder layers to train, counted from the top (0: none; the final norm "
                    "and the head train with them)"})
        train_modules: list[str] = field(default_factory=list, metadata={
            "help": "regular expressions searched in parameter names; matching parameters train too "
                    r"(e.g. mlp, self_attn\.o_proj, layers\.0\.)"})
        train_head: bool = field(default=True, metadata={
            "help": "also train the LM head (generation); the classification head always trains, "
                    "since it starts random"})

        def __post_init__(self):
            if self.train_top_layers < 0:
                raise ValueError(f"train_top_layers must be 0 or more, got {self.train_top_layers}")
            for pattern in self.train_modules:
                try:
                    re.compile(pattern)
                except re.error as exc:
                    raise ValueError(f"train_modules: {pattern!r} is not a regular expression ({exc})") from None
            if self.train_top_layers == 0 and not self.train_modules and not self.train_head:
                raise ValueError("nothing to train: set train_top_layers, train_modules or train_head")

    def prepare(self, model, task: str):
        cfg = self.config
        names: set[str] = set()
        prefix, layers = model_parts.decoder_layers_with_prefix(model)
        if cfg.train_top_layers > len(layers):
            raise UserError(f"method.train_top_layers: the model has {len(layers)} layers, got "
                            f"{cfg.train_top_layers}; use at most {len(layers)} (or method: full)")
        first = len(layers) - cfg.train_top_layers
        all_names = [n for n, _ in model.named_parameters()]
        if cfg.train_top_layers:
            top = tuple(f"{prefix}.{i}." for i in range(first, len(layers)))
            names.update(n for n in all_names if n.startswith(top))
            names |= model_parts.final_norm_parameter_names(model)
        for pattern in cfg.train_modules:
            matched = {n for n in all_names if re.search(pattern, n)}
            if not matched:
                raise UserError(f"method.train_modules: {pattern!r} matches no parameter of "
                                f"{type(model).__name__} (names look like {all_names[len(all_names) // 2]})")
            names |= matched
        if task == "classification" or cfg.train_head:
            names |= model_parts.head_parameter_names(model, task)
        _train_only(model, names)
        return model


class HeadOnly(Method):
    """Train only the classification or LM head (linear probing); the body stays frozen."""

    name = "head"
    capabilities = Capabilities(mergeable=True, quantized=False)

    @dataclass
    class Config:
        train_final_norm: bool = field(default=False, metadata={
            "help": "also train the norm just below the head (a few parameters, often helps)"})

    def prepare(self, model, task: str):
        names = model_parts.head_parameter_names(model, task)
        if self.config.train_final_norm:
            names |= model_parts.final_norm_parameter_names(model)
        _train_only(model, names)
        return model
