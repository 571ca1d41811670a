"""A classification head whose label set changes between runs: rows are kept by label name.

    regrow_head(model, ["a", "b"], ["a", "b", "c"])   # score: 2 rows -> 3; a's and b's rows unchanged
    copy_rows(saved, target, ["a", "b"], ["b", "c"])  # b's saved row into b's place; c's row left as it is
"""
from __future__ import annotations

from ..errors import UserError
from ..methods.model_parts import head_modules

HEAD_NAMES = ("score", "classifier", "classification_head")


def copy_rows(saved, target, old: list[str], new: list[str]) -> None:
    """Copy ``saved``'s row of each label in both lists into ``target``'s row of that label."""
    import torch
    with torch.no_grad():
        for i, label in enumerate(new):
            if label in old:
                target[i].copy_(saved[old.index(label)].to(dtype=target.dtype, device=target.device))


def is_head_name(name: str, heads: tuple[str, ...] = HEAD_NAMES) -> bool:
    """Whether a dotted parameter or module name lies inside a classification head."""
    return any(h in name.split(".") for h in heads)


def regrow_head(model, old: list[str] | None, new: list[str] | None) -> None:
    """Give every head Linear one output row per label of ``new``; the rows of labels in ``old`` are copied
    by name, the others start as a fresh head's (normal, std ``initializer_range``; bias 0)."""
    import torch
    import torch.nn as nn

    if not old or not new or old == new:
        return
    base = model.get_base_model() if hasattr(model, "get_base_model") else model
    (head, _), = head_modules(base, "classification").items()
    found = [(n, m) for n, m in model.named_modules()
             if isinstance(m, nn.Linear) and is_head_name(n, (head,)) and m.out_features == len(old)]
    if not found:
        raise UserError(f"cannot find the {len(old)}-row classification head ({head}) to give it {len(new)} labels")
    std = getattr(base.config, "initializer_range", 0.02)
    for name, old_module in found:
        fresh = nn.Linear(old_module.in_features, len(new), bias=old_module.bias is not None,
                          device=old_module.weight.device, dtype=old_module.weight.dtype)
        with torch.no_grad():
            fresh.weight.normal_(0.0, std)
            if fresh.bias is not None:
                fresh.bias.zero_()
        copy_rows(old_module.weight, fresh.weight, old, new)
        if fresh.bias is not None:
            copy_rows(old_module.bias, fresh.bias, old, new)
        fresh.weight.requires_grad_(old_module.weight.requires_grad)
        if fresh.bias is not None:
            fresh.bias.requires_grad_(old_module.bias.requires_grad)
        parent_name, _, leaf = name.rpartition(".")
        setattr(model.get_submodule(parent_name) if parent_name else model, leaf, fresh)
    cfg = base.config
    cfg.num_labels = len(new)
    cfg.id2label = dict(enumerate(new))
    cfg.label2id = {l: i for i, l in enumerate(new)}
    if hasattr(base, "num_labels"):
        base.num_labels = len(new)
