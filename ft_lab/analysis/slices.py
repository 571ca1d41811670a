"""Slice table: the metric on each slice of the test set, flagging slices well below the overall figure.

    table = slice_table(examples, "source", evaluator=Accuracy())
    table.overall                 # 0.84
    table.rows[0]                 # {'slice': 'email', 'n': 120, 'value': 0.61, 'delta': -0.23, 'flagged': True}
    [r["slice"] for r in table.flagged()]

A slice is flagged when it has at least ``min_count`` examples and its value falls short of the overall
value by more than ``tolerance`` times the overall value (10% by default), in the evaluator's
direction (for perplexity, higher is worse). This is the bias check: which sources, categories,
labels or lengths the model serves badly.
"""
from __future__ import annotations

import math
from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any, Callable, Sequence

from ..errors import UserError

LENGTH_EDGES = (64, 256)  # characters of the input: short < 64 <= medium < 256 <= long
LENGTH_BUCKETS = ("short", "medium", "long")


def length_bucket(text: str, edges: Sequence[int] = LENGTH_EDGES) -> str:
    n = len(str(text))
    return "short" if n < edges[0] else "medium" if n < edges[1] else "long"


def slice_key(example: dict, by: str | Callable[[dict], Any], edges: Sequence[int] = LENGTH_EDGES):
    """The slice of one example: 'label', 'predicted', 'length', a metadata column, or a function."""
    if callable(by):
        return by(example)
    if by == "label":
        return str(example["reference"])
    if by == "predicted":
        return str(example["prediction"])
    if by == "length":
        return length_bucket(example["input"], edges)
    meta = example.get("meta") or {}
    return meta.get(by)


@dataclass
class SliceTable:
    by: str
    metric: str
    overall: float
    rows: list[dict] = field(default_factory=list)
    higher_is_better: bool = True

    def flagged(self) -> list[dict]:
        return [r for r in self.rows if r["flagged"]]


def slice_table(examples: Sequence[dict], by: str | Callable[[dict], Any], evaluator=None,
                metric: str | None = None, score: str | None = None, min_count: int = 5,
                tolerance: float = 0.1, length_edges: Sequence[int] = LENGTH_EDGES) -> SliceTable:
    """Metric per slice. Give an ``evaluator`` (its corpus metric per slice; ``metric`` picks the key),
    or ``score``: the name of a per-example score in each example's ``scores`` (its mean per slice)."""
    examples = list(examples)
    if evaluator is None and score is None:
        raise UserError("slice_table: give an evaluator (e.g. Accuracy()) or the name of a per-example score")
    groups: dict[Any, list[dict]] = defaultdict(list)
    for e in examples:
        groups[slice_key(e, by, length_edges)].append(e)
    if list(groups) == [None]:
        raise UserError(f"slice_table: no example has a value for {by!r} (use label, predicted, length, "
                        f"or a metadata column of the test data)")

    if evaluator is not None:
        higher = evaluator.higher_is_better

        def value(subset):
            out = evaluator.score(subset)
            key = metric or next(iter(out))
            if key not in out:
                raise UserError(f"slice_table: {evaluator.name} has no metric {key!r} (it gives {', '.join(out)})")
            return float(out[key]), key
    else:
        higher = True

        def value(subset):
            vals = [e["scores"][score] for e in subset if not math.isnan(e["scores"].get(score, math.nan))]
            return (sum(vals) / len(vals) if vals else math.nan), score

    overall, metric_name = value(examples)
    rows = []
    for key, subset in groups.items():
        v, _ = value(subset)
        delta = v - overall
        shortfall = -delta if higher else delta
        flagged = (len(subset) >= min_count and not math.isnan(v)
                   and shortfall > tolerance * abs(overall) and shortfall > 0)
        rows.append({"slice": "(none)" if key is None else str(key), "n": len(subset), "value": v,
                     "delta": delta, "flagged": flagged})
    rows.sort(key=lambda r: (r["value"] if higher else -r["value"], -r["n"]))
    return SliceTable(by if isinstance(by, str) else getattr(by, "__name__", "custom"), metric_name, overall,
                      rows, higher)
