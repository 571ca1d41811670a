"""How long a baseline that asks the base model may take: at most a fifth of the expected training time.

    expected = expected_training_seconds(recipe, model, tokenizer, data)   # one timed forward pass
    plan = rows_within(budget_seconds(expected), probe_seconds, probe_rows, total_rows)
    # Plan(rows=40, note="scored 40 of 250 test rows (a random sample): ...") or Plan(rows=0, note=reason)

A k-shot prompt is k+1 examples long: on SmolLM2-135M with DialogSum dialogues the k-shot baseline alone
ran longer on 2 cores than the 120 training updates. The baseline is first timed on a few test rows;
then it scores every row if they fit the budget, a random sample of them if at least MIN_SAMPLE fit
(and says so), MIN_SAMPLE rows if they take at most the expected training time, else it is skipped
with the reason.
"""
from __future__ import annotations

import math
import time
from dataclasses import dataclass

#: a baseline may take this share of the expected training time
BUDGET_SHARE = 0.2
#: ... but never less than this many seconds (a short run still gets a k-shot baseline on small data)
MIN_BUDGET_SECONDS = 20.0
#: test rows timed first, and the fewest rows worth scoring
PROBE_ROWS = 4
MIN_SAMPLE = 20
#: a training update costs about this many forward passes (forward + backward)
UPDATE_COST = 3.0


@dataclass
class Plan:
    rows: int        # test rows to score (0: skip)
    note: str = ""   # what was done and why ('' when every row is scored)


def budget_seconds(expected_training: float | None) -> float:
    return max(MIN_BUDGET_SECONDS, BUDGET_SHARE * (expected_training or 0.0))


def rows_within(budget: float, probe_seconds: float, probe_rows: int, total: int) -> Plan:
    """How many test rows fit in ``budget`` seconds, at the pace of the probe (``probe_rows`` in ``probe_seconds``).
    When fewer than MIN_SAMPLE fit, that many are still scored if they take at most the whole expected
    training time (``budget / BUDGET_SHARE``): a small test split is never skipped for a slow machine."""
    per_row = probe_seconds / max(1, probe_rows)
    fit = total if per_row <= 0 else probe_rows + int(max(0.0, budget - probe_seconds) / per_row)
    why = f"budget {budget:.0f} s, a fifth of the expected training time; {per_row:.1f} s a row"
    if fit >= total:
        return Plan(total)
    if fit >= MIN_SAMPLE:
        return Plan(fit, f"scored {fit} of {total} test rows (a random sample): {why}")
    least = min(total, MIN_SAMPLE)
    if least * per_row <= budget / BUDGET_SHARE:
        return Plan(least, f"scored {least} of {total} test rows, the fewest worth scoring, over the budget ({why})")
    return Plan(0, f"skipped: {least} test rows would take longer than the expected training ({why})")


def expected_training_seconds(recipe, model, tokenizer, data) -> float | None:
    """About how long training will take: one timed forward pass on a training batch, times UPDATE_COST,
    times the updates the recipe asks for (None when it cannot be measured)."""
    import torch

    batch = [ex.get("text") or f"{ex.get('prompt', '')} {ex.get('response', '')}" for ex in data.train[:recipe.train.batch_size]]
    if not batch or tokenizer is None or model is None:
        return None
    max_length = recipe.model.max_length if isinstance(recipe.model.max_length, int) else 256
    try:
        enc = tokenizer([str(x) for x in batch], truncation=True, max_length=max_length, padding=True,
                        return_tensors="pt")
        enc = {k: v.to(model.device) for k, v in enc.items() if k in ("input_ids", "attention_mask")}
        started = time.monotonic()
        with torch.no_grad():
            model(**enc)
        forward = time.monotonic() - started
    except Exception:  # a model that takes other inputs: no estimate, the floor budget applies
        return None
    t = recipe.train
    per_update = t.batch_size * t.gradient_accumulation_steps * max(1, t.num_processes)
    epochs = t.epochs if isinstance(t.epochs, (int, float)) else 1.0
    updates = t.max_steps or math.ceil(len(data.train) / per_update * epochs)
    return forward * UPDATE_COST * t.gradient_accumulation_steps * updates
