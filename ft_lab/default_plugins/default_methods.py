"""Built-in tuning methods, registered through the same hook as any plugin.

The implementations live in ``ft_lab.methods`` (one module per idea); see docs/methods.md.
"""
from __future__ import annotations

from ..core.hookspecs import hookimpl
from ..methods.adapter import BottleneckAdapter
from ..methods.freeze import FreezeLayers, HeadOnly
from ..methods.full import FullFineTuning
from ..methods.lora import LoRA, QLoRA
from ..methods.peft_methods import IA3, AdaLoRA
from ..methods.prompt_learning import PrefixTuning, PromptTuning, PTuning

BUILTIN_METHODS = (FullFineTuning, FreezeLayers, HeadOnly, LoRA, QLoRA, AdaLoRA, IA3, PrefixTuning,
                   PromptTuning, PTuning, BottleneckAdapter)

__all__ = ["BUILTIN_METHODS", "FullFineTuning", "LoRA", "register_methods"]


@hookimpl
def register_methods(register):
    for method in BUILTIN_METHODS:
        register(method)
