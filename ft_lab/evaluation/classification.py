"""Classification evaluators: accuracy, macro-F1, and the full precision/recall/F1 report.

Each counts (reference, prediction) pairs chunk by chunk (``ConfusionCounts``), so memory stays flat
however many examples a test set has; the numbers equal scikit-learn's (``zero_division=0``).
``details()`` gives the confusion matrix, the per-class table and the most confused label pairs.
The same metrics are available as an ``evaluate`` module: ``metrics.load("ft_lab_classification")``.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Iterable

from ..core.components import Evaluator
from ..errors import UserError
from ..rundir.predictions import chunks
from .confusion import AVERAGES, ConfusionCounts


def count_pairs(examples: Iterable[dict], labels: list[str] | None = None) -> ConfusionCounts:
    counts = ConfusionCounts(labels or None)
    for chunk in chunks(examples, 1024):
        counts.update((e["reference"] for e in chunk), (e["prediction"] for e in chunk))
    return counts


class ClassificationEvaluator(Evaluator):
    """Shared by the classification evaluators: per-example correctness and the confusion details."""

    tasks = ("classification",)

    def _labels(self) -> list[str] | None:
        return list(getattr(self.config, "labels", None) or []) or None

    def per_example(self, examples):
        return [1.0 if str(e["prediction"]) == str(e["reference"]) else 0.0 for e in examples]

    def details(self, examples):
        counts = count_pairs(examples, self._labels())
        labels, matrix = counts.matrix()
        return {"confusion_matrix": {"labels": labels, "matrix": matrix}, "per_class": counts.per_class(),
                "most_confused": [{"reference": r, "prediction": p, "count": n}
                                  for r, p, n in counts.most_confused(10)]}


class Accuracy(ClassificationEvaluator):
    """Share of examples whose predicted label equals the reference label."""

    name = "accuracy"

    def score(self, examples):
        return {"accuracy": count_pairs(examples).report(())["accuracy"]}


class MacroF1(ClassificationEvaluator):
    """F1 averaged over labels with equal weight (scikit-learn's macro average)."""

    name = "macro_f1"

    def score(self, examples):
        return {"macro_f1": count_pairs(examples).report(("macro",))["f1_macro"]}


class PrecisionRecallF1(ClassificationEvaluator):
    """Accuracy, precision, recall and F1 (macro, micro, weighted); per class and confusion in details."""

    name = "precision_recall_f1"

    def headline(self) -> str:
        return f"f1_{self.config.averages[0]}" if self.config.averages else "accuracy"

    @dataclass
    class Config:
        averages: list[str] = field(default_factory=lambda: list(AVERAGES), metadata={
            "help": "averages to report, among macro, micro and weighted"})
        labels: list[str] = field(default_factory=list, metadata={
            "help": "label set and order (default: every label seen in references or predictions)"})

        def __post_init__(self):
            bad = [a for a in self.averages if a not in AVERAGES]
            if bad:
                raise ValueError(f"averages: unknown {', '.join(map(repr, bad))} "
                                 f"(choose among {', '.join(AVERAGES)})")

    def score(self, examples):
        counts = count_pairs(examples, self._labels())
        if self._labels():
            unknown = sorted({r for r, _ in counts.pairs} - set(self._labels()))
            if unknown:
                raise UserError(f"precision_recall_f1.labels: reference label(s) {', '.join(unknown[:5])} "
                                f"are not in the configured labels; add them or leave labels empty")
        return counts.report(self.config.averages)
