"""``full``: train every weight of the model; the result is a whole model (safetensors)."""
from __future__ import annotations

from dataclasses import dataclass

from ..core.components import Capabilities, Method


class FullFineTuning(Method):
    """Train every weight of the model."""

    name = "full"
    capabilities = Capabilities(mergeable=True, quantized=False)

    @dataclass
    class Config:
        pass

    def prepare(self, model, task: str):
        for p in model.parameters():
            p.requires_grad_(True)
        return model
