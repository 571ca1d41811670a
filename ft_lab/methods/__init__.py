"""Tuning methods: how a base model becomes the model to train, and how the result is saved.

One module per idea; ``ft_lab.default_plugins.default_methods`` registers them as built-in plugins:

- ``full.py``: train every weight;
- ``freeze.py``: train a chosen part of the model's own weights (top layers, named modules, the head);
- ``peft_methods.py``: the peft family shared code, AdaLoRA and IA3;
- ``lora.py``: LoRA with its variants (rsLoRA, DoRA, initialisations) and QLoRA;
- ``prompt_learning.py``: prefix tuning, prompt tuning and p-tuning (virtual tokens);
- ``adapter.py``: bottleneck adapters after attention and feed-forward blocks;
- ``capabilities.py``: refuse a recipe that asks a method for what it cannot do;
- ``budget.py``: trainable parameter count and a memory estimate, shown before training.

Helpers for plugin authors: ``model_parts`` (find decoder layers and heads) and ``trainable_weights``
(save and reload only the weights a method trains). Nothing here imports torch at import time.
"""
