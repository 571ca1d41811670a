"""``adapter``: bottleneck adapters (Houlsby et al. 2019) after the attention and feed-forward blocks.

Each adapter maps a block's output ``h`` to ``h + scale * up(act(down(h)))`` with ``down`` to a small
size and ``up`` back; ``up`` starts at zero, so the model starts exactly as the base. The adapters live
in each decoder layer as ``ft_lab_adapters`` and are applied by forward hooks, so the base's own
parameter names do not change. The AdapterHub ``adapters`` library pins transformers 4.x, hence this
implementation.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal, Optional

from ..core.components import Capabilities, Method
from ..errors import UserError
from . import model_parts, trainable_weights

PLACEMENTS = {"both": ("attention", "feed_forward"), "attention": ("attention",),
              "feed_forward": ("feed_forward",)}


def _bottleneck(size: int, reduction: int, activation: str, dropout: float, scale: float, like):
    import torch.nn as nn

    class Bottleneck(nn.Module):
        """h -> h + scale * up(act(down(dropout(h)))); up starts at zero."""

        def __init__(self):
            super().__init__()
            self.down = nn.Linear(size, reduction)
            self.act = {"relu": nn.ReLU, "gelu": nn.GELU, "silu": nn.SiLU}[activation]()
            self.up = nn.Linear(reduction, size)
            self.dropout = nn.Dropout(dropout)
            self.scale = scale
            nn.init.zeros_(self.up.weight)
            nn.init.zeros_(self.up.bias)

        def forward(self, h):
            return h + self.scale * self.up(self.act(self.down(self.dropout(h))))

    return Bottleneck().to(device=like.device, dtype=like.dtype)


def _apply_to_output(adapter):
    def hook(module, args, output):
        if isinstance(output, tuple):  # attention returns (hidden, weights)
            return (adapter(output[0]),) + output[1:]
        return adapter(output)
    return hook


class BottleneckAdapter(trainable_weights.SavesTrainableWeights, Method):
    """Bottleneck adapters after attention and feed-forward blocks; the base stays frozen."""

    name = "adapter"
    adapter = True
    capabilities = Capabilities(mergeable=False, quantized=False)

    @dataclass
    class Config:
        size: int = field(default=16, metadata={"help": "bottleneck width (the adapter's hidden size)"})
        placement: Literal["both", "attention", "feed_forward"] = field(default="both", metadata={
            "help": "where adapters go: after attention and feed-forward (Houlsby), or after one of them "
                    "(feed_forward alone is the Pfeiffer layout)"})
        activation: Literal["relu", "gelu", "silu"] = field(default="relu", metadata={
            "help": "non-linearity inside the bottleneck"})
        dropout: float = field(default=0.0, metadata={"help": "dropout on the adapter input"})
        scale: float = field(default=1.0, metadata={"help": "multiplier of the adapter's output"})
        layers: Optional[list[int]] = field(default=None, metadata={
            "help": "indices of the decoder layers that get adapters (0 = bottom); default: all"})

        def __post_init__(self):
            if self.size < 1:
                raise ValueError(f"size must be at least 1, got {self.size}")
            if not 0 <= self.dropout < 1:
                raise ValueError(f"dropout must be in [0, 1), got {self.dropout}")

    def prepare(self, model, task: str):
        import torch.nn as nn

        cfg = self.config
        layers = model_parts.decoder_layers(model)
        chosen = range(len(layers)) if cfg.layers is None else cfg.layers
        bad = [i for i in chosen if not 0 <= i < len(layers)]
        if bad:
            raise UserError(f"method.layers: {bad} out of range; the model has layers 0 to {len(layers) - 1}")
        hidden = model.config.hidden_size
        for p in model.parameters():
            p.requires_grad_(False)
        for i in chosen:
            layer = layers[i]
            like = next(layer.parameters())
            adapters = nn.ModuleDict()
            for where in PLACEMENTS[cfg.placement]:
                names = model_parts.ATTENTION_NAMES if where == "attention" else model_parts.FEED_FORWARD_NAMES
                _, block = model_parts.child_named(layer, names)
                if block is None:
                    raise UserError(f"method 'adapter': layer {i} ({type(layer).__name__}) has no "
                                    f"{where} block named {', '.join(names)}")
                adapters[where] = _bottleneck(hidden, cfg.size, cfg.activation, cfg.dropout, cfg.scale, like)
                block.register_forward_hook(_apply_to_output(adapters[where]))
            layer.ft_lab_adapters = adapters  # registered as a submodule: trained, saved, moved with the model
        if task == "classification":  # the new head starts random: it must learn too
            for name in model_parts.head_parameter_names(model, task):
                model.get_parameter(name).requires_grad_(True)
        self._task = task
        return model
