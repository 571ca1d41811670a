"""Find the parts of a transformers model that methods work on: decoder layers, heads, final norm.

Works by structure, not by model type, so a new architecture needs no table entry::

    layers = decoder_layers(model)            # [LlamaDecoderLayer, ...]
    names = head_parameter_names(model, "classification")   # {"score.weight"}
"""
from __future__ import annotations

from ..errors import UserError

_LAYER_LIST_NAMES = ("layers", "h", "layer", "blocks")
ATTENTION_NAMES = ("self_attn", "attn", "attention", "self_attention")
FEED_FORWARD_NAMES = ("mlp", "feed_forward", "ffn")
_NORM_MARKERS = ("norm", "ln_f")


def decoder_layers_with_prefix(model) -> tuple[str, list]:
    """(dotted name of the layer list, its layers): the longest ModuleList named like a layer stack."""
    import torch.nn as nn

    best: tuple[str, list] | None = None
    for name, module in model.named_modules():
        if isinstance(module, nn.ModuleList) and name.rsplit(".", 1)[-1] in _LAYER_LIST_NAMES:
            if best is None or len(module) > len(best[1]):
                best = (name, list(module))
    if best is None:
        raise UserError(f"cannot find the decoder layers of {type(model).__name__}: no ModuleList named "
                        f"{', '.join(_LAYER_LIST_NAMES)}; choose a method that does not need them (lora, full)")
    return best


def decoder_layers(model) -> list:
    """The transformer blocks of the model, bottom first."""
    return decoder_layers_with_prefix(model)[1]


def child_named(module, names: tuple[str, ...]):
    """The first child of ``module`` called one of ``names`` (and that name), or (None, None)."""
    for n in names:
        child = getattr(module, n, None)
        if child is not None:
            return n, child
    return None, None


def head_modules(model, task: str) -> dict:
    """The head that turns hidden states into outputs: {name: module} (``score`` or ``lm_head``...)."""
    if task == "classification":
        for name in ("score", "classifier", "classification_head"):
            module = getattr(model, name, None)
            if module is not None:
                return {name: module}
        raise UserError(f"cannot find the classification head of {type(model).__name__} "
                        f"(looked for score, classifier, classification_head)")
    out = model.get_output_embeddings()
    if out is None:
        raise UserError(f"{type(model).__name__} has no output embeddings (LM head) to train")
    for name, module in model.named_modules():
        if module is out:
            return {name: module}
    raise UserError(f"cannot name the LM head of {type(model).__name__}")


def head_parameter_names(model, task: str) -> set[str]:
    """Full parameter names of the head (for the task), as ``model.named_parameters()`` spells them.

    A head tied to the input embeddings is named by its first name there (``model.embed_tokens.weight``).
    """
    canonical = {id(p): n for n, p in model.named_parameters()}
    return {canonical[id(p)] for module in head_modules(model, task).values() for p in module.parameters()}


def final_norm_parameter_names(model) -> set[str]:
    """Parameters of norms that sit after the layer stack (e.g. ``model.norm``), not inside a layer."""
    prefix, _ = decoder_layers_with_prefix(model)
    return {n for n, _ in model.named_parameters()
            if not n.startswith(prefix + ".") and any(m in n.rsplit(".", 2)[-2] for m in _NORM_MARKERS)}
