"""Optimizer parameter groups: a new classification head learns at its own (higher) rate.

    groups = head_param_groups(model, lr=1e-3, head_lr=3e-3, weight_decay=0.0, decay_names=...)

The head is found by name (``classifier``, ``score``), which holds for plain models and for peft's
copies of the head (``...classifier.modules_to_save.default.weight``).
"""
from __future__ import annotations

HEAD_MARKERS = ("classifier", "score")


def is_head(name: str) -> bool:
    return any(part in HEAD_MARKERS for part in name.split("."))


def head_param_groups(model, lr: float, head_lr: float, weight_decay: float, decay_names) -> list[dict]:
    decay_names = set(decay_names)
    groups: dict[tuple[bool, bool], list] = {}
    for name, p in model.named_parameters():
        if p.requires_grad:
            groups.setdefault((is_head(name), name in decay_names), []).append(p)
    return [{"params": params, "lr": head_lr if head else lr, "weight_decay": weight_decay if decay else 0.0}
            for (head, decay), params in groups.items()]


def head_optimizer(model, args, head_lr: float, decay_names):
    """AdamW as the Trainer builds it (betas, epsilon, decay groups), with the head at ``head_lr``."""
    import torch

    groups = head_param_groups(model, args.learning_rate, head_lr, args.weight_decay, decay_names)
    fused = "fused" in str(getattr(args.optim, "value", args.optim))
    return torch.optim.AdamW(groups, lr=args.learning_rate, betas=(args.adam_beta1, args.adam_beta2),
                             eps=args.adam_epsilon, **({"fused": True} if fused else {}))
