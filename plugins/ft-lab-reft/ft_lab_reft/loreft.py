"""LoReFT: a trained low-rank edit of hidden states at chosen layers and positions; the base is frozen.

At each chosen decoder layer, the layer's output ``h`` at the chosen positions becomes::

    h + Rᵀ (W h + b − R h)

where ``R`` (rank × hidden) has orthonormal rows (kept so by a torch orthogonal parametrization) and
``W``, ``b`` are a plain linear map. Positions are the first ``first`` and last ``last`` real tokens of
each sequence (padding is skipped using the attention mask). The edit is applied when the model sees
a whole sequence; in cached generation the prompt's positions were edited at prefill and later tokens
are not edited, as in the ReFT paper.

    from ft_lab_reft.loreft import LoReFTMethod
    method = LoReFTMethod(LoReFTMethod.Config(rank=4, layers=[0, 1]))
    model = method.prepare(model, "classification")    # train; then method.save(model, folder)
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Optional

from ft_lab import Capabilities, Method, UserError
from ft_lab.methods import model_parts, trainable_weights


def _intervention(hidden: int, rank: int, dropout: float, device):
    import torch
    import torch.nn as nn
    from torch.nn.utils.parametrizations import orthogonal

    class LoReFT(nn.Module):
        """h -> h + Rᵀ(W h + b − R h), computed in fp32 whatever the model's dtype."""

        def __init__(self):
            super().__init__()
            # cayley: an order of magnitude faster than the default householder map on CPU
            self.rotate = orthogonal(nn.Linear(hidden, rank, bias=False), orthogonal_map="cayley")
            self.learned_source = nn.Linear(hidden, rank)
            self.dropout = nn.Dropout(dropout)

        def forward(self, h):
            hf = h.float()
            r = self.rotate.weight  # recomputed from its parametrization on each access: read once
            delta = (self.learned_source(hf) - hf @ r.T) @ r
            return (hf + self.dropout(delta)).to(h.dtype)

    return LoReFT().to(device=device, dtype=torch.float32)


def position_mask(attention_mask, first: int, last: int):
    """(batch, seq) booleans: the first ``first`` and last ``last`` real tokens of each row."""
    real = attention_mask.bool()
    index = attention_mask.long().cumsum(-1) - 1
    count = attention_mask.long().sum(-1, keepdim=True)
    return real & ((index < first) | (index >= count - last))


class _Positions:
    """Where to intervene in the current forward pass; set by a pre-hook on the whole model."""

    def __init__(self, first: int, last: int):
        self.first, self.last = first, last
        self.mask = None

    def pre_hook(self, module, args, kwargs):
        import torch

        ids = kwargs.get("input_ids", args[0] if args else None)
        embeds = kwargs.get("inputs_embeds")
        shape = ids.shape if ids is not None else embeds.shape[:2]
        past = kwargs.get("past_key_values")
        if past is not None and hasattr(past, "get_seq_length") and past.get_seq_length() > 0:
            self.mask = None  # a cached generation step: the prompt was edited at prefill
            return None
        mask = kwargs.get("attention_mask")
        if mask is None or mask.dim() != 2:
            device = (ids if ids is not None else embeds).device
            mask = torch.ones(shape, dtype=torch.long, device=device)
        self.mask = position_mask(mask, self.first, self.last)
        return None

    def layer_hook(self, intervention):
        def hook(module, args, output):
            if self.mask is None:
                return None
            h = output[0] if isinstance(output, tuple) else output
            if h.shape[:2] != self.mask.shape:
                raise UserError(f"method 'reft': hidden states of shape {tuple(h.shape[:2])} do not match "
                                f"the input of shape {tuple(self.mask.shape)} (virtual tokens or packing "
                                f"change sequence lengths; they cannot be combined with reft)")
            edited = h.where(~self.mask[..., None], intervention(h))
            return (edited,) + output[1:] if isinstance(output, tuple) else edited
        return hook


class LoReFTMethod(trainable_weights.SavesTrainableWeights, Method):
    """ReFT (LoReFT): train a low-rank edit of hidden states at chosen layers and positions."""

    name = "reft"
    adapter = True
    capabilities = Capabilities(mergeable=False, quantized=False, packing=False, fsdp=False, deepspeed=False)
    #: peak rate for ``train.learning_rate: auto`` (ft-lab's own table knows only the built-in methods)
    default_learning_rates = {"encoder": 2e-3, "causal": 2e-3}

    @dataclass
    class Config:
        rank: int = field(default=4, metadata={"help": "rank r of the edit (rows of R)"})
        layers: Optional[list[int]] = field(default=None, metadata={
            "help": "decoder layers whose output is edited (0 = bottom); default: all"})
        first: int = field(default=1, metadata={
            "help": "edit the first this many real tokens of each sequence"})
        last: int = field(default=1, metadata={
            "help": "edit the last this many real tokens (for classification the last token is the one "
                    "the head reads)"})
        dropout: float = field(default=0.0, metadata={"help": "dropout on the edit"})

        def __post_init__(self):
            if self.rank < 1:
                raise ValueError(f"rank must be at least 1, got {self.rank}")
            if self.first < 0 or self.last < 0 or self.first + self.last == 0:
                raise ValueError("first and last must be 0 or more, and not both 0 (no position to edit)")
            if not 0 <= self.dropout < 1:
                raise ValueError(f"dropout must be in [0, 1), got {self.dropout}")

    def __init__(self, config=None):
        super().__init__(config)
        self._task = None

    def prepare(self, model, task: str):
        cfg = self.config
        prefix, layers = model_parts.decoder_layers_with_prefix(model)
        chosen = list(range(len(layers))) if cfg.layers is None else cfg.layers
        bad = [i for i in chosen if not 0 <= i < len(layers)]
        if bad:
            raise UserError(f"method.layers: {bad} out of range; the model has layers 0 to {len(layers) - 1}")
        hidden = model.config.hidden_size
        if cfg.rank > hidden:
            raise UserError(f"method.rank: {cfg.rank} is more than the hidden size {hidden}")
        for p in model.parameters():
            p.requires_grad_(False)
        positions = _Positions(cfg.first, cfg.last)
        # the module that owns the layer stack sees the 2-D attention mask, whoever calls it
        owner = model.get_submodule(prefix.rsplit(".", 1)[0]) if "." in prefix else model
        owner.register_forward_pre_hook(positions.pre_hook, with_kwargs=True)
        for i in chosen:
            layer = layers[i]
            intervention = _intervention(hidden, cfg.rank, cfg.dropout, next(layer.parameters()).device)
            layer.ft_lab_reft = intervention  # a submodule: trained, saved and moved with the model
            layer.register_forward_hook(positions.layer_hook(intervention))
        if task == "classification":  # the new head starts random: it must learn too
            for name in model_parts.head_parameter_names(model, task):
                model.get_parameter(name).requires_grad_(True)
        self._task = task
        return model
