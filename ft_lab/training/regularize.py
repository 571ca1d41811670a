"""Pull the trained weights toward where training started: L2 to the start, and EWC.

    anchor = StartAnchor(model, l2=0.01)                     # every trainable weight, as it is now
    anchor = StartAnchor(model, ewc=100, fisher=fisher)      # EWC: each weight's penalty scaled by its Fisher
    loss = loss + anchor.penalty()                           # the trainer adds it to every training loss

``fisher_diagonal(model, batches)`` estimates the diagonal Fisher information of the trainable weights from
the mean squared gradient of the loss over the earlier run's training rows (the empirical Fisher, one
batch at a time), normalised so its mean is 1: ``ewc`` and ``l2_to_start`` then weigh alike on average.
"""
from __future__ import annotations


class StartAnchor:
    """``l2 * sum((w - w0)^2) + ewc * sum(F * (w - w0)^2)`` over the weights that train."""

    def __init__(self, model, l2: float = 0.0, ewc: float = 0.0, fisher: dict | None = None):
        self.l2, self.ewc = float(l2), float(ewc)
        self.weights = []
        for name, p in model.named_parameters():
            if p.requires_grad:
                f = (fisher or {}).get(name)
                self.weights.append((p, p.detach().clone(), f))

    def summary(self) -> dict:
        """What the anchor holds: how many weights, and the sum of their start values (the same on a resumed
        attempt: the start is the run's, never the checkpoint's)."""
        return {"weights": sum(s.numel() for _p, s, _f in self.weights),
                "start_sum": round(sum(float(s.double().sum()) for _p, s, _f in self.weights), 6)}

    def penalty(self):
        total = 0.0
        for p, start, f in self.weights:
            d = (p - start.to(p.device)).pow(2)
            if self.l2:
                total = total + self.l2 * d.sum()
            if self.ewc and f is not None:
                total = total + self.ewc * (f.to(p.device) * d).sum()
        return total


def fisher_diagonal(model, batches) -> dict:
    """{parameter name: mean squared gradient} over ``batches`` (dicts of tensors with labels), normalised
    to mean 1 over every trainable weight."""
    import torch

    params = {n: p for n, p in model.named_parameters() if p.requires_grad}
    sums = {n: torch.zeros_like(p, dtype=torch.float32) for n, p in params.items()}
    was_training = model.training
    model.eval()  # no dropout: the gradient of the model as it is
    count = 0
    device = next(model.parameters()).device
    for batch in batches:
        model.zero_grad(set_to_none=True)
        out = model(**{k: v.to(device) for k, v in batch.items()})
        out.loss.backward()
        for n, p in params.items():
            if p.grad is not None:
                sums[n] += p.grad.detach().float().pow(2)
        count += 1
    model.zero_grad(set_to_none=True)
    model.train(was_training)
    total = sum(float(s.sum()) for s in sums.values())
    size = sum(s.numel() for s in sums.values())
    scale = size / total if total > 0 else 1.0
    return {n: s * scale for n, s in sums.items()} if count else {}
