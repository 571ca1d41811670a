"""Streaming confusion counts and every classification metric derived from them.

Memory is one counter per (reference, prediction) pair seen, whatever the number of examples,
so 10 million predictions cost what 10 thousand do::

    counts = ConfusionCounts()
    counts.update(["a", "b"], ["a", "a"])      # references, predictions; call once per chunk
    counts.report()["f1_macro"]                # 0.333..., as sklearn.metrics.f1_score(average="macro")

The formulas are scikit-learn's (``precision_recall_fscore_support`` with ``zero_division=0``,
labels = the sorted union of references and predictions unless given).
"""
from __future__ import annotations

from collections import Counter
from typing import Iterable, Sequence

AVERAGES = ("macro", "micro", "weighted")


def _div(a: float, b: float) -> float:
    return a / b if b else 0.0


class ConfusionCounts:
    """Counts of (reference, prediction) label pairs, filled chunk by chunk."""

    def __init__(self, labels: Sequence[str] | None = None):
        self.pairs: Counter[tuple[str, str]] = Counter()
        self.fixed_labels = [str(x) for x in labels] if labels else None

    def update(self, references: Iterable, predictions: Iterable) -> None:
        self.pairs.update(zip(map(str, references), map(str, predictions)))

    @property
    def total(self) -> int:
        return sum(self.pairs.values())

    def labels(self) -> list[str]:
        if self.fixed_labels:
            return list(self.fixed_labels)
        return sorted({r for r, _ in self.pairs} | {p for _, p in self.pairs})

    def matrix(self) -> tuple[list[str], list[list[int]]]:
        """Labels and the matrix: row = reference label, column = predicted label (sklearn's layout)."""
        labels = self.labels()
        return labels, [[self.pairs.get((r, p), 0) for p in labels] for r in labels]

    def per_class(self) -> dict[str, dict[str, float]]:
        labels = self.labels()
        tp = {lab: self.pairs.get((lab, lab), 0) for lab in labels}
        true = Counter()
        pred = Counter()
        for (r, p), n in self.pairs.items():
            true[r] += n
            pred[p] += n
        out = {}
        for lab in labels:
            precision = _div(tp[lab], pred[lab])
            recall = _div(tp[lab], true[lab])
            out[lab] = {"precision": precision, "recall": recall,
                        "f1": _div(2 * tp[lab], true[lab] + pred[lab]), "support": true[lab]}
        return out

    def report(self, averages: Sequence[str] = AVERAGES) -> dict[str, float]:
        """Flat metrics: accuracy, and precision/recall/f1 for each average in ``averages``."""
        total = self.total
        labels = self.labels()
        correct = sum(n for (r, p), n in self.pairs.items() if r == p)
        out = {"accuracy": _div(correct, total)}
        per = self.per_class()
        for avg in averages:
            if avg not in AVERAGES:
                raise ValueError(f"average: expected one of {', '.join(AVERAGES)}, got {avg!r}")
            if avg == "micro":
                in_labels = set(labels)
                tp = sum(n for (r, p), n in self.pairs.items() if r == p and r in in_labels)
                n_pred = sum(n for (_, p), n in self.pairs.items() if p in in_labels)
                n_true = sum(n for (r, _), n in self.pairs.items() if r in in_labels)
                vals = {"precision": _div(tp, n_pred), "recall": _div(tp, n_true),
                        "f1": _div(2 * tp, n_true + n_pred)}
            elif avg == "macro":
                vals = {k: _div(sum(per[lab][k] for lab in labels), len(labels))
                        for k in ("precision", "recall", "f1")}
            else:
                support = sum(per[lab]["support"] for lab in labels)
                vals = {k: _div(sum(per[lab][k] * per[lab]["support"] for lab in labels), support)
                        for k in ("precision", "recall", "f1")}
            for k, v in vals.items():
                out[f"{k}_{avg}"] = float(v)
        return out

    def most_confused(self, k: int = 10) -> list[tuple[str, str, int]]:
        """The ``k`` most frequent (reference, prediction) pairs where the two differ."""
        wrong = [(r, p, n) for (r, p), n in self.pairs.items() if r != p]
        return sorted(wrong, key=lambda t: (-t[2], t[0], t[1]))[:k]
