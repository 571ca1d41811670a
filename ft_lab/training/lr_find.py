"""The learning-rate range test behind ``train.learning_rate: find``.

A short sweep (``train.lr_find_steps`` updates, 100 by default) raises the learning rate exponentially from ``LOW`` to ``HIGH`` on the
prepared model, records the smoothed training loss, and picks a tenth of the rate where the loss was
lowest (Smith's range test, as fastai and PyTorch Lightning run it). The model's trainable weights are
put back afterwards, so training starts from the same point. The curve and its cost go to
``RUN_DIR/lr_find.json``::

    {"learning_rates": [...], "losses": [...], "chosen": 0.0012, "steps": 100, "seconds": 41.3}
"""
from __future__ import annotations

import math
import time

from ..core.recipe import Recipe
from ..rundir.layout import RunLayout
from ..safety.atomic import atomic_write_json, atomic_write_text
from .launch import rank
from .param_groups import is_head

LOW, HIGH, STEPS = 1e-7, 1.0, 100
SMOOTHING = 0.9
DIVERGED = 4.0  # stop once the smoothed loss is this many times its lowest value


def choose_rate(rates: list[float], smoothed: list[float]) -> float:
    """A tenth of the rate at the lowest smoothed loss (the steepest safe descent lies about there)."""
    best = min(range(len(smoothed)), key=smoothed.__getitem__)
    return float(f"{max(LOW, rates[best] / 10):.3g}")


def find_learning_rate(model, train_ds, collator, batch_size: int, head_learning_rate: float | None = None,
                       steps: int = STEPS, seed: int = 42, max_grad_norm: float = 1.0) -> dict:
    import random

    import torch


    params = [(n, p) for n, p in model.named_parameters() if p.requires_grad]
    saved = {n: p.detach().clone() for n, p in params}
    body = [p for n, p in params if not (head_learning_rate and is_head(n))]
    head = [p for n, p in params if head_learning_rate and is_head(n)]
    if not body:  # only a head trains: sweep the head itself
        body, head = head, []
    groups = [{"params": body, "lr": LOW}] + ([{"params": head, "lr": head_learning_rate}] if head else [])
    optimizer = torch.optim.AdamW(groups, lr=LOW, weight_decay=0.0)
    device = next(model.parameters()).device
    order = list(range(len(train_ds)))
    random.Random(seed).shuffle(order)
    rates, losses, smoothed = [], [], []
    avg, best = 0.0, math.inf
    started = time.monotonic()
    model.train()
    try:
        for step in range(steps):
            lr = LOW * (HIGH / LOW) ** (step / max(1, steps - 1))
            optimizer.param_groups[0]["lr"] = lr
            idx = [order[(step * batch_size + j) % len(order)] for j in range(batch_size)]
            batch = {k: v.to(device) for k, v in collator([train_ds[i] for i in idx]).items()}
            loss = model(**batch).loss
            value = float(loss.detach())
            if not math.isfinite(value):
                break
            loss.backward()
            torch.nn.utils.clip_grad_norm_([p for _, p in params], max_grad_norm)
            optimizer.step()
            optimizer.zero_grad(set_to_none=True)
            avg = SMOOTHING * avg + (1 - SMOOTHING) * value
            smooth = avg / (1 - SMOOTHING ** (step + 1))
            rates.append(lr)
            losses.append(round(value, 5))
            smoothed.append(round(smooth, 5))
            best = min(best, smooth)
            if step > min(10, steps // 4) and smooth > DIVERGED * best:
                break
    finally:
        with torch.no_grad():
            for n, p in params:
                p.copy_(saved[n])
        model.zero_grad(set_to_none=True)
    if not rates:
        raise RuntimeError("the learning-rate range test found no finite loss; set train.learning_rate by hand")
    return {"learning_rates": rates, "losses": losses, "smoothed": smoothed, "chosen": choose_rate(rates, smoothed),
            "steps": len(rates), "seconds": round(time.monotonic() - started, 2)}


def apply_range_test(run_dir, recipe, model, train_ds, collator, emit):
    """Run the range test, keep its curve in ``lr_find.json`` and its rate in the run's recipe.yaml."""

    t = recipe.train
    emit({"type": "phase", "phase": "lr_find", "steps": t.lr_find_steps})
    head = t.head_learning_rate if recipe.model_task() == "classification" and isinstance(
        t.head_learning_rate, float) else None
    found = find_learning_rate(model, train_ds, collator, t.batch_size, head, steps=t.lr_find_steps, seed=t.seed,
                               max_grad_norm=t.max_grad_norm)
    plain = recipe.to_dict()
    plain["train"]["learning_rate"] = found["chosen"]
    recipe = Recipe.from_dict(plain, base_dir=recipe.base_dir)
    if rank() == 0:
        atomic_write_json(RunLayout(run_dir).lr_find, found)
        atomic_write_text(RunLayout(run_dir).recipe, recipe.to_yaml())  # a resumed run keeps the same rate
    emit({"type": "lr_find", "learning_rate": found["chosen"], "steps": found["steps"], "seconds": found["seconds"]})
    return recipe
